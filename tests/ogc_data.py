"""Test data for the data API tests (issue 7): risk points placed inside real subdistricts.

Points are drawn with PostGIS ``ST_GeneratePoints(geom, 1, seed)`` so they lie inside their
subdistrict (and differ from its representative point, which the coarsening tests rely on).
"""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

SURIN = "32"
BURIRAM = "31"

INSERT_POINT = sa.text(
    """
    INSERT INTO risk_points (name, category, severity, incident_count, reported_on, address,
                             geom, subdistrict_code, district_code, province_code, synthetic)
    SELECT :name, :category, :severity, :incident_count, :reported_on, :address,
           ST_GeometryN(ST_GeneratePoints(s.geom, 1, :seed), 1),
           s.code, s.district_code, s.province_code, true
    FROM subdistricts s WHERE s.code = :subdistrict_code
    RETURNING id
    """
)


def subdistrict_codes(conn: Connection, province_code: str, n: int) -> list[str]:
    """Return the first ``n`` subdistrict codes of a province."""
    return list(
        conn.execute(
            sa.text("SELECT code FROM subdistricts WHERE province_code = :p "
                    "ORDER BY code LIMIT :n"),
            {"p": province_code, "n": n},
        ).scalars()
    )


def reset(engine: Engine) -> None:
    """Empty the tables these tests write (the audit trail is emptied by TRUNCATE too)."""
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE risk_points, api_keys, audit_log RESTART IDENTITY CASCADE"))
        for table in ("cctv_plans", "target_lists"):  # issue 5 and 4 tables, when present
            if conn.execute(sa.text("SELECT to_regclass(:t)"), {"t": table}).scalar():
                conn.execute(sa.text(f"TRUNCATE {table} RESTART IDENTITY CASCADE"))


def insert_points(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    """Insert points described by dicts (subdistrict_code, category, ...); return their ids."""
    ids = []
    for i, row in enumerate(rows):
        params = {
            "name": None, "category": "other_crime", "severity": 3, "incident_count": 1,
            "reported_on": None, "address": None, "seed": 1000 + i, **row,
        }
        ids.append(conn.execute(INSERT_POINT, params).scalar_one())
    return ids


def standard_dataset(engine: Engine) -> dict[str, Any]:
    """Commit a small mixed dataset in Surin and Buriram and return what was inserted.

    40 points in Surin and 10 in Buriram; categories cycle through drugs (sensitive),
    smuggling, illegal_entry and other_crime; severities 1-5; dates 2024-01-01 + 9 days * i,
    every seventh point undated.
    """
    reset(engine)
    categories = ["drugs", "smuggling", "illegal_entry", "other_crime"]
    with engine.begin() as conn:
        surin = subdistrict_codes(conn, SURIN, 8)
        buriram = subdistrict_codes(conn, BURIRAM, 3)
        rows = []
        for i in range(50):
            province_codes = surin if i < 40 else buriram
            rows.append({
                "subdistrict_code": province_codes[i % len(province_codes)],
                "category": categories[i % 4],
                "severity": 1 + i % 5,
                "incident_count": 1 + i % 3,
                "reported_on": None if i % 7 == 6 else date(2024, 1, 1) + timedelta(days=9 * i),
                "name": f"จุดที่ {i + 1}",
                "address": f"{i + 1} หมู่ 2",
            })
        # Spreadsheet formula payloads in text cells (formula-injection tests).
        rows[1]["name"] = '=HYPERLINK("http://evil.example","x")'
        rows[2]["name"] = "-2+3"
        rows[3]["address"] = "@SUM(1+1)"
        ids = insert_points(conn, rows)
        points = conn.execute(
            sa.text(
                "SELECT id, name, category, severity, incident_count, reported_on, "
                "subdistrict_code, district_code, province_code, ST_X(geom) AS lon, "
                "ST_Y(geom) AS lat "
                "FROM risk_points ORDER BY id"
            )
        ).mappings().all()
        reps = dict(
            conn.execute(
                sa.text(
                    "SELECT code, ST_AsText(rep_point) FROM subdistricts WHERE code = ANY(:c)"
                ),
                {"c": surin + buriram},
            ).all()
        )
    return {"ids": ids, "points": [dict(p) for p in points], "rep_points": reps,
            "surin": surin, "buriram": buriram}


def many_points(engine: Engine, n: int, *, seed: int = 7) -> list[int]:
    """Commit ``n`` points spread over Surin's subdistricts (paging tests); return their ids."""
    reset(engine)
    rng = random.Random(seed)
    with engine.begin() as conn:
        codes = subdistrict_codes(conn, SURIN, 40)
        rows = [
            {
                "subdistrict_code": codes[i % len(codes)],
                "category": rng.choice(["smuggling", "illegal_entry", "other_crime"]),
                "severity": rng.randint(1, 5),
                "reported_on": date(2023, 10, 1) + timedelta(days=rng.randint(0, 700)),
                "seed": i + 1,
            }
            for i in range(n)
        ]
        insert_seeded_points(conn, rows)
        return list(conn.execute(sa.text("SELECT id FROM risk_points ORDER BY id")).scalars())


def insert_seeded_points(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Insert risk points, each at a seeded random place inside its subdistrict.

    ``rows`` carry subdistrict_code, category, severity, reported_on and seed.
    """
    conn.execute(
        sa.text(
            """
            INSERT INTO risk_points (category, severity, reported_on, geom,
                                     subdistrict_code, district_code, province_code)
            SELECT r.category, r.severity, r.reported_on,
                   ST_GeometryN(ST_GeneratePoints(s.geom, 1, r.seed), 1),
                   s.code, s.district_code, s.province_code
            FROM jsonb_to_recordset(CAST(:rows AS jsonb))
                 AS r(subdistrict_code text, category text, severity int,
                      reported_on date, seed int)
            JOIN subdistricts s ON s.code = r.subdistrict_code
            """
        ),
        {"rows": json.dumps(rows, default=str)},
    )
