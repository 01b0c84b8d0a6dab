"""Storing an upload (issue 13): the indexes risk_points keeps, and the duplicate check against
stored points that now narrows on the geometry's GiST index before measuring on the ellipsoid."""

from __future__ import annotations

import csv
import io

import pytest
import sqlalchemy as sa
from pyproj import Geod

from com.ingest import ImportOptions, import_upload

pytestmark = pytest.mark.db

SURIN = "32"
HEADER = ["ชื่อ", "ประเภท", "ระดับ", "lat", "lon"]
#: A point in Surin (14.88 N): the box's east-west half-width depends on the latitude.
BASE = (14.8818, 103.4937)


def _csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([HEADER, *rows])
    return out.getvalue().encode("utf-8")


def _moved(lat: float, lon: float, azimuth: float, metres: float) -> tuple[float, float]:
    lon2, lat2, _ = Geod(ellps="WGS84").fwd(lon, lat, azimuth, metres)
    return round(lat2, 7), round(lon2, 7)


def _statuses(conn: sa.Connection, upload_id: int) -> dict[int, str]:
    return dict(conn.execute(sa.text(
        "SELECT row_number, status FROM upload_report WHERE upload_id = :u"), {"u": upload_id}
    ).tuples().all())


def test_risk_points_indexes_after_0009(conn):
    names = set(conn.execute(sa.text(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'risk_points'")).scalars())
    assert "ix_risk_points_geom_geography" not in names
    assert "ix_risk_points_category" not in names
    # Kept: the GiST index (map, tiles, duplicates), what rankings, OGC items and retention
    # filter on, and the lookup by upload and row.
    assert {"pk_risk_points", "idx_risk_points_geom", "ix_risk_points_province_code",
            "ix_risk_points_subdistrict_code", "ix_risk_points_reported_on",
            "ix_risk_points_source_upload_row"} <= names


def test_a_district_is_found_through_its_province_without_an_index_of_its_own(conn):
    """0021_points_district_index: the rank statements narrow a district by its province."""
    names = set(conn.execute(sa.text(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'risk_points'")).scalars())
    assert "ix_risk_points_district_code" not in names
    district = conn.execute(sa.text("SELECT min(code) FROM districts")).scalar_one()
    conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
    # The district filter of rank_weighted_points.sql (no province asked for).
    plan = "\n".join(conn.execute(sa.text(
        "EXPLAIN SELECT id FROM risk_points r "
        "WHERE (CAST(:district AS text) IS NULL OR r.district_code = CAST(:district AS text)) "
        "AND (CAST(:district AS text) IS NULL OR r.province_code = (SELECT d.province_code "
        "FROM districts d WHERE d.code = CAST(:district AS text)))"), {"district": district}
    ).scalars())
    assert "ix_risk_points_province_code" in plan, plan


def test_points_are_looked_up_by_upload_and_row_and_files_kept_with_lz4(conn):
    """0019_store_cheaper: one index on (upload, row); the uploaded bytes compressed with LZ4."""
    names = set(conn.execute(sa.text(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'risk_points'")).scalars())
    assert "ix_risk_points_source_upload_id" not in names
    conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
    for query in ("SELECT id FROM risk_points WHERE source_upload_id = 7",
                  "SELECT id FROM risk_points WHERE source_upload_id = 7 "
                  "AND source_row = ANY('{1,2,3}')"):
        plan = "\n".join(conn.execute(sa.text(f"EXPLAIN {query}")).scalars())
        assert "ix_risk_points_source_upload_row" in plan, plan
    has_lz4 = conn.execute(sa.text(
        "SELECT 'lz4' = ANY(enumvals) FROM pg_settings "
        "WHERE name = 'default_toast_compression'")).scalar_one()
    method = conn.execute(sa.text(
        "SELECT attcompression FROM pg_attribute WHERE attrelid = 'uploads'::regclass "
        "AND attname = 'content'")).scalar_one()
    assert method == ("l" if has_lz4 else "")


def test_the_spatial_index_of_points_is_spgist_and_serves_box_queries(conn):
    """0018_points_spgist: cheaper to keep up; map, OGC and duplicate queries still use it."""
    method = conn.execute(sa.text(
        "SELECT am.amname FROM pg_class c JOIN pg_am am ON am.oid = c.relam "
        "WHERE c.relname = 'idx_risk_points_geom'")).scalar_one()
    assert method == "spgist"
    conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
    for query in (
        "SELECT id FROM risk_points WHERE geom && ST_MakeEnvelope(103, 14, 103.4, 14.4, 4326)",
        "SELECT id FROM risk_points t WHERE ST_DWithin(t.geom, "
        "ST_SetSRID(ST_MakePoint(103.4, 14.8), 4326), 0.001)",
    ):
        plan = "\n".join(conn.execute(sa.text(f"EXPLAIN {query}")).scalars())
        assert "idx_risk_points_geom" in plan, plan


def test_a_point_names_an_existing_upload_or_none(conn):
    """The upload reference, checked per statement since 0011 (no row-by-row foreign key)."""
    assert conn.execute(sa.text(
        "SELECT count(*) FROM pg_constraint WHERE conname = "
        "'fk_risk_points_source_upload_id_uploads'")).scalar_one() == 0
    upload = conn.execute(sa.text(
        "INSERT INTO uploads (kind, filename, sha256, size_bytes, content) "
        "VALUES ('risk_points', 'a.csv', 'x', 0, '') RETURNING id")).scalar_one()
    insert = sa.text("INSERT INTO risk_points (category, geom, source_upload_id, source_row) "
                     "SELECT 'drugs', ST_SetSRID(ST_Point(103.5, 14.9), 4326), :u, g "
                     "FROM generate_series(1, 3) g RETURNING id")
    ids = conn.execute(insert, {"u": upload}).scalars().all()
    with pytest.raises(sa.exc.IntegrityError, match="does not exist"), conn.begin_nested():
        conn.execute(insert, {"u": upload + 1000})
    with pytest.raises(sa.exc.IntegrityError, match="does not exist"), conn.begin_nested():
        conn.execute(sa.text("UPDATE risk_points SET source_upload_id = :u WHERE id = :i"),
                     {"u": upload + 1000, "i": ids[0]})
    conn.execute(sa.text("DELETE FROM uploads WHERE id = :u"), {"u": upload})
    left = conn.execute(sa.text("SELECT source_upload_id FROM risk_points WHERE id = ANY(:i)"),
                        {"i": ids}).scalars().all()
    assert left == [None, None, None]


@pytest.mark.parametrize("distance_m", [25.0, 2000.0])
def test_duplicates_of_stored_points_at_the_distance_in_every_direction(
    conn, test_settings, distance_m
):
    settings = test_settings.model_copy(update={"duplicate_distance_m": distance_m})
    options = ImportOptions(province_code=SURIN)
    first = import_upload(conn, _csv([["A", "ยาเสพติด", "3", *BASE]]), "a.csv",
                          options=options, settings=settings)
    assert first.stored == 1
    rows, expected = [], {}
    # Just inside and just outside the distance to the east (where a degree is shortest in
    # metres), north, and on the diagonals.
    for azimuth in (90, 0, 45, 225):
        for factor, status in ((0.98, "duplicate"), (1.02, "stored")):
            rows.append([f"az {azimuth} x{factor}", "ยาเสพติด", "3",
                         *_moved(*BASE, azimuth, distance_m * factor)])
            expected[len(rows)] = status
    # Near but of another category: never a duplicate.
    rows.append(["other", "อุทกภัย", "2", *_moved(*BASE, 90, distance_m * 0.5)])
    expected[len(rows)] = "stored"
    # Each row alone, so that duplicates within the file play no part.
    for number, row in enumerate(rows, start=1):
        summary = import_upload(conn, _csv([row]), f"b{number}.csv", options=options,
                                settings=settings)
        got = _statuses(conn, summary.upload_id)[1]
        assert got == expected[number], (row, got)
        if got == "stored":
            conn.execute(sa.text("DELETE FROM risk_points WHERE source_upload_id = :u"),
                         {"u": summary.upload_id})
