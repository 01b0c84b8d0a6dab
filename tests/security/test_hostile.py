"""Hostile input is refused early, with a clear 4xx and bounded server memory and time.

Every hostile file is built here, in the test; none is committed. The size and bomb cases run
against the real app under uvicorn (tests/live_server.py) and measure the server process's peak
resident memory (VmHWM from /proc, reset before each case) and the wall time.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import sqlalchemy as sa
from live_server import LiveServer

pytestmark = [pytest.mark.db, pytest.mark.timeout(120)]

MiB = 1024 * 1024
GiB = 1024 * MiB
#: "A few tens of MB": the most the server's peak memory may grow while refusing a case.
MAX_GROWTH_MB = 40
#: Refusing must be quick; sending the whole gigabyte over loopback would take far longer.
MAX_SECONDS = 10.0


@dataclass
class Measured:
    """A response with the server's peak memory growth and the time it took."""

    response: httpx.Response
    growth_mb: float
    seconds: float

    @property
    def problem(self) -> dict:
        assert self.response.headers["content-type"].startswith("application/problem+json"), (
            self.response.status_code, self.response.headers, self.response.text[:300])
        return self.response.json()


def measured(server: LiveServer, send: Callable[[], httpx.Response]) -> Measured:
    base = server.rss_bytes()
    server.reset_peak()
    started = time.monotonic()
    response = send()
    seconds = time.monotonic() - started
    growth = (server.peak_rss_bytes() - base) / MiB
    return Measured(response, growth, seconds)


class Gigabyte:
    """A lazily generated 1 GiB multipart body; counts what the client managed to send."""

    def __init__(self, total: int = GiB) -> None:
        self.total = total
        self.sent = 0

    def __iter__(self) -> Iterator[bytes]:
        yield (b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
               b"Content-Type: text/csv\r\n\r\nname,lat,lon\r\n")
        chunk = b"x" * MiB
        while self.sent < self.total:
            self.sent += len(chunk)
            yield chunk


def _post_stream(server: LiveServer, body: Gigabyte, headers: dict[str, str]) -> httpx.Response:
    headers = {"content-type": "multipart/form-data; boundary=xyz", **headers}
    return httpx.post(f"{server.base_url}/api/uploads", content=body, headers=headers,
                      timeout=60)


# ------------------------------------------------------------------------- request size


def test_declared_gigabyte_is_refused_before_reading_or_auth(live_api):
    body = Gigabyte()
    # No credentials at all: the size is refused before authentication runs.
    m = measured(live_api, lambda: _post_stream(live_api, body, {"content-length": str(GiB)}))
    print(f"\n413 declared 1 GiB: {m.seconds:.2f} s, server peak +{m.growth_mb:.1f} MB, "
          f"client sent {body.sent / MiB:.0f} MiB")
    assert m.response.status_code == 413
    assert m.problem["title"] == "Payload Too Large"
    assert f"request body of {GiB} bytes is over the limit" in m.problem["detail"]
    assert m.response.headers["connection"] == "close"
    assert body.sent < 64 * MiB  # the server did not read the body
    assert m.growth_mb < MAX_GROWTH_MB and m.seconds < MAX_SECONDS


def test_streamed_gigabyte_without_length_is_cut_off_at_the_limit(live_api, write_key):
    body = Gigabyte()
    m = measured(live_api, lambda: _post_stream(live_api, body, {"x-api-key": write_key}))
    limit_mb = 50  # COM_MAX_UPLOAD_MB of the test settings
    print(f"\n413 chunked 1 GiB: {m.seconds:.2f} s, server peak +{m.growth_mb:.1f} MB, "
          f"client sent {body.sent / MiB:.0f} MiB")
    assert m.response.status_code == 413
    assert m.problem["detail"].startswith("request body is over the limit of")
    assert m.problem["max_bytes"] > limit_mb * MiB
    # The server stopped at the limit: the client got no further than the limit plus what
    # the socket buffers hold.
    assert body.sent < (limit_mb + 32) * MiB
    assert m.growth_mb < MAX_GROWTH_MB and m.seconds < MAX_SECONDS


def test_small_request_passes_the_limit(live_api):
    response = httpx.get(f"{live_api.base_url}/api/health", timeout=10)
    assert response.status_code == 200


# ------------------------------------------------------------------------- hostile files


def _zip_bomb(members: dict[str, bytes], huge_name: str, huge_mb: int) -> bytes:
    """A zip whose ``huge_name`` member is ``huge_mb`` MiB of spaces (compresses ~230 times)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        with archive.open(huge_name, "w", force_zip64=True) as member:
            chunk = b" " * MiB
            for _ in range(huge_mb):
                member.write(chunk)
    return buffer.getvalue()


_CONTENT_TYPES = (
    '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
    'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-'
    'package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
    'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.'
    'worksheet+xml"/></Types>'
)
_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
_WORKBOOK = (
    '<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/'
    'main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
_WORKBOOK_RELS = (
    '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
XLSX_PARTS = {
    "[Content_Types].xml": _CONTENT_TYPES.encode(),
    "_rels/.rels": _RELS.encode(),
    "xl/workbook.xml": _WORKBOOK.encode(),
    "xl/_rels/workbook.xml.rels": _WORKBOOK_RELS.encode(),
}


def _xlsx(doctype: str, cell_text: str) -> bytes:
    """A minimal valid workbook whose sheet XML starts with ``doctype``."""
    sheet = (
        f'<?xml version="1.0"?>{doctype}<worksheet xmlns="http://schemas.openxmlformats.org/'
        'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>name'
        '</t></is></c><c r="B1" t="inlineStr"><is><t>lat</t></is></c><c r="C1" t="inlineStr">'
        '<is><t>lon</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>'
        f'{cell_text}</t></is></c><c r="B2"><v>14.9</v></c><c r="C2"><v>103.5</v></c></row>'
        "</sheetData></worksheet>"
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in XLSX_PARTS.items():
            archive.writestr(name, content)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def _laughs(root: str) -> str:
    """The billion laughs DTD: 10 levels of 10x expansion, 10^9 'lol's from 1 KB."""
    entities = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    return f"<!DOCTYPE {root} [{''.join(entities)}]>"


def _xxe(root: str) -> str:
    return f'<!DOCTYPE {root} [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


def _kml(doctype: str, name: str) -> bytes:
    return (
        f'<?xml version="1.0"?>{doctype}<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<Placemark><name>{name}</name><Point><coordinates>103.5,14.9</coordinates></Point>"
        "</Placemark></Document></kml>"
    ).encode()


def _upload(server: LiveServer, key: str, filename: str, content: bytes,
            province: str = "32") -> httpx.Response:
    return httpx.post(
        f"{server.base_url}/api/uploads",
        files={"file": (filename, content, "application/octet-stream")},
        data={"province": province},
        headers={"X-API-Key": key},
        timeout=120,
    )


BOMBS = {
    # 256 MiB sheet: over the 200 MB uncompressed cap (and compressed ~230 times).
    "xlsx": ("bomb.xlsx", lambda: _zip_bomb(XLSX_PARTS, "xl/worksheets/sheet1.xml", 256),
             "the workbook expands to 256 MB; at most 200 MB uncompressed is accepted"),
    # 50 MiB KML: under the total cap, refused by the compression ratio.
    "kmz": ("bomb.kmz", lambda: _zip_bomb({}, "doc.kml", 50),
            "refused as a possible zip bomb"),
}


@pytest.mark.parametrize("kind", sorted(BOMBS))
def test_zip_bombs_are_refused_before_opening(live_api, write_key, kind):
    filename, build, message = BOMBS[kind]
    content = build()
    m = measured(live_api, lambda: _upload(live_api, write_key, filename, content))
    print(f"\n{kind} bomb ({len(content) / MiB:.1f} MiB packed): {m.response.status_code} in "
          f"{m.seconds:.2f} s, server peak +{m.growth_mb:.1f} MB")
    assert m.response.status_code == 413, m.response.text
    assert message in m.problem["detail"]
    assert m.growth_mb < MAX_GROWTH_MB and m.seconds < MAX_SECONDS


XML_ATTACKS = {
    "billion-laughs.kml": _kml(_laughs("kml"), "&lol9;"),
    "external-entity.kml": _kml(_xxe("kml"), "&xxe;"),
    "billion-laughs.xlsx": _xlsx(_laughs("worksheet"), "&lol9;"),
    "external-entity.xlsx": _xlsx(_xxe("worksheet"), "&xxe;"),
}


@pytest.mark.parametrize("filename", sorted(XML_ATTACKS))
def test_xml_entities_are_refused(live_api, write_key, filename):
    m = measured(live_api, lambda: _upload(live_api, write_key, filename, XML_ATTACKS[filename]))
    assert m.response.status_code == 422, m.response.text
    detail = m.problem["detail"]
    assert "declares XML entities or external references, which are refused" in detail
    assert "root:" not in m.response.text  # nothing of /etc/passwd came back
    assert m.growth_mb < MAX_GROWTH_MB and m.seconds < MAX_SECONDS


def test_absurd_row_count_is_refused(live_api, write_key):
    content = ("name,lat,lon\n" + "a,14.9,103.5\n" * 250_000).encode()
    m = measured(live_api, lambda: _upload(live_api, write_key, "rows.csv", content))
    print(f"\n250,000-row CSV: {m.response.status_code} in {m.seconds:.2f} s, "
          f"server peak +{m.growth_mb:.1f} MB")
    assert m.response.status_code == 413, m.response.text
    assert m.problem["detail"] == (
        "rows.csv: the file has more than 200,000 data rows (the limit); split it into "
        "smaller files"
    )
    assert m.growth_mb < 4 * MAX_GROWTH_MB


def test_absurd_column_count_is_refused(live_api, write_key):
    header = ",".join(f"c{i}" for i in range(100_000))
    content = (header + "\n" + ",".join("1" for _ in range(100_000)) + "\n").encode()
    m = measured(live_api, lambda: _upload(live_api, write_key, "columns.csv", content))
    assert m.response.status_code == 413, m.response.text
    assert m.problem["detail"] == (
        "columns.csv: row 1 of the file has 100000 columns; at most 200 are accepted")
    assert m.growth_mb < MAX_GROWTH_MB


WRONG_TYPES = {
    "photo.xlsx": (b"\x89PNG\r\n\x1a\n" + bytes(200),
                   "photo.xlsx: the name says Excel workbook (.xlsx) but the content is a PNG "
                   "image; save the file in the format its name says"),
    "points.kmz": ("ชื่อ,lat,lon\nก,14.9,103.5\n".encode(),
                   "points.kmz: the name says KMZ (zipped KML) but the content is plain text; "
                   "save the file in the format its name says"),
    "tool.csv": (b"MZ\x90\x00" + bytes(200),
                 "tool.csv: the name says CSV text but the content is a Windows program; save "
                 "the file in the format its name says"),
}


@pytest.mark.parametrize("filename", sorted(WRONG_TYPES))
def test_wrong_type_behind_a_right_extension(live_api, write_key, filename):
    content, message = WRONG_TYPES[filename]
    response = _upload(live_api, write_key, filename, content)
    assert response.status_code == 415, response.text
    assert response.json()["detail"] == message


def _report(engine, response: httpx.Response) -> dict[int, dict]:
    """The per-row outcome of an acknowledged upload, read from the database."""
    assert response.status_code == 201, response.text
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT row_number, status, reason FROM upload_report WHERE upload_id = :u"),
            {"u": response.json()["upload_id"]},
        ).mappings()
        return {r["row_number"]: dict(r) for r in rows}


def test_out_of_range_and_non_finite_coordinates_are_rejected_per_row(
    live_api, write_key, engine
):
    rows = [
        ("ดี", "14.882", "103.493"),  # a real point in Surin: kept
        ("เกินขั้ว", "95.0", "103.5"),
        ("เกินเส้นแวง", "14.9", "200.0"),
        ("NaN", "NaN", "103.5"),
        ("Infinity", "14.9", "Infinity"),
        ("ลบอนันต์", "-inf", "103.5"),
        ("ล้น", "1e309", "103.5"),
    ]
    content = ("ชื่อ,lat,lon\n" + "".join(f"{n},{a},{o}\n" for n, a, o in rows)).encode()
    response = _upload(live_api, write_key, "bad-coordinates.csv", content)
    report = _report(engine, response)
    summary = response.json()
    # The good row is kept (stored, or a duplicate when another test stored the same place).
    assert summary["stored"] + summary["duplicates"] == 1
    assert summary["rejected"] == len(rows) - 1
    assert report[1]["status"] in ("stored", "duplicate")
    for number in range(2, len(rows) + 1):
        row = report[number]
        assert row["status"] == "rejected", row
        assert row["reason"], row  # each says what is wrong with it
    assert "latitude 95 is out of range (-90 to 90)" in report[2]["reason"]
    assert "longitude 200 is out of range (-180 to 180)" in report[3]["reason"]
    for number in (4, 5, 6):
        assert "is not a finite number (NaN/Infinity)" in report[number]["reason"]
    # Before: "latitude '1e309' holds more than one value".
    assert report[7]["reason"] == (
        "coordinate '1e309' is not a finite number: 1e309 is out of range (too large for any "
        "coordinate)")
    print("\nrejection reasons: " + json.dumps(
        {n: report[n]["reason"] for n in range(2, len(rows) + 1)}, ensure_ascii=False))


def _feature(name: str, geometry: dict) -> dict:
    return {"type": "Feature", "properties": {"name": name, "category": "ยาเสพติด"},
            "geometry": geometry}


def test_malformed_and_enormous_geometries_are_rejected(live_api, write_key, engine):
    ring = [[103.40 + 0.1 * (i % 2), 14.80 + 1e-6 * i] for i in range(300_000)]
    features = [
        _feature("ดี", {"type": "Point", "coordinates": [103.493, 14.882]}),
        _feature("ใหญ่เกิน", {"type": "Polygon", "coordinates": [ring + [ring[0]]]}),
        _feature("นอกโลก", {"type": "Point", "coordinates": [503.5, 94.9]}),
        _feature("ว่าง", {"type": "Point", "coordinates": []}),
    ]
    content = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    m = measured(live_api, lambda: _upload(live_api, write_key, "shapes.geojson", content))
    print(f"\nGeoJSON with a 300,000-vertex polygon ({len(content) / MiB:.1f} MiB): "
          f"{m.response.status_code} in {m.seconds:.2f} s, server peak +{m.growth_mb:.1f} MB")
    report = _report(engine, m.response)
    assert report[1]["status"] in ("stored", "duplicate")
    assert report[2]["status"] == "rejected"
    assert "geometry has 300,001 vertices; at most 250,000 accepted" in report[2]["reason"]
    for number in (3, 4):
        assert report[number]["status"] == "rejected" and report[number]["reason"], report
    print("geometry rejections: " + json.dumps(
        {n: report[n]["reason"] for n in (2, 3, 4)}, ensure_ascii=False))


def test_unclosed_polygon_is_refused_with_the_reason(live_api, write_key, engine):
    # Only its row: before, the whole file failed with GEOS's message (422).
    features = [
        _feature("ดี", {"type": "Point", "coordinates": [103.493, 14.882]}),
        _feature("ไม่ปิดวง", {"type": "Polygon", "coordinates": [
            [[103.4, 14.8], [103.5, 14.8], [103.5, 14.9]]]}),
    ]
    content = json.dumps({"type": "FeatureCollection", "features": features}).encode()
    response = _upload(live_api, write_key, "open-ring.geojson", content)
    report = _report(engine, response)
    assert report[1]["status"] in ("stored", "duplicate")
    assert report[2]["status"] == "rejected"
    assert report[2]["reason"] == "polygon ring is not closed (its first and last points differ)"


def _line_feature_text(vertices: int, *, bare: bool) -> bytes:
    """One line of ``vertices`` coordinates (about 24 bytes each), bare or in a collection."""
    coords = ",".join(f"[103.{i % 999_999:06d},14.{(7 * i) % 999_999:06d}]"
                      for i in range(vertices))
    feature = ('{"type":"Feature","properties":{"name":"เส้นยาว"},"geometry":'
               f'{{"type":"LineString","coordinates":[{coords}]}}}}')
    if bare:
        return feature.encode()
    return ('{"type":"FeatureCollection","features":[' + feature + "]}").encode()


@pytest.mark.parametrize("bare", [True, False], ids=["feature", "collection"])
def test_geojson_with_too_many_coordinates_is_refused_before_gdal(live_api, write_key, bare):
    # 1.2 million coordinates in 26 MiB, under the 50 MB size limit. GDAL holds several
    # hundred bytes per coordinate of the feature it parses and parsed the file up to three
    # times: before, the bare feature was read in 10 s with the server growing by 412 MB,
    # and the collection failed in GDAL (422) after growing by 220 MB.
    content = _line_feature_text(1_200_000, bare=bare)
    size_mb = len(content) / MiB
    m = measured(live_api, lambda: _upload(live_api, write_key, "long.geojson", content))
    shape = "bare" if bare else "in a collection"
    print(f"\nGeoJSON of 1.2M coordinates ({size_mb:.0f} MiB, {shape}): "
          f"{m.response.status_code} in {m.seconds:.2f} s, server peak +{m.growth_mb:.1f} MB")
    assert m.response.status_code == 413, m.response.text
    assert m.problem["detail"] == (
        "long.geojson: the GeoJSON holds more than 1,000,000 coordinates (the limit for one "
        "file); split it "
        "or simplify the geometries")
    # The server holds the received file (twice while the multipart body is parsed) and
    # little else: far from GDAL's hundreds of MB.
    assert m.growth_mb < MAX_GROWTH_MB + 2 * size_mb
    assert m.seconds < MAX_SECONDS
