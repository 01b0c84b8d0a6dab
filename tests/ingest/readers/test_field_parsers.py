"""Parsers of field formats without a database: links, Plus Codes, geopoints, degree text,
form exports, GPX and sheets (issue 14, item 5). The import path is in tests/db."""

from __future__ import annotations

import contextlib
import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openlocationcode import openlocationcode as olc

from com.errors import ParseError
from com.geo.coords import find_plus_code, parse_coordinate
from com.ingest.columns import plan_columns
from com.ingest.kinds import KINDS
from com.ingest.readers import read_table
from com.ingest.readers.forms import recognise_form_export
from com.ingest.records import parse_report_date

LAT = st.floats(min_value=5.7, max_value=20.4).map(lambda v: round(v, 6))
LON = st.floats(min_value=97.4, max_value=105.6).map(lambda v: round(v, 6))


@settings(max_examples=150, deadline=None)
@given(LAT, LON, st.sampled_from([
    "https://maps.google.com/?q={lat},{lon}",
    "https://www.google.com/maps?q={lat},{lon}&z=16",
    "https://www.google.com/maps/search/?api=1&query={lat},{lon}",
    "https://www.google.co.th/maps/place/%E0%B8%88%E0%B8%B8%E0%B8%94/@{lat},{lon},17z",
    "https://www.google.com/maps/place/X/@1,1,3z/data=!3m1!4b1!4m5!3m4!1s0x0:0x0!8m2!3d{lat}!4d{lon}",
    "ส่งตำแหน่งจาก LINE: https://maps.google.com/maps?q={lat}%2C{lon} ครับ",
    "https://line.me/R/nv/location/?lat={lat}&lng={lon}",
    "https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=17/{lat}/{lon}",
    "geo:{lat},{lon}?z=17",
    "[{lat}, {lon}]",
    "{lat} {lon} 152.0 4.9",
    "{lat} {lon} 0 0",
]))
def test_links_and_pairs_round_trip(lat: float, lon: float, form: str) -> None:
    c = parse_coordinate(form.format(lat=lat, lon=lon))
    assert (c.lat, c.lon) == pytest.approx((lat, lon), abs=1e-9)


@settings(max_examples=150, deadline=None)
@given(LAT, LON)
def test_plus_codes_round_trip(lat: float, lon: float) -> None:
    full = olc.encode(lat, lon)
    area = olc.decode(full)
    c = parse_coordinate(full)
    assert (c.lat, c.lon) == pytest.approx((area.latitudeCenter, area.longitudeCenter))
    # A short code is recovered near its place (here the point itself, 0.1 degree off).
    short = olc.shorten(full, lat + 0.1, lon - 0.1)
    c2 = parse_coordinate(f"{short} บ้านเรา", locality_point=lambda text: (lat + 0.1, lon - 0.1))
    assert (c2.lat, c2.lon) == pytest.approx((c.lat, c.lon))


@settings(max_examples=150, deadline=None)
@given(st.integers(6, 20), st.integers(0, 59), st.integers(0, 59), st.integers(98, 105),
       st.integers(0, 59), st.integers(0, 59), st.sampled_from([
           "{a}°{b}'{c}\"N {d}°{e}'{f}\"E",
           "ละติจูด {a}°{b}'{c}\" ลองจิจูด {d}°{e}'{f}\"",
           "N{a} {bm} E{d} {em}",
           "N {a}° {bm}' E {d}° {em}'",
           "ละติจูด {a} องศา {b} ลิปดา {c} ฟิลิปดา ลองจิจูด {d} องศา {e} ลิปดา {f} ฟิลิปดา",
       ]))
def test_degree_signs_in_thai_text(a, b, c, d, e, f, form) -> None:
    text = form.format(a=a, b=b, c=c, d=d, e=e, f=f, bm=f"{b + c / 60:.4f}",
                       em=f"{e + f / 60:.4f}")
    try:
        coord = parse_coordinate(text)
    except ParseError:
        return  # outside the box around Thailand: refused, never a wrong point
    assert coord.lat == pytest.approx(a + b / 60 + c / 3600, abs=1e-5)
    assert coord.lon == pytest.approx(d + e / 60 + f / 3600, abs=1e-5)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_plus_code_finder_never_raises(text: str) -> None:
    found = find_plus_code(text)
    assert found is None or olc.isValid(found[0])


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_report_dates_never_raise_other_errors(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse_report_date(text)


@settings(max_examples=100, deadline=None)
@given(st.dates(min_value=__import__("datetime").date(1990, 1, 1),
                max_value=__import__("datetime").date(2030, 12, 31)),
       st.integers(0, 23), st.integers(0, 59),
       st.sampled_from(["{d}/{m}/{be} {hh}.{mm} น.", "{d}/{m}/{be} เวลา {hh}:{mm} น.",
                        "เวลา {hh}.{mm} น. {d}/{m}/{be}", "{hh}:{mm} {d}/{m}/{be}"]))
def test_thai_times_beside_dates(day, hour, minute, form) -> None:
    text = form.format(d=day.day, m=day.month, be=day.year + 543, hh=f"{hour:02d}",
                       mm=f"{minute:02d}")
    assert parse_report_date(text) == day


def test_zoned_timestamps_are_the_day_in_thailand() -> None:
    from datetime import date

    assert parse_report_date("2024-03-14T17:30:00Z") == date(2024, 3, 15)
    assert parse_report_date("2024-03-14T16:59:59Z") == date(2024, 3, 14)
    assert parse_report_date("2024-03-14T23:30:00+07:00") == date(2024, 3, 14)
    assert parse_report_date("2024-03-14T20:00:00", naive_utc=True) == date(2024, 3, 15)
    assert parse_report_date("2024-03-14T20:00:00") == date(2024, 3, 14)


def _table(header: list[str], row: list[object]):
    import csv

    out = io.StringIO()
    csv.writer(out).writerows([header, row])
    return read_table(out.getvalue().encode(), "form.csv")


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (["_id", "_uuid", "_submission_time", "grp/name", "_grp/gps_latitude",
          "_grp/gps_longitude", "_grp/gps_altitude", "_grp/gps_precision", "_notes",
          "_index", "meta/instanceID", "start", "end", "_geolocation"],
         {"grp/name": "name", "_grp/gps_latitude": "lat", "_grp/gps_longitude": "lon",
          "_submission_time": "date"}),
        (["KEY", "SubmissionDate", "g-name", "g-loc-Latitude", "g-loc-Longitude",
          "g-loc-Altitude", "g-loc-Accuracy", "meta-instanceID", "Status"],
         {"g-name": "name", "g-loc-Latitude": "lat", "g-loc-Longitude": "lon",
          "SubmissionDate": "date"}),
        (["_uuid", "info.ชื่อจุด", "info.ประเภท", "info.พิกัด", "_submission_time"],
         {"info.ชื่อจุด": "name", "info.ประเภท": "category", "info.พิกัด": "location",
          "_submission_time": "date"}),
    ],
)
def test_form_exports_recognised(header: list[str], expected: dict[str, str]) -> None:
    table = _table(header, ["x"] * len(header))
    assert table.details["form_export"] in ("kobo", "odk")
    assert plan_columns(table, kind=KINDS["risk_points"]).as_dict() == expected


def test_a_plain_table_is_not_a_form_export() -> None:
    table = _table(["ชื่อ", "ว/ด/ป", "lat", "lon"], ["a", "1/1/2567", "14.8", "103.4"])
    assert recognise_form_export(table) is None and "form_export" not in table.details


def test_gpx_reader_reads_waypoints_safely() -> None:
    data = ('<?xml version="1.0"?><gpx version="1.1" creator="GPSMAP 64"'
            ' xmlns="http://www.topografix.com/GPX/1/1">'
            '<wpt lat="14.88" lon="103.49"><time>2024-03-14T02:00:00Z</time><name>001</name>'
            "<cmt>c</cmt><desc>d</desc><sym>Flag</sym><type>ยาเสพติด</type></wpt>"
            '<trk><name>t</name><trkseg><trkpt lat="14.1" lon="103.1"/></trkseg></trk></gpx>'
            ).encode()
    table = read_table(data, "a.gpx")
    assert table.format == "gpx" and len(table.rows) == 1
    assert table.geometries[0].coords[0] == (103.49, 14.88)
    plan = plan_columns(table, kind=KINDS["risk_points"])
    assert {"name", "date", "note", "category"} <= set(plan.fields)
    assert table.details["skipped"].startswith("1 track")


def test_excel_cover_sheet_skipped_hidden_sheet_never_chosen() -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "ปก"
    wb.active.append(["แบบฟอร์มรายงาน"])
    hidden = wb.create_sheet("ซ่อน")
    hidden.append(["lat", "lon", "ที่อยู่", "ชื่อ"])
    hidden.sheet_state = "hidden"
    data = wb.create_sheet("ข้อมูล")
    data.append(["ชื่อ", "ละติจูด", "ลองจิจูด"])
    data.append(["a", 14.88, 103.49])
    out = io.BytesIO()
    wb.save(out)
    table = read_table(out.getvalue(), "b.xlsx")
    assert table.details["sheet"] == "ข้อมูล" and table.rows == [["a", 14.88, 103.49]]
    assert read_table(out.getvalue(), "b.xlsx", sheet="ปก").details["sheet"] == "ปก"
