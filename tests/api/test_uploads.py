"""Upload API over a real PostGIS: create, repeat, report, history, province limits, and the
4xx answers for bad files (413 too large, 415 wrong type, 422 unreadable)."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from dbclean import clean_data_tables
from fastapi.testclient import TestClient

from api.main import create_app
from com.security.access import Principal

pytestmark = pytest.mark.db

STAFF_32 = Principal(kind="user", name="staff-surin", role="staff", province_code="32",
                     scopes=frozenset({"read", "write"}))
STAFF_33 = Principal(kind="user", name="staff-sisaket", role="staff", province_code="33",
                     scopes=frozenset({"read", "write"}))
VIEWER = Principal(kind="user", name="viewer", role="viewer")
OTHER_STAFF_32 = Principal(kind="user", name="staff-surin-2", role="staff", province_code="32",
                           scopes=frozenset({"read", "write"}))
PLANNER = Principal(kind="user", name="planner", role="planner",
                    scopes=frozenset({"read", "write"}))


def _clean_uploads(engine) -> None:
    # The shared cleaner: a bare TRUNCATE ... CASCADE through uploads would also empty the
    # land border and Mekong features that later tests rely on.
    clean_data_tables(engine)


@pytest.fixture(scope="module")
def client(engine, test_settings) -> Iterator[TestClient]:
    """One app for the module; every test uses its own points, so tests do not interact."""
    _clean_uploads(engine)
    settings = test_settings.model_copy(update={"max_upload_mb": 1})
    app = create_app(settings)

    # The extension point sessions and API keys use: a resolver from request to principal.
    def resolver(request):
        return {"surin": STAFF_32, "sisaket": STAFF_33, "viewer": VIEWER,
                "surin-2": OTHER_STAFF_32, "planner": PLANNER}.get(
            request.headers.get("x-test-user", ""))

    app.state.principal_resolvers.append(resolver)
    with TestClient(app) as c:
        c.headers.update({"x-test-user": "surin"})
        yield c
    _clean_uploads(engine)


def _csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


POINTS = _csv([
    ["ลำดับ", "ชื่อ", "ประเภท", "ระดับ", "ละติจูด", "ลองจิจูด", "หมายเหตุ"],
    [1, "จุด ก", "ยาเสพติด", "สูง", "14.8818", "103.4937", "=cmd|' /C calc'!A0"],
    [2, "จุด ข", "อุทกภัย", "2", "abc", "1000", ""],
    [3, "จุด ก ซ้ำ", "ยาบ้า", "3", "14.88181", "103.49371", ""],
])


def _points(lat: float) -> bytes:
    """Another small file (its own bytes and places) for tests that only need valid rows."""
    return _csv([["ชื่อ", "ประเภท", "ละติจูด", "ลองจิจูด"],
                 [f"จุด {lat}", "ยาเสพติด", f"{lat:.4f}", "103.6000"]])


def _post(client, data=POINTS, name="points.csv", headers=None, **fields):
    return client.post(
        "/api/uploads", files={"file": (name, data, "text/csv")},
        data=dict(fields), headers=headers or {},
    )


def test_upload_report_and_repeat(client, engine):
    r = _post(client, province="32")
    assert r.status_code == 201, r.text
    body = r.json()
    assert {k: body[k] for k in ("rows", "stored", "rejected", "duplicates")} == {
        "rows": 3, "stored": 1, "rejected": 1, "duplicates": 1}
    assert body["already_uploaded"] is False
    upload_id = body["upload_id"]
    assert r.headers["location"] == f"/api/uploads/{upload_id}"

    detail = client.get(f"/api/uploads/{upload_id}").json()
    assert [row["status"] for row in detail["report"]] == ["stored", "rejected", "duplicate"]
    assert detail["report"][1]["reason"] and detail["report"][1]["row"] == 2
    # The reason in Thai and English with its code (issue 14, done-item 5).
    rejected = detail["report"][1]
    assert rejected["reason_en"] == rejected["reason"] and rejected["column"]
    assert rejected["reason_code"] not in (None, "rejected")
    assert any("\u0e01" <= ch <= "\u0e5b" for ch in rejected["reason_th"])
    assert detail["report"][2]["reason_code"].startswith("duplicate")
    assert detail["report"][0]["reason_code"] is None
    assert detail["report"][0]["subdistrict_code"].startswith("32")

    report = client.get(f"/api/uploads/{upload_id}/report.csv")
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/csv")
    lines = list(csv.DictReader(io.StringIO(report.text)))
    assert [line["status"] for line in lines] == ["stored", "rejected", "duplicate"]
    assert lines[1]["reason_th"] == rejected["reason_th"]
    assert lines[1]["reason_code"] == rejected["reason_code"]
    assert lines[0]["หมายเหตุ"].startswith("'=")  # formula injection escaped
    assert client.get(f"/api/uploads/{upload_id}/report.csv?excel=true").text[0] == "\ufeff"

    again = _post(client, province="32")
    assert again.status_code == 200
    assert again.json()["already_uploaded"] is True and again.json()["upload_id"] == upload_id

    history = client.get("/api/uploads").json()["uploads"]
    assert upload_id in [u["upload_id"] for u in history]
    with engine.connect() as conn:
        actions = conn.execute(sa.text(
            "SELECT action, actor FROM audit_log WHERE target = :t ORDER BY id"),
            {"t": f"upload:{upload_id}"}).all()
        assert ("upload.create", "staff-surin") in actions
        assert ("upload.read", "staff-surin") in actions
        assert ("upload.report", "staff-surin") in actions
        assert ("upload.repeat", "staff-surin") in actions
        assert conn.execute(sa.text("SELECT count(*) FROM risk_points WHERE source_upload_id "
                                    "= :u"), {"u": upload_id}).scalar_one() == 1


def test_a_cleanly_stored_row_is_reported_from_its_point(client, engine):
    """Only rows with something to say get a line in upload_rows (issue 13); the report still
    answers for every row: a clean row from its stored point and the uploaded file's cells."""
    data = _csv([["ชื่อ", "ประเภท", "ระดับ", "ละติจูด", "ลองจิจูด"],
                 ["จุด ค", "ยาเสพติด", "4", "14.9012", "103.5511"],
                 ["จุด ง", "ยาเสพติด", "ไม่ทราบ", "14.9312", "103.5811"],
                 ["จุด จ", "ยาเสพติด", "4", "ไม่มี", "103.5811"]])
    r = _post(client, data=data, name="clean.csv", province="32")
    assert r.status_code == 201, r.text
    upload_id = r.json()["upload_id"]
    with engine.connect() as conn:
        lines = dict(conn.execute(sa.text(
            "SELECT row_number, status FROM upload_rows WHERE upload_id = :u"),
            {"u": upload_id}).tuples().all())
        point = conn.execute(sa.text(
            "SELECT id, ST_Y(geom), ST_X(geom), subdistrict_code FROM risk_points "
            "WHERE source_upload_id = :u AND source_row = 1"), {"u": upload_id}).one()
    assert lines == {2: "stored", 3: "rejected"}  # row 2 carries a severity warning
    report = client.get(f"/api/uploads/{upload_id}").json()["report"]
    assert [(x["row"], x["status"]) for x in report] == [
        (1, "stored"), (2, "stored"), (3, "rejected")]
    clean = report[0]
    assert clean["original"] == {"ชื่อ": "จุด ค", "ประเภท": "ยาเสพติด", "ระดับ": "4",
                                 "ละติจูด": "14.9012", "ลองจิจูด": "103.5511"}
    assert (clean["record_id"], clean["lat"], clean["lon"], clean["subdistrict_code"]) == point
    assert clean["quality"] == "coordinates" and clean["reason"] is None
    assert report[1]["warnings"] and report[1]["original"]["ระดับ"] == "ไม่ทราบ"
    lines_csv = list(csv.DictReader(io.StringIO(
        client.get(f"/api/uploads/{upload_id}/report.csv").text)))
    assert [(x["row"], x["ชื่อ"]) for x in lines_csv] == [("1", "จุด ค"), ("2", "จุด ง"),
                                                         ("3", "จุด จ")]


def test_mapping_sheet_and_kind_fields(client):
    data = _csv([["จุด", "พิกัดจุด", "รัศมี"], ["cam", "14.8818, 103.4937", "120"]])
    r = _post(client, data, "cams.csv", province="32", kind="cameras",
              mapping=json.dumps({"พิกัดจุด": "location", "จุด": "name"}))
    assert r.status_code == 201, r.text
    assert r.json()["stored"] == 1 and r.json()["kind"] == "cameras"
    bad = _post(client, data, "cams2.csv", mapping="{not json")
    assert bad.status_code == 422 and "mapping" in bad.json()["detail"]


def test_idempotency_key(client):
    data = _points(15.01)
    first = _post(client, data, headers={"Idempotency-Key": "abc-1"})
    assert first.status_code == 201
    retry = _post(client, data, headers={"Idempotency-Key": "abc-1"})
    assert retry.status_code == 200 and retry.json()["upload_id"] == first.json()["upload_id"]
    other = _post(client, _points(15.02), headers={"Idempotency-Key": "abc-1"})
    assert other.status_code == 409
    # A new key for bytes uploaded before: answered with the old upload, and bound to it.
    again = _post(client, data, headers={"Idempotency-Key": "abc-2"})
    assert again.status_code == 200 and again.json()["upload_id"] == first.json()["upload_id"]
    assert _post(client, _points(15.03), headers={"Idempotency-Key": "abc-2"}).status_code == 409


def test_access_rules(client):
    anonymous = client.post("/api/uploads", files={"file": ("p.csv", POINTS)},
                            headers={"x-test-user": ""})
    assert anonymous.status_code == 401
    viewer = _post(client, headers={"x-test-user": "viewer"})
    assert viewer.status_code == 403
    other_province = _post(client, headers={"x-test-user": "sisaket"}, province="32")
    assert other_province.status_code == 403
    upload_id = _post(client, _points(15.04)).json()["upload_id"]
    assert client.get(f"/api/uploads/{upload_id}",
                      headers={"x-test-user": "sisaket"}).status_code == 403
    assert client.get(f"/api/uploads/{upload_id}/report.csv",
                      headers={"x-test-user": "sisaket"}).status_code == 403
    seen = client.get("/api/uploads", headers={"x-test-user": "sisaket"}).json()["uploads"]
    assert all(u["province_code"] == "33" for u in seen)
    assert client.get("/api/uploads/999999").status_code == 404


def test_too_large_is_413(client):
    big = b"name,lat,lon\n" + b"x" * (1024 * 1024 + 10)
    r = _post(client, big, "big.csv")
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")


def test_too_large_without_content_length_is_413(client):
    # A chunked body declares no length: the bytes are counted as they arrive.
    def body():
        yield (b"--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n"
               b"Content-Type: text/csv\r\n\r\n")
        for _ in range(40):
            yield b"a" * 65536
        yield b"\r\n--B--\r\n"

    r = client.post("/api/uploads", content=body(),
                    headers={"content-type": "multipart/form-data; boundary=B"})
    assert r.status_code == 413


@pytest.mark.parametrize(
    ("data", "name", "status", "message"),
    [
        (b"%PDF-1.4 not a sheet", "points.xlsx", 415, "PDF"),
        (b"hello", "points.docx", 415, "unsupported file type"),
        (b"PK\x03\x04broken", "points.xlsx", 415, "damaged zip"),
        (_csv([["ชื่อ", "ประเภท"], ["ก", "ยา"]]), "x.csv", 422, "no coordinate or address"),
        (b"<?xml version='1.0'?><!DOCTYPE kml [<!ENTITY x SYSTEM 'file:///etc/passwd'>]>"
         b"<kml><Placemark><name>&x;</name></Placemark></kml>", "x.kml", 422, "entities"),
        (b"", "empty.csv", 422, "empty"),
    ],
)
def test_bad_files(client, data, name, status, message):
    r = _post(client, data, name)
    assert r.status_code == status, r.text
    assert message in r.json()["detail"]


def test_zip_bomb_is_413(client):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("doc.kml", "w") as fh:
        for _ in range(40):
            fh.write(b"\0" * (1 << 20))
    r = _post(client, buffer.getvalue(), "bomb.kmz")
    assert r.status_code == 413 and "zip bomb" in r.json()["detail"]


def test_not_multipart_is_415(client):
    r = client.post("/api/uploads", content=POINTS, headers={"content-type": "text/csv"})
    assert r.status_code == 415
    r = client.post("/api/uploads", data={"province": "32"})
    assert r.status_code in (415, 422)


def _api_key(engine, *, scope: str, province_code: str | None) -> str:
    from com.security.access import CLI
    from com.security.apikeys import create_key

    with engine.begin() as conn:
        return create_key(conn, name=f"uploads {scope} {province_code}", scope=scope,  # type: ignore[arg-type]
                          province_code=province_code, created_by=CLI).key


def test_who_may_read_an_upload_report(client, engine):
    # Before: GET /api/uploads/{id} needed the staff role, so a write-scoped API key could
    # upload but got 403 on its own upload's report.
    keys = {
        "writer": _api_key(engine, scope="write", province_code="32"),
        "writer 32": _api_key(engine, scope="write", province_code="32"),
        "writer 33": _api_key(engine, scope="write", province_code="33"),
        "writer anywhere": _api_key(engine, scope="write", province_code=None),
        "reader 32": _api_key(engine, scope="read", province_code="32"),
    }
    created = _post(client, _points(15.21), province="32",
                    headers={"X-API-Key": keys["writer"]})
    assert created.status_code == 201, created.text
    upload_id = created.json()["upload_id"]
    url = f"/api/uploads/{upload_id}"

    def status(path: str, **headers: str) -> int:
        return client.get(path, headers=headers).status_code

    # Whoever sent it reads its report, as JSON and as CSV.
    own = client.get(url, headers={"X-API-Key": keys["writer"]})
    assert own.status_code == 200 and own.json()["report"][0]["status"] == "stored"
    assert status(f"{url}/report.csv", **{"X-API-Key": keys["writer"]}) == 200
    # Province-limited writers and staff read their province's uploads.
    assert status(url, **{"X-API-Key": keys["writer 32"]}) == 200
    assert status(url, **{"x-test-user": "surin"}) == 200
    # Others may not.
    for who in ({"X-API-Key": keys["writer 33"]}, {"X-API-Key": keys["writer anywhere"]},
                {"X-API-Key": keys["reader 32"]}, {"x-test-user": "sisaket"},
                {"x-test-user": "viewer"}):
        assert status(url, **who) == 403, who
        assert status(f"{url}/report.csv", **who) == 403, who
    assert client.get(url, headers={"x-test-user": ""}).status_code == 401
    # Sending the same file again makes a key a sender of that upload too.
    again = _post(client, _points(15.21), province="32",
                  headers={"X-API-Key": keys["writer anywhere"]})
    assert again.status_code == 200 and again.json()["upload_id"] == upload_id
    assert status(url, **{"X-API-Key": keys["writer anywhere"]}) == 200
    with engine.connect() as conn:
        reads = conn.execute(sa.text(
            "SELECT actor_kind, count(*) FROM audit_log WHERE target = :t "
            "AND action IN ('upload.read', 'upload.report') GROUP BY actor_kind"),
            {"t": f"upload:{upload_id}"}).all()
    assert dict(reads) == {"api_key": 4, "user": 1}  # every read that was allowed


SENSITIVE = _csv([
    ["ชื่อ", "ประเภท", "ที่อยู่", "ละติจูด", "ลองจิจูด", "หมายเหตุ"],
    ["บ้านนายสมชาย", "จุดส่งยา", "12 หมู่ 3", "14.902137", "103.512371", "ส่งทุกคืน"],
    ["ท่อระบายน้ำ", "อุทกภัย", "", "14.911311", "103.530777", ""],
    ["บ้านนายสมศักดิ์", "ยาเสพติด", "", "14.9x1733", "103.5273", ""],
    ["จุดเดิม", "ยาบ้า", "", "14.902141", "103.512377", ""],
])
#: Text of the file that places a sensitive row (names, addresses, coordinate digits).
GIVEAWAYS = ("บ้านนายสมชาย", "12 หมู่ 3", "ส่งทุกคืน", "14.902137", "103.512371", "14.9021",
             "103.5123", "บ้านนายสมศักดิ์", "14.9x1733", "103.5273", "จุดเดิม", "14.902141")


def test_upload_reports_coarsen_sensitive_rows_for_others(client, engine):
    # Before: staff and planners without the sensitive right read the exact coordinates,
    # names and addresses of drug hand-off spots in other people's upload reports.
    created = _post(client, SENSITIVE, name="sensitive.csv", province="32")
    assert created.status_code == 201, created.text
    upload_id = created.json()["upload_id"]
    url = f"/api/uploads/{upload_id}"
    with engine.connect() as conn:
        sub, lat, lon = conn.execute(sa.text(
            "SELECT s.code, ST_Y(s.rep_point), ST_X(s.rep_point) FROM risk_points r "
            "JOIN subdistricts s ON s.code = r.subdistrict_code "
            "WHERE r.source_upload_id = :u AND r.category = 'drugs'"), {"u": upload_id}).one()

    own = client.get(url).json()["report"]
    assert [r["status"] for r in own] == ["stored", "stored", "rejected", "duplicate"]
    assert (own[0]["lat"], own[0]["lon"]) == pytest.approx((14.902137, 103.512371))
    assert own[0]["original"]["ชื่อ"] == "บ้านนายสมชาย" and "coarsened" not in own[0]
    own_csv = client.get(f"{url}/report.csv").text
    assert "บ้านนายสมชาย" in own_csv and "14.902137" in own_csv
    own_warned = {w.split(":")[0] for w in client.get(url).json()["warnings"]}
    assert {"row 1", "row 2"} <= own_warned

    for who in ("surin-2", "planner"):
        body = client.get(url, headers={"x-test-user": who})
        assert body.status_code == 200, body.text
        report = body.json()["report"]
        assert [r["status"] for r in report] == ["stored", "stored", "rejected", "duplicate"]
        stored, flood, rejected, duplicate = report
        assert (stored["lat"], stored["lon"]) == pytest.approx((lat, lon))
        assert stored["subdistrict_code"] == sub and stored["coarsened"] is True
        assert stored["original"] == {"ประเภท": "จุดส่งยา"}
        assert rejected["coarsened"] is True and rejected["original"] == {"ประเภท": "ยาเสพติด"}
        assert rejected["lat"] is None and "14.9x1733" not in (rejected["reason"] or "")
        assert duplicate["coarsened"] is True
        assert (duplicate["lat"], duplicate["lon"]) == pytest.approx((lat, lon))
        # A category that is not sensitive is reported as it was uploaded.
        assert (flood["lat"], flood["lon"]) == pytest.approx((14.911311, 103.530777))
        assert flood["original"]["ชื่อ"] == "ท่อระบายน้ำ" and "coarsened" not in flood
        # Summary warnings of sensitive rows go too (they can quote the row's cells).
        warned = {w.split(":")[0] for w in body.json()["warnings"]}
        assert "row 2" in warned and not warned & {"row 1", "row 3", "row 4"}
        text = body.text
        csv_text = client.get(f"{url}/report.csv", headers={"x-test-user": who}).text
        for giveaway in GIVEAWAYS:
            assert giveaway not in text, (who, giveaway)
            assert giveaway not in csv_text, (who, giveaway)
        assert "ท่อระบายน้ำ" in csv_text and "14.911311" in csv_text
        assert f"{lat:.5f}"[:7] in csv_text


def _corrupt_files(tmp_path) -> dict[str, bytes]:
    """Damaged files of each binary kind, built here (none is committed)."""
    import geopandas as gpd
    from shapely.geometry import Point

    path = tmp_path / "good.gpkg"
    gpd.GeoDataFrame({"ชื่อ": ["ก"]}, geometry=[Point(103.5, 14.9)], crs=4326).to_file(path)
    gpkg = path.read_bytes()
    workbook = io.BytesIO()
    with zipfile.ZipFile(workbook, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("xl/workbook.xml", "<workbook><<<")
    shapefile = io.BytesIO()
    with zipfile.ZipFile(shapefile, "w") as zf:
        for ext in (".shp", ".shx", ".dbf"):
            zf.writestr(f"points{ext}", b"not a shapefile part")
    return {
        "จุดเสี่ยง ตัด.gpkg": gpkg[: len(gpkg) // 3],
        "zeroed.gpkg": gpkg[:4096] + b"\0" * (len(gpkg) - 4096),
        "damaged.xlsx": workbook.getvalue(),
        "broken shapefile.zip": shapefile.getvalue(),
        "cut.zip": shapefile.getvalue()[:60],
        "old.xls": bytes.fromhex("D0CF11E0A1B11AE1") + b"\0" * 600,
        "entities.kml": b"<?xml version='1.0'?><!DOCTYPE kml [<!ENTITY x SYSTEM "
                        b"'file:///etc/passwd'>]><kml><Placemark><name>&x;</name></Placemark></kml>",
        "trailing comma.geojson": b'{"type": "FeatureCollection", "features": [{"type": '
                                  b'"Feature", "geometry": {"type": "Point", "coordinates": '
                                  b'[103.5, 14.9]}, "properties": {}},]}',
    }


#: What an error body must never hold: server paths, SQL, exception and byte reprs.
_INTERNALS = re.compile(
    r"/tmp|/var/|/home/|/work/|/usr/|/etc/|site-packages|\bSELECT\b|\bINSERT\b|\bFROM\b"
    r"|sqlite|sqlite_master|Traceback|\w+Error\b|\w+Exception\b|b'|\\x[0-9a-f]{2}|<DRIVER>",
)


def test_upload_errors_name_the_file_and_problem_without_internals(client, tmp_path):
    # Before: a damaged GeoPackage answered with the SQL GDAL ran on it, a damaged zipped
    # Shapefile with the server's temporary path, workbooks with exception class names, and
    # none of them named the file.
    for name, data in _corrupt_files(tmp_path).items():
        r = _post(client, data, name)
        assert r.status_code in (415, 422), (name, r.status_code, r.text)
        detail = r.json()["detail"]
        assert detail.startswith(f"{name}: "), detail
        assert not _INTERNALS.search(detail), (name, detail)
        problem = detail.removeprefix(f"{name}: ")
        assert any(word in problem for word in ("damaged", "missing", "refused", "Missing value")
                   ), (name, detail)
def test_unrecognised_columns_carry_what_each_looked_like(client):
    r = _post(client, _csv([["foo", "bar"], ["1", "hello"], ["2", "world"]]), "x.csv")
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["columns"] == ["foo", "bar"]  # the page offers a mapping for these
    details = {d["column"]: d for d in body["column_details"]}
    assert "text" in details["bar"]["looks_like_en"]
    assert "ข้อความ" in details["bar"]["looks_like_th"]


def test_a_phrase_header_address_file_is_accepted(client):
    data = _csv([["ที่", "ที่อยู่จุดเกิดเหตุ", "ประเภท", "ความรุนแรง"],
                 ["1", "ต.ด่าน อ.กาบเชิง จ.สุรินทร์", "ยาเสพติด", "3"]])
    r = _post(client, data, "phrases.csv")
    assert r.status_code == 201, r.text
