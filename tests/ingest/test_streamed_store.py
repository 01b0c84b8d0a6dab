"""Uploads store their plain-coordinate points while they prepare the next (issue 13).

The streamed path (com.ingest.uploads._stream_points) stores a row before the duplicate checks
and deletes it again when the checks turn it down. Whatever it does, the outcome must be the
one of the staged path, which checks first and stores after: the same rows stored with the
same values, the same report (status, reason, place) for every row, the same counts. Files
here mix what each path meets: rows inside and outside the upload's province, at sea, in DMS,
by address only, identical rows, rows within the duplicate distance of earlier rows and of
points stored by an earlier upload, with the same or another category.
"""

from __future__ import annotations

import csv
import io
import random

import pytest
import sqlalchemy as sa
from pyproj import Geod

from com.ingest import ImportOptions, import_upload
from com.ingest import uploads as uploads_module

pytestmark = pytest.mark.db

SURIN = "32"
HEADER = ["ลำดับ", "ชื่อจุดเสี่ยง", "ประเภทปัญหา", "ระดับ", "ละติจูด", "ลองจิจูด", "ที่อยู่", "หมายเหตุ"]
CATEGORIES = ["ยาเสพติด", "ลักลอบเข้าเมือง", "อาชญากรรมอื่นๆ"]
_GEOD = Geod(ellps="WGS84")


def _moved(lat: float, lon: float, rnd: random.Random, metres: float) -> tuple[float, float]:
    lon2, lat2, _ = _GEOD.fwd(lon, lat, rnd.uniform(0, 360), metres)
    return round(lat2, 7), round(lon2, 7)


def _file(seed: int, n: int, stored: list[tuple[float, float, str]], *,
          anchor: bool = True) -> bytes:
    rnd = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    earlier: list[list[object]] = []
    placed: list[list[object]] = []  # earlier rows with decimal coordinates
    for i in range(1, n + 1):
        category = rnd.choice(CATEGORIES)
        lat, lon = round(rnd.uniform(14.55, 15.25), 6), round(rnd.uniform(103.1, 104.2), 6)
        lat_cell, lon_cell, address = f"{lat}", f"{lon}", ""
        kind = rnd.random()
        if i == 1 and anchor:  # plain decimals 3 m from the DMS rows below
            lat, lon = _moved(14 + 52 / 60 + 54 / 3600, 103 + 29 / 60 + 37 / 3600, rnd, 3.0)
            lat_cell, lon_cell, category, kind = f"{lat}", f"{lon}", CATEGORIES[0], 1.0
        if kind < 0.08 and earlier:  # the same row again, its number aside
            row = list(rnd.choice(earlier))
            row[0] = i
            writer.writerow(row)
            continue
        if kind < 0.20 and placed:  # near an earlier row: 5 or 60 m, maybe another category
            base = rnd.choice(placed)
            lat2, lon2 = _moved(float(base[4]), float(base[5]), rnd, rnd.choice([5.0, 60.0]))
            lat_cell, lon_cell = f"{lat2}", f"{lon2}"
            category = base[2] if rnd.random() < 0.7 else category
        elif kind < 0.32 and stored:  # near a point an earlier upload stored
            s_lat, s_lon, s_category = rnd.choice(stored)
            lat2, lon2 = _moved(s_lat, s_lon, rnd, rnd.choice([3.0, 20.0, 80.0]))
            lat_cell, lon_cell = f"{lat2}", f"{lon2}"
            category = s_category if rnd.random() < 0.8 else category
        elif kind < 0.38:  # Buriram or Sisaket: outside the upload's province
            lat_cell = f"{rnd.uniform(14.8, 15.1):.6f}"
            lon_cell = f"{rnd.choice([rnd.uniform(102.7, 103.0), rnd.uniform(104.4, 104.6)]):.6f}"
        elif kind < 0.41:  # in the Gulf of Thailand (no subdistrict; inside the box)
            lat_cell, lon_cell = "11.5", "101.0"
        elif kind < 0.46 and anchor:  # DMS, parsed row by row (staged): near row 1, streamed
            lat_cell, lon_cell, category = "14°52'54\"N", "103°29'37\"E", CATEGORIES[0]
        elif kind < 0.50:  # an address only
            lat_cell, lon_cell = "", ""
            address = "ต.ในเมือง อ.เมืองสุรินทร์ จ.สุรินทร์"
        row = [i, f"จุด {seed}-{i}", category, rnd.randint(1, 5), lat_cell, lon_cell, address,
               rnd.choice(["", "ริมถนน"])]
        earlier.append(row)
        if lat_cell and "°" not in lat_cell:
            placed.append(row)
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _outcome(conn: sa.Connection, upload_id: int) -> tuple[list, list]:
    report = conn.execute(sa.text(
        "SELECT row_number, status, reason, column_name, warnings, subdistrict_code, quality "
        "FROM upload_report WHERE upload_id = :u ORDER BY row_number"), {"u": upload_id}).all()
    points = conn.execute(sa.text(
        "SELECT source_row, name, category, severity, reported_on, ST_AsEWKT(geom), "
        "subdistrict_code, district_code, province_code, geocode_quality, approximate, "
        "attributes, h3_6, h3_9 FROM risk_points WHERE source_upload_id = :u "
        "ORDER BY source_row"), {"u": upload_id}).all()
    # Every report line of a stored row names the stored point of that row.
    wrong = conn.execute(sa.text(
        "SELECT count(*) FROM upload_report r LEFT JOIN risk_points p ON p.id = r.record_id "
        "WHERE r.upload_id = :u AND r.status = 'stored' "
        "AND p.source_row IS DISTINCT FROM r.row_number"), {"u": upload_id}).scalar_one()
    assert wrong == 0
    return report, points


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_streamed_upload_equals_the_staged_one(conn, test_settings, monkeypatch, seed):
    options = ImportOptions(province_code=SURIN)
    base = import_upload(conn, _file(100 + seed, 60, [], anchor=False), "base.csv", options=options,
                         settings=test_settings)
    stored = [tuple(r) for r in conn.execute(sa.text(
        "SELECT ST_Y(geom), ST_X(geom), category FROM risk_points WHERE source_upload_id = :u"),
        {"u": base.upload_id}).all()]
    data = _file(seed, 400, stored)
    monkeypatch.setattr(uploads_module, "STREAM_BATCH_ROWS", 23)  # many batches

    outcomes = []
    streamed_rows = []
    real_stream = uploads_module._stream_points
    for streaming in (False, True):
        def stream(*args, _on=streaming, **kwargs):  # type: ignore[no-untyped-def]
            if not _on:  # the file read whole, every row staged
                args[2].finish()
                return {}, frozenset(), None
            built, streamed, near = real_stream(*args, **kwargs)
            streamed_rows.append(len(streamed))
            assert near is not None and near.rows == streamed  # the index made ahead
            return built, streamed, near

        monkeypatch.setattr(uploads_module, "_stream_points", stream)
        savepoint = conn.begin_nested()
        summary = import_upload(conn, data, "file.csv", options=options, settings=test_settings)
        outcomes.append((summary.rows, summary.stored, summary.rejected, summary.duplicates,
                         summary.warnings, *_outcome(conn, summary.upload_id)))
        savepoint.rollback()
    staged, streamed = outcomes
    assert streamed_rows and streamed_rows[0] > 200  # most rows took the streamed path
    statuses = {row[1] for row in staged[5]}
    assert statuses == {"stored", "rejected", "duplicate"}, statuses
    reasons = " ".join(row[2] or "" for row in staged[5])
    assert "as stored record" in reasons and "of row" in reasons and "identical" in reasons
    assert "outside province" in reasons
    # The DMS rows (staged) are duplicates of row 1 (streamed), not of a stored record.
    dms = [row for row in staged[5] if row[6] == "coordinates" and row[1] == "duplicate"
           and row[2].endswith("of row 1")]
    assert dms, staged[5]
    assert streamed == staged


def test_a_failed_streamed_upload_leaves_nothing(engine, test_settings, clean_engine):
    """The points stored while preparing go with the rest when the upload fails later."""
    data = _file(7, 120, [])
    before = 0
    with engine.connect() as connection:
        before = connection.execute(sa.text("SELECT count(*) FROM risk_points")).scalar_one()

    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the database went away")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(uploads_module, "copy_report", fail)
        with pytest.raises(RuntimeError), engine.begin() as connection:
            import_upload(connection, data, "a.csv", options=ImportOptions(province_code=SURIN),
                          settings=test_settings)
    with engine.connect() as connection:
        assert connection.execute(
            sa.text("SELECT count(*) FROM risk_points")).scalar_one() == before
        assert connection.execute(sa.text("SELECT count(*) FROM uploads")).scalar_one() == 0
