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

from com.analysis.kpi.targets import declare_targets, find_target_list
from com.config.severity import SeverityModel
from com.demo_kpi import DEMO_DECLARER, DEMO_PRINCIPAL
from com.ingest.areas import VILLAGES, import_areas

#: Surin subdistricts given demo villages: those where the demo's points gather most (Dan and
#: Kap Choeng on the border, Nok Mueang, Charat, Tatum, Bak Dai).
DEMO_SUBDISTRICTS = ("320111", "320601", "320605", "321011", "321303", "321401")

#: The fiscal year of the demo's village target list, and its plans' due date (31 มี.ค. 2569).
DEMO_VILLAGE_FY = 2568
DEMO_DUE = "2026-03-31"

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
    due: str = DEMO_DUE,
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


def store_demo_villages(conn: Connection) -> list[str]:
    """Replace the synthetic villages (:func:`synthetic_village_csv`); return their codes.

    A real village already stored under a demo code is never overwritten: that demo village
    is left out.
    """
    conn.execute(sa.text("DELETE FROM area_features WHERE layer = :l AND synthetic"),
                 {"l": VILLAGES})
    real = set(conn.execute(sa.text(
        "SELECT code FROM area_features WHERE layer = :l AND NOT synthetic"), {"l": VILLAGES}
    ).scalars())
    lines = synthetic_village_csv(conn).decode("utf-8").splitlines(keepends=True)
    kept = [lines[0], *(line for line in lines[1:] if line.split(",", 1)[0] not in real)]
    report = import_areas(conn, "".join(kept).encode("utf-8"), "demo_villages.csv",
                          layer=VILLAGES, synthetic=True).as_dict()
    return [r["code"] for r in report["row_reports"] if r["status"] == "stored"]


def declare_demo_villages(conn: Connection, *, model: SeverityModel) -> dict[str, Any]:
    """Store the synthetic villages and declare them the FY 2568 village target list.

    Run by :func:`com.demo.load_demo_data` with the KPI data, in the demo's transaction. The
    previous synthetic villages are replaced; a village list a real planner declared is kept.
    """
    codes = store_demo_villages(conn)
    existing = find_target_list(conn, "32", DEMO_VILLAGE_FY, "village")
    status = "kept"
    if codes and (existing is None or existing["declared_by"] == DEMO_DECLARER):
        declare_targets(conn, province="32", fiscal_year_be=DEMO_VILLAGE_FY,
                        principal=DEMO_PRINCIPAL, codes=codes, level="village", model=model,
                        replace=existing is not None)
        status = "declared"
    return {"villages": len(codes), "village_target_list": status,
            "fiscal_year_be": DEMO_VILLAGE_FY}
