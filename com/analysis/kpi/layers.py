"""KPI figures of target lists kept at a layer's level (issue 16: villages, ``layer:NAME``).

A layer's areas are polygons (villages' catchments, staff-drawn zones), not codes stored on
each point or project: a point or project belongs to the area whose polygon covers it (the
lowest code when several do, as the layer rankings count it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.risk.filters import AreaLevel

_PROJECT_AREAS = sa.text(
    "SELECT COALESCE(("
    "  SELECT min(a.code) FROM area_features a"
    "  WHERE a.layer = :layer AND p.geom IS NOT NULL AND ST_Covers(a.geom, p.geom)),"
    "  (SELECT a.code FROM area_features a WHERE a.layer = :layer AND a.code = p.area_code))"
    " FROM projects p WHERE p.province_code = :p AND p.fiscal_year_be = :fy ORDER BY p.id"
)


def layer_project_areas(
    conn: Connection, *, province: str, fy: int, level: str
) -> list[str | None]:
    """Return the layer area of each project of a province and fiscal year (None: in none).

    A project at a point belongs to the area covering it; one given by an area code belongs
    to the area of that code (a village project given by its 8-digit village code).
    """
    layer = AreaLevel.parse(level).layer
    rows = conn.execute(_PROJECT_AREAS, {"layer": layer, "p": province, "fy": fy}).scalars()
    return [None if r is None else str(r) for r in rows]


def layer_pai_counts(
    conn: Connection, *, province: str, level: str, codes: Sequence[str],
    period: tuple[dt.date, dt.date],
) -> tuple[int, int, float]:
    """Return the incidents in the listed areas, in the province, and the listed area (km²)."""
    layer = AreaLevel.parse(level).layer
    hits, total = conn.execute(sa.text(
        "SELECT COALESCE(sum(r.incident_count) FILTER (WHERE EXISTS ("
        "  SELECT 1 FROM area_features a WHERE a.layer = :layer AND a.code = ANY(:codes)"
        "  AND ST_Covers(a.geom, r.geom))), 0), COALESCE(sum(r.incident_count), 0) "
        "FROM risk_points r WHERE r.province_code = :p AND r.reported_on BETWEEN :a AND :b"
    ), {"layer": layer, "codes": list(codes), "p": province, "a": period[0],
        "b": period[1]}).one()
    area = conn.execute(sa.text(
        "SELECT COALESCE(sum(area_km2), 0) FROM area_features "
        "WHERE layer = :layer AND code = ANY(:codes)"
    ), {"layer": layer, "codes": list(codes)}).scalar_one()
    return int(hits), int(total), float(area)
