"""Risk scores of areas: point weights, rankings with explanations, hot spots and heat.

The score of an area (subdistrict, district, province or H3 cell) is defined in two steps:

``base``
    the sum over the area's risk points of
    ``category weight x severity x recency x incident count`` (:func:`point_weights`; the
    same formula runs in SQL for the ranking, ``com/db/sql/rank_weighted_points.sql``);
``risk_score``
    ``base x prod_f m_f ** w_f`` where ``m_f`` is the band multiplier of context factor ``f``
    (land border, border crossings, Mekong, district towns: Risk Terrain Modeling style) at the
    area's representative point and ``w_f`` the factor's weight.

Explanations split the score exactly: the category columns ``cat_<key>`` sum to ``base`` and
the factor columns ``ctx_<key>`` share the uplift ``risk_score - base`` in proportion to
``w_f x ln m_f`` (a log-share decomposition: with ``L_f = w_f ln m_f`` and ``L = sum L_f``,
``ctx_f = base x (e**L - 1) x L_f / L``, which tends to ``base x L_f`` as ``L -> 0``). So
``sum(cat_*) + sum(ctx_*) == risk_score`` for every area, and a factor that doubles the
multiplier's logarithm gets twice the share.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import warnings
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.config.severity import SeverityModel, category_key
from com.config.severity import severity_model_of as _model
from com.db.engine import load_sql
from com.errors import NotFoundError, ValidationError
from com.geo.projection import (
    UTM47,
    UTM48,
    project,
    project_geometries,
    unproject,
    utm_crs_for,
    utm_zones,
)
from com.io.escape import escape_formula

__all__ = [
    "AreaExplanation",
    "AreaLevel",
    "area_columns",
    "areas_to_geojson",
    "areas_to_records",
    "combine_scores",
    "context_distances",
    "emerging_hotspots",
    "emerging_pattern",
    "explain_area",
    "gi_star",
    "heat_surface",
    "json_ready",
    "hotspots",
    "point_weights",
    "rank_areas",
    "spatial_weights",
    "thai_headers",
    "warm_up",
    "write_areas",
]

# --------------------------------------------------------------------------- point weights


def point_weights(
    points_df: pd.DataFrame,
    model: SeverityModel | None = None,
    *,
    as_of: dt.date | None = None,
    use_recency: bool = True,
) -> pd.Series:
    """Weight of each risk point: category weight x severity x recency x incident count.

    This is the demand weight of a point everywhere in COM (area ranking, CCTV siting, heat
    surface). Recency is ``exp(-ln 2 x age_days / half_life_days)`` with the age counted back
    from ``as_of`` (future dates count as age 0); undated points get ``undated_factor``.

    Parameters
    ----------
    points_df : pandas.DataFrame
        Columns ``category`` (a key; other values get the unknown weight), ``severity`` (1-5),
        optionally ``incident_count`` (default 1) and ``reported_on`` (date; missing = undated).
    model : SeverityModel, optional
        Default: the packaged model.
    as_of : datetime.date, optional
        Date the ages are counted back from; default today.
    use_recency : bool
        False gives every point recency 1 (comparisons between whole periods).

    Returns
    -------
    pandas.Series
        Float weights aligned with ``points_df.index``.

    Raises
    ------
    com.errors.ValidationError
        When a column is missing or a severity is outside 1-5.

    Examples
    --------
    >>> import pandas as pd, datetime as dt
    >>> df = pd.DataFrame({"category": ["drugs"], "severity": [3],
    ...                    "reported_on": [dt.date(2024, 1, 1)], "incident_count": [2]})
    >>> float(point_weights(df, as_of=dt.date(2025, 1, 1)).iloc[0])  # 2 x 3 x 2 x 0.5^(366/365)
    5.98...
    """
    model = _model(model)
    for column in ("category", "severity"):
        if column not in points_df.columns:
            raise ValidationError(f"points need a {column!r} column")
    severity = pd.to_numeric(points_df["severity"], errors="coerce").astype(float)
    bad = severity.isna() | (severity < 1) | (severity > 5)
    if bad.any():
        first = points_df.index[bad.to_numpy()][0]
        value = json_ready(points_df.loc[first, "severity"])
        raise ValidationError(f"row {first} (index): severity {value!r} is not 1-5")
    weights = {k: c.weight for k, c in model.categories.items()}
    cat_weight = (
        points_df["category"].map(weights).fillna(model.unknown_category.weight).astype(float)
    )
    if "incident_count" in points_df.columns:
        count = pd.to_numeric(points_df["incident_count"], errors="coerce").fillna(1).astype(float)
    else:
        count = pd.Series(1.0, index=points_df.index)
    if use_recency:
        as_of = as_of or dt.date.today()
        if "reported_on" in points_df.columns:
            dates = pd.to_datetime(points_df["reported_on"], errors="coerce")
            age = (pd.Timestamp(as_of) - dates).dt.days.astype(float).clip(lower=0)
            recency = np.exp(-math.log(2.0) * age / model.recency.half_life_days)
            recency = recency.fillna(model.recency.undated_factor)
        else:
            recency = pd.Series(model.recency.undated_factor, index=points_df.index)
    else:
        recency = pd.Series(1.0, index=points_df.index)
    return (cat_weight * severity * recency * count).astype(float)


# --------------------------------------------------------------------------- levels, filters


@dataclass(frozen=True)
class AreaLevel:
    """An area level: ``subdistrict``, ``district``, ``province`` or ``h3`` with a resolution."""

    kind: Literal["subdistrict", "district", "province", "h3"] = "subdistrict"
    resolution: int | None = None

    @classmethod
    def parse(cls, text: str | AreaLevel | None) -> AreaLevel:
        """Read ``subdistrict``, ``district``, ``province`` or ``h3:N`` (N = 0-15).

        Raises
        ------
        com.errors.ValidationError
            For anything else.
        """
        if isinstance(text, AreaLevel):
            return text
        value = (text or "subdistrict").strip().lower()
        if value in ("subdistrict", "district", "province"):
            return cls(value)  # type: ignore[arg-type]
        match = re.fullmatch(r"h3[:_ ]?(\d{1,2})", value)
        if match and 0 <= int(match.group(1)) <= 15:
            return cls("h3", int(match.group(1)))
        raise ValidationError(
            f"level {text!r} is not subdistrict, district, province or h3:N (N = 0-15)"
        )

    @property
    def code_column(self) -> str:
        """The output column holding the area code."""
        return "h3_cell" if self.kind == "h3" else f"{self.kind}_code"

    def __str__(self) -> str:
        return f"h3:{self.resolution}" if self.kind == "h3" else self.kind


#: Finest H3 resolution served to callers without the "sensitive" permission. A resolution-7
#: cell covers about 5 km² (edge about 1.4 km), the same order as the subdistrict (about 50 km²
#: in Surin) whose representative point stands in for a sensitive point elsewhere; finer cells
#: would pin one down by its cell's score (a drug hand-off spot alone in a 1 m² resolution-15
#: cell), in rankings, hot spots and explanations alike.
MAX_H3_RESOLUTION_WITHOUT_SENSITIVE = 7
#: Most H3 cells one ranking may cover (Thailand at h3:7 is about 100,000).
MAX_H3_CELLS = 200_000


def check_level_for(level: str | AreaLevel, *, sees_sensitive: bool) -> AreaLevel:
    """Return the parsed level, refusing H3 cells too fine for a caller without "sensitive".

    Parameters
    ----------
    level
        ``subdistrict``, ``district``, ``province`` or ``h3:N``; or an area code (its level).
    sees_sensitive
        ``Principal.sees_sensitive`` of the caller.

    Raises
    ------
    com.errors.ValidationError
        For a level that is not one.
    com.errors.PermissionDenied
        For ``h3:N`` finer than :data:`MAX_H3_RESOLUTION_WITHOUT_SENSITIVE` without the right.
    """
    from com.errors import PermissionDenied

    if isinstance(level, AreaLevel):
        parsed = level
    else:
        text = str(level).strip().lower()
        parsed = AreaLevel.parse(text) if text.startswith("h3") or text.isalpha() \
            else _level_of_code(text)
    if (parsed.kind == "h3" and not sees_sensitive
            and int(parsed.resolution or 0) > MAX_H3_RESOLUTION_WITHOUT_SENSITIVE):
        raise PermissionDenied(
            f"H3 resolution {parsed.resolution} would locate sensitive points too closely: "
            f"use h3:{MAX_H3_RESOLUTION_WITHOUT_SENSITIVE} or coarser (finer cells need the "
            "'sensitive' permission)"
        )
    return parsed


@dataclass(frozen=True)
class RiskFilter:
    """Which points count: area, date range, categories, severity; and the analysis date."""

    province: str | None = None
    district: str | None = None
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    categories: tuple[str, ...] | None = None
    min_severity: int | None = None
    as_of: dt.date | None = None
    use_recency: bool = True

    @property
    def analysis_date(self) -> dt.date:
        """The date ages are counted back from: ``as_of``, else ``date_to``, else today."""
        return self.as_of or self.date_to or dt.date.today()


def _as_date(value: object, what: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    from com.text.thai import parse_date

    try:
        parsed = parse_date(value)
    except Exception as exc:  # noqa: BLE001 - any parse failure is the user's date
        raise ValidationError(f"{what}: {value!r} is not a date ({exc})") from exc
    if parsed is None:
        raise ValidationError(f"{what}: {value!r} is not a date")
    return parsed


def make_filter(
    *,
    province: str | None = None,
    district: str | None = None,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
    categories: Iterable[str] | str | None = None,
    min_severity: int | None = None,
    as_of: dt.date | str | None = None,
    use_recency: bool = True,
    model: SeverityModel | None = None,
) -> RiskFilter:
    """Validate filter values into a :class:`RiskFilter`.

    Raises
    ------
    com.errors.ValidationError
        Naming the bad value (a code of the wrong shape, an unknown category, a reversed
        date range, a severity outside 1-5).
    """
    model = _model(model)
    province = str(province).strip() if province not in (None, "") else None
    district = str(district).strip() if district not in (None, "") else None
    if province is not None and not re.fullmatch(r"\d{2}", province):
        raise ValidationError(f"province {province!r} must be a 2-digit code such as 32")
    if district is not None:
        if not re.fullmatch(r"\d{4}", district):
            raise ValidationError(f"district {district!r} must be a 4-digit code such as 3206")
        if province is not None and not district.startswith(province):
            raise ValidationError(f"district {district} is not in province {province}")
    start = _as_date(date_from, "from")
    end = _as_date(date_to, "to")
    if start and end and start > end:
        raise ValidationError(f"date range reversed: from {start} is after to {end}")
    cats: tuple[str, ...] | None = None
    if categories:
        items = categories.split(",") if isinstance(categories, str) else list(categories)
        keys: list[str] = []
        for item in items:
            for part in str(item).split(","):
                if part.strip():
                    keys.append(category_key(part.strip(), model, strict=True))
        cats = tuple(dict.fromkeys(keys)) or None
    if min_severity is not None and not 1 <= int(min_severity) <= 5:
        raise ValidationError(f"minimum severity {min_severity} is not 1-5")
    return RiskFilter(
        province=province,
        district=district,
        date_from=start,
        date_to=end,
        categories=cats,
        min_severity=int(min_severity) if min_severity is not None else None,
        as_of=_as_date(as_of, "as_of"),
        use_recency=use_recency,
    )


def _sql_params(
    filt: RiskFilter, model: SeverityModel, *, level: str = "subdistrict", **extra: Any
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "level": level,
        "province": filt.province,
        "district": filt.district,
        "subdistrict": None,
        "date_from": filt.date_from,
        "date_to": filt.date_to,
        "categories": list(filt.categories) if filt.categories else None,
        "min_severity": filt.min_severity,
        "as_of": filt.analysis_date,
        "use_recency": filt.use_recency,
        "half_life_days": model.recency.half_life_days,
        "undated_factor": model.recency.undated_factor,
        "unknown_weight": model.unknown_category.weight,
        "cat_keys": list(model.categories),
        "cat_weights": [c.weight for c in model.categories.values()],
        "bbox": None,
    }
    params.update(extra)
    return params


def _points_sql(name: str) -> sa.TextClause:
    # Both texts are packaged files, never user input.
    return sa.text(load_sql(name).replace("{weighted_points}", load_sql("rank_weighted_points")))


# --------------------------------------------------------------------------- areas and points

_AREA_TABLES = {"subdistrict": "subdistricts", "district": "districts", "province": "provinces"}


def _load_areas(conn: Connection, level: AreaLevel, filt: RiskFilter) -> gpd.GeoDataFrame:
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
    if level.kind == "province":
        if filt.province:
            query = query.where(table.c.code == filt.province)
        elif filt.district:
            query = query.where(table.c.code == filt.district[:2])
    else:
        if filt.province:
            query = query.where(table.c.province_code == filt.province)
        if filt.district:
            column = table.c.code if level.kind == "district" else table.c.district_code
            query = query.where(column == filt.district)
    frame = _read_geoms(conn, query.order_by(table.c.code))
    if frame.empty:
        _missing_area(filt)
    return frame


def _read_geoms(conn: Connection, query: Any, params: Mapping[str, Any] | None = None
                ) -> gpd.GeoDataFrame:
    """Run a select with a ``geom`` column; decode all geometries in one vectorised call."""
    result = conn.execute(query, dict(params or {}))
    frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    # geopandas.read_postgis decodes row by row; shapely.from_wkb on the array is ~10x faster.
    geoms = shapely.from_wkb(
        np.array([bytes.fromhex(g) if isinstance(g, str) else bytes(g)
                  for g in frame.pop("geom")], dtype=object)
    ) if len(frame) else np.array([], dtype=object)
    return gpd.GeoDataFrame(frame, geometry=geoms, crs=4326)


def _missing_area(filt: RiskFilter) -> None:
    if filt.district:
        raise NotFoundError(f"district {filt.district} does not exist (or has no areas)")
    if filt.province:
        raise NotFoundError(f"province {filt.province} does not exist")
    raise NotFoundError("no boundaries loaded: run `com geodata load` first")


def _aggregate_codes(
    conn: Connection, level: AreaLevel, filt: RiskFilter, model: SeverityModel
) -> pd.DataFrame:
    rows = conn.execute(
        _points_sql("rank_areas_points"), _sql_params(filt, model, level=level.kind)
    ).all()
    return pd.DataFrame(rows, columns=["code", "category", "points", "incidents", "base"])


def _h3():  # type: ignore[no-untyped-def]
    import h3.api.basic_int as h3int

    return h3int


def _h3_cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    # h3 4.x has no array API; one call per distinct location (callers de-duplicate).
    h3int = _h3()
    cell = h3int.latlng_to_cell
    return np.fromiter(
        (cell(a, o, resolution) for a, o in zip(lat.tolist(), lon.tolist(), strict=True)),
        dtype=np.int64,
        count=len(lat),
    )


def _copy_frame(
    conn: Connection, statement: sa.TextClause, params: Mapping[str, Any], columns: list[str]
) -> pd.DataFrame:
    """Run a large select through COPY ... TO STDOUT (CSV) into a DataFrame.

    Fetching a million rows through the cursor costs seconds of Python per row; COPY streams
    them as text that pandas parses in C. The statement is a packaged SQL file and the values
    are bound by psycopg on the client (lists as arrays), never formatted into the text.
    """
    names = set(re.findall(r"(?<![:\w]):(\w+)", statement.text))
    bound = statement.bindparams(**{k: v for k, v in params.items() if k in names})
    compiled = bound.compile(dialect=conn.dialect)
    raw = conn.connection.driver_connection
    if raw is None:
        raise RuntimeError("the database connection is closed")
    buffer = io.BytesIO()
    with raw.cursor().copy(f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)",
                           compiled.params) as copy:
        for chunk in copy:
            buffer.write(chunk)
    buffer.seek(0)
    if not buffer.getbuffer().nbytes:
        return pd.DataFrame(columns=columns)
    return pd.read_csv(buffer, header=None, names=columns, float_precision="round_trip",
                       keep_default_na=False, na_values=[""])


def _aggregate_h3(
    conn: Connection,
    level: AreaLevel,
    filt: RiskFilter,
    model: SeverityModel,
    *,
    bbox: Sequence[float] | None = None,
) -> pd.DataFrame:
    frame = _copy_frame(
        conn, _points_sql("rank_h3_points"),
        _sql_params(filt, model, level="h3", bbox=list(bbox) if bbox else None),
        ["lon", "lat", "category", "points", "incidents", "base"],
    )
    if frame.empty:
        return pd.DataFrame(columns=["code", "category", "points", "incidents", "base"])
    coords = frame[["lat", "lon"]].drop_duplicates()
    coords["code"] = _h3_cells(coords["lat"].to_numpy(), coords["lon"].to_numpy(),
                               int(level.resolution or 0))
    frame = frame.merge(coords, on=["lat", "lon"], how="left")
    return (
        frame.groupby(["code", "category"], as_index=False)[["points", "incidents", "base"]]
        .sum()
    )


def h3_point_totals(conn: Connection, level: AreaLevel | str) -> dict[str, int]:
    """Return how many risk points each H3 cell of ``level`` holds (every category and date).

    The cells are those of the H3 rankings (:func:`_aggregate_h3`), so
    :func:`com.security.privacy.hidden_areas` hides exactly the cells a ranking shows.
    """
    lvl = AreaLevel.parse(level)
    if lvl.kind != "h3":
        raise ValidationError(f"{level} is not an H3 level")
    agg = _aggregate_h3(conn, lvl, RiskFilter(use_recency=False), _model(None))
    if agg.empty:
        return {}
    totals = agg.groupby("code")["points"].sum()
    codes = _h3_strings(totals.index.to_numpy(dtype=np.int64))
    return {str(c): int(n) for c, n in zip(codes, totals.to_numpy(), strict=True)}


def _extent_geometry(conn: Connection, filt: RiskFilter) -> gpd.GeoDataFrame:
    if filt.district:
        query = sa.text("SELECT code, ST_AsBinary(geom) AS geom FROM districts WHERE code = :c")
        params = {"c": filt.district}
    elif filt.province:
        query = sa.text("SELECT code, ST_AsBinary(geom) AS geom FROM provinces WHERE code = :c")
        params = {"c": filt.province}
    else:
        query = sa.text("SELECT code, ST_AsBinary(geom) AS geom FROM provinces ORDER BY code")
        params = {}
    frame = _read_geoms(conn, query, params)
    if frame.empty:
        _missing_area(filt)
    return frame


def _h3_polygons(cells: np.ndarray) -> np.ndarray:
    from itertools import chain

    h3int = _h3()
    boundaries = [h3int.cell_to_boundary(int(c)) for c in cells]
    lengths = np.fromiter((len(b) for b in boundaries), dtype=np.int64, count=len(boundaries))
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(boundaries)), dtype=float,
                       count=int(lengths.sum()) * 2).reshape(-1, 2)[:, ::-1]  # lat,lng -> x,y
    # One vectorised call; shapely closes each ring by repeating its first vertex.
    rings = shapely.linearrings(flat, indices=np.repeat(np.arange(len(cells)), lengths))
    return shapely.polygons(rings)


def _h3_strings(cells: np.ndarray) -> np.ndarray:
    """H3 cell strings (15 hex digits) of int64 cells, without a Python call per cell."""
    text = np.asarray(cells, dtype=">u8").tobytes().hex()
    return np.array([text[i + 1 : i + 16] for i in range(0, len(text), 16)], dtype=object)


def _h3_areas(
    conn: Connection, level: AreaLevel, filt: RiskFilter, extra_cells: Iterable[int]
) -> gpd.GeoDataFrame:
    h3int = _h3()
    res = int(level.resolution or 0)
    extent = _extent_geometry(conn, filt)
    # Every cell of the extent becomes a polygon in memory: h3:15 over one district is
    # 300 million cells, enough to kill the server. Estimate first (degrees² to km² at the
    # extent's latitude) and refuse what cannot be answered.
    lat = float(np.mean([g.centroid.y for g in extent.geometry])) if len(extent) else 0.0
    km2 = float(sum(g.area for g in extent.geometry)) * 111.32**2 * math.cos(math.radians(lat))
    estimate = km2 / h3int.average_hexagon_area(res, "km^2")
    if estimate > MAX_H3_CELLS:
        raise ValidationError(
            f"level h3:{res} would cut this extent into about {estimate:,.0f} cells (at most "
            f"{MAX_H3_CELLS:,}): choose a coarser resolution or a smaller area"
        )
    cells: set[int] = set()
    for geom in extent.geometry:
        cells.update(h3int.geo_to_cells(geom, res))
    cells.update(int(c) for c in extra_cells)
    ordered = np.array(sorted(cells), dtype=np.int64)
    centres = np.array([h3int.cell_to_latlng(int(c)) for c in ordered], dtype=float).reshape(-1, 2)
    frame = gpd.GeoDataFrame(
        {
            "code": ordered,
            "area_km2": [h3int.cell_area(int(c), "km^2") for c in ordered],
            "rep_lon": centres[:, 1],
            "rep_lat": centres[:, 0],
        },
        geometry=_h3_polygons(ordered),
        crs=4326,
    )
    names = _names_at(conn, filt, centres[:, 1], centres[:, 0])
    frame["name_th"] = names["name_th"].to_numpy()
    frame["name_en"] = names["name_en"].to_numpy()
    return frame


def _names_at(
    conn: Connection, filt: RiskFilter, lon: np.ndarray, lat: np.ndarray
) -> pd.DataFrame:
    """Subdistrict name at each point ('' outside), so an H3 cell says where it is."""
    # The subdivided parts (at most 64 vertices each) make the point-in-polygon test cheap.
    query = sa.text(
        "SELECT s.name_th, s.name_en, ST_AsBinary(p.geom) AS geom "
        "FROM subdistrict_parts p JOIN subdistricts s ON s.code = p.subdistrict_code "
        "WHERE (CAST(:p AS text) IS NULL OR s.province_code = :p) "
        "AND (CAST(:d AS text) IS NULL OR s.district_code = :d)"
    )
    subs = _read_geoms(conn, query, {"p": filt.province, "d": filt.district})
    result = pd.DataFrame({"name_th": [""] * len(lon), "name_en": [""] * len(lon)})
    if subs.empty or len(lon) == 0:
        return result
    tree = shapely.STRtree(subs.geometry.values)
    pts = shapely.points(lon, lat)
    idx_pts, idx_subs = tree.query(pts, predicate="within")
    first = pd.Series(idx_subs, index=idx_pts).groupby(level=0).first()
    result.loc[first.index, "name_th"] = subs["name_th"].to_numpy()[first.to_numpy()]
    result.loc[first.index, "name_en"] = subs["name_en"].to_numpy()[first.to_numpy()]
    return result


# --------------------------------------------------------------------------- context factors


def _pieces(geoms: np.ndarray, max_vertices: int = 64) -> list[Any]:
    """Cut lines into short pieces so the STRtree can skip far-away parts of a long border."""
    out: list[Any] = []
    for geom in geoms:
        parts = getattr(geom, "geoms", [geom])
        for part in parts:
            if part.geom_type == "LineString":
                coords = np.asarray(part.coords)
                for start in range(0, max(len(coords) - 1, 1), max_vertices - 1):
                    chunk = coords[start : start + max_vertices]
                    if len(chunk) >= 2:
                        out.append(shapely.linestrings(chunk))
            else:
                out.append(part)
    return out


def context_distances(
    lon: np.ndarray,
    lat: np.ndarray,
    features: Mapping[str, Sequence[Any]],
    *,
    max_distance_m: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Distance in metres from each point to the nearest feature of each set.

    Distances are planar in UTM zone 47 for points west of 102 E and zone 48 east of it
    (scale error under 0.1% within Thailand), with the features projected into the same zone.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Points in EPSG:4326.
    features : mapping of str to sequence of shapely geometries
        Feature sets in EPSG:4326 (lines are cut into pieces internally).
    max_distance_m : mapping of str to float, optional
        Per set, distances beyond this are not computed and come back as NaN.

    Returns
    -------
    pandas.DataFrame
        One column per feature set; NaN where the set is empty or the feature is farther
        than ``max_distance_m``.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = pd.DataFrame({name: np.full(len(lon), np.nan) for name in features},
                       index=range(len(lon)))
    if len(lon) == 0:
        return out
    zones = utm_zones(lon)
    for epsg, mask in ((UTM47, zones == 47), (UTM48, zones == 48)):
        if not mask.any():
            continue
        x, y = project(lon[mask], lat[mask], epsg)
        points = shapely.points(x, y)
        rows = np.flatnonzero(mask)
        for name, geoms in features.items():
            if len(geoms) == 0:
                continue
            pieces = _pieces(project_geometries(list(geoms), epsg))
            tree = shapely.STRtree(pieces)
            limit = (max_distance_m or {}).get(name)
            (idx_in, _idx_tree), dist = tree.query_nearest(
                points, max_distance=limit, return_distance=True, all_matches=False
            )
            values = np.full(len(points), np.nan)
            values[idx_in] = dist
            out.loc[rows, name] = values
    return out


def _load_context(conn: Connection, model: SeverityModel) -> dict[str, list[Any]]:
    features: dict[str, list[Any]] = {}
    for key, factor in model.context.items():
        if factor.source == "border_crossings":
            query = sa.text("SELECT ST_AsBinary(geom) FROM border_crossings")
            params: dict[str, Any] = {}
        elif factor.source == "district_towns":
            query = sa.text("SELECT ST_AsBinary(rep_point) FROM districts")
            params = {}
        else:
            query = sa.text("SELECT ST_AsBinary(geom) FROM context_layers WHERE layer = :layer")
            params = {"layer": factor.source}
        features[key] = [shapely.from_wkb(bytes(r[0])) for r in conn.execute(query, params)]
    return features


def _factor_table(
    lon: np.ndarray, lat: np.ndarray, level: AreaLevel, model: SeverityModel,
    features: Mapping[str, Sequence[Any]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Distances and band multipliers (1 where a factor does not apply at this level)."""
    active = {k: f for k, f in model.context.items() if level.kind in f.levels and f.weight > 0}
    distances = context_distances(
        lon, lat, {k: features.get(k, []) for k in active},
        max_distance_m={k: f.bands_m[-1] for k, f in active.items()},
    )
    multipliers = pd.DataFrame(index=range(len(lon)))
    for key, factor in model.context.items():
        if key in active:
            multipliers[key] = factor.multiplier(distances[key].to_numpy())
        else:
            multipliers[key] = 1.0
            distances[key] = np.nan
    return distances, multipliers


def combine_scores(
    base: pd.DataFrame, multipliers: pd.DataFrame, weights: Mapping[str, float]
) -> pd.DataFrame:
    """Combine category base scores with context multipliers, with an exact decomposition.

    ``risk_score = base x prod_f m_f ** w_f``. With ``L_f = w_f ln m_f`` and ``L = sum_f L_f``
    the uplift ``base x (e**L - 1)`` is shared as ``ctx_f = base x (e**L - 1) x L_f / L``
    (``base x L_f`` when ``L = 0``), so categories and factors add up to the score.

    Parameters
    ----------
    base : pandas.DataFrame
        Areas x categories: each category's base score.
    multipliers : pandas.DataFrame
        Areas x factors (same index): band multipliers, 1 where a factor does not apply.
    weights : mapping of str to float
        Factor weights (exponents).

    Returns
    -------
    pandas.DataFrame
        ``risk_score``, ``base_score``, ``cat_<key>`` and ``ctx_<key>`` columns.

    Examples
    --------
    >>> import pandas as pd
    >>> out = combine_scores(pd.DataFrame({"drugs": [10.0]}), pd.DataFrame({"border": [1.5]}),
    ...                      {"border": 1.0})
    >>> float(out.loc[0, "risk_score"]), float(out.loc[0, "ctx_border"])
    (15.0, 5.0)
    """
    base_total = base.sum(axis=1).astype(float)
    logs = pd.DataFrame(
        {k: float(weights.get(k, 1.0)) * np.log(multipliers[k].astype(float))
         for k in multipliers.columns},
        index=base.index,
    )
    total_log = logs.sum(axis=1).to_numpy() if len(logs.columns) else np.zeros(len(base))
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total_log == 0.0, 1.0, np.expm1(total_log) / total_log)
    share = base_total.to_numpy() * ratio
    out = pd.DataFrame(index=base.index)
    ctx = logs.mul(share, axis=0)
    out["base_score"] = base_total
    out["risk_score"] = base_total + base_total.to_numpy() * np.expm1(total_log)
    for column in base.columns:
        out[f"cat_{column}"] = base[column].astype(float)
    for column in ctx.columns:
        out[f"ctx_{column}"] = ctx[column].astype(float)
    return out


# --------------------------------------------------------------------------- ranking


def area_columns(level: AreaLevel | str, model: SeverityModel | None = None) -> list[str]:
    """Output columns of a ranking, in order (without ``geometry``)."""
    level = AreaLevel.parse(level)
    model = _model(model)
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
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
    categories: Iterable[str] | str | None = None,
    min_severity: int | None = None,
    as_of: dt.date | str | None = None,
    use_recency: bool = True,
    model: SeverityModel | Path | str | None = None,
    with_details: bool = False,
) -> gpd.GeoDataFrame:
    """Score and rank every area of a level within the chosen extent.

    Points are aggregated in PostGIS in one query grouped on the area codes stored at ingest
    (for H3, grouped on distinct locations, whose cells are computed here); the context
    factors are computed for the areas with points (an area without points scores 0 whatever
    its context).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Database connection.
    level : str or AreaLevel
        ``subdistrict`` (default), ``district``, ``province`` or ``h3:N``.
    province, district : str, optional
        Extent and point filter (DOPA codes ``32``, ``3206``); default: the whole country.
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

    Returns
    -------
    geopandas.GeoDataFrame
        One row per area of the extent (also those without points), ordered by rank, with the
        columns of :func:`area_columns` and ``geometry``; ``attrs`` holds ``level`` and
        ``as_of``.

    Raises
    ------
    com.errors.ValidationError
        For a bad level or filter.
    com.errors.NotFoundError
        When the province or district does not exist.
    """
    model = _model(model)
    lvl = AreaLevel.parse(level)
    filt = make_filter(
        province=province, district=district, date_from=date_from, date_to=date_to,
        categories=categories, min_severity=min_severity, as_of=as_of,
        use_recency=use_recency, model=model,
    )
    return _rank(conn, lvl, filt, model, with_details=with_details)


def _rank(
    conn: Connection,
    level: AreaLevel,
    filt: RiskFilter,
    model: SeverityModel,
    *,
    with_details: bool = False,
    areas: gpd.GeoDataFrame | None = None,
    bbox: Sequence[float] | None = None,
) -> gpd.GeoDataFrame:
    if level.kind == "h3":
        agg = _aggregate_h3(conn, level, filt, model, bbox=bbox)
        if areas is None:
            areas = _h3_areas(conn, level, filt, agg["code"].unique())
    else:
        agg = _aggregate_codes(conn, level, filt, model)
        if areas is None:
            areas = _load_areas(conn, level, filt)
    keys = model.category_keys
    agg["category"] = agg["category"].where(
        agg["category"].isin(model.categories), model.unknown_category.key
    )
    agg = agg[agg["code"].isin(areas["code"])]
    base = (
        agg.pivot_table(index="code", columns="category", values="base", aggfunc="sum",
                        fill_value=0.0)
        .reindex(columns=keys, fill_value=0.0)
        .reindex(areas["code"], fill_value=0.0)
        .astype(float)
    )
    counts = agg.groupby("code")[["points", "incidents"]].sum().reindex(areas["code"],
                                                                        fill_value=0)
    base.index = range(len(areas))
    with_points = np.flatnonzero(base.sum(axis=1).to_numpy() > 0)
    factor_keys = list(model.context)
    multipliers = pd.DataFrame(1.0, index=range(len(areas)), columns=factor_keys)
    distances = pd.DataFrame(np.nan, index=range(len(areas)), columns=factor_keys)
    if len(with_points) and factor_keys:
        features = _load_context(conn, model)
        dist, mult = _factor_table(
            areas["rep_lon"].to_numpy()[with_points], areas["rep_lat"].to_numpy()[with_points],
            level, model, features,
        )
        multipliers.iloc[with_points] = mult[factor_keys].to_numpy()
        distances.iloc[with_points] = dist[factor_keys].to_numpy()
    scores = combine_scores(base, multipliers, {k: f.weight for k, f in model.context.items()})
    code_column = level.code_column
    codes = areas["code"].to_numpy()
    if level.kind == "h3":
        codes = _h3_strings(codes)
    out = pd.DataFrame(
        {
            code_column: codes,
            "name_th": areas["name_th"].to_numpy(),
            "name_en": areas["name_en"].to_numpy(),
            "risk_score": scores["risk_score"].to_numpy(),
            "risk_per_km2": scores["risk_score"].to_numpy()
            / np.where(areas["area_km2"].to_numpy() > 0, areas["area_km2"].to_numpy(), np.nan),
            "points": counts["points"].to_numpy().astype(np.int64),
        }
    )
    out["rank"] = out["risk_score"].rank(method="min", ascending=False).astype(np.int64)
    for key in keys:
        out[f"cat_{key}"] = scores[f"cat_{key}"].to_numpy()
    for key in factor_keys:
        out[f"ctx_{key}"] = scores[f"ctx_{key}"].to_numpy()
    columns = area_columns(level, model)
    if with_details:
        out["base_score"] = scores["base_score"].to_numpy()
        out["incidents"] = counts["incidents"].to_numpy().astype(np.int64)
        out["area_km2"] = areas["area_km2"].to_numpy()
        out["rep_lon"] = areas["rep_lon"].to_numpy()
        out["rep_lat"] = areas["rep_lat"].to_numpy()
        for key in factor_keys:
            out[f"dist_{key}"] = distances[key].to_numpy()
            out[f"mult_{key}"] = multipliers[key].to_numpy()
        columns = columns + [c for c in out.columns if c not in columns]
    order = np.lexsort((np.asarray(areas["code"].to_numpy()), out["rank"].to_numpy()))
    result = gpd.GeoDataFrame(out[columns].iloc[order].reset_index(drop=True),
                              geometry=areas.geometry.values[order], crs=4326)
    result.attrs.update({"level": str(level), "as_of": filt.analysis_date.isoformat()})
    return result


# --------------------------------------------------------------------------- explanations


@dataclass
class AreaExplanation:
    """Why an area scores what it scores."""

    level: str
    code: str
    name_th: str
    name_en: str
    risk_score: float
    base_score: float
    risk_per_km2: float | None
    rank: int | None
    extent_areas: int | None
    points: int
    incidents: int
    categories: list[dict[str, Any]]
    factors: list[dict[str, Any]]
    top_points: list[dict[str, Any]]
    as_of: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dictionary."""
        return json_ready(asdict(self))


def json_ready(value: Any) -> Any:
    """Return ``value`` with numpy scalars, dates and non-finite floats made JSON-ready."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _level_of_code(code: str) -> AreaLevel:
    code = str(code).strip()
    if re.fullmatch(r"\d{6}", code):
        return AreaLevel("subdistrict")
    if re.fullmatch(r"\d{4}", code):
        return AreaLevel("district")
    if re.fullmatch(r"\d{2}", code):
        return AreaLevel("province")
    h3int = _h3()
    try:
        cell = h3int.str_to_int(code.lower())
        if h3int.is_valid_cell(cell):
            return AreaLevel("h3", h3int.get_resolution(cell))
    except (ValueError, TypeError, Exception):  # noqa: BLE001 - h3 raises its own classes
        pass
    raise ValidationError(
        f"area code {code!r} is not a subdistrict (6 digits), district (4), province (2) "
        "or H3 cell code"
    )


def explain_area(
    conn: Connection,
    code: str,
    *,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
    categories: Iterable[str] | str | None = None,
    min_severity: int | None = None,
    as_of: dt.date | str | None = None,
    use_recency: bool = True,
    model: SeverityModel | Path | str | None = None,
    top: int = 10,
    exact_coordinates: bool = True,
    hidden: Collection[str] = (),
) -> AreaExplanation:
    """Explain one area's score: categories, context factors and its heaviest points.

    The level follows from the code (6 digits subdistrict, 4 district, 2 province, else an H3
    cell). Subdistricts and districts are ranked within their province, provinces within the
    country; H3 cells are scored on their own (``rank`` is None).

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Database connection.
    code : str
        The area code.
    date_from, date_to, categories, min_severity, as_of, use_recency, model
        As for :func:`rank_areas`.
    top : int
        How many of the heaviest points to list.
    exact_coordinates : bool
        False moves points of sensitive categories to their subdistrict's representative
        point (no coordinates when they lie in none) and drops their names, as the OGC API,
        tiles, exports and the map serve them.
    hidden : collection of str
        Codes of areas a public caller may not see (:func:`com.security.privacy.hidden_areas`): the
        rank and ``extent_areas`` then count only the other areas, as public rankings do.

    Returns
    -------
    AreaExplanation
        Contributions that add up to ``risk_score``.

    Raises
    ------
    com.errors.NotFoundError
        When the area does not exist.
    """
    model = _model(model)
    level = _level_of_code(code)
    code = str(code).strip().lower() if level.kind == "h3" else str(code).strip()
    base_filter = make_filter(
        date_from=date_from, date_to=date_to, categories=categories,
        min_severity=min_severity, as_of=as_of, use_recency=use_recency, model=model,
    )
    notes: list[str] = []
    if level.kind == "h3":
        h3int = _h3()
        cell = h3int.str_to_int(code)
        lats, lons = zip(*h3int.cell_to_boundary(cell), strict=True)
        margin = 1e-6
        bbox = (min(lons) - margin, min(lats) - margin, max(lons) + margin, max(lats) + margin)
        lat, lon = h3int.cell_to_latlng(cell)
        names = _names_at(conn, base_filter, np.array([lon]), np.array([lat]))
        areas = gpd.GeoDataFrame(
            {"code": [cell], "area_km2": [h3int.cell_area(cell, "km^2")], "rep_lon": [lon],
             "rep_lat": [lat], "name_th": names["name_th"], "name_en": names["name_en"]},
            geometry=_h3_polygons(np.array([cell], dtype=np.int64)), crs=4326,
        )
        ranked = _rank(conn, level, base_filter, model, with_details=True, areas=areas,
                       bbox=bbox)
        row = ranked.iloc[0]
        rank, extent = None, None
        notes.append("H3 cells are scored on their own; rank them with rank_areas(level='h3:N')")
        point_filter: dict[str, Any] = {"bbox": list(bbox)}
    else:
        province = code[:2] if level.kind != "province" else None
        filt = RiskFilter(**{**asdict(base_filter), "province": province,
                             "categories": base_filter.categories})
        ranked = _rank(conn, level, filt, model, with_details=True)
        hit = ranked[ranked[level.code_column] == code]
        if hit.empty:
            raise NotFoundError(f"{level.kind} {code} does not exist")
        row = hit.iloc[0]
        rank, extent = int(row["rank"]), len(ranked)
        if hidden:
            # Ranked among the shown areas only, like the public ranking (no gaps to read).
            shown = ranked[~ranked[level.code_column].astype(str).isin(set(hidden))]
            extent = len(shown)
            rank = (None if code in hidden
                    else int((shown["risk_score"] > row["risk_score"]).sum()) + 1)
        point_filter = {level.kind: code}
    params = _sql_params(base_filter, model, level=level.kind, **point_filter,
                         top=None if level.kind == "h3" else int(top))
    rows = conn.execute(_points_sql("rank_top_points"), params).mappings().all()
    if level.kind == "h3":
        h3int = _h3()
        cell = h3int.str_to_int(code)
        res = int(level.resolution or 0)
        rows = [r for r in rows if h3int.latlng_to_cell(r["lat"], r["lon"], res) == cell][:top]
    reps: dict[str, tuple[float, float]] = {}
    if not exact_coordinates:
        codes = sorted({str(r["subdistrict_code"]) for r in rows if r["subdistrict_code"]
                        and model.category(r["category"]).sensitive})
        if codes:
            reps = {
                str(c): (float(x), float(y)) for c, x, y in conn.execute(
                    sa.text("SELECT code, ST_X(rep_point), ST_Y(rep_point) FROM subdistricts "
                            "WHERE code = ANY(:codes) AND rep_point IS NOT NULL"),
                    {"codes": codes},
                ).all()
            }
    top_points = []
    for r in rows:
        item = dict(r)
        cat = model.category(item["category"])
        item["category_th"], item["category_en"] = cat.th, cat.en
        if not exact_coordinates and cat.sensitive:
            item["lon"], item["lat"] = reps.get(str(item.get("subdistrict_code")), (None, None))
            item["name"] = None
            item["coarsened"] = True
        top_points.append(item)
    cats: list[dict[str, Any]] = []
    for key in model.category_keys:
        value = float(row[f"cat_{key}"])
        if value:
            cat = model.category(key)
            cats.append({"category": key, "th": cat.th, "en": cat.en, "weight": cat.weight,
                         "contribution": value})
    cats.sort(key=lambda c: -c["contribution"])
    factors = []
    for key, factor in model.context.items():
        distance = row[f"dist_{key}"]
        factors.append({
            "factor": key, "th": factor.th, "en": factor.en,
            "applies": level.kind in factor.levels and factor.weight > 0,
            "distance_m": None if pd.isna(distance) else float(distance),
            "beyond_m": factor.bands_m[-1] if pd.isna(distance) else None,
            "multiplier": float(row[f"mult_{key}"]), "weight": factor.weight,
            "contribution": float(row[f"ctx_{key}"]),
        })
    if float(row["risk_score"]) == 0:
        notes.append("no points in this area with these filters: score 0")
    return AreaExplanation(
        level=str(level), code=code, name_th=str(row["name_th"]), name_en=str(row["name_en"]),
        risk_score=float(row["risk_score"]), base_score=float(row["base_score"]),
        risk_per_km2=None if pd.isna(row["risk_per_km2"]) else float(row["risk_per_km2"]),
        rank=rank, extent_areas=extent, points=int(row["points"]),
        incidents=int(row["incidents"]), categories=cats, factors=factors,
        top_points=top_points, as_of=base_filter.analysis_date.isoformat(), notes=notes,
    )


# --------------------------------------------------------------------------- hot spots

HOTSPOT_LABELS: dict[str, tuple[str, str]] = {
    "hot_99": ("จุดร้อน (ความเชื่อมั่น 99%)", "Hot spot - 99% confidence"),
    "hot_95": ("จุดร้อน (ความเชื่อมั่น 95%)", "Hot spot - 95% confidence"),
    "hot_90": ("จุดร้อน (ความเชื่อมั่น 90%)", "Hot spot - 90% confidence"),
    "cold_99": ("จุดเย็น (ความเชื่อมั่น 99%)", "Cold spot - 99% confidence"),
    "cold_95": ("จุดเย็น (ความเชื่อมั่น 95%)", "Cold spot - 95% confidence"),
    "cold_90": ("จุดเย็น (ความเชื่อมั่น 90%)", "Cold spot - 90% confidence"),
    "not_significant": ("ไม่มีนัยสำคัญทางสถิติ", "Not significant"),
}


def spatial_weights(areas: gpd.GeoDataFrame, level: AreaLevel | str, *, h3_ring: int = 1):  # type: ignore[no-untyped-def]
    """Spatial weights of areas in row order: queen contiguity, or H3 k-ring neighbours.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        Polygons (any level) or a frame with an ``h3_cell`` column.
    level : str or AreaLevel
        The level of the areas.
    h3_ring : int
        For H3: cells within this many steps are neighbours.

    Returns
    -------
    libpysal.weights.W
        Ids 0..n-1 in the frame's order; areas without neighbours are islands.
    """
    from libpysal.weights import Queen, W

    level = AreaLevel.parse(level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands and disconnected parts are expected
        if level.kind == "h3":
            h3int = _h3()
            cells = [h3int.str_to_int(str(c)) for c in areas["h3_cell"]]
            position = {c: i for i, c in enumerate(cells)}
            neighbours: dict[int, list[int]] = {}
            for i, cell in enumerate(cells):
                ring = (position.get(n) for n in h3int.grid_disk(cell, h3_ring) if n != cell)
                neighbours[i] = sorted(j for j in ring if j is not None)
            return W(neighbours, silence_warnings=True)
        frame = gpd.GeoDataFrame(geometry=areas.geometry.values, crs=areas.crs)
        return Queen.from_dataframe(frame, use_index=False, silence_warnings=True)


def gi_star(
    areas: gpd.GeoDataFrame,
    *,
    level: AreaLevel | str = "subdistrict",
    value: str = "risk_score",
    permutations: int = 999,
    seed: int = 20240930,
    w: Any = None,
    h3_ring: int = 1,
    confidence: Sequence[float] = (0.99, 0.95, 0.90),
    false_discovery_rate: bool = True,
) -> gpd.GeoDataFrame:
    """Getis-Ord Gi* hot spots of area values (esda ``G_Local(star=True)``).

    Inference is by conditional permutation (``permutations``, seeded; the area's own value
    stays, its neighbours are drawn from the other areas). ``gi_z`` is esda's ``z_sim``: the
    observed Gi* standardised by the mean and spread of its permutations. ``gi_p`` is the
    pseudo p-value ``(M + 1) / (permutations + 1)``, M counting the permutations at least as
    extreme as the observed Gi* in the tail it lies in (the smaller of esda's
    ``calculate_significance`` ``greater`` and ``lesser`` values). Without ties this is
    exactly esda's ``p_sim``; esda's ``p_sim`` counts ties against the lower tail, so an area
    whose neighbourhood holds only the minimum value (all zeros, common with sparse points)
    would get p = 0.001 and be called a 99% cold spot, which here it is not.
    ``gi_p_fdr`` is the Benjamini-Hochberg adjusted p-value over the areas tested
    (``scipy.stats.false_discovery_control``). An area is a hot (cold) spot at a confidence
    level c when it lies in the upper (lower) tail and its p-value (``gi_p_fdr`` or, without
    FDR, ``gi_p``) is at most ``1 - c``. With ``permutations=0`` the analytical z-score
    (esda ``Zs``) and its normal p-value are used instead.

    With 999 permutations the smallest pseudo p-value is 0.001, so after the FDR correction a
    99% class needs at least n/10 of the n areas at that floor; raise ``permutations`` to find
    small clusters in large extents at 99%.

    Areas without neighbours (islands) are not tested: ``gi_z`` 0, ``gi_p`` 1, not
    significant. When every area has the same value nothing is significant.

    Parameters
    ----------
    areas : geopandas.GeoDataFrame
        A ranking (:func:`rank_areas`).
    level : str or AreaLevel
        Level of the areas (queen contiguity for polygons, k-ring for H3).
    value : str
        Column analysed (``risk_score``; ``risk_per_km2`` for uneven areas).
    permutations : int
        Conditional permutations (999 default).
    seed : int
        Seed of the permutations.
    w : libpysal.weights.W, optional
        Weights to use instead of building them (ids in row order).
    h3_ring : int
        Neighbourhood of H3 cells.
    confidence : sequence of float
        Confidence levels of the classes.
    false_discovery_rate : bool
        Compare FDR-adjusted p-values (default) or raw ones.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy with ``gi_z``, ``gi_p``, ``gi_p_fdr``, ``hotspot_class`` (``hot_99`` ...
        ``not_significant``), ``hotspot_th`` and ``hotspot_en``.
    """
    from esda.getisord import G_Local
    from scipy.stats import false_discovery_control

    level = AreaLevel.parse(level)
    out = areas.copy()
    n = len(out)
    y = out[value].astype(float).fillna(0.0).to_numpy()
    z = np.zeros(n)
    p = np.ones(n)
    p_fdr = np.ones(n)
    upper = np.zeros(n, dtype=bool)
    if n >= 3:
        weights = w if w is not None else spatial_weights(out, level, h3_ring=h3_ring)
        cards = np.array([weights.cardinalities[i] for i in weights.id_order])
        tested = cards > 0
        if tested.sum() >= 2 and np.ptp(y) > 0:
            with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
                warnings.simplefilter("ignore")
                gi = G_Local(y, weights, transform="B", star=True, permutations=permutations,
                             seed=seed, n_jobs=1, keep_simulations=True)
            if permutations:
                from esda.significance import calculate_significance

                greater = calculate_significance(gi.Gs, gi.rGs, alternative="greater")
                lesser = calculate_significance(gi.Gs, gi.rGs, alternative="lesser")
                upper = np.where(tested, greater < lesser, False)
                z = np.where(tested, np.nan_to_num(gi.z_sim), 0.0)
                p = np.where(tested, np.minimum(greater, lesser), 1.0)
            else:
                z = np.where(tested, np.nan_to_num(gi.Zs), 0.0)
                upper = z > 0
                p = np.where(tested, gi.p_norm, 1.0)
            p_fdr = np.ones(n)
            p_fdr[tested] = false_discovery_control(p[tested], method="bh")
    chosen = p_fdr if false_discovery_rate else p
    classes = np.array(["not_significant"] * n, dtype=object)
    for level_c in sorted(confidence):  # weakest first; stronger levels overwrite
        alpha = 1 - level_c
        tag = f"{round(level_c * 100):d}"
        significant = chosen <= alpha + 1e-12
        classes[significant & upper] = f"hot_{tag}"
        classes[significant & ~upper] = f"cold_{tag}"
    out["gi_z"] = z
    out["gi_p"] = p
    out["gi_p_fdr"] = p_fdr
    out["hotspot_class"] = classes
    out["hotspot_th"] = [HOTSPOT_LABELS.get(c, (c, c))[0] for c in classes]
    out["hotspot_en"] = [HOTSPOT_LABELS.get(c, (c, c))[1] for c in classes]
    out.attrs.update(areas.attrs)
    out.attrs.update({"permutations": permutations, "seed": seed,
                      "false_discovery_rate": false_discovery_rate})
    return out


def hotspots(
    conn: Connection,
    *,
    level: AreaLevel | str = "subdistrict",
    province: str | None = None,
    district: str | None = None,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
    categories: Iterable[str] | str | None = None,
    min_severity: int | None = None,
    as_of: dt.date | str | None = None,
    model: SeverityModel | Path | str | None = None,
    permutations: int | None = None,
    seed: int | None = None,
    value: str = "risk_score",
) -> gpd.GeoDataFrame:
    """Rank the areas (:func:`rank_areas`) and add Gi* hot spots (:func:`gi_star`).

    Permutations, seed, H3 ring, confidence levels and FDR default to the model's
    ``[hotspots]`` table (999 permutations, a fixed seed).

    Returns
    -------
    geopandas.GeoDataFrame
        The ranking with ``gi_z``, ``gi_p``, ``gi_p_fdr``, ``hotspot_class``, ``hotspot_th``
        and ``hotspot_en``.
    """
    model = _model(model)
    settings = model.hotspots
    ranked = rank_areas(
        conn, level=level, province=province, district=district, date_from=date_from,
        date_to=date_to, categories=categories, min_severity=min_severity, as_of=as_of,
        model=model,
    )
    if permutations is not None and not 0 <= int(permutations) <= 99_999:
        raise ValidationError(f"permutations {permutations} must be 0-99999")
    return gi_star(
        ranked, level=level, value=value,
        permutations=settings.permutations if permutations is None else int(permutations),
        seed=settings.seed if seed is None else int(seed), h3_ring=settings.h3_ring,
        confidence=settings.confidence, false_discovery_rate=settings.false_discovery_rate,
    )


def warm_up() -> float:
    """Run Gi* once on a 3 x 3 lattice so a numba-compiled esda is compiled before requests.

    esda compiles its permutation engine with numba when numba is installed (about 20-50 s
    on the first call); without numba (COM's default install) this takes milliseconds.
    Call it from a background thread when the service starts.

    Returns
    -------
    float
        Seconds taken.
    """
    import time

    from esda.getisord import G_Local
    from libpysal.weights import lat2W

    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        G_Local(np.arange(9, dtype=float), lat2W(3, 3), transform="B", star=True,
                permutations=9, seed=1, n_jobs=1)
    return time.perf_counter() - start


# --------------------------------------------------------------------------- emerging hot spots

EMERGING_LABELS: dict[str, tuple[str, str]] = {
    "new": ("จุดร้อนใหม่", "New hot spot"),
    "intensifying": ("จุดร้อนที่รุนแรงขึ้น", "Intensifying hot spot"),
    "persistent": ("จุดร้อนต่อเนื่อง", "Persistent hot spot"),
    "diminishing": ("จุดร้อนที่ลดลง", "Diminishing hot spot"),
    "sporadic": ("จุดร้อนเป็นครั้งคราว", "Sporadic hot spot"),
    "no_pattern": ("ไม่พบรูปแบบ", "No pattern detected"),
}


def emerging_pattern(
    z: Sequence[float], hot: Sequence[bool], *, alpha: float = 0.05
) -> tuple[str, float | None, float | None]:
    """Class one area's series of Gi* results (ESRI emerging hot spot classes, simplified).

    With ``n`` periods, ``hot`` marking the periods where the area was a significant hot spot
    and a Mann-Kendall test on the z-scores (trend significant at ``alpha``):

    ``new``
        hot in the final period and in no earlier one;
    ``intensifying``
        hot in at least 90% of the periods including the final one, z-scores rising
        significantly;
    ``persistent``
        hot in at least 90% of the periods including the final one, no significant trend;
    ``diminishing``
        hot in at least 90% of the periods including the final one, z-scores falling
        significantly;
    ``sporadic``
        hot in the final period and in some (fewer than 90%) earlier ones, or hot in some
        earlier periods but not the final one;
    ``no_pattern``
        never a hot spot.

    ESRI's consecutive, oscillating and historical classes fold into ``sporadic`` here, and
    cold spots are not classed. A Mann-Kendall test needs at least 4 periods to reach p < 0.05,
    so with 3 fiscal years no hot spot is intensifying or diminishing: use quarters.

    Returns
    -------
    tuple
        ``(class, Mann-Kendall p-value or None, Kendall tau or None)``.

    Examples
    --------
    >>> emerging_pattern([0.1, 0.3, 2.9], [False, False, True])[0]
    'new'
    """
    z_arr = np.asarray(z, dtype=float)
    hot_arr = np.asarray(hot, dtype=bool)
    n = len(z_arr)
    mk_p: float | None = None
    tau: float | None = None
    trend = "no trend"
    if n >= 3 and np.ptp(z_arr) > 0:
        import pymannkendall as mk

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = mk.original_test(z_arr, alpha=alpha)
        mk_p, tau = float(result.p), float(result.Tau)
        if result.p < alpha:
            trend = "increasing" if result.Tau > 0 else "decreasing"
    if n == 0 or not hot_arr.any():
        return "no_pattern", mk_p, tau
    final = bool(hot_arr[-1])
    share = hot_arr.mean()
    if final and not hot_arr[:-1].any():
        return "new", mk_p, tau
    if final and share >= 0.9:
        if trend == "increasing":
            return "intensifying", mk_p, tau
        if trend == "decreasing":
            return "diminishing", mk_p, tau
        return "persistent", mk_p, tau
    return "sporadic", mk_p, tau


def _periods(
    by: str, start_fy: int, end_fy: int
) -> list[tuple[str, dt.date, dt.date]]:
    from com.text.thai import fiscal_year_bounds

    if end_fy < start_fy:
        raise ValidationError(f"fiscal years reversed: {start_fy} to {end_fy}")
    if end_fy - start_fy > 20:
        raise ValidationError("at most 21 fiscal years at a time")
    out: list[tuple[str, dt.date, dt.date]] = []
    for fy in range(start_fy, end_fy + 1):
        first, last = fiscal_year_bounds(fy)
        if by == "fiscal_year":
            out.append((str(fy), first, last))
        elif by == "quarter":
            starts = [first, dt.date(first.year + 1, 1, 1), dt.date(first.year + 1, 4, 1),
                      dt.date(first.year + 1, 7, 1)]
            for q, begin in enumerate(starts, start=1):
                end = starts[q] - dt.timedelta(days=1) if q < 4 else last
                out.append((f"{fy}q{q}", begin, end))
        else:
            raise ValidationError(f"period {by!r} must be fiscal_year or quarter")
    return out


def emerging_hotspots(
    conn: Connection,
    *,
    start_fy: int,
    end_fy: int,
    by: Literal["fiscal_year", "quarter"] = "fiscal_year",
    level: AreaLevel | str = "subdistrict",
    province: str | None = None,
    district: str | None = None,
    categories: Iterable[str] | str | None = None,
    min_severity: int | None = None,
    model: SeverityModel | Path | str | None = None,
    permutations: int | None = None,
    seed: int | None = None,
) -> gpd.GeoDataFrame:
    """Emerging hot spots: Gi* in each fiscal year or quarter, then a trend per area.

    Each period's scores use the points reported in it with recency 1 (periods are compared as
    wholes); Gi* runs on the same weights in every period; :func:`emerging_pattern` classes the
    series.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Database connection.
    start_fy, end_fy : int
        First and last fiscal year (Buddhist era), inclusive.
    by : str
        ``fiscal_year`` or ``quarter`` (Q1 = October-December).
    level, province, district, categories, min_severity, model
        As for :func:`rank_areas`.
    permutations, seed : int, optional
        Gi* settings (default: the model's).

    Returns
    -------
    geopandas.GeoDataFrame
        Code, names, ``z_<period>`` columns, ``hot_periods``, ``periods``, ``mk_p``, ``mk_tau``,
        ``pattern``, ``pattern_th``, ``pattern_en`` and geometry.
    """
    model = _model(model)
    lvl = AreaLevel.parse(level)
    settings = model.hotspots
    periods = _periods(by, int(start_fy), int(end_fy))
    base = make_filter(province=province, district=district, categories=categories,
                       min_severity=min_severity, model=model, use_recency=False)
    frames = []
    weights = None
    for label, first, last in periods:
        filt = RiskFilter(**{**asdict(base), "date_from": first, "date_to": last,
                             "categories": base.categories})
        ranked = _rank(conn, lvl, filt, model)
        ranked = ranked.sort_values(lvl.code_column).reset_index(drop=True)
        if weights is None:
            weights = spatial_weights(ranked, lvl, h3_ring=settings.h3_ring)
        gi = gi_star(ranked, level=lvl, w=weights,
                     permutations=settings.permutations if permutations is None else permutations,
                     seed=settings.seed if seed is None else seed,
                     confidence=settings.confidence,
                     false_discovery_rate=settings.false_discovery_rate)
        frames.append((label, gi))
    first_frame = frames[0][1]
    out = first_frame[[lvl.code_column, "name_th", "name_en", "geometry"]].copy()
    z = np.column_stack([f["gi_z"].to_numpy() for _, f in frames])
    hot = np.column_stack([f["hotspot_class"].str.startswith("hot").to_numpy() for _, f in frames])
    for i, (label, _) in enumerate(frames):
        out[f"z_{label}"] = z[:, i]
    results = [emerging_pattern(z[i], hot[i]) for i in range(len(out))]
    out["hot_periods"] = hot.sum(axis=1)
    out["periods"] = len(frames)
    out["mk_p"] = [r[1] for r in results]
    out["mk_tau"] = [r[2] for r in results]
    out["pattern"] = [r[0] for r in results]
    out["pattern_th"] = [EMERGING_LABELS[r[0]][0] for r in results]
    out["pattern_en"] = [EMERGING_LABELS[r[0]][1] for r in results]
    out = gpd.GeoDataFrame(out, geometry="geometry", crs=4326)
    out.attrs.update({"level": str(lvl), "by": by, "periods": [p[0] for p in periods]})
    return out


# --------------------------------------------------------------------------- heat surface


def heat_surface(
    conn: Connection,
    *,
    province: str | None = None,
    district: str | None = None,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
    categories: Iterable[str] | str | None = None,
    min_severity: int | None = None,
    as_of: dt.date | str | None = None,
    model: SeverityModel | Path | str | None = None,
    cell_m: float = 500.0,
    bandwidth_m: float = 2000.0,
    max_cells: int = 250_000,
) -> gpd.GeoDataFrame:
    """Return a kernel density surface of point weights for the map's heat layer.

    A binned Gaussian kernel density estimate: point weights (:func:`point_weights`) are summed
    on a ``cell_m`` grid in UTM and smoothed with a Gaussian of standard deviation
    ``bandwidth_m`` (``scipy.ndimage.gaussian_filter``), which scales to any number of points,
    unlike ``scipy.stats.gaussian_kde`` whose cost grows with points x cells.

    Returns
    -------
    geopandas.GeoDataFrame
        Cell centres (EPSG:4326) with ``density`` (weight per km2), cells above 0.1% of the
        maximum only, densest first.

    Raises
    ------
    com.errors.ValidationError
        When the grid would exceed ``max_cells``.
    """
    from scipy.ndimage import gaussian_filter

    model = _model(model)
    if cell_m <= 0 or bandwidth_m <= 0:
        raise ValidationError("cell_m and bandwidth_m must be positive")
    filt = make_filter(province=province, district=district, date_from=date_from,
                       date_to=date_to, categories=categories, min_severity=min_severity,
                       as_of=as_of, model=model)
    frame = _copy_frame(conn, _points_sql("rank_h3_points"), _sql_params(filt, model),
                        ["lon", "lat", "category", "points", "incidents", "base"])
    empty = gpd.GeoDataFrame({"density": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    if frame.empty:
        return empty
    lon, lat, w = frame["lon"].to_numpy(), frame["lat"].to_numpy(), frame["base"].to_numpy()
    epsg = utm_crs_for(lon)
    x, y = project(lon, lat, epsg)
    pad = 3 * bandwidth_m
    x0, x1 = x.min() - pad, x.max() + pad
    y0, y1 = y.min() - pad, y.max() + pad
    nx, ny = int(math.ceil((x1 - x0) / cell_m)), int(math.ceil((y1 - y0) / cell_m))
    if nx * ny > max_cells:
        raise ValidationError(
            f"heat grid of {nx} x {ny} cells is too large; choose a province or a larger cell_m"
        )
    grid, _, _ = np.histogram2d(x, y, bins=[nx, ny], range=[[x0, x0 + nx * cell_m],
                                                           [y0, y0 + ny * cell_m]], weights=w)
    smooth = gaussian_filter(grid, sigma=bandwidth_m / cell_m, mode="constant")
    density = smooth / (cell_m * cell_m / 1e6)
    keep = density > density.max() * 1e-3
    ix, iy = np.nonzero(keep)
    cx = x0 + (ix + 0.5) * cell_m
    cy = y0 + (iy + 0.5) * cell_m
    clon, clat = unproject(cx, cy, epsg)
    out = gpd.GeoDataFrame({"density": density[keep]}, geometry=gpd.points_from_xy(clon, clat),
                           crs=4326)
    return out.sort_values("density", ascending=False).reset_index(drop=True)


# --------------------------------------------------------------------------- output

_LEVEL_TH = {
    "subdistrict": ("รหัสตำบล", "ชื่อตำบล"),
    "district": ("รหัสอำเภอ", "ชื่ออำเภอ"),
    "province": ("รหัสจังหวัด", "ชื่อจังหวัด"),
    "h3": ("รหัสเซลล์ H3", "ตำบลที่ตั้ง"),
}

_FIXED_TH = {
    "name_en": "ชื่อภาษาอังกฤษ",
    "risk_score": "คะแนนความเสี่ยง",
    "risk_per_km2": "คะแนนต่อ ตร.กม.",
    "rank": "ลำดับ",
    "points": "จำนวนจุดเสี่ยง",
    "gi_z": "ค่า z ของ Gi*",
    "gi_p": "ค่า p",
    "gi_p_fdr": "ค่า p (ปรับ FDR)",
    "hotspot_class": "ประเภทจุดร้อน",
    "hotspot_th": "จุดร้อน/จุดเย็น",
    "hotspot_en": "Hot/cold spot",
    "pattern": "รูปแบบ",
    "pattern_th": "รูปแบบจุดร้อน",
    "pattern_en": "Hot spot pattern",
    "hot_periods": "จำนวนช่วงที่เป็นจุดร้อน",
    "periods": "จำนวนช่วงเวลา",
    "mk_p": "ค่า p แนวโน้ม (Mann-Kendall)",
    "mk_tau": "ค่า tau แนวโน้ม",
    "base_score": "คะแนนพื้นฐาน",
    "incidents": "จำนวนเหตุการณ์",
    "area_km2": "พื้นที่ (ตร.กม.)",
}


def thai_headers(
    columns: Sequence[str], level: AreaLevel | str, model: SeverityModel | None = None
) -> list[str]:
    """Thai column headers for the provincial office's spreadsheets.

    Examples
    --------
    >>> thai_headers(["rank", "subdistrict_code", "name_th", "risk_score"], "subdistrict")
    ['ลำดับ', 'รหัสตำบล', 'ชื่อตำบล', 'คะแนนความเสี่ยง']
    """
    level = AreaLevel.parse(level)
    model = _model(model)
    code_th, name_th = _LEVEL_TH[level.kind]
    out = []
    for column in columns:
        if column == level.code_column:
            out.append(code_th)
        elif column == "name_th":
            out.append(name_th)
        elif column.startswith("cat_"):
            out.append(f"คะแนนจาก{model.category(column[4:]).th}")
        elif column.startswith("ctx_") and column[4:] in model.context:
            out.append(f"คะแนนเพิ่มจากปัจจัย{model.context[column[4:]].th}")
        elif column.startswith("z_"):
            out.append(f"ค่า z ช่วง {column[2:]}")
        else:
            out.append(_FIXED_TH.get(column, column))
    return out




def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(frame.drop(columns=[c for c in frame.columns if c == "geometry"]))


def areas_to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dictionaries (no geometry; NaN as None)."""
    plain = _plain(frame)
    return [json_ready(r) for r in plain.to_dict("records")]


def areas_to_geojson(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """Return the areas as a GeoJSON FeatureCollection (EPSG:4326, NaN as null)."""
    plain = _plain(frame)
    features = []
    for props, geom in zip(plain.to_dict("records"), frame.geometry, strict=True):
        features.append({
            "type": "Feature",
            "geometry": None if geom is None else shapely.geometry.mapping(geom),
            "properties": json_ready(props),
        })
    return {"type": "FeatureCollection", "features": features,
            "metadata": json_ready(dict(frame.attrs))}


def write_areas(
    frame: gpd.GeoDataFrame,
    path: Path | str,
    *,
    level: AreaLevel | str | None = None,
    model: SeverityModel | None = None,
) -> Path:
    """Write a ranking or hot spot table as CSV, GeoJSON or XLSX (by the file's suffix).

    CSV is UTF-8 with a byte-order mark (Excel reads Thai correctly) and English column keys;
    XLSX has Thai headers, a second sheet explaining each column in English and the analysis
    settings. Text cells that a spreadsheet would run as a formula are prefixed with ``'``.

    Raises
    ------
    com.errors.ValidationError
        For another suffix.
    """
    path = Path(path)
    level = AreaLevel.parse(level or frame.attrs.get("level", "subdistrict"))
    suffix = path.suffix.lower()
    if suffix == ".csv":
        plain = _plain(frame)
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(plain.columns)
            for row in plain.itertuples(index=False):
                writer.writerow([escape_formula(json_ready(v)) if not isinstance(v, float)
                                 or math.isfinite(v) else "" for v in row])
    elif suffix in (".geojson", ".json"):
        path.write_text(json.dumps(areas_to_geojson(frame), ensure_ascii=False),
                        encoding="utf-8")
    elif suffix == ".xlsx":
        _write_xlsx(frame, path, level, _model(model))
    else:
        raise ValidationError(f"{path.name}: output must end in .csv, .geojson or .xlsx")
    return path


def _write_xlsx(frame: gpd.GeoDataFrame, path: Path, level: AreaLevel,
                model: SeverityModel) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    plain = _plain(frame)
    columns = list(plain.columns)
    book = Workbook()
    sheet = book.active
    sheet.title = "อันดับพื้นที่"
    sheet.append(thai_headers(columns, level, model))
    for row in plain.itertuples(index=False):
        values = []
        for v in row:
            v = json_ready(v)
            values.append(escape_formula(v) if isinstance(v, str) else v)
        sheet.append(values)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, column in enumerate(columns, start=1):
        width = 14 if column.startswith(("cat_", "ctx_", "gi_", "z_")) else 18
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    legend = book.create_sheet("คำอธิบาย")
    legend.append(["หัวตาราง", "column", "meaning"])
    meanings = {
        "risk_score": "base score x context multipliers (sum of the cat_ and ctx_ columns)",
        "risk_per_km2": "risk_score / area in km2",
        "rank": "1 = highest risk_score (ties share a rank)",
        "points": "risk points counted",
        "gi_z": "Getis-Ord Gi* z-score",
        "gi_p": "pseudo p-value of the conditional permutations",
        "gi_p_fdr": "p-value adjusted for the false discovery rate (Benjamini-Hochberg)",
    }
    for th, column in zip(thai_headers(columns, level, model), columns, strict=True):
        meaning = meanings.get(column, "")
        if column.startswith("cat_"):
            meaning = f"part of the score from category {column[4:]}"
        elif column.startswith("ctx_"):
            meaning = f"uplift of the score attributed to context factor {column[4:]}"
        legend.append([th, column, meaning])
    legend.append([])
    for key, value in frame.attrs.items():
        legend.append(["การตั้งค่า", str(key), escape_formula(json.dumps(json_ready(value),
                                                                      ensure_ascii=False))])
    book.save(path)
