"""Uploads that leave their rollup sums for after the commit (0017_rollup_pending, issue 13).

The rollup must equal a rebuild from every point once the upload is folded, whatever happened
to the upload's points before the fold (deleted, changed, taken out of the upload), and every
reader of the rollup (rankings, small-area counts, cache versions) must count the points of a
committed upload even before the background fold ran.
"""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from dbclean import clean_data_tables
from fastapi.testclient import TestClient

from api.main import create_app
from com.analysis.risk import reference
from com.db.rollup import ensure_folded, fold_pending, pending_uploads
from com.ingest.options import ImportOptions
from com.ingest.uploads import import_upload
from com.security.access import Principal
from com.security.privacy import area_point_totals

pytestmark = pytest.mark.db

CATEGORIES = ["ยาเสพติด", "ลักลอบเข้าเมือง", "อาชญากรรมอื่นๆ", "หมวดที่ไม่มีในแบบจำลอง"]


def _file(seed: int, n: int) -> bytes:
    """Points spread over Surin (32) with Thai headers, dates, undated rows and severities."""
    rng = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["ชื่อ", "ประเภท", "ระดับ", "ละติจูด", "ลองจิจูด", "วันที่รายงาน"])
    for i in range(n):
        day = "" if rng.random() < 0.1 else (
            f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/25{rng.randint(65, 68)}")
        writer.writerow([f"จุด {seed}-{i}", rng.choice(CATEGORIES), rng.randint(1, 5),
                         f"{rng.uniform(14.6, 15.2):.5f}", f"{rng.uniform(103.2, 104.0):.5f}",
                         day])
    return out.getvalue().encode()


def _state(conn) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    """The rollup's rows, floats rounded (sums made in another order differ in the last bits).

    The all-time tier's decayed sums are relative to each row's anchor: compared at one date.
    """
    month = conn.execute(sa.text(
        "SELECT province_code, district_code, subdistrict_code, category, severity, month, "
        "points, incidents, round(plain::numeric, 6), round(decayed::numeric, 6) "
        "FROM risk_rollup ORDER BY 1, 2, 3, 4, 5, 6")).all()
    total = conn.execute(sa.text(
        "SELECT province_code, district_code, subdistrict_code, category, points, incidents, "
        "round(dated_plain::numeric, 6), round(undated_plain::numeric, 6), "
        "round((decayed * power(2.0, (anchor - DATE '2030-01-01') / 365.0))::numeric, 9) "
        "FROM risk_rollup_total ORDER BY 1, 2, 3, 4")).all()
    return month, total


def _rebuilt(engine) -> tuple[list, list]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT risk_rollup_rebuild(365.0)"))
        state = _state(conn)
        conn.rollback()
    return state


@pytest.fixture
def clean(engine) -> Iterator[None]:  # type: ignore[no-untyped-def]
    clean_data_tables(engine)
    yield
    clean_data_tables(engine)


def _upload(engine, data: bytes, name: str, *, defer: bool) -> int:  # type: ignore[no-untyped-def]
    with engine.begin() as conn:
        summary = import_upload(conn, data, name, options=ImportOptions(province_code="32"),
                                defer_rollup=defer)
    assert summary.stored > 0
    return summary.upload_id


def test_a_deferred_upload_counts_once_folded_and_readers_fold_first(engine, clean) -> None:  # type: ignore[no-untyped-def]
    _upload(engine, _file(1, 150), "first.csv", defer=False)
    with engine.connect() as conn:
        before = conn.execute(sa.text("SELECT sum(points) FROM risk_rollup_total")).scalar()
    upload = _upload(engine, _file(2, 200), "second.csv", defer=True)
    with engine.connect() as conn:
        assert pending_uploads(conn) == [upload]
        # Left out by the triggers: the rollup still holds only the first upload.
        assert conn.execute(sa.text("SELECT sum(points) FROM risk_rollup_total")).scalar() \
            == before
        stored = conn.execute(sa.text("SELECT count(*) FROM risk_points")).scalar()
        # A reader folds before it reads: every committed point counts.
        assert sum(area_point_totals(conn, level="province").values()) + conn.execute(
            sa.text("SELECT count(*) FROM risk_points WHERE province_code IS NULL")
        ).scalar() == stored
        assert pending_uploads(conn) == []
        assert _state(conn) == _rebuilt(engine)


def test_changes_to_a_pending_upload_before_its_fold(engine, clean) -> None:  # type: ignore[no-untyped-def]
    _upload(engine, _file(3, 120), "base.csv", defer=False)
    upload = _upload(engine, _file(4, 300), "pending.csv", defer=True)
    with engine.begin() as conn:
        ids = conn.execute(sa.text("SELECT id FROM risk_points WHERE source_upload_id = :u "
                                   "ORDER BY id"), {"u": upload}).scalars().all()
        conn.execute(sa.text("DELETE FROM risk_points WHERE id = ANY(:i)"), {"i": ids[:40]})
        conn.execute(sa.text("UPDATE risk_points SET severity = 6 - severity, "
                             "reported_on = reported_on + 40 WHERE id = ANY(:i)"),
                     {"i": ids[40:80]})
        # Taken out of the upload (what deleting the upload does): summed from now on.
        conn.execute(sa.text("UPDATE risk_points SET source_upload_id = NULL "
                             "WHERE id = ANY(:i)"), {"i": ids[80:100]})
        # And a change of points that were summed already, in the same statement as others.
        conn.execute(sa.text("UPDATE risk_points SET incident_count = incident_count + 1 "
                             "WHERE id % 7 = 0"))
    assert fold_pending(engine) == 1
    assert fold_pending(engine) == 0  # nothing twice
    with engine.connect() as conn:
        assert _state(conn) == _rebuilt(engine)


def test_retention_of_summed_points_and_a_truncate_clear_what_is_pending(engine, clean) -> None:  # type: ignore[no-untyped-def]
    _upload(engine, _file(5, 100), "a.csv", defer=True)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE risk_points CASCADE"))
        assert pending_uploads(conn) == []
        assert conn.execute(sa.text("SELECT count(*) FROM risk_rollup_total")).scalar() == 0


def test_the_cache_version_changes_when_a_pending_upload_is_folded(engine, clean) -> None:  # type: ignore[no-untyped-def]
    _upload(engine, _file(6, 80), "a.csv", defer=False)
    with engine.connect() as conn:
        version = reference.rollup_version(conn)
    _upload(engine, _file(7, 80), "b.csv", defer=True)
    with engine.connect() as conn:
        assert reference.rollup_version(conn) != version  # folded first, then read
        assert pending_uploads(conn) == []


def test_api_uploads_defer_and_fold_in_the_background(engine, test_settings, clean) -> None:  # type: ignore[no-untyped-def]
    staff = Principal(kind="user", name="staff-surin", role="staff", province_code="32",
                      scopes=frozenset({"read", "write"}))
    app = create_app(test_settings)
    app.state.principal_resolvers.append(lambda request: staff)
    uploaded = 0
    with TestClient(app) as client:
        for seed in (8, 9):
            response = client.post("/api/uploads", files={
                "file": (f"{seed}.csv", _file(seed, 150), "text/csv")}, data={"province": "32"})
            assert response.status_code == 201, response.text
            uploaded += response.json()["stored"]
        ranking = client.get("/api/rankings", params={"province": "32"})
        assert ranking.status_code == 200, ranking.text
        with engine.connect() as conn:
            ensure_folded(conn)
            stored = conn.execute(sa.text("SELECT count(*) FROM risk_points")).scalar()
        assert stored == uploaded > 200
    with engine.connect() as conn:
        assert pending_uploads(conn) == []
        assert _state(conn) == _rebuilt(engine)


def test_a_transaction_that_changed_a_pending_upload_folds_it_itself(engine, clean) -> None:  # type: ignore[no-untyped-def]
    """It holds the pending row's lock: a fold elsewhere would wait for it (until timeout)."""
    upload = _upload(engine, _file(10, 120), "a.csv", defer=True)
    with engine.connect() as conn:
        conn.execute(sa.text("DELETE FROM risk_points WHERE source_upload_id = :u AND id % 3 = 0"),
                     {"u": upload})
        left = conn.execute(sa.text(
            "SELECT count(*) FROM risk_points WHERE province_code IS NOT NULL")).scalar()
        assert sum(area_point_totals(conn, level="province").values()) == left
        assert pending_uploads(conn) == []
        conn.commit()
    with engine.connect() as conn:
        assert pending_uploads(conn) == []
        assert _state(conn) == _rebuilt(engine)


def test_one_statement_mixing_pending_and_other_rows_sums_only_the_others(engine, clean) -> None:  # type: ignore[no-untyped-def]
    """0019_store_cheaper: the insert trigger skips its sums only when every row is pending."""
    done = _upload(engine, _file(11, 90), "done.csv", defer=False)
    upload = _upload(engine, _file(12, 90), "pending.csv", defer=True)
    copy = ("INSERT INTO risk_points (name, category, severity, reported_on, geom, "
            "subdistrict_code, district_code, province_code, source_upload_id, source_row) "
            "SELECT name, category, severity, reported_on, geom, subdistrict_code, "
            "district_code, province_code, {upload}, source_row + 1000 FROM risk_points "
            "WHERE source_upload_id = :from")
    with engine.begin() as conn:
        before = conn.execute(sa.text("SELECT sum(points) FROM risk_rollup_total")).scalar()
        # Only rows of the pending upload: left for its fold.
        conn.execute(sa.text(copy.format(upload=":u")), {"u": upload, "from": upload})
        assert conn.execute(sa.text("SELECT sum(points) FROM risk_rollup_total")).scalar() \
            == before
        # Pending rows with rows of no upload and of a folded upload in one statement.
        mixed = conn.execute(sa.text(
            copy.format(upload="CASE WHEN source_row % 3 = 0 THEN :u "
                               "WHEN source_row % 3 = 1 THEN NULL ELSE :done END")
            + " AND source_row <= 60"), {"u": upload, "done": done, "from": done}).rowcount
        others = conn.execute(sa.text(
            "SELECT count(*) FROM risk_points WHERE source_upload_id = :done AND "
            "source_row <= 60 AND source_row % 3 <> 0"), {"done": done}).scalar()
        assert 0 < others < mixed
        assert conn.execute(sa.text("SELECT sum(points) FROM risk_rollup_total")).scalar() \
            == before + others
    assert fold_pending(engine) == 1
    with engine.connect() as conn:
        assert _state(conn) == _rebuilt(engine)


def test_deleting_pending_rows_alone_or_with_others_keeps_the_sums_right(engine, clean) -> None:  # type: ignore[no-untyped-def]
    """0020_delete_pending_cheaper: the delete trigger skips only when every row is pending."""
    done = _upload(engine, _file(13, 90), "done.csv", defer=False)
    upload = _upload(engine, _file(14, 90), "pending.csv", defer=True)
    count = ("SELECT count(*) FROM risk_points WHERE source_upload_id = :u "
             "AND source_row % 4 = {rest}")
    delete = "DELETE FROM risk_points WHERE source_upload_id = ANY(:u) AND source_row % 4 = {rest}"
    with engine.begin() as conn:
        before = conn.execute(sa.text("SELECT sum(points) FROM risk_rollup_total")).scalar()
        # Only rows of the pending upload: nothing to subtract, its fold never counts them.
        assert conn.execute(sa.text(delete.format(rest=0)), {"u": [upload]}).rowcount > 0
        assert conn.execute(sa.text("SELECT sum(points) FROM risk_rollup_total")).scalar() \
            == before
        # Pending and folded rows in one statement: the folded ones are subtracted.
        folded = conn.execute(sa.text(count.format(rest=1)), {"u": done}).scalar()
        deleted = conn.execute(sa.text(delete.format(rest=1)), {"u": [upload, done]}).rowcount
        assert 0 < folded < deleted
        assert conn.execute(sa.text("SELECT sum(points) FROM risk_rollup_total")).scalar() \
            == before - folded
    assert fold_pending(engine) == 1
    with engine.connect() as conn:
        assert _state(conn) == _rebuilt(engine)
