"""Areas of a ranking: boundaries, H3 cells of an extent, and point totals per area."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.risk import cellstore, h3columns, reference
from com.analysis.risk.filters import AreaLevel, RiskFilter
from com.analysis.risk.h3cells import (
    SHAPES,
    CellMemo,
    cell_polygons,
    fill_h3_cells,
    h3_api,
    h3_cells,
    h3_strings,
    kept_shapes,
    sorted_unique,
)
from com.analysis.risk.queries import copy_frame, filter_params, points_query, read_geoms
from com.analysis.risk.rollup import rollup_statement, rollup_usable
from com.config.severity import SeverityModel, severity_model_of
from com.db.rollup import ensure_folded
from com.errors import NotFoundError, ValidationError
from com.geo.h3 import STORED_RESOLUTIONS

#: Most H3 cells with points one ranking may hold (1M points over Thailand at h3:8 fill about
#: 430,000; each cell costs about 1 KB while it is ranked).
MAX_H3_CELLS = 1_000_000
#: Most H3 cells of an extent when the cells without points are wanted too (Gi*; Thailand at
#: h3:7 is about 100,000).
MAX_H3_EXTENT_CELLS = 200_000
#: Points tested at a time by :func:`names_at` (their shapely points are the transient).
NAME_STEP = 65_536


_WORK_MEM = {"areas": sa.text("SET LOCAL work_mem = '64MB'"),
             "many": sa.text("SET LOCAL work_mem = '256MB'")}

_AREA_TABLES = {"subdistrict": "subdistricts", "district": "districts", "province": "provinces"}


def load_areas(conn: Connection, level: AreaLevel, filt: RiskFilter) -> gpd.GeoDataFrame:
    """Return the boundaries of the admin areas of ``level`` in the filter's extent, by code.

    Raises
    ------
    com.errors.NotFoundError
        When the extent holds no area (unknown province or district, or no boundaries).
    """
    if level.is_layer:
        return load_layer_areas(conn, level, filt)
    table = sa.table(
        _AREA_TABLES[level.kind],
        sa.column("code"), sa.column("name_th"), sa.column("name_en"), sa.column("area_km2"),
        sa.column("geom"), sa.column("rep_point"), sa.column("province_code"),
        sa.column("district_code"),
    )
    query = sa.select(
        table.c.code, table.c.name_th, table.c.name_en, table.c.area_km2,
        sa.func.ST_X(table.c.rep_point).label("rep_lon"),
        sa.func.ST_Y(table.c.rep_point).label("rep_lat"),
        sa.func.ST_AsBinary(table.c.geom).label("geom"),
    )
    codes = filt.province_codes
    if level.kind == "province":
        if codes:
            query = query.where(table.c.code.in_(codes))
        elif filt.district:
            query = query.where(table.c.code == filt.district[:2])
    else:
        if codes:
            query = query.where(table.c.province_code.in_(codes))
        if filt.district:
            column = table.c.code if level.kind == "district" else table.c.district_code
            query = query.where(column == filt.district)
    frame = read_geoms(conn, query.order_by(table.c.code))
    if frame.empty:
        _missing_area(filt)
    return frame


_LAYER_AREAS = sa.text(
    "SELECT code, COALESCE(name_th, code) AS name_th, COALESCE(name_en, '') AS name_en, "
    "area_km2, ST_X(rep_point) AS rep_lon, ST_Y(rep_point) AS rep_lat, "
    "ST_AsBinary(geom) AS geom FROM area_features WHERE layer = :layer "
    "AND (CAST(:p AS text[]) IS NULL OR province_code = ANY(CAST(:p AS text[]))) "
    "AND (CAST(:d AS text) IS NULL OR district_code = CAST(:d AS text)) ORDER BY code"
)


def load_layer_areas(conn: Connection, level: AreaLevel, filt: RiskFilter) -> gpd.GeoDataFrame:
    """Return the areas of a layer level (villages, ``layer:NAME``) in the filter's extent.

    An area belongs to the province and district of its inner point (``rep_point``).

    Raises
    ------
    com.errors.NotFoundError
        When the layer has no area in the extent.
    """
    frame = read_geoms(conn, _LAYER_AREAS,
                       {"layer": level.layer, "d": filt.district,
                        "p": list(filt.province_codes) if filt.province_codes else None})
    if frame.empty:
        where = f" in district {filt.district}" if filt.district else (
            f" in province {filt.province}" if filt.province else
            f" in region {filt.region}" if filt.region else "")
        raise NotFoundError(
            f"layer {level.layer!r} has no areas{where}: import them with "
            f"`com import FILE --kind areas --layer {level.layer}`"
        )
    return frame


def _missing_area(filt: RiskFilter) -> None:
    if filt.district:
        raise NotFoundError(f"district {filt.district} does not exist (or has no areas)")
    if filt.region:
        raise NotFoundError(f"no province of region {filt.region} is loaded")
    if filt.province:
        raise NotFoundError(f"province {filt.province} does not exist")
    raise NotFoundError("no boundaries loaded: run `com geodata load` first")


def aggregate_codes(
    conn: Connection, level: AreaLevel, filt: RiskFilter, model: SeverityModel,
    *, exact: bool = False,
) -> pd.DataFrame:
    """Return the weighted points summed per admin area code and category (in PostGIS).

    A category outside the model is reported as the model's unknown category (one row per
    code and stored category, so a code may repeat it).

    From the rollup (:mod:`com.analysis.risk.rollup`) when it can answer, else (or with
    ``exact=True``) from every point.
    """
    params = filter_params(filt, model, level=level.kind)
    if level.is_layer:
        # The rollup is keyed by subdistrict and district: a layer's areas need the points.
        statement = points_query("rank_layer_points")
        params["layer"] = level.layer
    elif not exact and rollup_usable(conn, model):
        statement, params = rollup_statement(conn, filt, params)
    else:
        statement = points_query("rank_areas_points")
    return _grouped(conn, statement, params, model)


def _grouped(
    conn: Connection, statement: sa.TextClause, params: dict[str, Any], model: SeverityModel
) -> pd.DataFrame:
    """Run a (code, category, points, incidents, base) statement into a DataFrame."""
    # Room for the hash of every (area, category) group in memory, not in batches on disk.
    conn.execute(_WORK_MEM["areas"])
    # One row of five arrays instead of 50,000 rows: psycopg decodes arrays in C, where row
    # objects cost seconds (both texts are packaged SQL, never user input).
    arrays = sa.text(
        "SELECT array_agg(q.code), array_agg(COALESCE(array_position("
        "CAST(:cat_keys AS text[]), q.category), 0)), array_agg(q.points), "
        f"array_agg(q.incidents), array_agg(q.base) FROM (\n{statement.text}\n) AS q"
    )
    codes, index, points, incidents, base = conn.execute(arrays, params).one()
    keys = np.array([model.unknown_category.key, *params["cat_keys"]], dtype=object)
    return pd.DataFrame({
        "code": pd.Series(codes or [], dtype=object),
        "category": keys[np.asarray(index or [], dtype=np.int64)],
        "points": np.asarray(points or [], dtype=np.int64),
        "incidents": np.asarray(incidents or [], dtype=np.int64),
        "base": np.asarray(base or [], dtype=float),
    })


def _grouped_packed(
    conn: Connection, statement: sa.TextClause, params: dict[str, Any], model: SeverityModel
) -> pd.DataFrame:
    """:func:`_grouped` for up to a million groups: each column as one packed binary value.

    Arrays would become a million Python objects per column and COPY a Python call per row;
    PostgreSQL packs each column (``int8send``: big-endian 8 bytes) and numpy reads it
    without a copy. All the aggregates of one query see the rows in the same order.
    """
    packed = sa.text(
        "SELECT count(*), string_agg(int8send(q.code), ''), string_agg(int4send(CAST(COALESCE("
        "array_position(CAST(:cat_keys AS text[]), q.category), 0) AS integer)), ''), "
        "string_agg(int8send(q.points), ''), string_agg(int8send(q.incidents), ''), "
        f"string_agg(float8send(q.base), '') FROM (\n{statement.text}\n) AS q"
    )  # both texts are packaged SQL, never user input
    n, codes, index, points, incidents, base = conn.execute(packed, params).one()
    keys = np.array([model.unknown_category.key, *params["cat_keys"]], dtype=object)

    def column(data: bytes | None, dtype: str) -> np.ndarray:
        values = np.frombuffer(data or b"", dtype=dtype)
        assert len(values) == n, "one value per group"
        return values.astype(dtype[1:])

    return pd.DataFrame({
        "code": column(codes, ">i8"),
        "category": keys[column(index, ">i4")],
        "points": column(points, ">i8"),
        "incidents": column(incidents, ">i8"),
        "base": column(base, ">f8"),
    })


def aggregate_h3(
    conn: Connection,
    level: AreaLevel,
    filt: RiskFilter,
    model: SeverityModel,
    *,
    bbox: Sequence[float] | None = None,
) -> pd.DataFrame:
    """Return the weighted points summed per H3 cell (int64 ``code``) and category.

    At the stored resolutions (6-9) grouped in PostgreSQL on the cell stored with each point;
    at others from the distinct locations, whose cells are computed here (vectorised).
    """
    res = int(level.resolution or 0)
    params = filter_params(filt, model, level="h3", bbox=list(bbox) if bbox else None,
                           resolution=res)
    if res in STORED_RESOLUTIONS:
        fill_h3_cells(conn)
        # Up to a million (cell, category) groups, hashed in memory by PostgreSQL.
        conn.execute(_WORK_MEM["many"])
        return _grouped_packed(conn, points_query("rank_h3_cells"), params, model)
    frame = copy_frame(conn, points_query("rank_h3_points"), params,
                       ["lon", "lat", "category", "points", "incidents", "base"])
    if frame.empty:
        return pd.DataFrame(columns=["code", "category", "points", "incidents", "base"])
    coords = frame[["lat", "lon"]].drop_duplicates()
    coords["code"] = h3_cells(coords["lat"].to_numpy(), coords["lon"].to_numpy(), res)
    frame = frame.merge(coords, on=["lat", "lon"], how="left")
    return (
        frame.groupby(["code", "category"], as_index=False)[["points", "incidents", "base"]]
        .sum()
    )


_EXTENT_POINTS = sa.text(
    "SELECT COALESCE(sum(points), 0) FROM risk_rollup_total "
    "WHERE (CAST(:p AS text) IS NULL OR province_code = CAST(:p AS text)) "
    "AND (CAST(:d AS text) IS NULL OR district_code = CAST(:d AS text))"
)


def extent_points(conn: Connection, filt: RiskFilter) -> int:
    """How many points the filter's province or district holds at most (from the rollup)."""
    ensure_folded(conn)
    return int(conn.execute(_EXTENT_POINTS, {"p": filt.province, "d": filt.district})
               .scalar_one())


def count_h3_cells(
    conn: Connection, level: AreaLevel, filt: RiskFilter, *, bbox: Sequence[float] | None = None
) -> int | None:
    """Return how many H3 cells may hold a point passing the filter, before any work.

    First an upper bound read from the rollup (the extent's points: no more cells than
    points); only above :data:`MAX_H3_CELLS` the exact count, one grouped count over the stored
    cells without weights. None off the stored resolutions.
    """
    res = int(level.resolution or 0)
    if res not in STORED_RESOLUTIONS:
        return None
    points = extent_points(conn, filt)
    if points <= MAX_H3_CELLS:
        return points
    fill_h3_cells(conn)
    params = filter_params(filt, severity_model_of(None), level="h3", resolution=res,
                           bbox=list(bbox) if bbox else None)
    return int(conn.execute(points_query("rank_h3_count"), params).scalar_one())


def check_h3_cap(level: AreaLevel, cells: int) -> None:
    """Refuse an H3 ranking of more than :data:`MAX_H3_CELLS` cells with points.

    Raises
    ------
    com.errors.ValidationError
        Saying the real count and the cap.
    """
    if cells > MAX_H3_CELLS:
        raise ValidationError(
            f"level h3:{level.resolution}: {cells:,} cells hold points here (at most "
            f"{MAX_H3_CELLS:,} per ranking): choose a coarser resolution or a smaller area / "
            f"H3 ระดับ {level.resolution} มี {cells:,} ช่องที่มีจุด (ไม่เกิน {MAX_H3_CELLS:,}): "
            "เลือกความละเอียดที่หยาบขึ้นหรือพื้นที่ที่เล็กลง"
        )


def h3_point_totals(conn: Connection, level: AreaLevel | str) -> dict[str, int]:
    """Return how many risk points each H3 cell of ``level`` holds (every category and date).

    The cells are those of the H3 rankings (:func:`aggregate_h3`), so
    :func:`com.security.privacy.hidden_areas` hides exactly the cells a ranking shows.
    """
    lvl = AreaLevel.parse(level)
    if lvl.kind != "h3":
        raise ValidationError(f"{level} is not an H3 level")
    filt, model = RiskFilter(use_recency=False), severity_model_of(None)
    res = int(lvl.resolution or 0)
    if res in STORED_RESOLUTIONS and h3columns.usable(extent_points(conn, filt), None):
        fill_h3_cells(conn)
        sums = h3columns.cell_sums(h3columns.point_columns(conn, res, filt, model), filt, model)
        cells, points = sums.cells, sums.points
    else:
        agg = aggregate_h3(conn, lvl, filt, model)
        if agg.empty:
            return {}
        totals = agg.groupby("code")["points"].sum()
        cells, points = totals.index.to_numpy(dtype=np.int64), totals.to_numpy()
    codes = h3_strings(cells)
    return {str(c): int(n) for c, n in zip(codes, points, strict=True)}


def layer_point_totals(conn: Connection, level: AreaLevel | str) -> dict[str, int]:
    """Return how many risk points each area of a layer level holds (every category and date).

    The areas are those of the layer rankings (a point counts in one area), so
    :func:`com.security.privacy.hidden_areas` hides exactly the areas a ranking shows.
    """
    lvl = AreaLevel.parse(level)
    if not lvl.is_layer:
        raise ValidationError(f"{level} is not a village or layer level")
    agg = aggregate_codes(conn, lvl, RiskFilter(use_recency=False), severity_model_of(None))
    totals = agg.groupby("code")["points"].sum()
    return {str(c): int(n) for c, n in totals.items()}


def layer_levels(conn: Connection, *, province: str | None) -> list[str]:
    """Return the layer levels with areas in a province: ``village``, ``layer:NAME``..."""
    layers = conn.execute(sa.text(
        "SELECT DISTINCT layer FROM area_features "
        "WHERE CAST(:p AS text) IS NULL OR province_code = CAST(:p AS text) ORDER BY layer"
    ), {"p": province}).scalars().all()
    return [str(AreaLevel.parse("village" if name == "villages" else f"layer:{name}"))
            for name in layers]


def _extent_geometry(conn: Connection, filt: RiskFilter) -> gpd.GeoDataFrame:
    params: dict[str, Any]
    if filt.district:
        query = sa.text("SELECT code, ST_AsBinary(geom) AS geom FROM districts WHERE code = :c")
        params = {"c": filt.district}
    elif filt.province_codes:
        query = sa.text("SELECT code, ST_AsBinary(geom) AS geom FROM provinces "
                        "WHERE code = ANY(CAST(:c AS text[])) ORDER BY code")
        params = {"c": list(filt.province_codes)}
    else:
        query = sa.text("SELECT code, ST_AsBinary(geom) AS geom FROM provinces ORDER BY code")
        params = {}
    frame = read_geoms(conn, query, params)
    if frame.empty:
        _missing_area(filt)
    return frame


def h3_areas(
    conn: Connection, level: AreaLevel, filt: RiskFilter, cells: np.ndarray,
    *, empty_cells: bool = False, polygons: bool = True,
) -> gpd.GeoDataFrame:
    """Return H3 cells (those with points, ``cells``) as areas: polygon, area, centre, name.

    Areas and centres are computed once per process per cell
    (:data:`com.analysis.risk.h3cells.SHAPES`), names once per cell and extent, polygons at
    each call (none with ``polygons=False``: the geometry is then empty, see
    :func:`com.analysis.risk.h3cells.fill_cell_polygons`).
    With ``empty_cells`` every cell of the filter's extent is added (Gi* needs the cells
    without points as neighbours).

    Raises
    ------
    com.errors.ValidationError
        With ``empty_cells``, when the extent would hold more than :data:`MAX_H3_EXTENT_CELLS`.
    """
    codes = sorted_unique(np.asarray(cells, dtype=np.int64))
    if empty_cells:
        codes = np.union1d(codes, _extent_cells(conn, level, filt))
    shapes = SHAPES.lookup(codes, kept_shapes(conn))
    frame = gpd.GeoDataFrame(
        {"code": codes, "area_km2": shapes["area_km2"], "rep_lon": shapes["rep_lon"],
         "rep_lat": shapes["rep_lat"]},
        geometry=cell_polygons(codes) if polygons else np.full(len(codes), None),
        crs=4326,
    )
    memo = reference.cached(conn, ("h3-names", level.resolution, filt.province_codes,
                                  filt.district),
                            CellMemo)

    def compute(missing: np.ndarray) -> dict[str, np.ndarray]:
        lookup = SHAPES.lookup(missing, kept_shapes(conn))
        found = names_at(conn, filt, lookup["rep_lon"], lookup["rep_lat"])
        return {k: found[k].to_numpy(dtype=object) for k in ("name_th", "name_en")}

    def names(missing: np.ndarray) -> dict[str, np.ndarray]:
        # Kept in the database per extent and reference data (cellstore).
        return cellstore.stored(conn, f"names:{level.resolution}:{filt.extent_key}",
                                cellstore.reference_version(conn), missing, compute,
                                texts=("name_th", "name_en"))

    found = memo.lookup(codes, names)
    frame["name_th"] = found["name_th"]
    frame["name_en"] = found["name_en"]
    return frame


def _extent_cells(conn: Connection, level: AreaLevel, filt: RiskFilter) -> np.ndarray:
    """Every H3 cell of the filter's extent, refused beyond :data:`MAX_H3_EXTENT_CELLS`."""
    h3int = h3_api()
    res = int(level.resolution or 0)
    extent = _extent_geometry(conn, filt)
    # Every cell of the extent becomes a polygon in memory: h3:15 over one district is
    # 300 million cells, enough to kill the server. Estimate first (degrees² to km² at the
    # extent's latitude) and refuse what cannot be answered.
    lat = float(np.mean([g.centroid.y for g in extent.geometry])) if len(extent) else 0.0
    km2 = float(sum(g.area for g in extent.geometry)) * 111.32**2 * math.cos(math.radians(lat))
    estimate = km2 / h3int.average_hexagon_area(res, "km^2")
    if estimate > MAX_H3_EXTENT_CELLS:
        raise ValidationError(
            f"level h3:{res} would cut this extent into about {estimate:,.0f} cells (at most "
            f"{MAX_H3_EXTENT_CELLS:,}): choose a coarser resolution or a smaller area"
        )
    cells: set[int] = set()
    for geom in extent.geometry:
        cells.update(h3int.geo_to_cells(geom, res))
    return np.array(sorted(cells), dtype=np.int64)


def country_cells(conn: Connection, res: int) -> np.ndarray | None:
    """Every H3 cell of resolution ``res`` that touches a province (sorted int64).

    The cells any point of the country can fall in (a cell whose centre lies over the border
    is one of them). None, before any cell is made, when there would be more than
    :data:`MAX_H3_CELLS` (h3:9 and finer: the country is 4 million cells and more) or no
    province is loaded.
    """
    provinces = conn.execute(sa.text(
        "SELECT ST_AsBinary(geom), area_km2, ST_Y(rep_point), ST_X(rep_point) "
        "FROM provinces")).all()
    if not provinces:
        return None
    # Each province's area over the area of a cell there (H3 cells are 15% larger in
    # Thailand than the global average): within a few % of the count, before any cell.
    h3int = h3_api()
    estimate = sum(float(km2) / h3int.cell_area(h3int.latlng_to_cell(lat, lon, res), "km^2")
                   for _wkb, km2, lat, lon in provinces)
    if estimate > MAX_H3_CELLS:
        return None
    from h3ronpy.vector import ContainmentMode, wkb_to_cells  # deferred: H3 work only

    # One vectorised polyfill (h3-py's geo_to_cells takes 0.8 s for h3:8 and keeps only the
    # cells whose centre lies inside).
    cells = wkb_to_cells([bytes(row[0]) for row in provinces], res,
                         containment_mode=ContainmentMode.IntersectsBoundary, flatten=True)
    return sorted_unique(np.asarray(cells).astype(np.int64))


def names_at(
    conn: Connection, filt: RiskFilter, lon: np.ndarray, lat: np.ndarray
) -> pd.DataFrame:
    """Subdistrict name at each point ('' outside), so an H3 cell says where it is."""
    # The subdivided parts (at most 64 vertices each) make the point-in-polygon test cheap.
    query = sa.text(
        "SELECT s.name_th, s.name_en, ST_AsBinary(p.geom) AS geom "
        "FROM subdistrict_parts p JOIN subdistricts s ON s.code = p.subdistrict_code "
        "WHERE (CAST(:p AS text[]) IS NULL OR s.province_code = ANY(CAST(:p AS text[]))) "
        "AND (CAST(:d AS text) IS NULL OR s.district_code = :d)"
    )
    codes = list(filt.province_codes) if filt.province_codes else None
    subs = read_geoms(conn, query, {"p": codes, "d": filt.district})
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    name_th = np.full(len(lon), "", dtype=object)
    name_en = np.full(len(lon), "", dtype=object)
    if not subs.empty and len(lon):
        tree = shapely.STRtree(subs.geometry.values)
        sub_th, sub_en = subs["name_th"].to_numpy(), subs["name_en"].to_numpy()
        # A chunk of points at a time: 500,000 shapely points at once cost ~70 MB, the peak of
        # a national h3:8 ranking (each point's matches do not depend on the others).
        for start in range(0, len(lon), NAME_STEP):
            part = slice(start, start + NAME_STEP)
            idx_pts, idx_subs = tree.query(shapely.points(lon[part], lat[part]),
                                           predicate="within")
            # The first match of each point, in the order the tree gives them.
            points, first = np.unique(idx_pts, return_index=True)
            rows = points + start
            name_th[rows] = sub_th[idx_subs[first]]
            name_en[rows] = sub_en[idx_subs[first]]
    return pd.DataFrame({"name_th": name_th, "name_en": name_en}, copy=False)
