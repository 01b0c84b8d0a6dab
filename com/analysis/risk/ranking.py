"""Area rankings: score every area of a level within an extent and rank them."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy.engine import Connection, Engine

from com.analysis.risk import cellstore, h3columns, reference
from com.analysis.risk.areas import (
    aggregate_codes,
    aggregate_h3,
    check_h3_cap,
    count_h3_cells,
    country_cells,
    extent_points,
    h3_areas,
    load_areas,
)
from com.analysis.risk.context import band_multipliers, factor_table, load_context
from com.analysis.risk.filters import AreaLevel, RiskFilter, make_filter
from com.analysis.risk.h3cells import SHAPES, CellMemo, fill_h3_cells, h3_strings, kept_shapes
from com.analysis.risk.scoring import combine_scores
from com.config.severity import SeverityModel, severity_model_of
from com.errors import ValidationError
from com.geo.h3 import STORED_RESOLUTIONS

#: Most H3 cells a ranking gives with their polygons; beyond, its geometry is empty
#: (None): polygons cost 0.5-1 KB a cell (a national h3:8
#: ranking holds about 500,000 cells), so whoever shows cells makes those it shows
#: (:func:`com.analysis.risk.h3cells.with_polygons`; the GeoJSON writers do).
EAGER_POLYGONS = 200_000


def area_columns(level: AreaLevel | str, model: SeverityModel | None = None) -> list[str]:
    """Output columns of a ranking, in order (without ``geometry``)."""
    level = AreaLevel.parse(level)
    model = severity_model_of(model)
    return [
        level.code_column, "name_th", "name_en", "risk_score", "risk_per_km2", "rank", "points",
        *(f"cat_{k}" for k in model.category_keys),
        *(f"ctx_{k}" for k in model.context),
    ]


def rank_areas(
    conn: Connection,
    *,
    level: AreaLevel | str = "subdistrict",
    province: str | None = None,
    district: str | None = None,
    region: str | None = None,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
    categories: Iterable[str] | str | None = None,
    min_severity: int | None = None,
    as_of: dt.date | str | None = None,
    use_recency: bool = True,
    model: SeverityModel | Path | str | None = None,
    with_details: bool = False,
    empty_cells: bool = False,
) -> gpd.GeoDataFrame:
    """Score and rank every area of a level within the chosen extent.

    Points are aggregated in PostGIS in one query grouped on the area codes stored at ingest
    (for H3 at resolutions 6-9 on the cells stored at ingest; at others on distinct locations,
    whose cells are computed here); the context factors are computed for the areas with points
    (an area without points scores 0 whatever its context). H3 rankings hold the cells with
    points only (unless ``empty_cells``), and are refused beyond
    :data:`com.analysis.risk.MAX_H3_CELLS` cells with points, counted before any work per cell.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Database connection.
    level : str or AreaLevel
        ``subdistrict`` (default), ``district``, ``province`` or ``h3:N``.
    province, district : str, optional
        Extent and point filter (DOPA codes ``32``, ``3206``); default: the whole country.
    region : str, optional
        A region (``isoc-2``; :mod:`com.config.regions`): the extent is its provinces, and
        areas rank across all of them.
    date_from, date_to : date, optional
        Inclusive range of ``reported_on``; with either set, undated points are left out.
    categories : iterable of str, optional
        Category keys or aliases to keep.
    min_severity : int, optional
        Keep points of at least this severity.
    as_of : date, optional
        Date ages are counted back from (default ``date_to``, else today).
    use_recency : bool
        False: every point has recency 1.
    model : SeverityModel or path, optional
        Default: the packaged model.
    with_details : bool
        Also return ``base_score``, ``incidents``, ``area_km2``, ``rep_lon``/``rep_lat`` and
        ``dist_<factor>`` columns (used by explanations and the API's explain view).
    empty_cells : bool
        H3 only: also return the cells of the extent without points (scored 0), as Gi* needs.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area of the extent (also those without points; H3: the cells with points
        unless ``empty_cells``), ordered by rank, with the
        columns of :func:`area_columns` and ``geometry``; ``attrs`` holds ``level`` and
        ``as_of``. An H3 ranking of more than :data:`EAGER_POLYGONS` cells has an empty
        geometry (None): :func:`com.analysis.risk.h3cells.with_polygons` makes the polygons of
        the rows shown (the GeoJSON writers call it).

    Raises
    ------
    com.errors.ValidationError
        For a bad level or filter.
    com.errors.NotFoundError
        When the province or district does not exist.
    """
    model = severity_model_of(model)
    lvl = AreaLevel.parse(level)
    filt = make_filter(
        province=province, district=district, region=region, date_from=date_from,
        date_to=date_to,
        categories=categories, min_severity=min_severity, as_of=as_of,
        use_recency=use_recency, model=model,
    )
    return rank_by_filter(conn, lvl, filt, model, with_details=with_details,
                          empty_cells=empty_cells)


#: H3 resolutions whose national rankings :func:`prepare_h3` keeps ready by default.
PREPARED_RESOLUTIONS: tuple[int, ...] = (8,)
#: Fewest points in the country for :func:`prepare_h3` to keep a national ranking ready (a
#: smaller one computes in a fraction of a second at its first call).
PREPARE_MIN_POINTS = 50_000


def prepare_h3(
    engine: Engine, model: SeverityModel | Path | str | None = None,
    resolutions: Sequence[int] = PREPARED_RESOLUTIONS,
) -> list[int]:
    """Keep what the next H3 rankings read, off any request; return the resolutions prepared.

    Run after points were stored (the API's background work after an upload, ``com import``)
    or the reference data was loaded (``com geodata load``). Every kept snapshot of the points
    is brought up to the data; then, when the country holds at least
    :data:`PREPARE_MIN_POINTS` points, the national columns and
    the values of every cell with a point at each of ``resolutions`` (area, centre, tambon
    name, context distances of ``model``) are computed once and kept in the database
    (cellstore, h3columns): the next national ranking of any process, even the first after
    a million points were loaded, reads them instead of computing them for 0.5 M cells
    (5-6 s at h3:8). Only the cells not kept yet are computed: after a small upload, a few.
    A smaller country is left to its first ranking (fast at that size).
    """
    model = severity_model_of(model)
    h3columns.refresh_snapshots(engine)
    filt = make_filter(model=model)
    with engine.connect() as conn:
        if extent_points(conn, filt) < PREPARE_MIN_POINTS:
            return []
        fill_h3_cells(conn)
        conn.commit()

        def with_points(res: int) -> np.ndarray | None:
            if res not in STORED_RESOLUTIONS:
                return None
            columns = h3columns.point_columns(conn, res, filt, model, keep=True)
            cells = h3columns.cell_sums(columns, filt, model).cells
            del columns
            try:
                check_h3_cap(AreaLevel.parse(f"h3:{res}"), len(cells))
            except ValidationError:  # refused when asked: nothing to keep ready
                return None
            return cells

        return _keep_cell_values(conn, filt, model, resolutions, with_points)


def prepare_h3_country(
    engine: Engine, model: SeverityModel | Path | str | None = None,
    resolutions: Sequence[int] = PREPARED_RESOLUTIONS,
) -> list[int]:
    """Keep the values of every H3 cell of the country, off any request; return the resolutions.

    Run after the reference data was loaded (``com geodata load``): the area, centre, tambon
    name and context distances (of ``model``) of every cell that touches a province
    (:func:`com.analysis.risk.areas.country_cells`, about 600,000 at h3:8) depend on H3 and
    the reference data only, so they are computed once (4-6 s at h3:8) and kept in the
    database (cellstore). The first national ranking of points written any way, even by plain
    SQL with nothing else prepared, then reads them instead of computing them (3-4 s of its
    5 s at 1M points). A resolution whose country would exceed the ranking cap
    (:data:`com.analysis.risk.areas.MAX_H3_CELLS`; h3:9 and finer) is left out.
    """
    model = severity_model_of(model)
    with engine.connect() as conn:
        return _keep_cell_values(conn, make_filter(model=model), model, resolutions,
                                 lambda res: country_cells(conn, res))


def _keep_cell_values(
    conn: Connection, filt: RiskFilter, model: SeverityModel, resolutions: Sequence[int],
    cells_at: Callable[[int], np.ndarray | None],
) -> list[int]:
    """Keep the cell values of each resolution; return the resolutions kept.

    What is not kept yet of the area, centre, name and context distances of the cells
    ``cells_at`` gives at the resolution (None: that resolution is left out) is computed.
    """
    done: list[int] = []
    for res in resolutions:
        cells = cells_at(res)
        if cells is None:
            continue
        level = AreaLevel.parse(f"h3:{res}")
        areas = h3_areas(conn, level, filt, cells, empty_cells=False, polygons=False)
        del cells
        if model.context:
            _h3_context(conn, areas["code"].to_numpy(), level, model)
        del areas
        conn.rollback()
        done.append(res)
    h3columns.release_heap()
    return done


def _h3_context(
    conn: Connection, codes: np.ndarray, level: AreaLevel, model: SeverityModel
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Distances and multipliers of H3 cells, the distances computed once per model and reference.

    Only the distances are kept (16 MB at h3:8 national): the multipliers, a band lookup of
    them, are made at each call and go once the scores are combined.
    """
    signature = model.model_dump_json(include={"context"})
    memo = reference.cached(conn, ("h3-distances", signature), CellMemo)
    keys = list(model.context)

    def compute(missing: np.ndarray) -> dict[str, np.ndarray]:
        centres = SHAPES.lookup(missing, kept_shapes(conn))
        dist, _mult = factor_table(centres["rep_lon"], centres["rep_lat"], level, model,
                                   load_context(conn, model))
        return {k: dist[k].to_numpy(float) for k in keys}

    def kept(missing: np.ndarray) -> dict[str, np.ndarray]:
        # Kept in the database per level, context settings and reference data (cellstore).
        digest = hashlib.sha256(signature.encode()).hexdigest()[:16]
        return cellstore.stored(conn, f"distances:{level}:{digest}",
                                cellstore.reference_version(conn), missing, compute,
                                floats=keys)

    distances = pd.DataFrame(memo.lookup(codes, kept), columns=keys, copy=False)
    return distances, band_multipliers(distances, level, model)


def _context_factors(
    conn: Connection, areas: gpd.GeoDataFrame, base: pd.DataFrame, level: AreaLevel,
    model: SeverityModel, *, extent: tuple[tuple[str, ...] | None, str | None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Distances and multipliers of the areas with points (an area without points scores 0).

    With ``extent`` (province, district: ``areas`` are that extent's boundaries), the factors
    of every area of the extent are computed once per reference data and model, and reused.
    """
    with_points = np.flatnonzero(base.to_numpy().sum(axis=1) > 0)
    factor_keys = list(model.context)
    if level.kind == "h3" and factor_keys and 0 < len(with_points) == len(areas):
        # Every cell has points (no empty cells): the kept values as they are (no copy).
        return _h3_context(conn, areas["code"].to_numpy(), level, model)
    multipliers = pd.DataFrame(1.0, index=range(len(areas)), columns=factor_keys)
    distances = pd.DataFrame(np.nan, index=range(len(areas)), columns=factor_keys)
    if len(with_points) and factor_keys:
        def table(rows: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame]:
            return factor_table(
                areas["rep_lon"].to_numpy()[rows], areas["rep_lat"].to_numpy()[rows],
                level, model, load_context(conn, model),
            )

        if level.kind == "h3":
            dist, mult = _h3_context(conn, areas["code"].to_numpy()[with_points], level, model)
        elif extent is None:
            dist, mult = table(with_points)
        else:
            every = np.arange(len(areas))
            signature = model.model_dump_json(include={"context"})
            dist, mult = reference.cached(conn, ("context", str(level), extent, signature),
                                          lambda: table(every))
            dist, mult = dist.iloc[with_points], mult.iloc[with_points]
        multipliers.iloc[with_points] = mult[factor_keys].to_numpy()
        distances.iloc[with_points] = dist[factor_keys].to_numpy()
    return distances, multipliers


def _per_area(
    agg: pd.DataFrame, codes: pd.Series, keys: Sequence[str], model: SeverityModel
) -> tuple[np.ndarray, pd.DataFrame]:
    """Sum the (code, category) rows into one row per area (in ``codes`` order).

    Returns the base score per category (an areas x ``keys`` matrix; a category outside the
    model counts as the unknown category) and the ``points`` and ``incidents`` of each area.
    Rows of codes outside ``codes`` are dropped.
    """
    area = pd.Index(codes).get_indexer(agg["code"])
    key_index = pd.Index(list(keys))
    unknown = key_index.get_indexer([model.unknown_category.key])[0]
    column = key_index.get_indexer(agg["category"])
    column = np.where(column >= 0, column, unknown)
    keep = area >= 0
    counted = keep & (column >= 0)
    # bincount adds in input order, as np.add.at did (the same sums), 10x faster.
    base = np.bincount(area[counted] * len(keys) + column[counted],
                       weights=agg["base"].to_numpy(float)[counted],
                       minlength=len(codes) * len(keys)).reshape(len(codes), len(keys))
    totals = {
        name: np.bincount(area[keep], weights=agg[name].to_numpy(float)[keep],
                          minlength=len(codes)).round().astype(np.int64)
        for name in ("points", "incidents")
    }
    return base, pd.DataFrame(totals)


def rank_by_filter(
    conn: Connection,
    level: AreaLevel,
    filt: RiskFilter,
    model: SeverityModel,
    *,
    with_details: bool = False,
    areas: gpd.GeoDataFrame | None = None,
    bbox: Sequence[float] | None = None,
    empty_cells: bool = False,
) -> gpd.GeoDataFrame:
    """Rank the areas of ``level`` for a validated filter (:func:`rank_areas` without parsing).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Database connection.
    level : AreaLevel
        The level of the areas.
    filt : RiskFilter
        Which points count (:func:`com.analysis.risk.filters.make_filter`).
    model : SeverityModel
        The severity model.
    with_details : bool
        As for :func:`rank_areas`.
    areas : geopandas.GeoDataFrame, optional
        The areas to score instead of those of the filter's extent (one H3 cell to explain).
    bbox : sequence of float, optional
        For H3: only points within this box (lon/lat min, max) count.
    empty_cells : bool
        As for :func:`rank_areas`.

    Returns
    -------
    geopandas.GeoDataFrame
        As :func:`rank_areas`.
    """
    if level.kind != "h3" and areas is None and bbox is None:
        # The same ranking of the same data is answered once (dashboards poll): keyed by the
        # filter with its analysis date, the model, and the rollup's version (a write of the
        # risk points changes it); the caller gets its own copy.
        key = ("ranking", str(level), dataclasses.replace(filt, as_of=filt.analysis_date),
               model.model_dump_json(), with_details, reference.rollup_version(conn))
        return reference.cached(
            conn, key, lambda: _rank(conn, level, filt, model, with_details=with_details)
        ).copy()
    return _rank(conn, level, filt, model, with_details=with_details, areas=areas, bbox=bbox,
                 empty_cells=empty_cells)


def _rank(
    conn: Connection,
    level: AreaLevel,
    filt: RiskFilter,
    model: SeverityModel,
    *,
    with_details: bool = False,
    areas: gpd.GeoDataFrame | None = None,
    bbox: Sequence[float] | None = None,
    empty_cells: bool = False,
) -> gpd.GeoDataFrame:
    """Compute :func:`rank_by_filter` (no cache)."""
    extent: tuple[tuple[str, ...] | None, str | None] | None = None
    keys = model.category_keys
    if level.kind == "h3":
        areas, matrix, counts = _h3_rows(conn, level, filt, model, areas=areas, bbox=bbox,
                                       empty_cells=empty_cells)
    else:
        agg = aggregate_codes(conn, level, filt, model)
        if areas is None:
            extent = (filt.province_codes, filt.district)
            areas = reference.cached(conn, ("areas", str(level), extent),
                                     lambda: load_areas(conn, level, filt))
        matrix, counts = _per_area(agg, areas["code"], keys, model)
    # The matrix is this call's own: its columns are put in rank order in place below.
    base = pd.DataFrame(matrix, columns=list(keys), copy=False)
    factor_keys = list(model.context)
    distances, multipliers = _context_factors(conn, areas, base, level, model, extent=extent)
    # Giving freed memory back costs milliseconds a call (malloc_trim walks the heap): worth it
    # only for rankings large enough to come without polygons (a national H3 one).
    trim = level.kind == "h3" and len(areas) > EAGER_POLYGONS
    if trim:
        h3columns.release_heap()  # the names' and distances' work (a first call)
    scores = combine_scores(base, multipliers, {k: f.weight for k, f in model.context.items()})
    # A national H3 ranking's intermediate frames are tens of MB each: each goes once used.
    del base
    if not with_details:
        del distances, multipliers
    if trim:
        h3columns.release_heap()  # the scoring's intermediate frames
    code_column = level.code_column
    raw_codes = areas["code"].to_numpy()
    risk = scores.pop("risk_score").to_numpy()
    if not with_details:
        del scores["base_score"]
    area_km2 = areas["area_km2"].to_numpy()
    rank, order = _rank_order(risk, raw_codes, sorted_codes=level.kind == "h3")
    # Each column is taken once, already in rank order, into one frame: with 500,000 H3
    # cells every extra frame or reordering copy cost 80 MB and a tenth of a second. The
    # sources go as their columns are taken and the H3 cell strings (35 MB of Python str)
    # are made last, once the sources are gone: the peak is then about the answer itself.
    codes = raw_codes[order]
    data: dict[str, np.ndarray] = {
        code_column: codes,
        "name_th": areas["name_th"].to_numpy()[order],
        "name_en": areas["name_en"].to_numpy()[order],
        "risk_score": risk[order],
        "rank": rank[order],
        "points": np.asarray(counts["points"].to_numpy(), dtype=np.int64)[order],
    }
    del rank
    per_km2 = np.divide(risk, area_km2, out=np.full(len(risk), np.nan), where=area_km2 > 0)
    del risk
    data["risk_per_km2"] = per_km2[order]
    del per_km2
    # The category columns of the scores are the base matrix's own values (views of it):
    # reordered in place, a column at a time, they cost no second copy of the matrix (30 MB
    # at h3:8 national, the peak of the call).
    for key in keys:
        del scores[f"cat_{key}"]
    for j, key in enumerate(keys):
        matrix[:, j] = matrix[order, j]
        data[f"cat_{key}"] = matrix[:, j]
    del matrix
    # pop: each column of the scores is freed once it is taken (the frame's peak memory).
    for key in factor_keys:
        data[f"ctx_{key}"] = scores.pop(f"ctx_{key}").to_numpy()[order]
    columns = area_columns(level, model)
    if with_details:
        data["base_score"] = scores["base_score"].to_numpy()[order]
        data["incidents"] = counts["incidents"].to_numpy().astype(np.int64)[order]
        data["area_km2"] = area_km2[order]
        data["rep_lon"] = areas["rep_lon"].to_numpy()[order]
        data["rep_lat"] = areas["rep_lat"].to_numpy()[order]
        for key in factor_keys:
            data[f"dist_{key}"] = distances[key].to_numpy()[order]
            data[f"mult_{key}"] = multipliers[key].to_numpy()[order]
        del distances, multipliers
        columns = columns + [c for c in data if c not in columns]
    geometry = areas.geometry.values[order]
    del scores, areas, counts, raw_codes, area_km2, order
    if trim:
        h3columns.release_heap()  # the sources just freed, before the strings are made
    if level.kind == "h3":
        data[code_column] = h3_strings(codes)
    del codes
    # copy=False: the arrays above are the frame's own (no consolidation copy).
    result = gpd.GeoDataFrame({c: data.pop(c) for c in columns}, geometry=geometry, crs=4326,
                              copy=False)
    result.attrs.update({"level": str(level), "as_of": filt.analysis_date.isoformat()})
    return result


def _h3_rows(
    conn: Connection, level: AreaLevel, filt: RiskFilter, model: SeverityModel, *,
    areas: gpd.GeoDataFrame | None, bbox: Sequence[float] | None, empty_cells: bool,
) -> tuple[gpd.GeoDataFrame, np.ndarray, pd.DataFrame]:
    """Return the cells of an H3 ranking (``areas`` when given), base scores and counts."""
    keys = model.category_keys
    res = int(level.resolution or 0)
    stored = areas is None and res in STORED_RESOLUTIONS
    if stored and h3columns.usable(extent_points(conn, filt), bbox):
        # Grouped in numpy from the points kept in the process (h3columns). The cap is checked
        # on the cells that hold a point passing the filter, counted from those columns (at
        # most MAX_COLUMN_POINTS points read), before any work per cell; a count in SQL cost
        # 0.6 s a call above 1M points.
        fill_h3_cells(conn)
        sums = h3columns.cell_sums(h3columns.point_columns(conn, res, filt, model), filt, model)
        check_h3_cap(level, len(sums.cells))
        areas = h3_areas(conn, level, filt, sums.cells, empty_cells=empty_cells,
                         polygons=empty_cells or len(sums.cells) <= EAGER_POLYGONS)
        base, counts = _cell_rows(sums, areas["code"].to_numpy(), keys)
        return areas, base, counts
    # Otherwise the cap is checked on a count before any work (None: not a stored resolution).
    cells = count_h3_cells(conn, level, filt, bbox=bbox) if stored else None
    if cells is not None:
        check_h3_cap(level, cells)
    agg = aggregate_h3(conn, level, filt, model, bbox=bbox)
    if areas is None:
        if cells is None:
            check_h3_cap(level, int(agg["code"].nunique()))
        areas = h3_areas(conn, level, filt, agg["code"].unique(), empty_cells=empty_cells)
    base, counts = _per_area(agg, areas["code"], keys, model)
    return areas, base, counts


def _rank_order(
    scores: np.ndarray, codes: np.ndarray, *, sorted_codes: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Return the rank of each score (1 + how many are higher: pandas' ``min``), row order.

    Rows go by rank, then code. With ``codes`` already sorted (H3 cells) one stable sort of
    the scores gives both.
    """
    if np.isnan(scores).any() or not sorted_codes:
        rank = pd.Series(scores).rank(method="min", ascending=False).to_numpy(np.int64)
        return rank, np.lexsort((np.asarray(codes), rank))
    # By score, then row (= code): the fast unstable sort, then the rows of equal scores put
    # in order by a key that is sorted but for those (a stable sort of 486,000 floats costs
    # twice as much).
    order = np.argsort(-scores)
    descending = -scores[order]
    tied = np.empty(len(order), dtype=np.int64)
    tied[:1] = 0
    np.cumsum(descending[1:] != descending[:-1], out=tied[1:])
    order = order[np.argsort(tied * len(order) + order, kind="stable")]
    rank = np.empty(len(scores), dtype=np.int64)
    rank[order] = np.searchsorted(descending, descending, side="left") + 1
    return rank, order


def _cell_rows(
    sums: h3columns.CellSums, codes: np.ndarray, keys: Sequence[str]
) -> tuple[np.ndarray, pd.DataFrame]:
    """:func:`_per_area` for sums grouped in numpy: the rows of ``codes`` (sorted cells)."""
    if np.array_equal(codes, sums.cells):  # no empty cells added: the rows as they are
        return sums.base, pd.DataFrame({"points": sums.points, "incidents": sums.incidents},
                                       copy=False)
    rows = np.searchsorted(codes, sums.cells)
    base = np.zeros((len(codes), len(keys)), order="F")  # as sums.base (column-major)
    base[rows] = sums.base  # the same columns: model.category_keys
    totals = {name: np.zeros(len(codes), dtype=np.int64) for name in ("points", "incidents")}
    totals["points"][rows] = sums.points
    totals["incidents"][rows] = sums.incidents
    return base, pd.DataFrame(totals, copy=False)
