"""Duplicate detection holds under concurrency: two different files with the same points,
uploaded at the same moment into one province, store each point once (issue 11, item 2)."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from com.db.engine import transaction
from com.ingest import ImportOptions, import_upload
from com.security.access import Principal

pytestmark = [pytest.mark.db, pytest.mark.timeout(300)]

#: 300 places around Surin town, 0.002 degrees (about 200 m) apart: no two are duplicates.
POINTS = [(14.860 + 0.002 * i, 103.470 + 0.002 * j) for i in range(20) for j in range(15)]


def _file(header: str, line: str) -> bytes:
    rows = [line.format(n=n, lat=lat, lon=lon) for n, (lat, lon) in enumerate(POINTS)]
    return (header + "\n" + "\n".join(rows) + "\n").encode()


#: Two different files (other columns, names and order of columns) with the same places.
FILE_A = _file("ชื่อจุดเสี่ยง,ประเภทปัญหา,ละติจูด,ลองจิจูด", "จุด ก {n},ยาเสพติด,{lat:.6f},{lon:.6f}")
FILE_B = _file("lat,lon,category,name,note", "{lat:.6f},{lon:.6f},drugs,point B {n},patrol")


def _staff(name: str) -> Principal:
    return Principal(kind="user", name=name, role="staff", province_code="32",
                     scopes=frozenset({"read", "write"}))


def test_parallel_uploads_of_the_same_points_store_each_point_once(clean_engine,
                                                                     test_settings):
    # Before: both transactions ran their duplicate check before either committed, so each
    # stored every point (the scores counted each place twice). The first upload keeps its
    # transaction open until the second one has either finished (the race happened) or is
    # waiting for a lock (the check is serialised); then it commits.
    engine = clean_engine
    assert FILE_A != FILE_B
    results: dict[str, object] = {}
    b_pid: list[int] = []
    b_done = threading.Event()
    start = threading.Barrier(2)

    def b_is_blocked() -> bool:
        with engine.connect() as watcher:
            return bool(watcher.execute(
                sa.text("SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = :p AND NOT granted)"),
                {"p": b_pid[0]}).scalar_one())

    def upload(label: str, data: bytes, name: str) -> None:
        try:
            with transaction(engine) as conn:
                if label == "b":
                    b_pid.append(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
                start.wait()
                results[label] = import_upload(
                    conn, data, f"{name}.csv", settings=test_settings, principal=_staff(name),
                    options=ImportOptions(province_code="32"))
                if label == "a":
                    # A guard against a hang, not an assertion: the counts below decide.
                    deadline = time.monotonic() + 120
                    while not (b_done.is_set() or b_is_blocked()) and time.monotonic() < deadline:
                        time.sleep(0.05)
        except Exception as exc:  # reported by the assertions below
            results[label] = exc
        finally:
            if label == "b":
                b_done.set()

    threads = [threading.Thread(target=upload, args=("a", FILE_A, "staff_a")),
               threading.Thread(target=upload, args=("b", FILE_B, "staff_b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(240)
    a, b = results["a"], results["b"]
    assert not isinstance(a, Exception), a
    assert not isinstance(b, Exception), b
    first, second = sorted((a, b), key=lambda s: -s.stored)  # type: ignore[union-attr]
    assert (first.rows, second.rows) == (300, 300)
    assert first.stored == 300 and first.duplicates == 0
    assert (second.stored, second.duplicates) == (0, 300)

    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT count(*), count(DISTINCT ST_AsText(geom)), count(DISTINCT source_upload_id) "
            "FROM risk_points")).one()
        reasons = conn.execute(sa.text(
            "SELECT status, reason FROM upload_report WHERE upload_id = :u ORDER BY row_number"),
            {"u": second.upload_id}).all()
    assert tuple(stored) == (300, 300, 1)
    assert {s for s, _ in reasons} == {"duplicate"} and len(reasons) == 300
    assert all(f"(upload {first.upload_id}, row" in r for _, r in reasons), reasons[:3]
