"""Synthetic villages of the demo (issue 16): points inside chosen Surin subdistricts.

Generated deterministically from the subdistrict boundaries (no randomness): for each chosen
subdistrict, points of a regular grid that fall inside it, spread over it, numbered หมู่ 1, 2,
... so the codes are proper DOPA 8-digit codes (subdistrict code + หมู่ที่). They are invented,
named with the synthetic prefix and stored with ``synthetic = true``, like the demo's points.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

#: Surin subdistricts given demo villages (Mueang Surin, Prasat, Kap Choeng: border districts).
DEMO_SUBDISTRICTS = ("320102", "320103", "320104", "320105", "320106", "320107")

#: Villages per demo subdistrict.
DEMO_VILLAGES_PER_SUBDISTRICT = 4

#: Plan states of the demo villages, in turn (13 of 24 villages not done, as plans go).
_DEMO_STATES = ("done", "in_progress", "planned", "done", "planned", "in_progress")


def grid_points_inside(polygon: Any, count: int, *, grid: int = 9) -> list[Any]:
    """Return ``count`` points of a ``grid`` x ``grid`` lattice over the polygon that lie in it.

    The lattice points inside are taken at even steps of their order, so they spread over the
    polygon; fewer are returned when fewer lie inside.

    Examples
    --------
    >>> import shapely
    >>> pts = grid_points_inside(shapely.box(0, 0, 1, 1), 3)
    >>> [(round(p.x, 2), round(p.y, 2)) for p in pts]
    [(0.1, 0.1), (0.5, 0.5), (0.9, 0.9)]
    """
    minx, miny, maxx, maxy = polygon.bounds
    xs = np.linspace(minx, maxx, grid + 2)[1:-1]
    ys = np.linspace(miny, maxy, grid + 2)[1:-1]
    lattice = shapely.points(np.column_stack([np.repeat(xs, grid), np.tile(ys, grid)]))
    inside = [p for p in lattice if polygon.contains(p)]
    if len(inside) <= count:
        return inside
    picks = np.linspace(0, len(inside) - 1, count).round().astype(int)
    return [inside[i] for i in picks]


def synthetic_village_csv(
    conn: Connection, subdistricts: Sequence[str] = DEMO_SUBDISTRICTS,
    *, per_subdistrict: int = DEMO_VILLAGES_PER_SUBDISTRICT, prefix: str = "[สาธิต] ",
    due: str = "2569-03-31",
) -> bytes:
    """Return a CSV (code, ชื่อหมู่บ้าน, name_en, lat, lon, สถานะ, due) of synthetic villages."""
    rows = conn.execute(sa.text(
        "SELECT code, name_th, name_en, ST_AsBinary(geom) AS geom FROM subdistricts "
        "WHERE code = ANY(:codes) ORDER BY code"), {"codes": list(subdistricts)}).all()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["code", "ชื่อหมู่บ้าน", "name_en", "lat", "lon", "สถานะ", "due"])
    turn = 0
    for row in rows:
        points = grid_points_inside(shapely.from_wkb(bytes(row.geom)), per_subdistrict)
        for moo, point in enumerate(points, 1):
            writer.writerow([
                f"{row.code}{moo:02d}", f"{prefix}บ้าน{row.name_th} หมู่ {moo}",
                f"Ban {row.name_en or row.code} Moo {moo} (synthetic)",
                f"{point.y:.6f}", f"{point.x:.6f}", _DEMO_STATES[turn % len(_DEMO_STATES)], due,
            ])
            turn += 1
    return out.getvalue().encode("utf-8")
