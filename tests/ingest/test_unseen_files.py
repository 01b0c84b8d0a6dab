"""Files written the way field tools and staff write them (issue 14, done-items 3 and 5).

Each file is built here, in the shape its tool exports: KoboToolbox CSV (semicolons,
group prefixes with ``/``, ``-`` or ``:``, geopoints as "lat lon alt acc", ``[lat, lon]``,
select_multiple choice columns) and XLSX (data first, a repeat group on a later sheet), ODK
Central CSV, Google My Maps / Google Earth KMZ and KML (folders, ExtendedData, SchemaData,
description fields, hand-edited coordinates), GPX from handheld units and phone apps (also
with track or route points only), Plus Codes, share links, degree text, dates. Expected
points are computed independently (pyproj for UTM, openlocationcode for Plus Codes).
"""

from __future__ import annotations

import csv
import io
import re
import zipfile

import openlocationcode.openlocationcode as olc
import openpyxl
import pyproj
import pytest

from com.ingest.options import ImportOptions
from com.ingest.prepare import prepare_rows
from com.ingest.readers import read_table
from com.ingest.reasons import REASON_CODES, describe
from com.text.thai import parse_date

POINTS = [(14.8829, 103.4937), (14.6530, 103.3050), (15.0100, 103.8000)]
SURIN_CENTRE = (14.8829, 103.4937)
_THAI = re.compile(r"[\u0e01-\u0e5b]")


def _prepare(data: bytes, name: str):  # type: ignore[no-untyped-def]
    table = read_table(data, name)
    rows, plan, _ = prepare_rows(
        table, options=ImportOptions(province_code="32"), zone_hint=48,
        locality_point=lambda text: SURIN_CENTRE,
    )
    return table, rows, plan


def _assert_points(rows, expected, tol: float = 1e-6) -> None:  # type: ignore[no-untyped-def]
    assert [r.status for r in rows] == ["pending"] * len(expected), [r.reason for r in rows]
    for row, (lat, lon) in zip(rows, expected, strict=True):
        assert row.lat == pytest.approx(lat, abs=tol) and row.lon == pytest.approx(lon, abs=tol)


def _csv(rows: list[list[object]], *, delimiter: str = ",", bom: bool = False) -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()


# --------------------------------------------------------------------------- KoboToolbox / ODK


def test_kobo_csv_semicolons_group_slash_and_split_geopoint() -> None:
    header = ["start", "end", "today", "group_info/ชื่อจุด", "group_info/ประเภท", "group_loc/gps",
              "_group_loc/gps_latitude", "_group_loc/gps_longitude", "_group_loc/gps_altitude",
              "_group_loc/gps_precision", "_id", "_uuid", "_submission_time",
              "_validation_status", "_index"]
    rows = [["2024-03-12T09:00:00.000+07:00", "", "2024-03-12", f"จุด{i}", "flood",
             f"{la} {lo} 150 5", la, lo, 150, 5, 1000 + i, f"uuid-{i}",
             "2024-03-12T02:05:11", "", i + 1] for i, (la, lo) in enumerate(POINTS)]
    table, prepared, plan = _prepare(_csv([header, *rows], delimiter=";"), "kobo.csv")
    assert table.details["form_export"] == "kobo"
    _assert_points(prepared, POINTS)
    assert plan.columns[plan.fields["name"]] == "group_info/ชื่อจุด"
    assert all(r.record["reported_on"] == "2024-03-12" for r in prepared)


@pytest.mark.parametrize("sep", ["-", ":"])
def test_kobo_csv_other_group_separators_and_one_cell_geopoints(sep: str) -> None:
    header = [f"grp{sep}name", f"grp{sep}category", f"grp{sep}location", "_geolocation", "_uuid",
              "_submission_time", "_index"]
    rows = [[f"n{i}", "น้ำท่วม", f"{la} {lo} 0 0", f"[{la}, {lo}]", f"u{i}",
             "2024-03-12T02:05:11+00:00", i + 1] for i, (la, lo) in enumerate(POINTS)]
    _, prepared, plan = _prepare(_csv([header, *rows]), "kobo.csv")
    _assert_points(prepared, POINTS)
    assert plan.columns[plan.fields["name"]] == f"grp{sep}name"


def test_kobo_select_multiple_choice_columns_are_attributes() -> None:
    header = ["point_name", "hazard", "hazard/flood", "hazard/fire", "_geolocation", "_uuid",
              "_submission_time"]
    rows = [[f"p{i}", "flood fire", 1, 1, f"[{la}, {lo}]", f"u{i}", "2024-03-12T02:05:11"]
            for i, (la, lo) in enumerate(POINTS)]
    _, prepared, plan = _prepare(_csv([header, *rows]), "kobo.csv")
    _assert_points(prepared, POINTS)
    assert plan.columns[plan.fields["category"]] == "hazard"
    assert not any("hazard/" in note for note in plan.notes)


def test_kobo_xlsx_data_first_sheet_repeat_group_later() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "แบบสำรวจจุดเสี่ยง"
    ws.append(["start", "ชื่อจุด", "ประเภทความเสี่ยง", "ตำแหน่ง", "_ตำแหน่ง_latitude",
               "_ตำแหน่ง_longitude", "_ตำแหน่ง_altitude", "_ตำแหน่ง_precision", "_id", "_uuid",
               "_submission_time", "_index"])
    for i, (la, lo) in enumerate(POINTS):
        ws.append(["", f"จุด{i}", "น้ำท่วม", f"{la} {lo} 0 0", la, lo, 0, 0, i, f"u{i}",
                   "2024-03-12T02:05:11", i + 1])
    photos = wb.create_sheet("photos")
    photos.append(["photo", "_index", "_parent_index", "_parent_table_name"])
    for i in range(6):
        photos.append([f"img{i}.jpg", i + 1, i // 2 + 1, "แบบสำรวจจุดเสี่ยง"])
    out = io.BytesIO()
    wb.save(out)
    table, prepared, _ = _prepare(out.getvalue(), "kobo.xlsx")
    assert table.details["sheet"] == "แบบสำรวจจุดเสี่ยง"
    _assert_points(prepared, POINTS)


def test_odk_central_csv() -> None:
    header = ["SubmissionDate", "start", "survey-point_name", "survey-gps-Latitude",
              "survey-gps-Longitude", "survey-gps-Altitude", "survey-gps-Accuracy",
              "survey-hazard", "survey-level", "meta-instanceID", "KEY", "SubmitterID",
              "ReviewState"]
    rows = [["2024-03-12T02:05:11.000Z", "", f"p{i}", la, lo, 120, 4.5, "flood", 4,
             f"uuid:{i}", f"uuid:{i}", 5, ""] for i, (la, lo) in enumerate(POINTS)]
    table, prepared, _ = _prepare(_csv([header, *rows]), "odk.csv")
    assert table.details["form_export"] == "odk"
    _assert_points(prepared, POINTS)
    assert all(r.record["severity"] == 4 for r in prepared)


# --------------------------------------------------------------------------- KML / KMZ


def _placemark(name: str, lat: float, lon: float, inner: str = "") -> str:
    return (f"<Placemark><name>{name}</name>{inner}<styleUrl>#icon-1</styleUrl><Point>"
            f"<coordinates>\n   {lon},{lat},0\n  </coordinates></Point></Placemark>")


def test_my_maps_kmz_with_folders_and_extended_data() -> None:
    data = ('<ExtendedData><Data name="ระดับความรุนแรง"><value>4</value></Data>'
            '<Data name="วันที่"><value>12/03/2567</value></Data></ExtendedData>')
    kml = (
        '<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2">'
        "<Document><name>จุดเสี่ยง</name><Style id=\"icon-1\"><IconStyle/></Style>"
        f"<Folder><name>น้ำท่วม</name>{_placemark('A', *POINTS[0], data)}"
        f"{_placemark('B', *POINTS[1], data)}</Folder>"
        f"<Folder><name>ยาเสพติด</name>{_placemark('C', *POINTS[2], data)}</Folder>"
        "</Document></kml>"
    )
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", kml)
        zf.writestr("images/icon-1.png", b"\x89PNG\r\n\x1a\n")
    _, prepared, plan = _prepare(out.getvalue(), "my map.kmz")
    _assert_points(prepared, POINTS)
    assert plan.columns[plan.fields["category"]] == "folder"
    categories = [r.record["category"] for r in prepared]
    assert categories[0] == categories[1] != categories[2] != "unknown"
    assert [r.record["severity"] for r in prepared] == [4, 4, 4]
    assert {r.record["reported_on"] for r in prepared} == {"2024-03-12"}


def test_kml_description_field_lines_schema_data_and_spaced_tuples() -> None:
    described = ("<description>ประเภท: น้ำท่วม&lt;br&gt;ระดับ: 5</description>")
    schema = ('<ExtendedData><SchemaData schemaUrl="#s"><SimpleData name="NOTE">ถนนขาด'
              "</SimpleData></SchemaData></ExtendedData>")
    spaced = (f"<Placemark><name>C</name>{described}<Point><coordinates> {POINTS[2][1]} , "
              f"{POINTS[2][0]} </coordinates></Point></Placemark>")
    kml = ('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           f"{_placemark('A', *POINTS[0], described + schema)}"
           f"{_placemark('B', *POINTS[1], described)}{spaced}</Document></kml>")
    _, prepared, _ = _prepare(kml.encode(), "earth.kml")
    _assert_points(prepared, POINTS)
    assert [r.record["severity"] for r in prepared] == [5, 5, 5]
    assert {r.record["category"] for r in prepared} == {"flood"}


# --------------------------------------------------------------------------- GPX


def test_gpx_waypoints_from_a_handheld_unit() -> None:
    gpx = ('<?xml version="1.0"?><gpx version="1.1" creator="Garmin" '
           'xmlns="http://www.topografix.com/GPX/1/1">' + "".join(
               f'<wpt lat="{la}" lon="{lo}"><ele>140.5</ele><time>2024-03-12T20:05:11Z</time>'
               f"<name>{i:03d}</name><cmt>ถนนชำรุด</cmt><sym>Flag, Blue</sym><type>น้ำท่วม</type>"
               "</wpt>" for i, (la, lo) in enumerate(POINTS)) + "</gpx>")
    _, prepared, plan = _prepare(gpx.encode(), "Waypoints_12-MAR-24.gpx")
    _assert_points(prepared, POINTS)
    assert "location" not in plan.fields  # <sym> is an icon, never a place
    assert plan.columns[plan.fields["note"]] == "comment"  # <desc> is empty, <cmt> is not
    assert {r.record["category"] for r in prepared} == {"flood"}
    # 20:05 UTC is the next morning in Thailand.
    assert {r.record["reported_on"] for r in prepared} == {"2024-03-13"}


@pytest.mark.parametrize(("outer", "point"), [("trk><trkseg", "trkpt"), ("rte", "rtept")])
def test_gpx_without_waypoints_reads_track_points_and_says_so(outer: str, point: str) -> None:
    close = "</trkseg></trk>" if point == "trkpt" else "</rte>"
    gpx = ('<?xml version="1.0"?><gpx version="1.1" creator="x" '
           f'xmlns="http://www.topografix.com/GPX/1/1"><{outer}>' + "".join(
               f'<{point} lat="{la}" lon="{lo}"/>' for la, lo in POINTS) + close + "</gpx>")
    _, prepared, plan = _prepare(gpx.encode(), "track.gpx")
    _assert_points(prepared, POINTS)
    said = [n for n in plan.notes if "no waypoints" in n]
    assert said and "3" in said[0] and _THAI.search(said[0])


# --------------------------------------------------------------------------- cells


def test_plus_codes_full_and_short_with_a_locality() -> None:
    codes = [olc.encode(la, lo) for la, lo in POINTS]
    cells = [codes[0], f"{codes[1][4:]} สุรินทร์", f"{codes[2][4:]}, Mueang Surin, Surin",
             f"https://plus.codes/{codes[0]}"]
    expected = []
    for code in [codes[0], codes[1], codes[2], codes[0]]:
        area = olc.decode(code)
        expected.append((area.latitudeCenter, area.longitudeCenter))
    _, prepared, _ = _prepare(_csv([["ชื่อ", "Plus Code"], *[[f"p{i}", c]
                                                             for i, c in enumerate(cells)]]),
                              "plus.csv")
    _assert_points(prepared, expected, tol=1e-7)


def test_share_links_and_degree_text() -> None:
    la, lo = POINTS[0]
    cells = [
        f"https://www.google.com/maps/@{la},{lo},17z",
        f"https://maps.google.com/?q={la},{lo}",
        f"https://www.google.com/maps/place/x/@{la + 0.01},{lo},15z/data=!3m1!4b1!4m6!3m5"
        f"!8m2!3d{la}!4d{lo}",
        f"ตำแหน่งของฉัน https://www.google.com/maps/search/?api=1&query={la}%2C{lo}",
        f"https://www.google.com/maps/search/{la}+{lo}",
        f"comgooglemaps://?q={la},{lo}",
        f"geo:{la},{lo}?z=17",
        f"https://www.openstreetmap.org/#map=17/{la}/{lo}",
        f"https://map.longdo.com/?lat={la}&long={lo}",
        f"POINT ({lo} {la})",
        "๑๔.๘๘๒๙, ๑๐๓.๔๙๓๗",
    ]
    _, prepared, _ = _prepare(_csv([["ชื่อ", "ลิงก์ Google Maps"],
                                    *[[f"l{i}", c] for i, c in enumerate(cells)]]), "links.csv")
    _assert_points(prepared, [POINTS[0]] * len(cells))


def test_degree_text_and_utm_text_in_a_gps_column() -> None:
    e, n = pyproj.Transformer.from_crs(4326, 32648, always_xy=True).transform(103.4937, 14.8829)
    cells = [
        ("ละติจูด 14°52'58.44\" ลองจิจูด 103°29'37.32\"", (14.8829, 103.4937)),
        ("ละติจูด ๑๔°๕๒'๕๘.๔๔\" ลองจิจูด ๑๐๓°๒๙'๓๗.๓๒\"", (14.8829, 103.4937)),
        ("ละติจูด 14°52' ลองจิจูด 103°29'", (14 + 52 / 60, 103 + 29 / 60)),
        (f"48P {e:.1f} {n:.1f}", (14.8829, 103.4937)),
        (f"48 P {e:.0f}mE {n:.0f}mN", (14.8829, 103.4937)),
    ]
    _, prepared, _ = _prepare(_csv([["ชื่อ", "ตำแหน่ง GPS"],
                                    *[[f"d{i}", c] for i, (c, _) in enumerate(cells)]]), "d.csv")
    _assert_points(prepared, [p for _, p in cells], tol=1e-5)


def test_utm_columns_under_thai_axis_headers() -> None:
    to_utm = pyproj.Transformer.from_crs(4326, 32648, always_xy=True)
    rows = [["ชื่อจุด", "พิกัดแกน X (ม.)", "พิกัดแกน Y (ม.)", "โซน"]]
    for i, (la, lo) in enumerate(POINTS):
        e, n = to_utm.transform(lo, la)
        rows.append([f"p{i}", round(e, 3), round(n, 3), "48"])
    _, prepared, _ = _prepare(_csv(rows, bom=True), "utm.csv")
    _assert_points(prepared, POINTS, tol=1e-6)


@pytest.mark.parametrize(("text", "expected"), [
    ("12 มีนาคม 2567 14.30 น.", "2024-03-12"),
    ("วันอังคารที่ 12 มีนาคม พ.ศ. 2567 เวลา 14.30 น.", "2024-03-12"),
    ("วันที่ 12 เดือนมีนาคม พ.ศ. 2567", "2024-03-12"),
    ("12 มี.ค. 67 (14.30 น.)", "2024-03-12"),
    ("12 มี.ค. 2567, 14:30", "2024-03-12"),
    ("๑๒/๐๓/๒๕๖๗ 14:30:00", "2024-03-12"),
    ("45363", "2024-03-12"),
    ("45363.604166", "2024-03-12"),
    ("12-Mar-24", "2024-03-12"),
    ("Tuesday, March 12, 2024", "2024-03-12"),
])
def test_dates_as_staff_and_excel_write_them(text: str, expected: str) -> None:
    assert str(parse_date(text)) == expected


def test_serial_text_out_of_excel_range_is_not_a_date() -> None:
    from com.errors import ParseError

    with pytest.raises(ParseError):
        parse_date("12345")


# --------------------------------------------------------------------------- rejections


def test_every_rejected_row_says_row_column_and_reason_in_both_languages() -> None:
    rows = [["ชื่อจุด", "Latitude (deg)", "Longitude (deg)", "ลิงก์"],
            ["b1", "abc", "103.49", ""],
            ["b2", "95.0", "14.8", ""],
            ["b3", "14.88", "203.49", ""],
            ["b4", "1e400", "103", ""],
            ["b5", "", "", "https://maps.app.goo.gl/AbCdEf123"],
            ["ok", "14.8829", "103.4937", ""]]
    _, prepared, _ = _prepare(_csv(rows), "bad.csv")
    rejected = [r for r in prepared if r.status == "rejected"]
    assert [r.row_number for r in rejected] == [1, 2, 3, 4, 5]
    for row in rejected:
        assert row.column, row.reason
        described = describe(row.reason)
        assert described is not None and described.code in REASON_CODES
        assert described.code != "rejected", row.reason
        assert _THAI.search(described.th) and described.en == row.reason
    assert rejected[-1].column == "ลิงก์" and "short links" in (rejected[-1].reason or "")


def test_file_without_a_header_keeps_its_first_row() -> None:
    data = _csv([[f"p{i}", la, lo, "น้ำท่วม"] for i, (la, lo) in enumerate(POINTS)])
    table, prepared, plan = _prepare(data, "no header.csv")
    assert table.columns[:3] == ["column_1", "column_2", "column_3"]
    _assert_points(prepared, POINTS)
    assert [r.row_number for r in prepared] == [1, 2, 3]
    assert any("from its values" in n for n in plan.notes)


def test_utm_metres_with_thousands_separators() -> None:
    to_utm = pyproj.Transformer.from_crs(4326, 32648, always_xy=True)
    rows = [["ชื่อ", "UTM E", "UTM N", "Zone"]]
    expected = []
    for i, (la, lo) in enumerate(POINTS):
        e, n = to_utm.transform(lo, la)
        rows.append([f"p{i}", f"{round(e):,}", f"{round(n):,}", "48P"])
        expected.append(pyproj.Transformer.from_crs(32648, 4326, always_xy=True)
                        .transform(round(e), round(n))[::-1])
    _, prepared, _ = _prepare(_csv(rows), "utm.csv")
    _assert_points(prepared, expected, tol=1e-7)


def test_xlsx_values_merged_down_belong_to_every_row() -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "รายงานจุดเสี่ยง อำเภอปราสาท"
    ws.merge_cells("A1:E1")
    ws.append([])
    ws.append(["ลำดับ", "อำเภอ", "ตำบล", "พิกัด", None])
    ws.append([None, None, None, "ละติจูด", "ลองจิจูด"])
    for cells in ("A3:A4", "B3:B4", "C3:C4", "D3:E3"):
        ws.merge_cells(cells)
    ws.append([1, "ปราสาท", "ทมอ", *POINTS[0]])
    ws.append([2, None, None, *POINTS[1]])
    ws.append([3, None, "กังแอน", *POINTS[2]])
    ws.merge_cells("B5:B7")
    ws.merge_cells("C5:C6")
    out = io.BytesIO()
    wb.save(out)
    table = read_table(out.getvalue(), "merged.xlsx")
    assert table.columns == ["ลำดับ", "อำเภอ", "ตำบล", "พิกัด ละติจูด", "พิกัด ลองจิจูด"]
    assert [r[1:3] for r in table.rows] == [["ปราสาท", "ทมอ"], ["ปราสาท", "ทมอ"],
                                            ["ปราสาท", "กังแอน"]]
    assert [r[3] for r in table.rows] == [p[0] for p in POINTS]


def test_of_two_equal_columns_the_one_with_more_values_wins() -> None:
    def data(name: str, value: int) -> str:
        return f'<ExtendedData><Data name="{name}"><value>{value}</value></Data></ExtendedData>'

    kml = ('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           f"{_placemark('A', *POINTS[0], data('ระดับ', 2))}"
           + "".join(_placemark(f"P{i}", la, lo, data("ระดับความรุนแรง", 5))
                     for i, (la, lo) in enumerate(POINTS))
           + "</Document></kml>")
    _, prepared, plan = _prepare(kml.encode(), "sparse.kml")
    assert plan.columns[plan.fields["severity"]] == "ระดับความรุนแรง"
    assert any("more values" in n for n in plan.notes)
    assert [r.record["severity"] for r in prepared[1:]] == [5, 5, 5]


def test_my_maps_network_link_export_is_refused_clearly() -> None:
    from com.errors import UploadError

    kml = ('<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           "<NetworkLink><name>จุดเสี่ยง</name><Link><href>https://www.google.com/maps/d/kml?"
           "mid=1AbC&amp;forcekml=1</href></Link></NetworkLink></Document></kml>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("doc.kml", kml)
    with pytest.raises(UploadError, match="network link") as caught:
        read_table(out.getvalue(), "จุดเสี่ยง.kmz")
    assert _THAI.search(str(caught.value)) and "จุดเสี่ยง.kmz" in str(caught.value)


def test_xlsx_with_notes_first_and_the_data_on_the_second_sheet() -> None:
    to_utm = pyproj.Transformer.from_crs(4326, 32648, always_xy=True)
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "คำอธิบาย"
    for line in ("ไฟล์นี้รวบรวมจุดเสี่ยงจากการสำรวจภาคสนาม", "ผู้จัดทำ: สนง.ปภ.จ.สุรินทร์",
                 "ปรับปรุง 12 มี.ค. 2567"):
        notes.append([line])
    data = wb.create_sheet("ข้อมูลจุดเสี่ยง")
    data.append(["ชื่อจุด", "พิกัด X", "พิกัด Y", "ประเภท"])
    for i, (la, lo) in enumerate(POINTS):
        e, n = to_utm.transform(lo, la)
        data.append([f"p{i}", round(e, 3), round(n, 3), "น้ำท่วม"])
    out = io.BytesIO()
    wb.save(out)
    table, prepared, _ = _prepare(out.getvalue(), "สำรวจ.xlsx")
    assert table.details["sheet"] == "ข้อมูลจุดเสี่ยง"
    _assert_points(prepared, POINTS, tol=1e-6)


def test_a_row_with_no_place_names_the_files_place_columns() -> None:
    rows = [["ชื่อจุด", "ละติจูด", "ลองจิจูด", "ที่อยู่", "ประเภท"],
            ["ว่าง", "", "", "", "ยาเสพติด"],
            ["ok", "14.8829", "103.4937", "", "ยาเสพติด"]]
    _, prepared, _ = _prepare(_csv(rows), "empty-place.csv")
    empty = prepared[0]
    assert empty.status == "rejected" and empty.reason == "no coordinates and no address"
    assert empty.column == "ละติจูด, ลองจิจูด, ที่อยู่"
    assert prepared[1].status == "pending"


def test_a_zone_written_in_the_cell_wins_over_the_provinces() -> None:
    """Surin is in zone 48; a point written '47P ...' is read in zone 47, not refused as a
    conflict with the province's zone, and only a zone taken from the province is warned of."""
    to47 = pyproj.Transformer.from_crs(4326, 32647, always_xy=True)
    to48 = pyproj.Transformer.from_crs(4326, 32648, always_xy=True)
    west = (14.9, 101.9)  # west of 102 E: written in zone 47 by a neighbouring unit
    e47, n47 = to47.transform(west[1], west[0])
    lat, lon = POINTS[0]
    e48, n48 = to48.transform(lon, lat)
    rows = [["ชื่อจุด", "พิกัด UTM"],
            ["zone47", f"47P {e47:.1f} {n47:.1f}"],
            ["nozone", f"{e48:.1f} {n48:.1f}"]]
    _, prepared, _ = _prepare(_csv(rows), "utm-cells.csv")
    _assert_points(prepared, [west, POINTS[0]], tol=1e-5)
    assert not any("zone" in w for w in prepared[0].warnings), prepared[0].warnings
    assert "no UTM zone given; zone 48 of the province used" in prepared[1].warnings
    header = [["ชื่อจุด", "Easting(m) zone 48", "Northing(m) zone 48"],
              ["h", f"{e48:.1f}", f"{n48:.1f}"]]
    _, by_header, plan = _prepare(_csv(header), "utm-header.csv")
    _assert_points(by_header, [POINTS[0]], tol=1e-5)
    assert plan.zone_hint == 48
    assert not any("of the province used" in w for w in by_header[0].warnings)
