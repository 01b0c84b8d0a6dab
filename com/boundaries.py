"""Queries over the stored administrative boundaries: provinces and their districts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_PROVINCES_WITH_COUNTS = sa.text(
    "SELECT p.code, p.name_th, p.name_en, count(r.id) AS points FROM provinces p "
    "LEFT JOIN risk_points r ON r.province_code = p.code "
    "GROUP BY p.code ORDER BY p.name_th"
)
_DISTRICTS = sa.text(
    "SELECT code, name_th, name_en FROM districts WHERE province_code = :p ORDER BY name_th"
)
_DISTRICTS_WITH_GEOMETRY = sa.text(
    "SELECT code, name_th, name_en, ST_AsGeoJSON(geom, 5)::json AS geometry "
    "FROM districts WHERE province_code = :p ORDER BY name_th"
)


def list_provinces(conn: Connection) -> list[dict[str, Any]]:
    """Return every province with its number of risk points, in Thai name order.

    Parameters
    ----------
    conn
        An open connection.

    Returns
    -------
    list of dict
        ``code``, ``name_th``, ``name_en`` and ``points`` (risk points in the province).
    """
    return [dict(r) for r in conn.execute(_PROVINCES_WITH_COUNTS).mappings()]


def list_districts(
    conn: Connection, *, province_code: str | None, with_geometry: bool = False
) -> list[dict[str, Any]]:
    """Return the districts of a province in Thai name order.

    Parameters
    ----------
    conn
        An open connection.
    province_code
        Two-digit province code; ``None`` gives an empty list.
    with_geometry
        Also return each outline as a GeoJSON geometry (EPSG:4326, 5 decimals) under
        ``geometry``.

    Returns
    -------
    list of dict
        ``code``, ``name_th``, ``name_en`` (and ``geometry``).
    """
    query = _DISTRICTS_WITH_GEOMETRY if with_geometry else _DISTRICTS
    return [dict(r) for r in conn.execute(query, {"p": province_code}).mappings()]


def describe_regions(conn: Connection, regions: Any) -> list[dict[str, Any]]:
    """Return every region of a :class:`com.config.regions.RegionSet` with its provinces' names.

    Returns
    -------
    list of dict
        ``key``, ``name_th``, ``name_en``, ``group`` and ``provinces`` (``code``, ``name_th``,
        ``name_en``; names are None for a province whose boundaries are not loaded).
    """
    names: dict[str, dict[str, Any]] = {r["code"]: dict(r) for r in conn.execute(
        sa.text("SELECT code, name_th, name_en FROM provinces")).mappings()}
    out = []
    for region in regions.regions:
        entry = region.as_dict()
        entry["provinces"] = [
            {"code": c, "name_th": names.get(c, {}).get("name_th"),
             "name_en": names.get(c, {}).get("name_en")}
            for c in region.provinces
        ]
        out.append(entry)
    return out
