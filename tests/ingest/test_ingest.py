"""Uploads against a real PostGIS: sample files against truth.csv, duplicates, re-imports,
rollback on failure, other formats built in the tests, other kinds, reports and export."""

from __future__ import annotations

import csv
import io
import json
import math
import zipfile
from collections import defaultdict
from pathlib import Path

import pytest
import sqlalchemy as sa
from clikit import run_cli

import com.ingest as ingest
from com.db.engine import transaction
from com.errors import ConflictError, PermissionDenied, UploadError
from com.ingest import ImportOptions, import_path, import_upload, uploads
from com.security.access import Principal

SURIN = "32"


def _truth(samples_dir: Path) -> dict[str, list[dict[str, str]]]:
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    with (samples_dir / "uploads" / "truth.csv").open(encoding="utf-8-sig", newline="") as fh:
        for r in csv.DictReader(fh):
            rows[r["file"]].append(r)
    return rows


def _sample_files() -> list[str]:
    # Collected before fixtures exist: the same path as the samples_dir fixture.
    truth = Path(__file__).resolve().parents[3] / "shared" / "samples" / "uploads" / "truth.csv"
    if not truth.is_file():  # pragma: no cover - the shared samples are part of the setup
        return []
    with truth.open(encoding="utf-8-sig", newline="") as fh:
        return sorted({r["file"] for r in csv.DictReader(fh)})


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    from pyproj import Geod

    return Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2]


def _count(conn: sa.Connection, table: str) -> int:
    return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()  # noqa: S608


def _report(conn: sa.Connection, upload_id: int) -> dict[int, dict]:
    rows = conn.execute(
        sa.text(
            "SELECT u.row_number, u.status, u.reason, u.lat, u.lon, u.subdistrict_code, "
            "u.quality, u.record_id, ST_Y(r.geom) AS rlat, ST_X(r.geom) AS rlon, "
            "r.subdistrict_code AS rsub, r.approximate FROM upload_report u "
            "LEFT JOIN risk_points r ON r.id = u.record_id WHERE u.upload_id = :u"
        ),
        {"u": upload_id},
    ).mappings()
    return {r["row_number"]: dict(r) for r in rows}


@pytest.mark.parametrize("filename", _sample_files())
def test_sample_file_matches_truth(clean_engine, test_settings, samples_dir, filename):
    truth = _truth(samples_dir)[filename]
    summary = import_path(
        clean_engine, samples_dir / "uploads" / filename,
        options=ImportOptions(province_code=SURIN), settings=test_settings,
    )
    assert summary.rows == len(truth)
    assert summary.stored + summary.rejected + summary.duplicates == len(truth)
    with clean_engine.connect() as conn:
        report = _report(conn, summary.upload_id)
    problems = []
    for t in truth:
        n = int(t["row"])
        got = report.get(n)
        if got is None:
            problems.append(f"row {n}: missing from the report")
            continue
        if t["expect"] == "reject":
            if got["status"] != "rejected" or not got["reason"]:
                problems.append(f"row {n}: expected a rejection with a reason, got {got}")
            continue
        if got["status"] != "stored":
            problems.append(f"row {n}: expected stored, got {got['status']}: {got['reason']}")
            continue
        if t["lat"]:
            d = _metres(float(t["lat"]), float(t["lon"]), got["rlat"], got["rlon"])
            if d > 30:
                problems.append(f"row {n}: stored {d:.0f} m from the truth")
            if got["approximate"]:
                problems.append(f"row {n}: coordinate row flagged approximate")
        else:
            if got["rsub"] != t["tambon_code"]:
                problems.append(f"row {n}: subdistrict {got['rsub']} != {t['tambon_code']}")
            if not got["approximate"] or got["quality"] != "subdistrict":
                problems.append(f"row {n}: address row not flagged approximate/subdistrict")
    assert not problems, "\n".join(problems)


def test_reimport_stores_nothing_new(clean_engine, test_settings, samples_dir):
    path = samples_dir / "uploads" / "surin_risk_points.csv"
    options = ImportOptions(province_code=SURIN)
    first = import_path(clean_engine, path, options=options, settings=test_settings)
    with clean_engine.connect() as conn:
        before = {t: _count(conn, t) for t in ("uploads", "upload_report", "risk_points")}
    second = import_path(clean_engine, path, options=options, settings=test_settings)
    assert second.already_uploaded and not first.already_uploaded
    assert second.upload_id == first.upload_id
    assert (second.stored, second.rows) == (first.stored, first.rows)
    with clean_engine.connect() as conn:
        after = {t: _count(conn, t) for t in ("uploads", "upload_report", "risk_points")}
        actions = conn.execute(sa.text("SELECT action FROM audit_log ORDER BY id")).scalars()
        assert list(actions) == ["upload.create", "upload.repeat"]
    assert after == before


def test_same_points_in_another_file_are_duplicates(clean_engine, test_settings, samples_dir):
    data = (samples_dir / "uploads" / "surin_risk_points.csv").read_bytes()
    with transaction(clean_engine) as conn:
        first = import_upload(conn, data, "a.csv", options=ImportOptions(province_code=SURIN),
                              settings=test_settings)
    # Same rows, one byte different (a trailing newline): not the same file, so every row
    # is checked against what is stored.
    with transaction(clean_engine) as conn:
        second = import_upload(conn, data + b"\n", "b.csv",
                               options=ImportOptions(province_code=SURIN),
                               settings=test_settings)
        reasons = conn.execute(
            sa.text("SELECT reason FROM upload_report WHERE upload_id = :u AND status = "
                    "'duplicate' ORDER BY row_number LIMIT 1"), {"u": second.upload_id}
        ).scalar_one()
    assert not second.already_uploaded
    assert second.stored == 0
    assert second.duplicates == first.stored
    assert second.rejected == first.rejected
    assert "stored record" in reasons


def test_failure_half_way_leaves_nothing(clean_engine, test_settings, samples_dir, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("injected failure after staging")

    monkeypatch.setattr(uploads, "store_records", boom)
    with pytest.raises(RuntimeError, match="injected"):
        import_path(clean_engine, samples_dir / "uploads" / "surin_risk_points.csv",
                    options=ImportOptions(province_code=SURIN), settings=test_settings)
    with clean_engine.connect() as conn:
        for table in ("uploads", "upload_report", "risk_points", "audit_log"):
            assert _count(conn, table) == 0, table


def test_failure_after_insert_leaves_nothing(clean_engine, test_settings, samples_dir,
                                             monkeypatch):
    real = uploads.store_records

    def insert_then_fail(conn, rows, kind, upload_id):
        real(conn, rows, kind, upload_id)
        assert _count(conn, "risk_points") > 0  # the rows really were written
        raise RuntimeError("injected failure after the insert")

    monkeypatch.setattr(uploads, "store_records", insert_then_fail)
    with pytest.raises(RuntimeError, match="injected"):
        import_path(clean_engine, samples_dir / "uploads" / "surin_risk_points.csv",
                    options=ImportOptions(province_code=SURIN), settings=test_settings)
    with clean_engine.connect() as conn:
        for table in ("uploads", "upload_report", "risk_points", "audit_log"):
            assert _count(conn, table) == 0, table


def _csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


HEADER = ["ชื่อ", "ประเภท", "ระดับ", "lat", "lon", "ที่อยู่"]


def test_duplicates_within_a_file(conn, test_settings):
    rows = [
        HEADER,
        ["A", "ยาเสพติด", "3", "14.8818", "103.4937", ""],
        ["B near A, same category", "ยาบ้า", "4", "14.88185", "103.49375", ""],  # ~7 m
        ["C near A, other category", "อุทกภัย", "2", "14.88185", "103.49375", ""],
        ["A", "ยาเสพติด", "3", "14.8818", "103.4937", ""],  # identical to row 1
        ["D far", "ยาเสพติด", "3", "14.8900", "103.4937", ""],  # ~900 m
        ["E", "ยาเสพติด", "3", "", "", "ต.ทมอ อ.ปราสาท จ.สุรินทร์"],
        ["F other name, same tambon", "ยาเสพติด", "3", "", "", "ต.ทมอ อ.ปราสาท จ.สุรินทร์"],
        ["E", "ยาเสพติด", "3", "", "", "ต.ทมอ อ.ปราสาท จ.สุรินทร์"],
    ]
    s = import_upload(conn, _csv(rows), "dups.csv", options=ImportOptions(province_code=SURIN),
                      settings=test_settings)
    report = _report(conn, s.upload_id)
    status = {n: r["status"] for n, r in report.items()}
    assert status == {1: "stored", 2: "duplicate", 3: "stored", 4: "duplicate",
                      5: "stored", 6: "stored", 7: "stored", 8: "duplicate"}
    assert "row 1" in report[2]["reason"] and "row 1" in report[4]["reason"]
    assert "row 6" in report[8]["reason"]
    assert (s.rows, s.stored, s.duplicates, s.rejected) == (8, 5, 3, 0)


def test_outside_thailand_and_outside_province_rejected(conn, test_settings):
    rows = [
        HEADER,
        ["Phnom Penh", "ยาเสพติด", "3", "11.5564", "104.9282", ""],
        ["Si Sa Ket town", "ยาเสพติด", "3", "15.1186", "104.3220", ""],
        ["Surin town", "ยาเสพติด", "3", "14.8818", "103.4937", ""],
        ["NaN", "ยาเสพติด", "3", "NaN", "103.4937", ""],
        ["Inf", "ยาเสพติด", "3", "14.88", "inf", ""],
        ["Address elsewhere", "ยาเสพติด", "3", "", "", "ต.โพธิ์ อ.เมืองศรีสะเกษ จ.ศรีสะเกษ"],
    ]
    s = import_upload(conn, _csv(rows), "out.csv", options=ImportOptions(province_code=SURIN),
                      settings=test_settings)
    report = _report(conn, s.upload_id)
    assert report[1]["status"] == "rejected" and "outside Thailand" in report[1]["reason"]
    assert report[2]["status"] == "rejected" and "outside province 32" in report[2]["reason"]
    assert "33" in report[2]["reason"]
    assert report[3]["status"] == "stored"
    assert report[4]["status"] == "rejected" and "NaN" in report[4]["reason"]
    assert report[5]["status"] == "rejected" and "Infinity" in report[5]["reason"]
    assert report[6]["status"] == "rejected" and "outside province" in report[6]["reason"]
    # No province given: the default province (COM_DEFAULT_PROVINCE) is the upload's ...
    others = [HEADER, rows[1], rows[2], ["Prasat", "ยาเสพติด", "3", "14.64", "103.40", ""]]
    s2 = import_upload(conn, _csv(others), "out2.csv", settings=test_settings)
    assert (s2.province_code, s2.stored, s2.rejected) == (SURIN, 1, 2)
    # ... and without a default only the Thailand check applies.
    national = test_settings.model_copy(update={"default_province": None})
    s3 = import_upload(conn, _csv(others) + b"\n", "out3.csv", settings=national)
    assert (s3.province_code, s3.stored, s3.rejected, s3.duplicates) == (None, 1, 1, 1)


def test_ambiguous_and_vague_addresses_rejected_with_candidates(conn, test_settings):
    rows = [
        ["ชื่อ", "ประเภท", "ที่อยู่"],
        ["vague", "ยาเสพติด", "อ.ปราสาท จ.สุรินทร์"],
        ["nothing", "ยาเสพติด", "ไม่ทราบที่อยู่ แถวๆ ตลาด"],
    ]
    s = import_upload(conn, _csv(rows), "addr.csv", options=ImportOptions(province_code=SURIN),
                      settings=test_settings)
    report = _report(conn, s.upload_id)
    assert s.rejected == 2
    assert "district" in report[1]["reason"]
    assert report[2]["reason"]


def test_unknown_category_kept_and_severity_defaulted(conn, test_settings):
    rows = [
        ["ชื่อ", "ประเภท", "ระดับ", "วันที่", "lat", "lon", "ผู้รายงาน"],
        ["A", "พนันออนไลน์", "", "31/02/2567", "14.8818", "103.4937", "ส.ต.ท. สมชาย"],
        ["B", "ยาเสพติค", "สูงมาก", "๒๑/๘/๒๕๖๖", "14.9818", "103.4937", ""],
    ]
    s = import_upload(conn, _csv(rows), "cat.csv", settings=test_settings)
    assert s.stored == 2
    points = conn.execute(sa.text(
        "SELECT name, category, category_raw, severity, reported_on, attributes "
        "FROM risk_points ORDER BY name")).mappings().all()
    a, b = points
    assert (a["category"], a["category_raw"], a["severity"]) == ("unknown", "พนันออนไลน์", 3)
    assert a["reported_on"] is None and a["attributes"]["date_raw"] == "31/02/2567"
    assert a["attributes"]["ผู้รายงาน"] == "ส.ต.ท. สมชาย"
    assert (b["category"], b["severity"], str(b["reported_on"])) == ("drugs", 5, "2023-08-21")
    text = " ".join(s.warnings)
    assert "พนันออนไลน์" in text and "no severity" in text and "ยาเสพติค" in text


def test_indian1975_datum_recorded(conn, test_settings):
    rows = [HEADER, ["A", "ยาเสพติด", "3", "14.8818", "103.4937", ""]]
    wgs = import_upload(conn, _csv(rows), "w.csv", settings=test_settings)
    legacy = import_upload(conn, _csv(rows), "w.csv", settings=test_settings,
                           options=ImportOptions(datum="indian1975"))
    assert not legacy.already_uploaded  # same bytes, other datum: a different upload
    pts = conn.execute(sa.text(
        "SELECT source_upload_id, ST_Y(geom) AS lat, ST_X(geom) AS lon FROM risk_points"
    )).mappings().all()
    by_upload = {p["source_upload_id"]: p for p in pts}
    assert legacy.upload_id in by_upload  # not a duplicate: it moved by hundreds of metres
    moved = _metres(by_upload[wgs.upload_id]["lat"], by_upload[wgs.upload_id]["lon"],
                    by_upload[legacy.upload_id]["lat"], by_upload[legacy.upload_id]["lon"])
    assert 100 < moved < 1000
    options = conn.execute(sa.text("SELECT options FROM uploads WHERE id = :u"),
                           {"u": legacy.upload_id}).scalar_one()
    assert options["datum"] == "indian1975"
    assert any("EPSG:1812" in n for n in options["datum_notes"])


def test_idempotency_key(conn, test_settings):
    rows = [HEADER, ["A", "ยาเสพติด", "3", "14.8818", "103.4937", ""]]
    opts = ImportOptions(idempotency_key="retry-1")
    first = import_upload(conn, _csv(rows), "k.csv", options=opts, settings=test_settings)
    again = import_upload(conn, _csv(rows), "k.csv", options=opts, settings=test_settings)
    assert again.already_uploaded and again.upload_id == first.upload_id
    with pytest.raises(ConflictError):
        import_upload(conn, _csv(rows + [["B", "ยา", "1", "14.9", "103.5", ""]]), "k.csv",
                      options=opts, settings=test_settings)


def test_province_restricted_principal(conn, test_settings):
    staff = Principal(kind="user", name="somchai", role="staff", province_code="33",
                      scopes=frozenset({"read", "write"}))
    rows = [HEADER, ["A", "ยาเสพติด", "3", "14.8818", "103.4937", ""]]
    with pytest.raises(PermissionDenied):
        import_upload(conn, _csv(rows), "p.csv", options=ImportOptions(province_code=SURIN),
                      settings=test_settings, principal=staff)
    # Without a province the staff member's own is used: a Surin point is then outside it.
    s = import_upload(conn, _csv(rows), "p.csv", settings=test_settings, principal=staff)
    assert s.province_code == "33" and s.rejected == 1


def _kml(placemarks: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>จุดตรวจ</name>'
        f"{placemarks}</Document></kml>"
    ).encode()


def test_kml_points_rows_and_polygons_layers(conn, test_settings):
    data = _kml(
        "<Folder><name>ยาเสพติด</name>"
        "<Placemark><name>จุด ก</name><ExtendedData>"
        '<Data name="ประเภท"><value>ยาเสพติด</value></Data>'
        '<Data name="ระดับ"><value>สูง</value></Data></ExtendedData>'
        "<Point><coordinates>103.4937,14.8818,0</coordinates></Point></Placemark></Folder>"
        "<Placemark><name>เขตลาดตระเวน</name><Polygon><outerBoundaryIs><LinearRing>"
        "<coordinates>103.40,14.80 103.50,14.80 103.50,14.90 103.40,14.90 103.40,14.80"
        "</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"
        "<Placemark><name>ไม่มีพิกัด</name><description>ไม่ทราบ</description></Placemark>"
        "<Placemark><name>จุด ข</name><ExtendedData><SchemaData>"
        '<SimpleData name="ประเภท">อุทกภัย</SimpleData></SchemaData></ExtendedData>'
        "<Point><coordinates>103.5937,14.9818</coordinates></Point></Placemark>"
    )
    s = import_upload(conn, data, "patrol.kml", options=ImportOptions(province_code=SURIN),
                      settings=test_settings)
    report = _report(conn, s.upload_id)
    assert [report[n]["status"] for n in (1, 2, 3, 4)] == [
        "stored", "stored", "rejected", "stored"]
    assert report[2]["quality"] == "layer"
    layer = conn.execute(sa.text(
        "SELECT layer, name, ST_GeometryType(geom) FROM context_layers "
        "WHERE source_upload_id = :u"), {"u": s.upload_id}).one()
    assert layer == ("patrol", "เขตลาดตระเวน", "ST_Polygon")
    cats = conn.execute(sa.text(
        "SELECT category, severity FROM risk_points ORDER BY source_row")).all()
    assert cats == [("drugs", 4), ("flood", 3)]


def _geojson_bytes() -> bytes:
    fc = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "properties": {"name": "A", "category": "drugs", "severity": 5},
             "geometry": {"type": "Point", "coordinates": [103.4937, 14.8818]}},
            {"type": "Feature", "properties": {"name": "B", "category": "flood", "severity": 2},
             "geometry": {"type": "Point", "coordinates": [103.6, 15.0]}},
            {"type": "Feature", "properties": {"name": "route", "category": None,
                                               "severity": None},
             "geometry": {"type": "LineString",
                          "coordinates": [[103.4, 14.5], [103.5, 14.45]]}},
        ],
    }
    return json.dumps(fc).encode()


def test_geojson_import(conn, test_settings):
    s = import_upload(conn, _geojson_bytes(), "pts.geojson", settings=test_settings,
                      options=ImportOptions(province_code=SURIN, layer="border_routes"))
    assert (s.rows, s.stored, s.rejected) == (3, 3, 0)
    assert _count(conn, "risk_points") == 2
    layer = conn.execute(sa.text(
        "SELECT layer FROM context_layers WHERE source_upload_id = :u"), {"u": s.upload_id}
    ).scalar_one()
    assert layer == "border_routes"


def _frame():
    import geopandas as gpd
    from shapely.geometry import Point

    # DBF field names hold 10 bytes: Thai names do not fit, so GIS officers use English ones.
    return gpd.GeoDataFrame(
        {"name": ["A", "B", "C"], "category": ["ยาเสพติด", "ลักลอบเข้าเมือง", "อุทกภัย"],
         "severity": [5, 3, 1]},
        geometry=[Point(103.4937, 14.8818), Point(103.6, 15.0), Point(103.7, 14.6)],
        crs=4326,
    )


def test_zipped_shapefile_import_in_utm(conn, test_settings, tmp_path):
    frame = _frame().to_crs(32648)  # the reader converts it back to WGS 84
    frame.to_file(tmp_path / "pts.shp", engine="pyogrio", encoding="UTF-8")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for f in tmp_path.glob("pts.*"):
            zf.write(f, f"data/{f.name}")
    s = import_upload(conn, buffer.getvalue(), "pts.zip", settings=test_settings,
                      options=ImportOptions(province_code=SURIN))
    assert (s.rows, s.stored) == (3, 3)
    lat, lon = conn.execute(sa.text(
        "SELECT ST_Y(geom), ST_X(geom) FROM risk_points WHERE name = 'A'")).one()
    assert _metres(lat, lon, 14.8818, 103.4937) < 1
    cats = set(conn.execute(sa.text("SELECT category FROM risk_points")).scalars())
    assert cats == {"drugs", "illegal_entry", "flood"}


def test_geopackage_import(conn, test_settings, tmp_path):
    path = tmp_path / "pts.gpkg"
    _frame().to_file(path, layer="จุดเสี่ยง", engine="pyogrio")
    s = import_upload(conn, path.read_bytes(), "pts.gpkg", settings=test_settings)
    assert (s.rows, s.stored) == (3, 3)


def test_cameras_kind(conn, test_settings):
    rows = [["ชื่อกล้อง", "lat", "lon", "รัศมี (ม.)"],
            ["cam 1", "14.8818", "103.4937", "150"],
            ["cam 2", "14.88182", "103.49372", "100"],  # 3 m from cam 1
            ["cam 3", "14.9", "103.5", "lots"]]
    s = import_upload(conn, _csv(rows), "cams.csv", settings=test_settings,
                      options=ImportOptions(kind="cameras", province_code=SURIN))
    assert (s.stored, s.duplicates) == (2, 1)
    cams = conn.execute(sa.text(
        "SELECT name, radius_m, subdistrict_code, province_code FROM cameras ORDER BY name")
    ).all()
    assert [(c.name, c.radius_m, c.province_code) for c in cams] == [
        ("cam 1", 150.0, SURIN), ("cam 3", None, SURIN)]
    assert all(c.subdistrict_code for c in cams)


def test_layer_kind(conn, test_settings):
    fc = json.loads(_geojson_bytes())
    fc["features"][2]["geometry"] = {
        "type": "Polygon",
        "coordinates": [[[103.4, 14.8], [103.5, 14.9], [103.5, 14.8], [103.4, 14.9],
                         [103.4, 14.8]]],  # a bow-tie: repaired, with a warning
    }
    data = json.dumps(fc).encode()
    with pytest.raises(Exception, match="layer name"):
        import_upload(conn, data, "zones.geojson", settings=test_settings,
                      options=ImportOptions(kind="layer"))
    s = import_upload(conn, data, "zones.geojson", settings=test_settings,
                      options=ImportOptions(kind="layer", layer="patrol_zone"))
    assert (s.stored, s.rejected) == (3, 0)
    assert any("repaired" in w for w in s.warnings)
    assert _count(conn, "risk_points") == 0
    kinds = conn.execute(sa.text(
        "SELECT ST_GeometryType(geom) FROM context_layers WHERE layer = 'patrol_zone' "
        "ORDER BY source_row")).scalars().all()
    assert kinds[:2] == ["ST_Point", "ST_Point"] and kinds[2] == "ST_MultiPolygon"
    again = import_upload(conn, data + b" ", "zones2.geojson", settings=test_settings,
                          options=ImportOptions(kind="layer", layer="patrol_zone"))
    assert (again.stored, again.duplicates) == (0, 3)


def test_no_place_column_refused(conn, test_settings):
    data = _csv([["ชื่อ", "ประเภท"], ["A", "ยาเสพติด"]])
    with pytest.raises(UploadError, match="Columns in the file: 'ชื่อ', 'ประเภท'"):
        import_upload(conn, data, "x.csv", settings=test_settings)
    assert _count(conn, "uploads") == 0


def test_mapping_override(conn, test_settings):
    data = _csv([["จุด", "พิกัดจุด", "คำอธิบาย"], ["A", "14.8818, 103.4937", "ริมถนน"]])
    s = import_upload(conn, data, "m.csv", settings=test_settings,
                      options=ImportOptions(mapping={"พิกัดจุด": "location",
                                                     "คำอธิบาย": "note"}))
    assert s.stored == 1
    attrs = conn.execute(sa.text("SELECT attributes FROM risk_points")).scalar_one()
    assert attrs["note"] == "ริมถนน"


def test_report_csv_and_export_escape_formulas(conn, test_settings):
    rows = [HEADER + ["หมายเหตุ"],
            ["=HYPERLINK(\"http://x\")", "ยาเสพติด", "3", "14.8818", "103.4937", "",
             "@SUM(A1)"],
            ["-12 ok", "ยาเสพติด", "3", "-14.8818", "103.4937", "", "+1"]]
    s = import_upload(conn, _csv(rows), "f.csv", settings=test_settings)
    out = io.StringIO()
    assert ingest.write_report_csv(conn, s.upload_id, out) == 2
    report = list(csv.reader(io.StringIO(out.getvalue())))
    assert report[0][:7] == ["row", "status", "reason", "lat", "lon", "subdistrict_code",
                             "quality"]
    # Original columns keep their names, except where they clash with the report's own.
    assert report[0][7:9] == ["reason_th", "reason_code"]
    assert report[0][9:] == ["ชื่อ", "ประเภท", "ระดับ", "lat (original)", "lon (original)",
                             "ที่อยู่", "หมายเหตุ"]
    assert report[1][9] == "'=HYPERLINK(\"http://x\")" and report[1][15] == "'@SUM(A1)"
    assert report[2][1] == "rejected" and report[2][12] == "-14.8818"  # numeric: not escaped
    assert report[2][9] == "'-12 ok" and report[2][15] == "+1"
    assert report[2][8] == "coordinate_outside_area" and "พิกัด" in report[2][7]
    exported = io.StringIO()
    assert ingest.export_risk_points(conn, exported, fmt="csv") == 1
    lines = list(csv.DictReader(io.StringIO(exported.getvalue())))
    assert lines[0]["name"] == "'=HYPERLINK(\"http://x\")"
    assert lines[0]["source_file"] == "f.csv" and lines[0]["source_row"] == "1"
    assert float(lines[0]["lat"]) == pytest.approx(14.8818)
    geo = io.StringIO()
    assert ingest.export_risk_points(conn, geo, fmt="geojson") == 1
    feature = json.loads(geo.getvalue())["features"][0]
    assert feature["properties"]["source_file"] == "f.csv"
    assert feature["properties"]["name"] == "=HYPERLINK(\"http://x\")"  # GeoJSON is data
    assert math.isclose(feature["geometry"]["coordinates"][1], 14.8818)
    actions = set(conn.execute(sa.text("SELECT action FROM audit_log")).scalars())
    assert {"upload.create", "upload.report", "export.csv", "export.geojson"} <= actions


def test_cli_import_report_and_export(clean_engine, test_settings, samples_dir, tmp_path,
                                      monkeypatch, capsys):
    source = samples_dir / "uploads" / "kap_choeng_points_utm.xlsx"
    code, out, err = run_cli(monkeypatch, capsys, test_settings, "import", str(source),
                              "--province", "32", "--map", "ความรุนแรง=severity")
    assert code == 0, err
    summary = json.loads(out)
    assert {"upload_id", "rows", "stored", "rejected", "duplicates", "warnings",
            "already_uploaded"} <= set(summary)
    assert (summary["rows"], summary["stored"]) == (40, 40)

    report = tmp_path / "report.csv"
    code, out, err = run_cli(monkeypatch, capsys, test_settings, "import-report",
                              str(summary["upload_id"]), "--out", str(report))
    assert code == 0, err
    with report.open(encoding="utf-8", newline="") as fh:
        lines = list(csv.DictReader(fh))
    assert [int(r["row"]) for r in lines] == list(range(1, 41))
    assert {r["status"] for r in lines} == {"stored"}
    assert lines[0]["UTM E"] == "373359" and lines[0]["subdistrict_code"].startswith("32")

    out_file = tmp_path / "points.geojson"
    code, out, err = run_cli(monkeypatch, capsys, test_settings, "export", "risk-points",
                              "--format", "geojson", "--out", str(out_file))
    assert code == 0, err
    features = json.loads(out_file.read_text(encoding="utf-8"))["features"]
    assert len(features) == 40
    assert {f["properties"]["source_file"] for f in features} == {source.name}
    assert sorted(f["properties"]["source_row"] for f in features) == list(range(1, 41))

    # A user mistake is one line on stderr and a non-zero exit, and no file is left behind.
    bad = tmp_path / "notes.csv"
    bad.write_text("ชื่อ,ประเภท\nก,ยา\n", encoding="utf-8")
    code, out, err = run_cli(monkeypatch, capsys, test_settings, "import", str(bad))
    assert code == 1 and err.startswith("error: ") and len(err.strip().splitlines()) == 1
    code, out, err = run_cli(monkeypatch, capsys, test_settings, "import-report", "999",
                              "--out", str(tmp_path / "none.csv"))
    assert code == 1 and "999" in err
    assert not list(tmp_path.glob("none.csv*"))


def test_idempotency_key_is_scoped_to_the_principal(conn, test_settings):
    alice = Principal(kind="user", name="alice", role="staff",
                      scopes=frozenset({"read", "write"}))
    bob = Principal(kind="user", name="bob", role="staff", scopes=frozenset({"read", "write"}))
    bob_key = Principal(kind="api_key", name="bob", scopes=frozenset({"read", "write"}))
    opts = ImportOptions(province_code=SURIN, idempotency_key="retry-1")
    data_a = _csv([["ชื่อ", "lat", "lon"], ["A", "14.8818", "103.4937"]])
    data_b = _csv([["ชื่อ", "lat", "lon"], ["B", "14.95", "103.45"]])
    a = import_upload(conn, data_a, "a.csv", settings=test_settings, options=opts,
                      principal=alice)
    b = import_upload(conn, data_b, "b.csv", settings=test_settings, options=opts,
                      principal=bob)
    assert not b.already_uploaded and b.upload_id != a.upload_id
    # Same name, other kind: another principal.
    c = import_upload(conn, _csv([["ชื่อ", "lat", "lon"], ["C", "14.7", "103.6"]]), "c.csv",
                      settings=test_settings, options=opts, principal=bob_key)
    assert c.upload_id not in (a.upload_id, b.upload_id)
    assert import_upload(conn, data_b, "b.csv", settings=test_settings, options=opts,
                         principal=bob).upload_id == b.upload_id
    with pytest.raises(ConflictError, match=f"used for upload {b.upload_id} with"):
        import_upload(conn, data_a + b"\n", "a2.csv", settings=test_settings, options=opts,
                      principal=bob)
    assert import_upload(conn, data_a, "a.csv", settings=test_settings, options=opts,
                         principal=alice).upload_id == a.upload_id


def test_broken_geometries_reject_only_their_rows(conn, test_settings):
    ring = [[103.40 + 0.01 * (i % 2), 14.80 + 1e-6 * i] for i in range(400)]
    features = [
        {"type": "Feature", "properties": {"name": "ok", "category": "drugs"},
         "geometry": {"type": "Point", "coordinates": [103.4937, 14.8818]}},
        {"type": "Feature", "properties": {"name": "open ring"},
         "geometry": {"type": "Polygon", "coordinates": [[[103.4, 14.8], [103.5, 14.8],
                                                          [103.5, 14.9]]]}},
        {"type": "Feature", "properties": {"name": "too big"},
         "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]}},
        {"type": "Feature", "properties": {"name": "zone"},
         "geometry": {"type": "Polygon", "coordinates": [[[103.4, 14.8], [103.5, 14.8],
                                                          [103.5, 14.9], [103.4, 14.8]]]}},
    ]
    data = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    from com.ingest.readers import ReadLimits

    s = import_upload(conn, data, "zones.geojson", settings=test_settings,
                      options=ImportOptions(province_code=SURIN, layer="zones"),
                      limits=ReadLimits(max_vertices=300))
    assert (s.rows, s.stored, s.rejected) == (4, 2, 2)
    report = _report(conn, s.upload_id)
    assert report[2]["status"] == "rejected"
    assert report[2]["reason"] == "polygon ring is not closed (its first and last points differ)"
    assert report[3]["reason"] == "geometry has 401 vertices; at most 300 accepted"
    assert [report[n]["status"] for n in (1, 4)] == ["stored", "stored"]
