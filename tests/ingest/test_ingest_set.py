"""Set-based import (issue 13, done-item 1): the column-wise record builder and the in-memory
subdistrict search give the same answers as the row-by-row builder and the SQL join."""

from __future__ import annotations

import csv
import io
import random
from datetime import date

import numpy as np
import pytest
import shapely
import sqlalchemy as sa

import com.ingest.prepare as prepare
from com.db.engine import sql
from com.ingest.cells import json_column
from com.ingest.options import ImportOptions
from com.ingest.placing import part_index, subdistricts_at
from com.ingest.readers import ReadLimits, read_table
from com.ingest.records import RISK_POINTS
from com.ingest.store import BOUNDARY_TOLERANCE_M

HEADER = ["ลำดับ", "ชื่อจุดเสี่ยง", "ประเภทปัญหา", "ระดับความรุนแรง", "ละติจูด", "ลองจิจูด",
          "วันที่รายงาน", "จำนวนครั้ง", "หมายเหตุ", "ผู้แจ้ง"]
CATEGORIES = ["ยาเสพติด", "ยาเสพติด (ค้า)", "ยาเสพดิต", "ลักลอบเข้าเมือง", "", "n/a", "อื่นๆ",
              "ค้ายาเสพติด", " ยาเสพติด ", "xyz"]
LEVELS = ["1", "5", "๓", "สูง", "สูงมาก", "ต่ำ", "", "9", "-", "ปานกลาง", "2.0", "high"]
DATES = ["14/03/2567", "2024-03-14", "14 มี.ค. 67", "", "ไม่ทราบ", "31/02/2567", "01/01/2600",
         "14.30 น. 14/03/2567", "2024-03-14T20:00:00Z", "๑๔/๐๓/๒๕๖๗", "45000"]
COUNTS = ["", "1", "3", "2,000", "0", "-1", "1.5", "abc", "๒", " 4 "]
NOTES = ["", "ริมถนน", "  two  spaces ", "n/a"]
NAMES = ["", "จุด ก", "จุด  ข ", "ร้าน\u200bค้า", "nan", "12", "N/A"]


def _csv(n: int, seed: int) -> bytes:
    rnd = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i in range(1, n + 1):
        lat, lon = rnd.uniform(6, 20), rnd.uniform(98, 105)
        if i % 17 == 0:  # DMS: read by the coordinate parser, row by row
            lat_cell, lon_cell = "14°52'54\"N", "103°29'37\"E"
        elif i % 23 == 0:  # outside the box around Thailand
            lat_cell, lon_cell = "48.85", "2.35"
        else:
            lat_cell, lon_cell = f"{lat:.6f}", f"{lon:.6f}"
        writer.writerow([i, rnd.choice(NAMES), rnd.choice(CATEGORIES), rnd.choice(LEVELS),
                         lat_cell, lon_cell, rnd.choice(DATES), rnd.choice(COUNTS),
                         rnd.choice(NOTES), rnd.choice(["", "ตำรวจ", "อสม."])])
    return out.getvalue().encode("utf-8")


def _outcome(rows):
    return [(r.row_number, r.status, r.reason, r.column, r.warnings, r.lat, r.lon, r.quality,
             r.place_columns, r.dedupe_key, r.fingerprint, r.record, r.original_values(),
             r.subdistrict_code, r.approximate, r.target) for r in rows]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_column_wise_rows_equal_row_by_row(monkeypatch, seed):
    table = read_table(_csv(400, seed), "risk.csv", limits=ReadLimits())
    kwargs = {"options": ImportOptions(), "today": date(2025, 6, 1)}
    rows, _, _ = prepare.prepare_rows(table, **kwargs)
    assert sum(1 for r in rows if r.record) > 300  # most rows took the column path
    # In slices, as an upload streams its points (com.ingest.uploads): the same rows.
    preparation = prepare.start_preparing(table, **kwargs)
    indices = preparation.fast_indices()
    built: dict = {}
    for start in range(0, len(indices), 37):
        built.update(preparation.prepare_fast(indices[start:start + 37]))
    in_slices = preparation.rows(built)
    monkeypatch.setattr(prepare, "_prepare_columns", lambda table, ctx, indices: {})
    expected, _, _ = prepare.prepare_rows(table, **kwargs)
    assert _outcome(rows) == _outcome(expected)
    assert _outcome(in_slices) == _outcome(expected)
    # The stored values made with each record are the record's, as a JSONB column takes them.
    with_values = [r for r in rows if r.values is not None]
    assert len(with_values) > 300
    for r in with_values:
        assert r.values == tuple(json_column(r.record[c]) for c in RISK_POINTS.columns)


def test_column_wise_path_is_taken(monkeypatch):
    seen: list[int] = []
    original = prepare._prepare_columns

    def spy(table, ctx, indices):
        out = original(table, ctx, indices)
        seen.append(len(out))
        return out

    monkeypatch.setattr(prepare, "_prepare_columns", spy)
    table = read_table(_csv(100, 9), "risk.csv", limits=ReadLimits())
    prepare.prepare_rows(table, options=ImportOptions())
    assert seen and seen[0] >= 80


def _sql_places(conn, lon: np.ndarray, lat: np.ndarray) -> list[str | None]:
    """The subdistrict of each point by the SQL join the in-memory search replaces."""
    conn.execute(sa.text("DROP TABLE IF EXISTS pg_temp.ingest_stage"))
    conn.execute(sql("ingest_stage"))
    conn.execute(sa.text(
        "INSERT INTO ingest_stage (row_number, status, target, quality, lat, lon, geom) "
        "SELECT i, 'pending', 'main', 'coordinates', y, x, ST_SetSRID(ST_Point(x, y), 4326) "
        "FROM unnest(CAST(:x AS float8[]), CAST(:y AS float8[])) WITH ORDINALITY AS t(x, y, i)"
    ), {"x": lon.tolist(), "y": lat.tolist()})
    conn.execute(sa.text("CREATE INDEX ON ingest_stage USING gist (geom)"))
    conn.execute(sa.text("ANALYZE ingest_stage"))
    conn.execute(sql("ingest_place"), {"max_m": BOUNDARY_TOLERANCE_M, "max_deg": 0.0105})
    found = dict(conn.execute(sa.text(
        "SELECT row_number, subdistrict_code FROM ingest_stage WHERE nearest_m IS NULL"
    )).tuples().all())
    conn.execute(sa.text("DROP TABLE ingest_stage"))
    return [found.get(i + 1) for i in range(len(lon))]


@pytest.mark.db
def test_in_memory_subdistricts_equal_the_sql_join(conn):
    rng = np.random.default_rng(13)
    lon, lat = rng.uniform(97.3, 105.7, 3000), rng.uniform(5.5, 20.6, 3000)
    # Points on and near the boundaries: vertices of the parts and points just beside them.
    wkb = conn.execute(sa.text(
        "SELECT ST_AsBinary(geom) FROM subdistrict_parts ORDER BY id LIMIT 300")).scalars()
    vertices = np.vstack([shapely.get_coordinates(shapely.from_wkb(bytes(w)))[:2]
                          for w in wkb])
    jitter = rng.normal(0, 1e-4, vertices.shape)
    lon = np.concatenate([lon, vertices[:, 0], vertices[:, 0] + jitter[:, 0]])
    lat = np.concatenate([lat, vertices[:, 1], vertices[:, 1] + jitter[:, 1]])
    sub, dist, prov = subdistricts_at(part_index(conn), lon, lat)
    expected = _sql_places(conn, lon, lat)
    assert sub.tolist() == expected
    assert sum(code is not None for code in expected) > 1000
    assert sum(code is None for code in expected) > 100
    codes = dict(conn.execute(sa.text(
        "SELECT code, district_code || '/' || province_code FROM subdistricts")).tuples().all())
    assert all(f"{d}/{p}" == codes[s] for s, d, p in zip(sub, dist, prov, strict=True)
               if s is not None)


@pytest.mark.db
def test_part_index_is_rebuilt_when_the_boundaries_change(conn):
    before = part_index(conn)
    assert part_index(conn) is before  # cached
    conn.execute(sa.text(
        "DELETE FROM subdistrict_parts WHERE id = (SELECT min(id) FROM subdistrict_parts)"))
    after = part_index(conn)  # written by this transaction: built afresh
    assert after is not before and len(after.subdistrict) == len(before.subdistrict) - 1


def test_collector_paused_during_uploads_and_restored():
    import gc

    from com.collector import collector_paused

    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
        with collector_paused():  # a second upload at the same time
            assert not gc.isenabled()
        assert not gc.isenabled()  # the first one is still running
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # left as it was: off
    finally:
        gc.enable()


@pytest.mark.db
def test_collector_runs_again_after_a_failed_upload(conn):
    import gc

    from com.errors import UploadError
    from com.ingest.uploads import import_upload

    with pytest.raises(UploadError):
        import_upload(conn, b"\x00\x01 not a table", "broken.csv")
    assert gc.isenabled()
