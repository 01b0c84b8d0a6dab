"""Fixtures shared by the ranking tests: an empty connection and a model without context.

tests/conftest.py loads this module as a plugin; a test module may define its own ``db``.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from com.config.severity import load_severity_model


@pytest.fixture
def db(conn):  # type: ignore[no-untyped-def]
    """The rolled-back connection with no risk points, target lists or projects."""
    conn.execute(sa.text("DELETE FROM projects"))
    conn.execute(sa.text("DELETE FROM target_lists"))
    conn.execute(sa.text("DELETE FROM risk_points"))
    return conn


@pytest.fixture
def flat_model(tmp_path):  # type: ignore[no-untyped-def]
    """The packaged model with every context factor switched off."""
    path = tmp_path / "flat.toml"
    path.write_text("".join(f"[context.{k}]\nweight = 0\n" for k in
                            ("land_border", "border_crossings", "mekong", "district_towns")),
                    encoding="utf-8")
    return load_severity_model(path)


_INSERT_POINTS = sa.text(
    "INSERT INTO risk_points (category, severity, incident_count, reported_on, geom, "
    "subdistrict_code, district_code, province_code) "
    "SELECT u.cat, u.sev, u.cnt, u.day, ST_SetSRID(ST_MakePoint(u.lon, u.lat), 4326), "
    "u.code, u.district, u.province FROM unnest(CAST(:cat AS text[]), "
    "CAST(:sev AS int[]), CAST(:cnt AS int[]), CAST(:day AS date[]), "
    "CAST(:lon AS float8[]), CAST(:lat AS float8[]), CAST(:code AS text[]), "
    "CAST(:district AS text[]), CAST(:province AS text[])) "
    "AS u(cat, sev, cnt, day, lon, lat, code, district, province)"
)


def insert_points(conn, **columns):  # type: ignore[no-untyped-def]
    """Insert risk points in one statement from equal-length lists: ``cat``, ``sev``, ``cnt``,
    ``day``, ``lon``, ``lat``, ``code``, ``district``, ``province`` (the H3 ranking tests)."""
    conn.execute(_INSERT_POINTS, {k: v.tolist() if hasattr(v, "tolist") else list(v)
                                  for k, v in columns.items()})
