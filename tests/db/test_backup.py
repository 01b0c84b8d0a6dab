"""Backup and restore round trip: pg_dump (custom format) -> pg_restore into a fresh database.

The procedure the README operations guide tells operators to schedule and rehearse; the test proves
it restores every table with the same rows and the same PostGIS geometries.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _tool(name: str) -> str:
    path = PG_BIN / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        pytest.fail(f"{name} is not installed (postgresql-client-15)")
    return found


def _conn_args(url: sa.engine.URL) -> list[str]:
    host, port, user = url.host or "127.0.0.1", str(url.port or 5432), url.username or "postgres"
    return ["-h", host, "-p", port, "-U", user]


def _seed(engine: Engine) -> None:
    """Write a little of everything a province holds: an upload, its rows, points, an audit row."""
    with engine.begin() as c:
        upload_id = c.execute(
            sa.text(
                "INSERT INTO uploads (filename, sha256, size_bytes, content, province_code, "
                "uploaded_by, rows_total, rows_stored) VALUES ('จุดเสี่ยง.csv', :sha, 11, "
                ":content, '32', 'staff1', 3, 3) RETURNING id"
            ),
            {"sha": "a" * 64, "content": "ชื่อ,lat,lon\n".encode()},
        ).scalar_one()
        for n, (lon, lat) in enumerate([(103.49, 14.88), (103.61, 14.70), (103.10, 14.45)], 1):
            point_id = c.execute(
                sa.text(
                    "INSERT INTO risk_points (name, category, severity, reported_on, address, "
                    "geom, subdistrict_code, province_code, source_upload_id, source_row, "
                    "attributes) "
                    "VALUES (:name, 'drugs', 4, DATE '2024-06-08', 'หมู่ 4 ต.ด่าน', "
                    "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), NULL, '32', :u, :n, "
                    "'{\"หมายเหตุ\": \"ทดสอบ\"}') RETURNING id"
                ),
                {"name": f"จุดที่ {n}", "lon": lon, "lat": lat, "u": upload_id, "n": n},
            ).scalar_one()
            c.execute(
                sa.text(
                    "INSERT INTO upload_rows (upload_id, row_number, status, lat, lon, record_id) "
                    "VALUES (:u, :n, 'stored', :lat, :lon, :p)"
                ),
                {"u": upload_id, "n": n, "lat": lat, "lon": lon, "p": point_id},
            )
        c.execute(
            sa.text(
                "INSERT INTO context_layers (layer, feature_key, name, geom) "
                "VALUES ('patrol_zone', 'z1', 'เขตลาดตระเวน', ST_GeomFromText("
                "'POLYGON((103.4 14.8,103.5 14.8,103.5 14.9,103.4 14.8))', 4326))"
            )
        )
        c.execute(
            sa.text(
                "INSERT INTO audit_log (actor, actor_kind, action, target, record_ids) "
                "VALUES ('staff1', 'user', 'upload.create', :t, '[\"1\",\"2\",\"3\"]')"
            ),
            {"t": f"upload:{upload_id}"},
        )


def _snapshot(engine: Engine) -> tuple[dict[str, int], dict[str, str]]:
    """Row count of every table, and a multiset digest of every geometry column's EWKB."""
    with engine.connect() as c:
        tables = c.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        ).scalars().all()
        counts = {t: c.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar_one() for t in tables}
        geoms = {}
        for table, column in c.execute(
            sa.text(
                "SELECT f_table_name, f_geometry_column FROM geometry_columns "
                "WHERE f_table_schema = 'public' ORDER BY 1, 2"
            )
        ):
            # Identifiers come from the catalogue, not from user input.
            hexes = f'encode(ST_AsEWKB("{column}"), \'hex\')'
            geoms[f"{table}.{column}"] = c.execute(
                sa.text(f'SELECT md5(coalesce(string_agg({hexes}, \',\' ORDER BY {hexes}), \'\')) '
                        f'FROM "{table}"')
            ).scalar_one()
    return counts, geoms


@pytest.fixture
def restore_target(database_url: str) -> Iterator[str]:
    """An empty database to restore into, dropped afterwards."""
    name = f"com_restore_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        sa.engine.make_url(database_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}" TEMPLATE template0'))
    yield name
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def test_pg_dump_and_restore_round_trip(clean_engine, database_url, restore_target, tmp_path):
    _seed(clean_engine)
    url = sa.engine.make_url(database_url)
    dump = tmp_path / "com.dump"
    subprocess.run(
        [_tool("pg_dump"), *_conn_args(url), "--format=custom", "--file", str(dump), url.database],
        check=True, capture_output=True, timeout=120,
    )
    assert dump.stat().st_size > 0
    subprocess.run(
        [_tool("pg_restore"), *_conn_args(url), "--exit-on-error", "--no-owner",
         "--dbname", restore_target, str(dump)],
        check=True, capture_output=True, timeout=120,
    )
    restored = sa.create_engine(url.set(database=restore_target))
    try:
        before_counts, before_geoms = _snapshot(clean_engine)
        after_counts, after_geoms = _snapshot(restored)
        with restored.connect() as c:
            # The append-only trigger came back with the data.
            with pytest.raises(sa.exc.DBAPIError, match="append-only"):
                c.execute(sa.text("DELETE FROM audit_log"))
            c.rollback()
            names = c.execute(sa.text("SELECT name FROM risk_points ORDER BY source_row")).scalars()
            assert list(names) == ["จุดที่ 1", "จุดที่ 2", "จุดที่ 3"]
    finally:
        restored.dispose()
    assert after_counts == before_counts
    assert before_counts["risk_points"] == 3 and before_counts["subdistricts"] == 7425
    assert after_geoms == before_geoms
    assert set(before_geoms) >= {"risk_points.geom", "subdistricts.geom", "context_layers.geom"}
