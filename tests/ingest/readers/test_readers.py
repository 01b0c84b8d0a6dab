"""Readers and row preparation without a database: formats, encodings, headers, hostile
files, caps, column recognition, categories and formula escaping."""

from __future__ import annotations

import csv
import io
import time
import tracemalloc
import zipfile
from datetime import datetime

import pytest

from com.config.severity import CategoryMatcher
from com.errors import UploadError
from com.ingest.columns import plan_columns
from com.ingest.kinds import KINDS
from com.ingest.options import ImportOptions
from com.ingest.prepare import prepare_rows
from com.ingest.readers import (
    FileTooLarge,
    ReadLimits,
    UnsupportedFileType,
    detect_format,
    find_header,
    read_table,
    recognise_column,
)
from com.io.escape import escape_formula

THAI_ROWS = [
    ["ชื่อ", "ประเด็น", "ระดับ", "ละติจูด", "ลองจิจูด", "วันที่"],
    ["ช่องทางธรรมชาติ ๑", "ยาเสพติด", "สูงมาก", "14.8818", "103.4937", "๒๑/๘/๒๕๖๖"],
    ["บ้านโคกตะเคียน", "ลักลอบเข้าเมือง", "ปานกลาง", "14.4727", "103.5217", "8 มิ.ย. 67"],
]


def _text(rows, delimiter=","):
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


# --------------------------------------------------------------------------- CSV


@pytest.mark.parametrize("encoding", ["tis-620", "cp874"])
def test_tis620_csv_is_detected(encoding):
    data = _text(THAI_ROWS).encode(encoding)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    table = read_table(data, "old_excel.csv")
    assert table.details["encoding"] == "cp874"
    assert table.columns == THAI_ROWS[0]
    assert table.rows[0][0] == "ช่องทางธรรมชาติ ๑"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16"])
def test_unicode_csv(encoding):
    table = read_table(_text(THAI_ROWS).encode(encoding), "a.csv")
    assert table.columns == THAI_ROWS[0]
    assert table.rows[1][1] == "ลักลอบเข้าเมือง"


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_any_delimiter(delimiter):
    rows = THAI_ROWS + [["จุด, มีจุลภาค", "ยาเสพติด", "3", "14.9", "103.5", "2024-01-02"]]
    table = read_table(_text(rows, delimiter).encode(), "a.txt")
    assert table.details["delimiter"] == delimiter
    assert table.columns == THAI_ROWS[0]
    assert table.rows[2][0] == "จุด, มีจุลภาค"


def test_excel_sep_line_and_blank_rows():
    text = "sep=;\r\nname;lat;lon\r\nA;14.9;103.5\r\n;;\r\nB;15;103\r\n"
    table = read_table(text.encode(), "a.csv")
    assert table.columns == ["name", "lat", "lon"]
    assert table.row_numbers == [1, 3]  # the blank row keeps its number but is not a row


def test_title_rows_above_csv_header():
    rows = [["บัญชีจุดเสี่ยง จังหวัดสุรินทร์"], ["ข้อมูล ณ วันที่ 1 ต.ค. 2566"], *THAI_ROWS]
    table = read_table(_text(rows).encode(), "a.csv")
    assert table.columns == THAI_ROWS[0]
    assert table.details["header_row"] == 3
    assert len(table.rows) == 2 and table.row_numbers == [1, 2]


# --------------------------------------------------------------------------- Excel


def _xlsx_with_title_and_merged_header() -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "สรุป"
    data = wb.create_sheet("จุดเสี่ยง")
    data["A1"] = "บัญชีจุดเสี่ยง อำเภอกาบเชิง จังหวัดสุรินทร์ (ข้อมูล ณ ส.ค. 2566)"
    data.merge_cells("A1:G1")
    for col, name in zip("ABCDE", ["ที่", "ชื่อจุด", "ประเภท", "พิกัด", None], strict=True):
        if name:
            data[f"{col}2"] = name
    data["F2"] = "วันที่"
    data["G2"] = "หมายเหตุ"
    data.merge_cells("D2:E2")  # "พิกัด" over latitude and longitude
    for col in "ABCFG":
        data.merge_cells(f"{col}2:{col}3")
    data["D3"] = "ละติจูด"
    data["E3"] = "ลองจิจูด"
    data.append([1, "จุด ก", "ยาเสพติด", 14.8818, 103.4937, datetime(2023, 8, 21), None])
    data.append([2, "จุด ข", "อุทกภัย", 14.9, 103.5, "๒๑/๘/๒๕๖๖", "ริมน้ำ"])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_xlsx_title_row_and_two_row_merged_header():
    data = _xlsx_with_title_and_merged_header()
    table = read_table(data, "points.xlsx", sheet="จุดเสี่ยง")
    assert table.details["header_row"] == 2 and table.details["header_rows"] == 2
    assert table.columns == ["ที่", "ชื่อจุด", "ประเภท", "พิกัด ละติจูด", "พิกัด ลองจิจูด",
                             "วันที่", "หมายเหตุ"]
    assert table.row_numbers == [1, 2]
    assert table.rows[0][3] == 14.8818
    plan = plan_columns(table, kind=KINDS["risk_points"])
    assert plan.as_dict() == {
        "ที่": "row_id", "ชื่อจุด": "name", "ประเภท": "category", "พิกัด ละติจูด": "lat",
        "พิกัด ลองจิจูด": "lon", "วันที่": "date", "หมายเหตุ": "note",
    }


def test_xlsx_sheet_with_the_table_and_missing_sheet():
    data = _xlsx_with_title_and_merged_header()
    # The first sheet is an empty summary: the second one, which holds the table, is read
    # (issue 14, item 5: the data on a second sheet).
    table = read_table(data, "points.xlsx")
    assert table.details["sheet"] == "จุดเสี่ยง" and "sheet 2" in table.details["sheet_chosen"]
    assert plan_columns(table, kind=KINDS["risk_points"]).fields["lat"] == 3
    with pytest.raises(UploadError, match="sheets: สรุป, จุดเสี่ยง"):
        read_table(data, "points.xlsx", sheet="ไม่มี")


def test_xls_reader():
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    ws = wb.add_sheet("จุด")
    ws.write(0, 0, "รายงานจุดเสี่ยง")
    for c, name in enumerate(["ชื่อ", "ประเภท", "UTM E", "UTM N", "โซน", "วันที่"]):
        ws.write(1, c, name)
    date_style = xlwt.easyxf(num_format_str="DD/MM/YYYY")
    for c, value in enumerate(["จุด ก", "บุกรุกป่า", 373359, 1621144, "48P"]):
        ws.write(2, c, value)
    ws.write(2, 5, datetime(2023, 11, 25), date_style)
    buffer = io.BytesIO()
    wb.save(buffer)
    table = read_table(buffer.getvalue(), "old.xls")
    assert table.columns == ["ชื่อ", "ประเภท", "UTM E", "UTM N", "โซน", "วันที่"]
    assert table.rows[0][2] == 373359 and table.rows[0][5] == datetime(2023, 11, 25)
    rows, _, _ = prepare_rows(table, options=ImportOptions(), geocoder=_no_geocoder)
    assert rows[0].status == "pending"
    assert rows[0].lat == pytest.approx(14.660854, abs=1e-4)
    assert rows[0].record["reported_on"] == "2023-11-25"


# --------------------------------------------------------------------------- KML


def _kml(body: str, prolog: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n{prolog}'
        f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>{body}</Document></kml>'
    ).encode()


def test_kml_placemarks_fields_and_order():
    data = _kml(
        "<Folder><name>ยาเสพติด</name><Folder><name>อำเภอปราสาท</name>"
        "<Placemark><name>ก</name>"
        "<description><![CDATA[<table><tr><td>ระดับ</td><td>สูง</td></tr>"
        "<tr><td>วันที่</td><td>1 ม.ค. 67</td></tr></table>]]></description>"
        "<Point><coordinates>103.49,14.88,0</coordinates></Point></Placemark></Folder>"
        "</Folder>"
        "<Placemark><name>ข</name><ExtendedData><Data name=\"ประเภท\"><value>อุทกภัย</value>"
        "</Data></ExtendedData><LineString><coordinates>103.4,14.8 103.5,14.9</coordinates>"
        "</LineString></Placemark>"
        "<Placemark><name>ค</name><Point><coordinates>bad</coordinates></Point></Placemark>"
    )
    table = read_table(data, "a.kml")
    assert table.row_numbers == [1, 2, 3]
    assert table.columns == ["name", "description", "folder", "ระดับ", "วันที่", "ประเภท"]
    first = dict(zip(table.columns, table.rows[0], strict=True))
    assert first["folder"] == "อำเภอปราสาท" and first["ระดับ"] == "สูง"
    assert table.geometries[0].geom_type == "Point"
    assert table.geometries[1].geom_type == "LineString"
    assert table.geometries[2] is None and 3 in table.details["geometry_errors"]
    rows, _, _ = prepare_rows(table, options=ImportOptions(), geocoder=_no_geocoder)
    assert [r.status for r in rows] == ["pending", "pending", "rejected"]
    assert rows[0].record["severity"] == 4 and rows[0].record["reported_on"] == "2024-01-01"
    assert rows[1].target == "layer"


def test_kmz_reads_doc_kml():
    data = _kml("<Placemark><name>ก</name><Point><coordinates>103.49,14.88</coordinates>"
                "</Point></Placemark>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("files/icon.png", b"\x89PNG....")
        zf.writestr("doc.kml", data)
    table = read_table(buffer.getvalue(), "a.kmz")
    assert table.format == "kmz" and len(table.rows) == 1


def test_kml_external_entity_refused():
    data = _kml(
        "<Placemark><name>&xxe;</name></Placemark>",
        prolog='<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n',
    )
    with pytest.raises(UploadError, match="entities"):
        read_table(data, "x.kml")


def test_kml_billion_laughs_refused_quickly():
    entities = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    data = _kml("<Placemark><name>&lol9;</name></Placemark>",
                prolog=f"<!DOCTYPE kml [{entities}]>\n")
    started = time.perf_counter()
    tracemalloc.start()
    with pytest.raises(UploadError, match="entities"):
        read_table(data, "lol.kml")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert time.perf_counter() - started < 2
    assert peak < 20 * 1024 * 1024


def _xlsx_with_sheet_xml(sheet_xml: str) -> bytes:
    """A minimal workbook whose first sheet's XML is given (for hostile-XML tests)."""
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active["A1"] = "x"
    buffer = io.BytesIO()
    wb.save(buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                body = sheet_xml.encode()
            zf.writestr(item.filename, body)
    return out.getvalue()


def test_xlsx_billion_laughs_refused():
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY a{i} "{("&a" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
        for i in range(1, 10)
    )
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&a9;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    started = time.perf_counter()
    with pytest.raises(UploadError):
        read_table(_xlsx_with_sheet_xml(sheet), "bomb.xlsx")
    assert time.perf_counter() - started < 2


# --------------------------------------------------------------------------- hostile containers


def _zip_bomb(member: str, mb: int = 60) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf, \
            zf.open(member, "w") as fh:
        chunk = b"\0" * (1 << 20)
        for _ in range(mb):
            fh.write(chunk)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("member", "filename"),
    [("xl/workbook.xml", "bomb.xlsx"), ("doc.kml", "bomb.kmz"), ("pts.shp", "bomb.zip")],
)
def test_zip_bomb_refused_before_extraction(member, filename):
    data = _zip_bomb(member)
    assert len(data) < 200_000  # 60 MB of zeros in well under 1 MB
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(FileTooLarge, match="zip bomb"):
        read_table(data, filename)
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert elapsed < 1 and peak < 10 * 1024 * 1024


def test_zip_over_total_size_refused():
    data = _zip_bomb("doc.kml", mb=30)
    with pytest.raises(FileTooLarge, match="expands to 30 MB"):
        read_table(data, "big.kmz", limits=ReadLimits(max_uncompressed_mb=20, max_ratio=1e9))


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"%PDF-1.7 ...", "points.xlsx", "content is a PDF document"),
        ("ชื่อ,lat,lon\n".encode(), "points.xlsx", "content is plain text"),
        (b"MZ\x90\x00", "points.csv", "Windows program"),
        (b"PK\x03\x04garbage", "points.xlsx", "damaged zip"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "points.xlsx", "97-2003"),
        (b"<html><body>not kml</body></html>", "a.geojson", "content is XML"),
        (b"{\"type\": \"FeatureCollection\"}", "a.kml", "content is GeoJSON"),
        (b"abc", "a.pdf", "unsupported file type .pdf"),
        (b"abc", "a.shp", "as a .zip"),
    ],
)
def test_wrong_type_refused(data, filename, message):
    with pytest.raises(UnsupportedFileType, match=message):
        detect_format(filename, data)


def test_xlsx_named_csv_refused():
    data = _xlsx_with_title_and_merged_header()
    with pytest.raises(UnsupportedFileType, match="Excel workbook"):
        read_table(data, "points.csv")


def test_empty_file_refused():
    with pytest.raises(UploadError, match="empty"):
        read_table(b"", "a.csv")


def test_row_and_column_caps():
    limits = ReadLimits(max_rows=5, max_columns=4)
    rows = [["name", "lat", "lon"]] + [[f"p{i}", "14.9", "103.5"] for i in range(6)]
    with pytest.raises(FileTooLarge, match="more than 5 data rows"):
        read_table(_text(rows).encode(), "a.csv", limits=limits)
    wide = [["name", "lat", "lon", "a", "b"], ["p", "14.9", "103.5", "1", "2"]]
    with pytest.raises(FileTooLarge, match="at most 4"):
        read_table(_text(wide).encode(), "a.csv", limits=limits)


def test_xlsx_column_cap_bounds_a_far_cell():
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["name", "lat", "lon"])
    ws.cell(row=2, column=16000, value="far away")
    buffer = io.BytesIO()
    wb.save(buffer)
    with pytest.raises(FileTooLarge, match="columns"):
        read_table(buffer.getvalue(), "wide.xlsx")


# --------------------------------------------------------------------------- recognition


@pytest.mark.parametrize(
    ("header", "field"),
    [
        ("ละติจูด", "lat"), ("Latitude (WGS84)", "lat"), ("LAT", "lat"), ("Y", "lat"),
        ("ลองติจูด", "lon"), ("Lng", "lon"), ("longitude", "lon"), ("ลองจิจุด", "lon"),
        ("พิกัด", "location"), ("Google Maps", "location"), ("lat, lon", "location"),
        ("UTM E", "easting"), ("utm-n", "northing"), ("โซน", "zone"), ("MGRS", "mgrs"),
        ("ที่อยู่", "address"), ("ตำบล", "subdistrict"), ("อ.", "district"),
        ("จังหวัด", "province"), ("วันที่รายงาน", "date"), ("หมายเหตุ", "note"),
        ("ลำดับ", "row_id"), ("ที่", "row_id"), ("#", "row_id"), ("จำนวน", "count"),
        ("ชื่อจุดเสี่ยง", "name"), ("ประเภทปัญหา", "category"), ("Issue", "category"),
        ("ระดับความรุนแรง", "severity"), ("ผู้รายงาน", None),
        ("บัญชีจุดเสี่ยง อำเภอกาบเชิง จังหวัดสุรินทร์", None),
    ],
)
def test_column_names(header, field):
    assert recognise_column([header]) == field


def test_header_found_below_title_rows():
    rows = [["รายงาน"], [], ["ที่", "ชื่อ", "ละติจูด", "ลองจิจูด"], [1, "ก", 14.9, 103.5]]
    first, count, parts = find_header(rows)
    assert (first, count) == (2, 1)
    assert [p[0] for p in parts] == ["ที่", "ชื่อ", "ละติจูด", "ลองจิจูด"]


def test_xy_in_metres_read_as_utm():
    text = "name,X,Y,zone\nA,373359,1621144,48\n"
    table = read_table(text.encode(), "a.csv")
    plan = plan_columns(table)
    assert {"easting", "northing", "zone"} <= set(plan.fields)
    rows, _, _ = prepare_rows(table, options=ImportOptions(), geocoder=_no_geocoder)
    assert rows[0].lat == pytest.approx(14.660854, abs=1e-4)


def test_utm_without_zone_uses_the_province_zone():
    text = "name,UTM E,UTM N\nA,373359,1621144\n"
    table = read_table(text.encode(), "a.csv")
    rows, _, _ = prepare_rows(table, options=ImportOptions(), geocoder=_no_geocoder)
    assert rows[0].status == "rejected" and "zone" in rows[0].reason
    rows, _, _ = prepare_rows(table, options=ImportOptions(), geocoder=_no_geocoder,
                              zone_hint=48)
    assert rows[0].status == "pending"
    assert any("zone 48" in w for w in rows[0].warnings)


def test_no_place_columns_lists_columns_and_fields():
    table = read_table("ชื่อ,ประเภท,ระดับ\nก,ยา,3\n".encode(), "a.csv")
    with pytest.raises(UploadError) as info:
        plan_columns(table)
    message = str(info.value)
    assert "'ชื่อ', 'ประเภท', 'ระดับ'" in message and "ละติจูด" in message
    assert "ที่อยู่" in message


def test_mapping_errors():
    table = read_table(b"a,b\n14.9,103.5\n", "a.csv")
    with pytest.raises(UploadError, match="no column 'c'"):
        plan_columns(table, mapping={"c": "lat"})
    with pytest.raises(UploadError, match="unknown field 'height'"):
        plan_columns(table, mapping={"a": "height"})
    plan = plan_columns(table, mapping={"A": "lat", "b": "lon"})
    assert plan.fields == {"lat": 0, "lon": 1}


def _no_geocoder(address, province_code=None):  # pragma: no cover - must not be called
    raise AssertionError(f"unexpected geocode of {address!r}")


@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-Infinity"])
def test_non_finite_coordinates_are_row_errors(value):
    table = read_table(f"name,lat,lon\nA,{value},103.5\nB,14.9,103.5\n".encode(), "a.csv")
    rows, _, _ = prepare_rows(table, options=ImportOptions(), geocoder=_no_geocoder)
    assert rows[0].status == "rejected" and "NaN/Infinity" in rows[0].reason
    assert rows[0].column == "lat"
    assert rows[1].status == "pending"


def test_address_columns_combined_for_geocoding():
    seen = []

    class Result:
        quality, ambiguous, tambon_code, score, candidates = "subdistrict", False, "320605", 95, ()
        lat = lon = None
        message = ""

    def geocoder(address, province_code=None):
        seen.append((address, province_code))
        return Result()

    text = "ชื่อ,หมู่,ตำบล,อำเภอ\nก,4,ด่าน,กาบเชิง\nข,4,ด่าน,กาบเชิง\n"
    table = read_table(text.encode(), "a.csv")
    rows, _, _ = prepare_rows(table, options=ImportOptions(province_code="32"),
                              geocoder=geocoder)
    assert seen == [("หมู่ 4 ต.ด่าน อ.กาบเชิง", "32")]  # cached for the second row
    assert rows[0].subdistrict_code == "320605" and rows[0].approximate


def test_category_matcher():
    matcher = CategoryMatcher({"drugs": ["ยาเสพติด", "drugs"], "flood": ["อุทกภัย", "น้ำท่วม"]})
    assert matcher.match("ยาเสพติด") == ("drugs", None)
    assert matcher.match(" DRUGS ") == ("drugs", None)
    key, warning = matcher.match("ยาเสพติค")
    assert key == "drugs" and "read as" in warning
    assert matcher.match("ค้ายาเสพติดรายย่อย")[0] == "drugs"
    key, warning = matcher.match("การพนัน")
    assert key == "unknown" and "not in the category list" in warning
    assert matcher.match(None)[0] == "unknown"


def test_escape_cell():
    assert escape_formula("=1+1") == "'=1+1"
    assert escape_formula("+66 81 234 5678") == "'+66 81 234 5678"
    assert escape_formula("@SUM(A1)") == "'@SUM(A1)"
    assert escape_formula("\tcmd") == "'\tcmd"
    assert escape_formula("\r=x") == "'\r=x"
    assert escape_formula("-cmd|' /C calc'!A0") == "'-cmd|' /C calc'!A0"
    assert escape_formula(-12.5) == -12.5
    assert escape_formula("-12.5") == "-12.5"
    assert escape_formula("ปกติ") == "ปกติ"


def test_fast_decimal_path_agrees_with_parse_coordinate():
    import random

    from com.geo.coords import parse_coordinate
    from com.ingest.coordinates import fast_decimal

    rnd = random.Random(3)
    for _ in range(2000):
        lat = round(rnd.uniform(4.0, 22.0), rnd.randint(0, 8))
        lon = round(rnd.uniform(95.0, 107.0), rnd.randint(0, 8))
        for cells in ({"lat": str(lat), "lon": str(lon)}, {"lat": lat, "lon": lon},
                      {"lat": str(lon), "lon": str(lat)}):
            fast = fast_decimal(cells, "wgs84")
            if fast is None:
                continue
            coord = parse_coordinate(lat=cells["lat"], lon=cells["lon"])
            assert (coord.lat, coord.lon) == fast and not coord.warnings
    assert fast_decimal({"lat": "๑๔.๘", "lon": "103.5"}, "wgs84") is None
    assert fast_decimal({"lat": "103.5", "lon": "14.8"}, "wgs84") is None  # swapped
    assert fast_decimal({"lat": "14.8", "lon": "103.5"}, "indian1975") is None


# --------------------------------------------------------------------------- review fixes
# Each test below failed before the fix it names (see the comments).


def _peak_mb(action) -> tuple[float, object]:
    """Run ``action``; return the peak of Python allocations (MB) and what it returned/raised."""
    tracemalloc.start()
    try:
        try:
            outcome = action()
        except Exception as exc:  # the outcome under test is often the refusal
            outcome = exc
        return tracemalloc.get_traced_memory()[1] / 1048576, outcome
    finally:
        tracemalloc.stop()


def test_csv_far_over_the_row_cap_is_refused_without_holding_it():
    # 10 million rows (50 MB): before, the whole text was decoded into one string (50+ MB of
    # Python memory) and 200,000 rows were built before the cap was noticed.
    data = b"name,lat,lon\n" + b"a,14,103\n" * 10_000_000
    started = time.monotonic()
    peak, outcome = _peak_mb(lambda: read_table(data, "big.csv"))
    seconds = time.monotonic() - started
    print(f"\n10M-row CSV refused in {seconds:.1f} s, Python peak {peak:.1f} MB")
    assert isinstance(outcome, FileTooLarge)
    assert str(outcome) == (
        "big.csv: the file has more than 200,000 data rows (the limit); split it into smaller "
        "files")
    assert peak < 8


def test_csv_just_under_the_cap_with_blank_lines_is_read():
    # More lines than the cap, but the blank ones are not rows: counted, then read.
    rows = "".join(f"p{i},14.9,103.5\n\n" for i in range(8))
    table = read_table(("name,lat,lon\n" + rows).encode(), "a.csv",
                       limits=ReadLimits(max_rows=8))
    assert len(table.rows) == 8 and table.row_numbers[-1] == 15


def test_csv_streamed_decoding_keeps_encodings_and_sep_line():
    text = "sep=;\r\nชื่อ;lat;lon\r\nก;14.9;103.5\r\n"
    for encoding in ("utf-8", "utf-8-sig", "utf-16", "cp874"):
        table = read_table(text.encode(encoding), "a.csv")
        assert table.columns == ["ชื่อ", "lat", "lon"] and table.rows == [["ก", "14.9", "103.5"]]
    with pytest.raises(UploadError, match="says UTF-8 but byte 7 is not UTF-8"):
        read_table(b"\xef\xbb\xbfab,c\xff\n", "a.csv")


def test_kml_stops_reading_at_the_placemark_cap():
    # 300,000 placemarks (about 30 MB): before, the whole document was parsed into a tree
    # (hundreds of MB) before the placemarks were counted.
    placemark = b"<Placemark><name>p</name><Point><coordinates>103.5,14.9</coordinates>" \
                b"</Point></Placemark>"
    data = _kml("").replace(b"<Document></Document>",
                            b"<Document>" + placemark * 300_000 + b"</Document>")
    peak, outcome = _peak_mb(lambda: read_table(data, "many.kml",
                                                limits=ReadLimits(max_rows=1_000)))
    print(f"\n300,000-placemark KML refused, Python peak {peak:.1f} MB")
    assert isinstance(outcome, FileTooLarge)
    assert str(outcome) == "many.kml: the KML has more than 1,000 placemarks (the limit)"
    assert peak < 8


def test_kml_streaming_keeps_folders_and_skips_nested_placemarks():
    data = _kml(
        "<Folder><name>นอก</name><Placemark><name>ก</name><Point><coordinates>103.4,14.8"
        "</coordinates></Point></Placemark><Folder><Placemark><name>ข</name><Point>"
        "<coordinates>103.5,14.8</coordinates></Point></Placemark></Folder>"
        "<Folder><name>ใน</name><Placemark><name>ค</name><Placemark><name>ซ้อน</name>"
        "</Placemark><Point><coordinates>103.6,14.8</coordinates></Point></Placemark>"
        "</Folder></Folder><Placemark><name>ง</name></Placemark>"
    )
    table = read_table(data, "a.kml")
    by_name = {r[0]: dict(zip(table.columns, r, strict=True)) for r in table.rows}
    assert list(by_name) == ["ก", "ข", "ค", "ง"]
    assert [by_name[n].get("folder") for n in by_name] == ["นอก", "นอก", "ใน", None]


def _feature(name: str, geometry: dict | None) -> dict:
    return {"type": "Feature", "properties": {"name": name}, "geometry": geometry}


def _collection(*features: dict) -> bytes:
    import json

    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def _ring(n: int) -> list[list[float]]:
    ring = [[103.4 + 0.1 * (i % 2), 14.8 + 1e-6 * i] for i in range(n - 1)]
    return ring + [ring[0]]


def test_geojson_is_counted_before_gdal_reads_it(monkeypatch):
    import pyogrio
    import pyogrio.raw

    def no_gdal(*args, **kwargs):
        raise AssertionError("GDAL must not see a file over the caps")

    for name in ("read", "list_layers", "read_info", "read_dataframe"):
        monkeypatch.setattr(pyogrio.raw if name == "read" else pyogrio, name, no_gdal)
    too_many = _collection(*(_feature(f"p{i}", {"type": "Point", "coordinates": [103.5, 14.9]})
                             for i in range(11)))
    with pytest.raises(FileTooLarge, match="the GeoJSON has more than 10 features"):
        read_table(too_many, "a.geojson", limits=ReadLimits(max_rows=10))
    huge = _collection(*(_feature(f"z{i}", {"type": "Polygon", "coordinates": [_ring(400)]})
                         for i in range(3)))
    with pytest.raises(FileTooLarge, match="holds more than 1,000 coordinates"):
        read_table(huge, "a.geojson", limits=ReadLimits(max_vertices=500,
                                                        max_file_vertices=1_000))
    bare = json_bytes({"type": "Feature", "properties": {},
                       "geometry": {"type": "LineString", "coordinates": _ring(600)}})
    with pytest.raises(FileTooLarge, match="holds more than 500 coordinates"):
        read_table(bare, "a.geojson", limits=ReadLimits(max_vertices=400,
                                                        max_file_vertices=500))


def json_bytes(value: object) -> bytes:
    import json

    return json.dumps(value).encode()


def test_geojson_is_read_by_gdal_once(monkeypatch):
    import pyogrio
    import pyogrio.raw

    calls: list[str] = []
    for module, name in ((pyogrio, "list_layers"), (pyogrio, "read_info"),
                         (pyogrio.raw, "read"), (pyogrio, "read_dataframe")):
        original = getattr(module, name)

        def counted(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(module, name, counted)
    data = _collection(_feature("a", {"type": "Point", "coordinates": [103.5, 14.9]}))
    assert len(read_table(data, "a.geojson").rows) == 1
    assert calls == ["read"]  # before: list_layers, read_info and read_dataframe


def test_geojson_geometry_over_the_vertex_cap_rejects_only_its_row():
    data = _collection(
        _feature("ok", {"type": "Point", "coordinates": [103.49, 14.88]}),
        _feature("huge", {"type": "Polygon", "coordinates": [_ring(701)]}),
        {"type": "Feature", "properties": {"name": 'text with [1, 2] and "Feature" {x}'},
         "geometry": {"type": "LineString", "coordinates": [[103.4, 14.8], [103.5, 14.8]]}},
    )
    table = read_table(data, "a.geojson", limits=ReadLimits(max_vertices=700))
    assert [r[0] for r in table.rows][:2] == ["ok", "huge"]
    assert table.geometries[1] is None
    assert table.details["geometry_errors"] == {
        2: "geometry has 701 vertices; at most 700 accepted"}
    rows, _, _ = prepare_rows(table, options=ImportOptions(), geocoder=_no_geocoder)
    assert [r.status for r in rows] == ["pending", "rejected", "pending"]
    assert rows[1].column == "geometry"


def test_geojson_brackets_and_feature_words_in_text_do_not_count():
    # The byte-count bound says "maybe too many"; the exact count skips strings.
    note = "[1,2] " * 50 + '"type": "Feature" ' * 20
    data = _collection(*(
        {"type": "Feature", "properties": {"name": f"p{i}", "note": note},
         "geometry": {"type": "Point", "coordinates": [103.5, 14.9]}} for i in range(5)))
    table = read_table(data, "a.geojson", limits=ReadLimits(max_rows=5, max_vertices=10,
                                                           max_file_vertices=10))
    assert len(table.rows) == 5 and table.details["geometry_errors"] == {}


OPEN_RING = [[103.4, 14.8], [103.5, 14.8], [103.5, 14.9]]


def _polygon_wkb(ring: list[list[float]]) -> bytes:
    """WKB of a polygon exactly as given: shapely would close the ring, a file need not."""
    import struct

    return struct.pack("<BII", 1, 3, 1) + struct.pack("<I", len(ring)) + b"".join(
        struct.pack("<dd", x, y) for x, y in ring)


def _vector_file(tmp_path, driver: str, suffix: str) -> bytes:
    import numpy as np
    import pyogrio.raw
    import shapely

    geometries = np.array([
        shapely.to_wkb(shapely.Point(103.49, 14.88).buffer(0.01)),
        _polygon_wkb(OPEN_RING),
        shapely.to_wkb(shapely.Point(103.5, 14.9).buffer(0.01)),
    ], dtype=object)
    path = tmp_path / f"zones{suffix}"
    pyogrio.raw.write(str(path), geometries, [np.array(["a", "b", "c"], dtype=object)],
                      fields=["name"], geometry_type="Polygon", crs="EPSG:4326", driver=driver)
    if suffix == ".gpkg":
        return path.read_bytes()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for f in tmp_path.glob("zones.*"):
            zf.write(f, f.name)
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["geojson", "gpkg", "shp"])
def test_unclosed_ring_rejects_only_its_row(tmp_path, fmt):
    # Before: GEOS refused the whole array of geometries, so the whole file failed.
    if fmt == "geojson":
        data, name = _collection(
            _feature("a", {"type": "Point", "coordinates": [103.49, 14.88]}),
            _feature("b", {"type": "Polygon", "coordinates": [OPEN_RING]}),
            _feature("c", {"type": "LineString", "coordinates": [[103.4, 14.8], [103.5, 14.9]]}),
        ), "zones.geojson"
    elif fmt == "gpkg":
        data, name = _vector_file(tmp_path, "GPKG", ".gpkg"), "zones.gpkg"
    else:
        data, name = _vector_file(tmp_path, "ESRI Shapefile", ".shp"), "zones.zip"
    table = read_table(data, name)
    assert len(table.rows) == 3 and table.geometries[1] is None
    assert table.details["geometry_errors"] == {
        2: "polygon ring is not closed (its first and last points differ)"}
    rows, _, _ = prepare_rows(table, options=ImportOptions(), geocoder=_no_geocoder)
    assert [r.status for r in rows] == ["pending", "rejected", "pending"]
    assert rows[1].reason == "polygon ring is not closed (its first and last points differ)"


def test_other_broken_geometries_are_row_errors():
    data = _collection(
        _feature("line", {"type": "LineString", "coordinates": [[103.4, 14.8]]}),
        _feature("ok", {"type": "Point", "coordinates": [103.49, 14.88]}),
    )
    table = read_table(data, "a.geojson")
    assert table.details["geometry_errors"] == {1: "a line needs at least two points"}


@pytest.mark.parametrize(
    ("lat", "lon", "status", "reason"),
    [
        # Before: "latitude '1e309' holds more than one value".
        ("1e309", "103.5", "rejected",
         "coordinate '1e309' is not a finite number: 1e309 is out of range"),
        ("14.9", "-1e309", "rejected",
         "coordinate '-1e309' is not a finite number: -1e309 is out of range"),
        ("14.9", "1e99999999", "rejected", "is not a finite number: 1e99999999 is out of range"),
        ("inf", "103.5", "rejected", "coordinate 'inf' is not a finite number (NaN/Infinity)"),
        ("14.9", "-nan", "rejected", "coordinate '-nan' is not a finite number (NaN/Infinity)"),
        ("9.5e1", "103.5", "rejected", "latitude 95 is out of range (-90 to 90)"),
        ("-0", "103.5", "rejected", "point 0.000000, 103.500000 is outside Thailand"),
        ("1e-400", "103.5", "rejected", "point 0.000000, 103.500000 is outside Thailand"),
        ("1.49e1", "1.035E+2", "pending", None),
        ("๑.๔๙e๑", "๑๐๓.๕", "pending", None),  # Thai digits with an exponent
    ],
)
def test_number_edge_cases_have_sensible_reasons(lat, lon, status, reason):
    table = read_table(f"name,lat,lon\nA,{lat},{lon}\n".encode(), "a.csv")
    rows, _, _ = prepare_rows(table, options=ImportOptions(), geocoder=_no_geocoder)
    assert rows[0].status == status, rows[0].reason
    if reason is None:
        assert (rows[0].lat, rows[0].lon) == (14.9, 103.5)
    else:
        assert reason in rows[0].reason
        assert "more than one value" not in rows[0].reason


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("1e309, 103.5", "coordinate '1e309' is not a finite number: 1e309 is out of range"),
        ("nan, 103.5", "coordinate 'nan, 103.5' is not a finite number (NaN/Infinity)"),
        ("1.49e1, 1.035e2", None),
    ],
)
def test_number_edge_cases_in_one_cell(cell, reason):
    table = read_table(f'name,location\nA,"{cell}"\n'.encode(), "a.csv")
    rows, _, _ = prepare_rows(table, options=ImportOptions(), geocoder=_no_geocoder)
    if reason is None:
        assert (rows[0].status, rows[0].lat, rows[0].lon) == ("pending", 14.9, 103.5)
    else:
        assert rows[0].status == "rejected" and reason in rows[0].reason


def test_xlsx_far_over_the_row_cap_stops_at_the_cap():
    # openpyxl reads the sheet as a stream; reading stops at the first row over the cap.
    # (This already held before the review; kept so it stays true.)
    rows = "".join(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c><c r="B{i}"><v>14.9</v></c>'
                   f'<c r="C{i}"><v>103.5</v></c></row>' for i in range(2, 200_002))
    sheet = ('<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/'
             'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>'
             'name</t></is></c><c r="B1" t="inlineStr"><is><t>lat</t></is></c><c r="C1" '
             f't="inlineStr"><is><t>lon</t></is></c></row>{rows}</sheetData></worksheet>')
    data = _xlsx_with_sheet_xml(sheet)
    peak, outcome = _peak_mb(lambda: read_table(data, "many.xlsx",
                                                limits=ReadLimits(max_rows=1_000)))
    assert isinstance(outcome, FileTooLarge) and "more than 1,000 data rows" in str(outcome)
    assert peak < 32  # the 200,000 rows alone would take over 100 MB


def test_column_at_once_coordinates_agree_with_the_cell_parser(monkeypatch):
    # Rows whose latitude and longitude are read for the whole column at once (pandas) must
    # come out exactly as when every cell goes through the parser.
    import random
    from decimal import Decimal

    import numpy as np

    from com.ingest import coordinates, prepare
    from com.ingest.readers import SourceTable

    rnd = random.Random(5)
    cells: list[object] = []
    for _ in range(1500):
        lat = round(rnd.uniform(4.0, 22.0), rnd.randint(0, 9))
        cells += [str(lat), lat, f"+{lat}", f" {lat} ", f"{lat:e}", f"{lat:.20f}", f"00{lat}",
                  Decimal(str(lat)), np.float64(lat), f"{lat}".replace(".", ",")]
    cells += ["14.", "1_4.9", "๑๔.๙", "14.9N", "14 53 00", True, 15, "0x0E", "1e1", "infinity",
              "nan", "", None, "14.9.1", "١٤٫٩", "１４.９", "14.9e+0", "--14.9", "103.5"]
    table = SourceTable(columns=["lat", "lon"], rows=[[c, "103.5"] for c in cells],
                        row_numbers=list(range(1, len(cells) + 1)), format="xlsx",
                        header_parts=[("lat",), ("lon",)])

    def outcome() -> list[tuple]:
        rows, _, _ = prepare_rows(table, options=ImportOptions(), geocoder=_no_geocoder)
        return [(r.status, r.reason, r.lat, r.lon, r.warnings, r.place_columns) for r in rows]

    fast = outcome()
    monkeypatch.setattr(prepare, "_fast_coordinates", lambda table, ctx: None)
    slow = outcome()
    assert fast == slow
    read = coordinates.decimal_column(cells)
    assert int(((read >= 5.6) & (read <= 20.5)).sum()) > 10_000  # the fast path was taken
    assert np.isnan(coordinates.decimal_column(["๑๔.๙", True, "14.9N"])).all()


def test_library_messages_lose_paths_sql_and_reprs():
    from com.ingest.readers import describe_problem

    assert describe_problem(OSError(
        "'/tmp/com-shp-r4xcanox/upload.shp' not recognized as being in a supported file "
        "format.; It might help to specify the correct driver explicitly by prefixing the file "
        "path with '<DRIVER>:'")) == "the file is damaged or is not in the format its name says"
    assert describe_problem(ValueError(
        "sqlite3_prepare_v2(SELECT 1 FROM gpkg_contents) failed: no such table; "
        "the layer has no rows")) == "the layer has no rows"
    assert describe_problem(ValueError("EntitiesForbidden(name='x'); b'\\x00'")) == (
        "the file is damaged")
    assert describe_problem(ValueError("/var/lib/x.db: locked"), "unreadable") == "unreadable"
