"""Explanations of one area's score: categories, context factors and heaviest points."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.risk.areas import names_at
from com.analysis.risk.filters import AreaLevel, RiskFilter, level_of_code, make_filter
from com.analysis.risk.h3cells import h3_api, h3_polygons
from com.analysis.risk.output import json_ready
from com.analysis.risk.queries import filter_params, points_query
from com.analysis.risk.ranking import rank_by_filter
from com.config.severity import SeverityModel, severity_model_of
from com.errors import NotFoundError, ValidationError


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
    level: AreaLevel | str | None = None,
    provinces: Collection[str] | None = None,
) -> AreaExplanation:
    """Explain one area's score: categories, context factors and its heaviest points.

    The level follows from the code (8 digits village, 6 subdistrict, 4 district, 2 province,
    else an H3 cell) unless ``level`` is given (``layer:NAME`` needs it). Villages,
    subdistricts and districts are ranked within their province, provinces and a custom
    layer's areas within the country; H3 cells are scored on their own (``rank`` is None).

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
    provinces : collection of str, optional
        For an H3 cell, count only the points of these provinces (a province- or
        region-limited caller's, ``Principal.allowed_provinces``): a cell has no province of
        its own and may straddle a boundary. Other levels name their province in the code.

    Returns
    -------
    AreaExplanation
        Contributions that add up to ``risk_score``.

    Raises
    ------
    com.errors.NotFoundError
        When the area does not exist.
    """
    model = severity_model_of(model)
    level = AreaLevel.parse(level) if level else level_of_code(code)
    code = str(code).strip().lower() if level.kind == "h3" else str(code).strip()
    base_filter = make_filter(
        date_from=date_from, date_to=date_to, categories=categories,
        min_severity=min_severity, as_of=as_of, use_recency=use_recency, model=model,
    )
    notes: list[str] = []
    if level.kind == "h3" and provinces is not None:
        only = tuple(sorted(provinces))
        if not only:  # fail closed: an empty extent must never widen to the whole country
            raise ValidationError("no province to count the cell's points in")
        base_filter = replace(base_filter, provinces=only,
                              province=only[0] if len(only) == 1 else None)
    if level.kind == "h3":
        row, bbox = _h3_row(conn, code, level, base_filter, model)
        rank, extent = None, None
        notes.append("H3 cells are scored on their own; rank them with rank_areas(level='h3:N')")
        point_filter: dict[str, Any] = {"bbox": list(bbox)}
    else:
        row, rank, extent = _ranked_row(conn, code, level, base_filter, model, hidden)
        point_filter = {level.kind: code}
    if level.is_layer:
        point_filter = {"layer": level.layer, "area": code,
                        "province": extent_province(level, code)}
    params = filter_params(base_filter, model, level=level.kind, **point_filter,
                           top=None if level.kind == "h3" else int(top))
    query = "rank_top_layer_points" if level.is_layer else "rank_top_points"
    rows = conn.execute(points_query(query), params).mappings().all()
    if level.kind == "h3":
        h3int = h3_api()
        cell = h3int.str_to_int(code)
        res = int(level.resolution or 0)
        rows = [r for r in rows if h3int.latlng_to_cell(r["lat"], r["lon"], res) == cell][:top]
    if float(row["risk_score"]) == 0:
        notes.append("no points in this area with these filters: score 0")
    return AreaExplanation(
        level=str(level), code=code, name_th=str(row["name_th"]), name_en=str(row["name_en"]),
        risk_score=float(row["risk_score"]), base_score=float(row["base_score"]),
        risk_per_km2=None if pd.isna(row["risk_per_km2"]) else float(row["risk_per_km2"]),
        rank=rank, extent_areas=extent, points=int(row["points"]),
        incidents=int(row["incidents"]), categories=_category_parts(row, model),
        factors=_factor_parts(row, level, model),
        top_points=_top_points(conn, rows, model, exact_coordinates=exact_coordinates),
        as_of=base_filter.analysis_date.isoformat(), notes=notes,
    )


def _h3_row(
    conn: Connection, code: str, level: AreaLevel, filt: RiskFilter, model: SeverityModel
) -> tuple[pd.Series, tuple[float, float, float, float]]:
    """Score one H3 cell on its own; return its row and its bounding box."""
    h3int = h3_api()
    cell = h3int.str_to_int(code)
    lats, lons = zip(*h3int.cell_to_boundary(cell), strict=True)
    margin = 1e-6
    bbox = (min(lons) - margin, min(lats) - margin, max(lons) + margin, max(lats) + margin)
    lat, lon = h3int.cell_to_latlng(cell)
    names = names_at(conn, filt, np.array([lon]), np.array([lat]))
    areas = gpd.GeoDataFrame(
        {"code": [cell], "area_km2": [h3int.cell_area(cell, "km^2")], "rep_lon": [lon],
         "rep_lat": [lat], "name_th": names["name_th"], "name_en": names["name_en"]},
        geometry=h3_polygons(np.array([cell], dtype=np.int64)), crs=4326,
    )
    ranked = rank_by_filter(conn, level, filt, model, with_details=True, areas=areas, bbox=bbox)
    return ranked.iloc[0], bbox


def extent_province(level: AreaLevel, code: str) -> str | None:
    """Return the province an area is ranked in: its code's first two digits (None: the country).

    A custom layer's areas have codes of their own: they are ranked across the country.
    """
    return None if level.kind in ("province", "layer") else code[:2]


def _ranked_row(
    conn: Connection, code: str, level: AreaLevel, base_filter: RiskFilter,
    model: SeverityModel, hidden: Collection[str],
) -> tuple[pd.Series, int | None, int]:
    """Rank an admin area within its province (a province in the country): row, rank, extent."""
    province = extent_province(level, code)
    filt = RiskFilter(**{**asdict(base_filter), "province": province,
                         "categories": base_filter.categories})
    ranked = rank_by_filter(conn, level, filt, model, with_details=True)
    hit = ranked[ranked[level.code_column] == code]
    if hit.empty:
        raise NotFoundError(f"{level.kind} {code} does not exist")
    row = hit.iloc[0]
    rank: int | None = int(row["rank"])
    extent = len(ranked)
    if hidden:
        # Ranked among the shown areas only, like the public ranking (no gaps to read).
        shown = ranked[~ranked[level.code_column].astype(str).isin(set(hidden))]
        extent = len(shown)
        rank = (None if code in hidden
                else int((shown["risk_score"] > row["risk_score"]).sum()) + 1)
    return row, rank, extent


def _top_points(
    conn: Connection, rows: Sequence[Any], model: SeverityModel, *, exact_coordinates: bool
) -> list[dict[str, Any]]:
    """Return the heaviest points; sensitive ones at their subdistrict's representative point."""
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
    return top_points


def _category_parts(row: pd.Series, model: SeverityModel) -> list[dict[str, Any]]:
    """Return the categories with a contribution, largest first."""
    cats: list[dict[str, Any]] = []
    for key in model.category_keys:
        value = float(row[f"cat_{key}"])
        if value:
            cat = model.category(key)
            cats.append({"category": key, "th": cat.th, "en": cat.en, "weight": cat.weight,
                         "contribution": value})
    cats.sort(key=lambda c: -c["contribution"])
    return cats


def _factor_parts(
    row: pd.Series, level: AreaLevel, model: SeverityModel
) -> list[dict[str, Any]]:
    """Return every context factor: whether it applies, distance, multiplier and contribution."""
    factors = []
    for key, factor in model.context.items():
        distance = row[f"dist_{key}"]
        factors.append({
            "factor": key, "th": factor.th, "en": factor.en,
            "applies": level.factor_kind in factor.levels and factor.weight > 0,
            "distance_m": None if pd.isna(distance) else float(distance),
            "beyond_m": factor.bands_m[-1] if pd.isna(distance) else None,
            "multiplier": float(row[f"mult_{key}"]), "weight": factor.weight,
            "contribution": float(row[f"ctx_{key}"]),
        })
    return factors
