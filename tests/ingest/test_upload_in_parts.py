"""An upload reads a CSV in parts while the server stores the first rows (issue 13).

The columns are planned on the file's first rows; the rest is read batch by batch while the
server stores the batch before. Whatever the file holds further down, the outcome is the
one of reading the whole file first: a row wider than the header part way down (the columns
change) makes the upload start again from the whole file, and a later row the reader
refuses (the row cap) refuses the file with nothing left behind.
"""

from __future__ import annotations

import csv
import io
import random

import pytest
import sqlalchemy as sa

from com.errors import UploadError
from com.ingest import ImportOptions, import_upload
from com.ingest import uploads as uploads_module
from com.ingest.readers import ReadLimits

pytestmark = pytest.mark.db

HEADER = ["ลำดับ", "ชื่อจุดเสี่ยง", "ประเภทปัญหา", "ระดับ", "ละติจูด", "ลองจิจูด", "ที่อยู่"]


def _file(seed: int, n: int, *, wide_at: int | None = None) -> bytes:
    """Rows of Surin: decimals, DMS, Thai digits, addresses, blank lines, exact repeats."""
    rnd = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    last: list[object] = []
    for i in range(1, n + 1):
        lat, lon = rnd.uniform(14.55, 15.25), rnd.uniform(103.1, 104.2)
        cells: list[object] = [i, f"จุด {i}", rnd.choice(["ยาเสพติด", "ลักลอบเข้าเมือง"]),
                               rnd.randint(1, 5), f"{lat:.6f}", f"{lon:.6f}", ""]
        kind = rnd.random()
        if kind < 0.05:
            cells[4:6] = [f"{int(lat)}°{int(lat % 1 * 60)}'N", f"{int(lon)}°{int(lon % 1 * 60)}'E"]
        elif kind < 0.10:
            cells[4:7] = ["", "", "ต.นอกเมือง อ.เมืองสุรินทร์ จ.สุรินทร์"]
        elif kind < 0.13:
            cells[4] = f"{lat:.4f}".translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))
        elif kind < 0.16 and last:
            cells = [i, *last[1:]]
        if i == wide_at:
            cells += ["", "หมายเหตุเพิ่ม"]  # two cells past the header, the last filled
        writer.writerow(cells)
        if kind > 0.97:
            writer.writerow([])
        last = cells
    return out.getvalue().encode("utf-8")


def _outcome(conn: sa.Connection, upload_id: int) -> tuple[list, list]:
    report = conn.execute(sa.text(
        "SELECT row_number, status, reason, column_name, warnings, subdistrict_code, quality "
        "FROM upload_report WHERE upload_id = :u ORDER BY row_number"), {"u": upload_id}).all()
    points = conn.execute(sa.text(
        "SELECT source_row, name, category, severity, ST_AsEWKT(geom), subdistrict_code, "
        "geocode_quality, attributes, h3_9 FROM risk_points WHERE source_upload_id = :u "
        "ORDER BY source_row"), {"u": upload_id}).all()
    return report, points


def _upload(conn, settings, data: bytes, *, first: int, batch: int, monkeypatch,
            limits: ReadLimits | None = None) -> tuple:
    monkeypatch.setattr(uploads_module, "STREAM_FIRST_BATCH_ROWS", first)
    monkeypatch.setattr(uploads_module, "STREAM_BATCH_ROWS", batch)
    savepoint = conn.begin_nested()
    try:
        summary = import_upload(conn, data, "points.csv", settings=settings, limits=limits,
                                options=ImportOptions(province_code="32"))
        options = conn.execute(sa.text("SELECT options FROM uploads WHERE id = :u"),
                               {"u": summary.upload_id}).scalar_one()
        uploads = conn.execute(sa.text(
            "SELECT count(*) FROM uploads WHERE filename = 'points.csv'")).scalar_one()
        return (summary.rows, summary.stored, summary.rejected, summary.duplicates,
                summary.warnings, options, *_outcome(conn, summary.upload_id), uploads)
    finally:
        savepoint.rollback()


def _reads(monkeypatch) -> list[bool]:
    """Record how each upload opened its file: in parts (True) or whole (False)."""
    seen: list[bool] = []
    real = uploads_module._open_reading

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs["in_parts"])
        return real(*args, **kwargs)

    monkeypatch.setattr(uploads_module, "_open_reading", spy)
    return seen


@pytest.mark.parametrize("seed", [1, 2])
def test_reading_in_parts_equals_reading_whole(conn, test_settings, monkeypatch, seed):
    data = _file(seed, 700)
    whole = _upload(conn, test_settings, data, first=10**6, batch=10**6,
                    monkeypatch=monkeypatch)
    parts = _upload(conn, test_settings, data, first=250, batch=61, monkeypatch=monkeypatch)
    assert whole[0] == 700 and whole[1] > 350  # most rows stored (the box reaches past Surin)
    assert {r[6] for r in whole[6]} >= {"coordinates", "subdistrict"}  # address rows too
    assert {r[1] for r in whole[6]} == {"stored", "rejected", "duplicate"}
    assert parts == whole


def test_a_row_wider_than_the_header_further_down_reads_the_file_again(
        conn, test_settings, monkeypatch):
    data = _file(3, 600, wide_at=480)
    whole = _upload(conn, test_settings, data, first=10**6, batch=10**6,
                    monkeypatch=monkeypatch)
    seen = _reads(monkeypatch)
    parts = _upload(conn, test_settings, data, first=250, batch=61, monkeypatch=monkeypatch)
    assert seen == [True, False]  # begun in parts, then again whole
    assert parts == whole
    assert len(whole[5]["columns"]) == len(HEADER) + 2  # the columns of the whole file
    assert parts[-1] == 1  # nothing of the first attempt is left: one upload


def test_a_refused_later_row_leaves_nothing_behind(conn, test_settings, monkeypatch):
    before = conn.execute(sa.text("SELECT count(*) FROM uploads")).scalar_one()
    points = conn.execute(sa.text("SELECT count(*) FROM risk_points")).scalar_one()
    data = _file(4, 150)
    monkeypatch.setattr(uploads_module, "STREAM_FIRST_BATCH_ROWS", 40)
    monkeypatch.setattr(uploads_module, "STREAM_BATCH_ROWS", 20)
    with pytest.raises(UploadError) as caught:
        import_upload(conn, data, "late.csv", settings=test_settings,
                      limits=ReadLimits(max_rows=130), options=ImportOptions(province_code="32"))
    message = str(caught.value)
    assert "late.csv" in message and "130" in message
    # The first batches were stored before the cap was met: all undone, the transaction
    # still usable.
    assert conn.execute(sa.text("SELECT count(*) FROM uploads")).scalar_one() == before
    assert conn.execute(sa.text("SELECT count(*) FROM risk_points")).scalar_one() == points
    summary = import_upload(conn, data, "late.csv", settings=test_settings,
                            limits=ReadLimits(max_rows=200),
                            options=ImportOptions(province_code="32"))
    assert summary.rows == 150 and summary.stored > 60
