"""Header phrases written by other people (issue 14, done-item 1), red-teamed on fresh files.

The phrasings below were written for this test without looking at the samples the
recogniser was built on: Thai with numbering, brackets, units and zones, English from GIS
tools and survey apps, mixed languages. Generated variations (hypothesis) decorate them the
way spreadsheets do (numbering, case, units, separators, required-field marks).
"""

from __future__ import annotations

import csv
import io

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from com.ingest.columns import ColumnsNotRecognised, plan_columns
from com.ingest.readers import read_table, recognise_column

HEADERS: dict[str | None, list[str]] = {
    "lat": ["1. ละติจูด (องศา)", "ละติจูด(N)", "Latitude (deg)", "LAT_DD", "y_coord", "GPS Lat",
            "ละติจูด/Latitude", "latitude_dd", "Lat.", "Y (องศา)", "พิกัดละติจูด", "ค่า Lat",
            "ละติจูด (WGS84)", "GPS_Latitude", "lat_wgs84", "ละติจูด (Latitude)", "Latitude (N)",
            "พิกัด Lat", "Lattitude", "ละติจุด", "POINT_Y", "Y_WGS84", "DD_Lat", "Lat (°N)",
            "geo_lat", "ละติจูด (องศาทศนิยม)", "decimalLatitude", "y (deg)", "พิกัด(ละติจูด)",
            "Coord_Y", "ycoord", "SHAPE@Y", "GPSLatitude"],
    "lon": ["2. ลองจิจูด (องศา)", "Longitude (deg)", "LON_DD", "x_coord", "GPS Long",
            "ลองจิจูด/Longitude", "Long.", "X (องศา)", "พิกัดลองจิจูด", "ลองจิจูด (WGS84)",
            "GPS_Longitude", "lng_wgs84", "Longtitude", "ลองติจูด", "POINT_X", "X_WGS84",
            "Lon (°E)", "decimalLongitude", "ลองจิจูด (Longitude)", "XCOORD", "Shape_X",
            "GPSLongitude"],
    "easting": ["พิกัดแกน X (ม.)", "Easting(m) zone 47", "UTM-E", "ค่าพิกัด E", "UTM E (m)",
                "Easting (m)", "X_UTM", "UTM_X", "พิกัด UTM E", "ค่า X (UTM)", "E (UTM 48)",
                "พิกัดตะวันออก", "Easting_m", "utm_easting", "X (m)", "Xutm"],
    "northing": ["พิกัดแกน Y (ม.)", "Northing(m)", "UTM-N", "ค่าพิกัด N", "UTM N (m)", "Y_UTM",
                 "UTM_Y", "พิกัด UTM N", "พิกัดเหนือ", "Northing_m", "utm_northing", "Y (ม.)",
                 "GPS (N)"],
    "location": ["Lat, Long", "Lat/Long", "พิกัด (ละติจูด, ลองจิจูด)", "ตำแหน่ง GPS",
                 "พิกัดจุดเสี่ยง", "พิกัด GPS (Lat, Lon)", "Google Maps link", "ลิงก์แผนที่",
                 "ลิงก์ Google Map", "Plus Code", "พิกัดภูมิศาสตร์", "Coordinates (lat,lng)",
                 "LatLong", "lat_long", "ค่าพิกัด", "พิกัด UTM 48P", "GPS coordinates",
                 "Location (GPS)", "ละติจูด,ลองจิจูด", "ตำแหน่งที่ตั้ง (Lat,Long)",
                 "พิกัดละติจูด/ลองจิจูด", "Latitude/Longitude"],
    "zone": ["โซน", "UTM Zone", "Zone", "โซน UTM", "Grid zone"],
    "address": ["ที่อยู่จุดเกิดเหตุ", "ที่ตั้งจุดตรวจ", "ที่อยู่ (บ้านเลขที่ หมู่ ตำบล อำเภอ)",
                "Address", "Full address", "สถานที่ตั้ง", "ที่อยู่ที่เกิดเหตุ", "Location address",
                "ที่อยู่ / Address", "ตำบล/อำเภอ"],
    "date": ["วันเดือนปีที่เกิดเหตุ", "วันที่รับแจ้ง", "วัน/เดือน/ปี ที่เกิดเหตุ",
             "วันที่เกิดเหตุ (พ.ศ.)", "Date (dd/mm/yyyy)", "Report date", "วันที่สำรวจ",
             "Date of incident", "วันที่ (ว/ด/ป)", "Incident date", "วันที่แจ้ง", "วันเกิดเหตุ"],
    "category": ["ประเภทเหตุ/ภัย", "ประเภทภัย", "ประเภทความเสี่ยง", "Hazard type",
                 "ประเภทจุดเสี่ยง", "Type of risk", "ลักษณะจุดเสี่ยง", "ประเภทอุบัติเหตุ",
                 "ประเภท (Type)", "Category"],
    "severity": ["ระดับ(1-5)", "ระดับความเสี่ยง (1-5)", "ระดับความรุนแรง", "Severity (1-5)",
                 "Risk level", "ระดับความเสี่ยง", "ความรุนแรง (1=น้อย 5=มาก)", "Priority"],
    "moo": ["หมู่ที่", "หมู่", "ม.", "Moo", "หมู่ที่ (ม.)"],
    "subdistrict": ["ตำบล/แขวง", "ตำบล", "Tambon", "Sub-district", "ต.", "ตำบล (Tambon)",
                    "Subdistrict name", "ชื่อตำบล"],
    "district": ["อำเภอ/เขต", "อำเภอ", "Amphoe", "District", "อ.", "อำเภอ (District)"],
    "province": ["จังหวัด", "Province", "จ.", "จังหวัด (Province)"],
    "postcode": ["รหัสไปรษณีย์", "Postcode", "Zip code", "รหัส ปณ.", "Postal code"],
    "name": ["ชื่อจุด", "ชื่อจุดเสี่ยง", "Name", "Point name", "ชื่อสถานที่", "Site name",
             "ชื่อ (Name)"],
    "note": ["รายละเอียด", "หมายเหตุ", "Remarks", "Description", "รายละเอียดเพิ่มเติม", "Comment",
             "หมายเหตุ/ข้อเสนอแนะ"],
    "village": ["หมู่บ้าน", "ชื่อหมู่บ้าน", "Village", "บ้าน"],
    "row_id": ["ลำดับ", "ลำดับที่", "No.", "ที่", "#", "ID"],
    "count": ["จำนวนครั้ง", "จำนวนครั้งที่เกิดเหตุ", "Count", "จำนวน (ครั้ง)"],
    # Columns that are none of the fields: heights and GPS accuracy are never a place
    # ("Altitude" is two letters from "Latitude"; "(ม.)" is metres, not หมู่).
    None: ["บ้านเลขที่", "เวลาเกิดเหตุ", "เวลา", "Time", "ผู้บันทึก", "เบอร์โทร", "Photo",
           "รูปภาพ", "หน่วยงาน", "สถานะ", "Altitude (m)", "ความสูง (ม.)", "Accuracy (m)",
           "GPS accuracy", "Elevation", "Email Address", "ที่อยู่อีเมล"],
}
CASES = [(field, header) for field, headers in HEADERS.items() for header in headers]


def test_at_least_forty_phrasings_are_tried() -> None:
    assert len([c for c in CASES if c[0] is not None]) >= 40


@pytest.mark.parametrize(("field", "header"), CASES)
def test_header_phrase_is_recognised(field: str | None, header: str) -> None:
    assert recognise_column((header,)) == field


# Generated variations: numbering, case, a unit that fits the field, separators, marks.
_BASES = {
    "lat": ["ละติจูด", "Latitude", "Lat", "GPS Lat", "พิกัดละติจูด"],
    "lon": ["ลองจิจูด", "Longitude", "Lng", "GPS Long", "พิกัดลองจิจูด"],
    "easting": ["Easting", "UTM E", "ค่าพิกัด E", "พิกัด UTM E"],
    "northing": ["Northing", "UTM N", "ค่าพิกัด N", "พิกัด UTM N"],
    "address": ["ที่อยู่", "ที่อยู่จุดเกิดเหตุ", "Address"],
    "category": ["ประเภท", "ประเภทเหตุ", "Category", "Hazard type"],
    "severity": ["ระดับความรุนแรง", "ความรุนแรง", "Severity", "Risk level"],
    "date": ["วันที่", "วันที่เกิดเหตุ", "Report date", "วันเดือนปีที่เกิดเหตุ"],
    "subdistrict": ["ตำบล", "Tambon", "Subdistrict"],
    "district": ["อำเภอ", "Amphoe", "District"],
}
_UNITS = {"lat": ["", " (องศา)", " (deg)", " (WGS84)", " (DD)"],
          "lon": ["", " (องศา)", " (deg)", " (WGS84)", " (DD)"],
          "easting": ["", " (ม.)", " (m)", " (เมตร)"],
          "northing": ["", " (ม.)", " (m)", " (เมตร)"],
          "severity": ["", " (1-5)", "(1-5)"]}
_PREFIXES = ["", "1. ", "๒. ", "3) ", "(4) "]
_SUFFIXES = ["", "*", " :", ":"]


@st.composite
def _decorated(draw: st.DrawFn) -> tuple[str, str]:
    field = draw(st.sampled_from(sorted(_BASES)))
    base = draw(st.sampled_from(_BASES[field]))
    case = draw(st.sampled_from(["as is", "upper", "lower", "title"]))
    if case != "as is":
        base = getattr(base, case)()
    if draw(st.booleans()) and base.isascii():
        base = base.replace(" ", draw(st.sampled_from(["_", "-", "  "])))
    unit = draw(st.sampled_from(_UNITS.get(field, [""])))
    return field, (draw(st.sampled_from(_PREFIXES)) + base + unit
                   + draw(st.sampled_from(_SUFFIXES)))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_decorated())
def test_decorated_headers_keep_their_field(case: tuple[str, str]) -> None:
    field, header = case
    assert recognise_column((header,)) == field, header


def _csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return b"\xef\xbb\xbf" + out.getvalue().encode()


def test_unknown_headers_list_each_column_and_what_it_held() -> None:
    # "x" in the first data row is a value, not a header (a one-letter name alone is not
    # enough to make a header row).
    data = _csv([["colA", "colB", "colC"], ["x", "abc", 1], ["y", "def", 2]])
    table = read_table(data, "unknown.csv")
    assert table.columns == ["colA", "colB", "colC"] and len(table.rows) == 2
    with pytest.raises(ColumnsNotRecognised) as caught:
        plan_columns(table)
    details = caught.value.columns
    assert [d["column"] for d in details] == ["colA", "colB", "colC"]
    assert all(d["looks_like_th"] and d["looks_like_en"] for d in details)
    assert "'x'" in details[0]["looks_like_en"] and "'abc'" in details[1]["looks_like_en"]
    assert "ไม่พบคอลัมน์พิกัดหรือที่อยู่" in str(caught.value)
    for name in ("colA", "colB", "colC"):
        assert repr(name) in str(caught.value)


def test_header_repeated_in_english_is_one_header() -> None:
    data = _csv([["ชื่อจุด", "ละติจูด", "ลองจิจูด", "ประเภท"],
                 ["Name", "Latitude", "Longitude", "Type"],
                 ["p1", 14.8829, 103.4937, "น้ำท่วม"]])
    table = read_table(data, "bilingual.csv")
    assert len(table.rows) == 1
    plan = plan_columns(table)
    assert {f: plan.columns[i] for f, i in plan.fields.items()}["lat"] == "ละติจูด Latitude"
    assert {"name", "lat", "lon", "category"} <= set(plan.fields)


@pytest.mark.parametrize(("header", "zone"), [("พิกัด UTM 48P", 48), ("พิกัด 47P", 47),
                                              ("Easting zone 47", 47), ("UTM E (48)", 48),
                                              ("ลำดับ 48", None), ("รหัส 47", None)])
def test_zone_written_in_a_header(header: str, zone: int | None) -> None:
    from com.ingest.readers.headers import guess_field

    guess = guess_field(header)
    assert (guess.zone if guess is not None else None) == zone


def test_units_zone_and_axis_words_decide_utm() -> None:
    east, north = 337957.4, 1645921.5
    for hx, hy in [("พิกัดแกน X (ม.)", "พิกัดแกน Y (ม.)"), ("Easting(m) zone 48", "Northing(m)"),
                   ("X", "Y"), ("พิกัด X", "พิกัด Y")]:
        plan = plan_columns(read_table(_csv([["ชื่อ", hx, hy], ["a", east, north]]), "u.csv"))
        assert plan.columns[plan.fields["easting"]] == hx
        assert plan.columns[plan.fields["northing"]] == hy
        if "zone 48" in hx:
            assert plan.zone_hint == 48


def test_one_letter_header_row_under_a_title_is_the_header() -> None:
    table = read_table("พิกัดจุด\nX,Y\n337957,1645921\n".encode(), "xy.csv")
    assert table.columns == ["X", "Y"] and table.rows == [["337957", "1645921"]]
