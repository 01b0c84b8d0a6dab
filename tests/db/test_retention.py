"""Retention: expired risk points are deleted or anonymised per category, and it is audited."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa

from com.errors import ConfigError
from com.security.retention import RetentionRule, load_retention_policy, run_retention

TODAY = date(2026, 6, 1)
POLICY = {
    "drugs": RetentionRule("drugs", 30, "anonymise"),
    "flood": RetentionRule("flood", 10, "delete"),
    "other_crime": RetentionRule("other_crime", 0, "delete"),
}



@pytest.fixture
def conn(clean_engine):
    """A connection in a rolled-back transaction over empty data tables.

    Retention acts on every risk point, so points committed by tests of other packages
    would be counted too: start from empty tables whatever ran before.
    """
    with clean_engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()


def _seed(conn) -> dict[str, int]:
    upload_old = conn.execute(
        sa.text(
            "INSERT INTO uploads (filename, sha256, size_bytes, content) "
            "VALUES ('old.csv', :s, 5, 'ชื่อ'::bytea) RETURNING id"
        ),
        {"s": "1" * 64},
    ).scalar_one()
    upload_mixed = conn.execute(
        sa.text(
            "INSERT INTO uploads (filename, sha256, size_bytes, content) "
            "VALUES ('mixed.csv', :s, 5, 'ชื่อ'::bytea) RETURNING id"
        ),
        {"s": "2" * 64},
    ).scalar_one()
    specs = {
        # name: (category, reported_on, created_at, subdistrict, upload, row)
        "drugs_old": ("drugs", date(2026, 4, 1), None, "320605", upload_old, 1),
        "drugs_edge": ("drugs", date(2026, 5, 2), None, "320605", upload_mixed, 1),  # 30 days
        "drugs_recent": ("drugs", date(2026, 5, 20), None, "320605", upload_mixed, 2),
        "drugs_nowhere": ("drugs", date(2025, 1, 1), None, None, upload_old, 2),
        "flood_old": ("flood", date(2026, 5, 1), None, "320605", upload_old, 3),
        "flood_undated_old": ("flood", None, datetime(2026, 5, 1, tzinfo=UTC),
                              "320605", None, None),
        "flood_undated_new": ("flood", None, datetime(2026, 5, 30, tzinfo=UTC),
                              "320605", None, None),
        "crime_ancient": ("other_crime", date(2001, 1, 1), None, "320605", upload_mixed, 3),
    }
    ids = {}
    for name, (category, reported, created, sub, upload, row) in specs.items():
        ids[name] = conn.execute(
            sa.text(
                "INSERT INTO risk_points (name, category, reported_on, created_at, address, geom, "
                "subdistrict_code, province_code, source_upload_id, source_row, attributes) "
                "VALUES (:name, :cat, :rep, coalesce(:created, now()), 'บ้านเลขที่ 9 หมู่ 4', "
                "ST_SetSRID(ST_MakePoint(103.5123, 14.8765), 4326), :sub, '32', :u, :row, "
                "'{\"ผู้แจ้ง\": \"นาย ก\"}') RETURNING id"
            ),
            {"name": name, "cat": category, "rep": reported, "created": created, "sub": sub,
             "u": upload, "row": row},
        ).scalar_one()
        if upload is not None:
            conn.execute(
                sa.text(
                    "INSERT INTO upload_rows (upload_id, row_number, status, lat, lon, record_id, "
                    "original) VALUES (:u, :row, 'stored', 14.8765, 103.5123, :id, "
                    "'{\"ชื่อ\": \"นาย ก\"}')"
                ),
                {"u": upload, "row": row, "id": ids[name]},
            )
    ids["upload_old"], ids["upload_mixed"] = upload_old, upload_mixed
    return ids


def test_dry_run_changes_nothing(conn):
    ids = _seed(conn)
    before = conn.execute(sa.text("SELECT count(*) FROM risk_points")).scalar_one()
    audits = conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one()
    report = run_retention(conn, policy=POLICY, today=TODAY, dry_run=True)
    by_cat = {c.category: c for c in report.categories}
    assert by_cat["drugs"].anonymised_ids == [ids["drugs_old"]]
    assert by_cat["drugs"].deleted_ids == [ids["drugs_nowhere"]]
    assert sorted(by_cat["flood"].deleted_ids) == sorted(
        [ids["flood_old"], ids["flood_undated_old"]]
    )
    assert "other_crime" not in by_cat  # 0 days = keep
    assert conn.execute(sa.text("SELECT count(*) FROM risk_points")).scalar_one() == before
    assert conn.execute(sa.text("SELECT count(*) FROM audit_log")).scalar_one() == audits


def test_run_deletes_anonymises_scrubs_and_audits(conn):
    ids = _seed(conn)
    report = run_retention(conn, policy=POLICY, today=TODAY)
    assert (report.deleted, report.anonymised) == (3, 1)

    remaining = dict(
        conn.execute(sa.text("SELECT name, id FROM risk_points WHERE name IS NOT NULL")).all()
    )
    assert set(remaining) == {"drugs_edge", "drugs_recent", "flood_undated_new", "crime_ancient"}
    anon = conn.execute(
        sa.text(
            "SELECT rp.name, rp.address, rp.attributes, rp.approximate, rp.anonymised_at, "
            "ST_Equals(rp.geom, s.rep_point) FROM risk_points rp "
            "JOIN subdistricts s ON s.code = rp.subdistrict_code WHERE rp.id = :id"
        ),
        {"id": ids["drugs_old"]},
    ).one()
    assert anon[:4] == (None, None, {}, True)
    assert anon[4] is not None and anon[5] is True

    rows = conn.execute(
        sa.text("SELECT record_id, original, lat FROM upload_rows ORDER BY upload_id, row_number")
    ).all()
    scrubbed = {r.record_id for r in rows if r.original == {} and r.lat is None}
    assert scrubbed == {ids["drugs_old"], ids["drugs_nowhere"], ids["flood_old"]}
    # Every point of old.csv is gone or anonymised: its bytes are purged; mixed.csv is kept.
    assert report.uploads_purged == [ids["upload_old"]]
    content = dict(conn.execute(sa.text("SELECT id, length(content) FROM uploads")).all())
    assert content == {ids["upload_old"]: 0, ids["upload_mixed"]: len("ชื่อ".encode())}

    entry = conn.execute(
        sa.text("SELECT actor, action, record_ids, details FROM audit_log "
                "WHERE action = 'retention.run'")
    ).one()
    assert entry.actor == "cli"
    assert sorted(entry.record_ids) == sorted(
        str(ids[n]) for n in ("drugs_old", "drugs_nowhere", "flood_old", "flood_undated_old")
    )
    assert entry.details["deleted"] == 3 and entry.details["anonymised"] == 1
    assert entry.details["categories"]["drugs"]["anonymised_ids"] == [ids["drugs_old"]]

    again = run_retention(conn, policy=POLICY, today=TODAY)
    assert (again.deleted, again.anonymised, again.uploads_purged) == (0, 0, [])


def test_policy_override_and_bad_values(tmp_path: Path):
    packaged = load_retention_policy()
    assert packaged["drugs"].retention_days == 0 and "unknown" in packaged
    override = tmp_path / "severity.toml"
    override.write_text(
        '[categories.drugs]\nretention_days = 365\nretention_action = "anonymise"\n',
        encoding="utf-8",
    )
    policy = load_retention_policy(override)
    assert policy["drugs"] == RetentionRule("drugs", 365, "anonymise")
    assert policy["flood"] == packaged["flood"]
    override.write_text("[categories.drugs]\nretention_days = -1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="drugs: retention_days"):
        load_retention_policy(override)
    override.write_text('[categories.flood]\nretention_action = "shred"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="flood: retention_action must be"):
        load_retention_policy(override)


def _com(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "com.cli", *args], capture_output=True, text=True, env=env,
        timeout=60,
    )


def test_cli_retention_and_audit_show(clean_engine, database_url, tmp_path):
    with clean_engine.begin() as c:
        c.execute(
            sa.text(
                "INSERT INTO risk_points (name, category, reported_on, geom, subdistrict_code) "
                "VALUES ('เก่า', 'flood', DATE '2001-01-01', "
                "ST_SetSRID(ST_MakePoint(103.5, 14.9), 4326), '320605')"
            )
        )
    override = tmp_path / "severity.toml"
    override.write_text("[categories.flood]\nretention_days = 10\n", encoding="utf-8")
    env = {**os.environ, "COM_DATABASE_URL": database_url, "COM_SEVERITY_CONFIG": str(override)}

    dry = _com(["retention", "run", "--dry-run"], env)
    assert dry.returncode == 0, dry.stderr
    assert json.loads(dry.stdout)["deleted"] == 1
    real = _com(["retention", "run"], env)
    assert real.returncode == 0, real.stderr
    assert json.loads(real.stdout)["deleted"] == 1
    with clean_engine.connect() as c:
        assert c.execute(sa.text("SELECT count(*) FROM risk_points")).scalar_one() == 0

    shown = _com(["audit", "show", "--action", "retention", "--actor", "cli", "--limit", "5"], env)
    assert shown.returncode == 0, shown.stderr
    rows = json.loads(shown.stdout)
    assert [r["action"] for r in rows] == ["retention.run"]
    assert rows[0]["details"]["deleted"] == 1

    bad = _com(["audit", "show", "--since", "yesterday"], env)
    assert bad.returncode == 1
    assert bad.stderr.strip() == "error: --since 'yesterday' is not an ISO date such as 2026-01-31"


def test_a_cleanly_stored_point_keeps_its_report_line(conn, test_settings):
    """A clean row has no line in upload_rows (issue 13): retention writes it out, scrubbed,
    before deleting or anonymising the point, so the upload's report still has that row."""
    from com.ingest import ImportOptions, get_upload, import_upload

    data = ("ชื่อ,ประเภท,ระดับ,วันที่,ละติจูด,ลองจิจูด\n"
            "น้ำท่วม ก,อุทกภัย,3,01/01/2569,14.9012,103.5511\n"
            "ยา ข,ยาเสพติด,3,01/01/2569,14.9312,103.5811\n"
            "ยา ค,ยาเสพติด,3,20/05/2569,14.9512,103.6011\n").encode()
    summary = import_upload(conn, data, "clean.csv", options=ImportOptions(province_code="32"),
                            settings=test_settings)
    assert (summary.stored, summary.rows) == (3, 3)
    lines = "SELECT count(*) FROM upload_rows WHERE upload_id = :u"
    assert conn.execute(sa.text(lines), {"u": summary.upload_id}).scalar_one() == 0
    report = run_retention(conn, policy=POLICY, today=TODAY)
    assert (report.deleted, report.anonymised) == (1, 1)
    assert conn.execute(sa.text(lines), {"u": summary.upload_id}).scalar_one() == 2
    rows = get_upload(conn, summary.upload_id)["report"]
    assert [(r["row"], r["status"]) for r in rows] == [(1, "stored"), (2, "stored"),
                                                       (3, "stored")]
    # Rows 1 (deleted) and 2 (anonymised) are scrubbed; row 3 is untouched and still shows
    # its cells, read from the uploaded file.
    assert [(r["original"], r["lat"]) for r in rows[:2]] == [({}, None), ({}, None)]
    assert rows[2]["original"]["ชื่อ"] == "ยา ค" and rows[2]["lat"] == pytest.approx(14.9512)
