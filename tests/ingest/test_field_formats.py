"""What field staff export from their tools, through the real import path (issue 14, item 5).

Every file is built here in its own format (KoboToolbox/ODK CSV and XLSX, Google My Maps
KML/KMZ, GPX from a handheld GPS, CSV cells with LINE/Google Maps links, Plus Codes and
degree signs in Thai text, a workbook with a cover sheet, Thai times beside dates) and
imported into PostGIS with :func:`com.ingest.import_upload`; the stored points are compared
with the coordinates the file was built from.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date

import pytest
import sqlalchemy as sa
from openlocationcode import openlocationcode as olc

from com.ingest import ImportOptions, get_upload, import_upload

SURIN = "32"
#: Points in Surin province, far enough apart never to be duplicates.
PLACES = [(14.8818, 103.4937), (14.6400, 103.4000), (14.7000, 103.6000), (15.0500, 103.5500),
          (14.9500, 103.8000), (14.5500, 103.9000)]
TOLERANCE_M = 2.0


def _metres(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    from pyproj import Geod

    return Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)[2]


def _import(conn, data: bytes, name: str, settings, **options):
    summary = import_upload(conn, data, name, options=ImportOptions(province_code=SURIN,
                                                                    **options),
                            settings=settings)
    report = {r["row"]: r for r in get_upload(conn, summary.upload_id)["report"]}
    points = {
        r.source_row: r for r in conn.execute(
            sa.text("SELECT source_row, ST_Y(geom) AS lat, ST_X(geom) AS lon, category, "
                    "reported_on, name, attributes FROM risk_points "
                    "WHERE source_upload_id = :u"),
            {"u": summary.upload_id},
        )
    }
    return summary, report, points


def _assert_at(point, lat: float, lon: float, tolerance_m: float = TOLERANCE_M) -> None:
    assert _metres(point.lat, point.lon, lat, lon) <= tolerance_m, (point.lat, point.lon)


def _csv(rows: list[list[object]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def _xlsx(sheets: list[tuple[str, list[list[object]]]]) -> bytes:
    import openpyxl

    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- KoboToolbox / ODK

KOBO_HEADER = [
    "start", "end", "today", "deviceid", "group_info/name", "group_info/issue",
    "group_info/report_date", "group_loc/location", "_group_loc/location_latitude",
    "_group_loc/location_longitude", "_group_loc/location_altitude",
    "_group_loc/location_precision", "group_info/notes_text", "meta/instanceID", "_id", "_uuid",
    "_submission_time", "_validation_status", "_notes", "_status", "_submitted_by",
    "__version__", "_tags", "_index", "_geolocation",
]


def _kobo_row(i: int, lat: float, lon: float) -> list[object]:
    return [
        "2024-03-14T09:01:02.000+07:00", "2024-03-14T09:05:00.000+07:00", "2024-03-14",
        "collect:abc123", f"จุด {i}", "ยาเสพติด", "2024-03-10",
        f"{lat} {lon} 152.3 4.9", lat, lon, 152.3, 4.9, "ริมถนน",
        f"uuid:{i:08d}-aaaa", 1000 + i, f"{i:08d}-aaaa", "2024-03-14T02:05:07", "", "[]",
        "submitted_via_web", "somchai", "vX1", "[]", i, f"[{lat}, {lon}]",
    ]


def test_kobotoolbox_csv(conn, test_settings):
    rows = [KOBO_HEADER] + [_kobo_row(i, *p) for i, p in enumerate(PLACES[:4], start=1)]
    s, report, points = _import(conn, _csv(rows), "kobo_export.csv", test_settings)
    assert (s.stored, s.rejected) == (4, 0), report
    for n, (lat, lon) in enumerate(PLACES[:4], start=1):
        _assert_at(points[n], lat, lon)
        assert points[n].category == "drugs" and points[n].name == f"จุด {n}"
        assert points[n].reported_on == date(2024, 3, 10)
        # Meta columns are kept as attributes, never read as a note, a name or an id.
        assert points[n].attributes["_uuid"] == f"{n:08d}-aaaa"
        assert points[n].attributes.get("note") == "ริมถนน"


def test_kobotoolbox_xlsx_with_dotted_groups_geopoint_only_and_submission_date(conn,
                                                                            test_settings):
    header = ["start", "end", "grp.name", "grp.issue", "grp.gps", "_id", "_uuid",
              "_submission_time", "_index"]
    rows = [header] + [
        ["2024-03-14T09:01:02.000+07:00", "2024-03-14T09:05:00.000+07:00", f"จุด {i}",
         "อุทกภัย", f"{lat} {lon} 0 0", 10 + i, f"u{i}", "2024-03-14T20:30:00", i]
        for i, (lat, lon) in enumerate(PLACES[:3], start=1)
    ]
    s, report, points = _import(conn, _xlsx([("kobo", rows)]), "kobo.xlsx", test_settings)
    assert (s.stored, s.rejected) == (3, 0), report
    for n, (lat, lon) in enumerate(PLACES[:3], start=1):
        _assert_at(points[n], lat, lon)
        assert points[n].category == "flood"
        # No date question: the submission time (UTC) is the day in Thailand.
        assert points[n].reported_on == date(2024, 3, 15)


def test_kobotoolbox_geolocation_only(conn, test_settings):
    rows = [["name", "type", "_geolocation", "_id", "_uuid", "_submission_time"]] + [
        [f"p{i}", "ยาเสพติด", f"[{lat}, {lon}]", i, f"u{i}", "2024-01-02T03:04:05"]
        for i, (lat, lon) in enumerate(PLACES[:2], start=1)
    ] + [["p3", "ยาเสพติด", "[None, None]", 3, "u3", "2024-01-02T03:04:05"]]
    s, report, points = _import(conn, _csv(rows), "geoloc.csv", test_settings)
    assert (s.stored, s.rejected) == (2, 1), report
    _assert_at(points[1], *PLACES[0])
    assert report[3]["status"] == "rejected" and report[3]["reason_th"]


def test_odk_central_csv(conn, test_settings):
    header = ["SubmissionDate", "start", "end", "deviceid", "grp-name", "grp-category",
              "grp-point-Latitude", "grp-point-Longitude", "grp-point-Altitude",
              "grp-point-Accuracy", "meta-instanceID", "KEY", "SubmitterID", "SubmitterName",
              "AttachmentsPresent", "AttachmentsExpected", "Status", "ReviewState",
              "DeviceID", "Edits", "FormVersion"]
    rows = [header] + [
        ["2024-03-14T18:00:00.000Z", "2024-03-14T09:00:00.000+07:00", "", "collect:x",
         f"n{i}", "ลักลอบเข้าเมือง", lat, lon, 140, 5, f"uuid:{i}", f"uuid:{i}", 7, "อาสา",
         0, 0, "", "", "collect:x", 0, "1"]
        for i, (lat, lon) in enumerate(PLACES[:3], start=1)
    ]
    s, report, points = _import(conn, _csv(rows), "odk.csv", test_settings)
    assert (s.stored, s.rejected) == (3, 0), report
    for n, (lat, lon) in enumerate(PLACES[:3], start=1):
        _assert_at(points[n], lat, lon)
        assert points[n].category == "illegal_entry"
        assert points[n].reported_on == date(2024, 3, 15)  # 18:00 UTC is 01:00 on the 15th


# --------------------------------------------------------------------------- Google My Maps


def _my_maps_kml() -> bytes:
    folders = {"ยาเสพติด": PLACES[:2], "Floods": PLACES[2:4], "จุดตรวจอื่น": PLACES[4:5]}
    body = "".join(
        f"<Folder><name>{name}</name>" + "".join(
            f"<Placemark><name>{name} {i}</name><description>ข้อมูล {i}</description>"
            f"<styleUrl>#icon-1899-0288D1</styleUrl>"
            f"<Point><coordinates>\n  {lon},{lat},0\n</coordinates></Point></Placemark>"
            for i, (lat, lon) in enumerate(points)
        ) + "</Folder>"
        for name, points in folders.items()
    )
    return ('<?xml version="1.0" encoding="UTF-8"?>'
            '<kml xmlns="http://www.opengis.net/kml/2.2"><Document><name>จุดเสี่ยง อ.เมือง</name>'
            '<Style id="icon-1899-0288D1"><IconStyle><scale>1</scale></IconStyle></Style>'
            f"{body}</Document></kml>").encode()


@pytest.mark.parametrize("kind", ["kml", "kmz"])
def test_google_my_maps_folders_are_categories(conn, test_settings, kind):
    data = _my_maps_kml()
    if kind == "kmz":
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("doc.kml", data)
            zf.writestr("images/icon-1.png", b"\x89PNG....")
        data = out.getvalue()
    s, report, points = _import(conn, data, f"my_maps.{kind}", test_settings)
    assert (s.stored, s.rejected) == (5, 0), report
    assert [points[n].category for n in range(1, 6)] == ["drugs", "drugs", "flood", "flood",
                                                         "unknown"]
    for n, (lat, lon) in enumerate(PLACES[:5], start=1):
        _assert_at(points[n], lat, lon)
    assert any("folder" in w for w in s.warnings)


def test_kml_category_column_wins_over_the_folder(conn, test_settings):
    data = ('<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Folder><name>ยาเสพติด'
            '</name><Placemark><name>a</name><ExtendedData><Data name="ประเภท"><value>อุทกภัย'
            f"</value></Data></ExtendedData><Point><coordinates>{PLACES[0][1]},{PLACES[0][0]}"
            "</coordinates></Point></Placemark></Folder></Document></kml>").encode()
    s, report, points = _import(conn, data, "typed.kml", test_settings)
    assert points[1].category == "flood"


# --------------------------------------------------------------------------- GPX


def _gpx(body: str) -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no" ?>'
            '<gpx xmlns="http://www.topografix.com/GPX/1/1" creator="eTrex 32x" version="1.1">'
            '<metadata><time>2024-03-14T02:00:00Z</time></metadata>'
            f"{body}</gpx>").encode()


def test_gpx_waypoints_from_a_handheld_gps(conn, test_settings):
    wpts = "".join(
        f'<wpt lat="{lat}" lon="{lon}"><ele>152.4</ele><time>2024-03-14T17:30:00Z</time>'
        f"<name>WP{i:03d}</name><desc>จุดลักลอบ {i}</desc><sym>Flag, Blue</sym></wpt>"
        for i, (lat, lon) in enumerate(PLACES[:3], start=1)
    )
    track = ("<trk><name>ลาดตระเวน</name><trkseg>" + "".join(
        f'<trkpt lat="{14.1 + k / 1000}" lon="103.2"><ele>150</ele></trkpt>' for k in range(50)
    ) + "</trkseg></trk>")
    bad = '<wpt lat="abc" lon="103.4"><name>WPBAD</name></wpt>'
    s, report, points = _import(conn, _gpx(wpts + bad + track), "garmin.gpx", test_settings)
    assert (s.rows, s.stored, s.rejected) == (4, 3, 1), report
    for n, (lat, lon) in enumerate(PLACES[:3], start=1):
        _assert_at(points[n], lat, lon)
        assert points[n].name == f"WP{n:03d}"
        assert points[n].reported_on == date(2024, 3, 15)  # 17:30 UTC is 00:30 next day
        assert points[n].attributes["note"] == f"จุดลักลอบ {n}"
    assert report[4]["reason_code"] == "geometry_unreadable" and report[4]["reason_th"]


def test_gpx_track_points_when_there_is_no_waypoint(conn, test_settings):
    track = ("<rte><name>เส้นทาง</name>" + "".join(
        f'<rtept lat="{lat}" lon="{lon}"><name>R{i}</name></rtept>'
        for i, (lat, lon) in enumerate(PLACES[:2])) + "</rte>")
    s, report, points = _import(conn, _gpx(track), "route.gpx", test_settings)
    assert s.stored == 2
    _assert_at(points[2], *PLACES[1])


def test_gpx_with_an_entity_is_refused(conn, test_settings):
    from com.errors import UploadError

    data = (b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaa">]>'
            b'<gpx version="1.1"><wpt lat="14.88" lon="103.49"><name>&a;</name></wpt></gpx>')
    with pytest.raises(UploadError, match="entities|DTD"):
        import_upload(conn, data, "bomb.gpx", settings=test_settings)


# --------------------------------------------------------------------------- links, Plus Codes


def test_links_plus_codes_and_degrees_in_thai_text(conn, test_settings):
    lat0, lon0 = PLACES[0]
    full = olc.encode(PLACES[1][0], PLACES[1][1])
    short_code = full[4:]
    p2 = olc.decode(full)
    dms = "ละติจูด 14°52'30\" ลองจิจูด 103°29'00\""  # 14.875, 103.48333
    cells = [
        f"ตำแหน่งที่แชร์จาก LINE https://maps.google.com/?q={lat0},{lon0}",
        f"https://www.google.com/maps/place/จุดตรวจ/@{PLACES[2][0]},{PLACES[2][1]},17z",
        f"https://www.google.com/maps/search/?api=1&query={PLACES[3][0]},{PLACES[3][1]}",
        "https://maps.app.goo.gl/AbCdEf123",
        full,
        f"{short_code} สุรินทร์",
        f"{short_code} ต.ในเมือง อ.เมืองสุรินทร์",
        dms,
        "14°52'30\"N 103°29'E",
        "N14 52.5 E103 29.1",
        f"{short_code} ไม่มีที่นี่จริงๆ",
    ]
    rows = [["ชื่อ", "ประเภท", "พิกัด"]] + [[f"r{i}", "ยาเสพติด", c]
                                            for i, c in enumerate(cells, start=1)]
    s, report, points = _import(conn, _csv(rows), "links.csv", test_settings)
    _assert_at(points[1], lat0, lon0)
    _assert_at(points[2], *PLACES[2])
    _assert_at(points[3], *PLACES[3])
    assert report[4]["status"] == "rejected"
    assert report[4]["reason_code"] == "link_unresolvable"
    assert "goo.gl" in report[4]["reason_th"] and "offline" in report[4]["reason_en"]
    _assert_at(points[5], p2.latitudeCenter, p2.longitudeCenter)
    assert report[6]["status"] == "duplicate"  # the same Plus Code, recovered near Surin
    assert report[7]["status"] == "duplicate"
    _assert_at(points[8], 14.875, 103.483333, 1.0)
    assert report[9]["status"] == "duplicate"  # the same place written with N/E letters
    _assert_at(points[10], 14.875, 103.485, 1.0)
    assert report[11]["status"] == "rejected"
    assert report[11]["reason_code"] == "plus_code_unknown_locality"


# --------------------------------------------------------------------------- Excel, dates


def test_excel_with_the_table_on_a_second_sheet(conn, test_settings):
    cover = [["แบบรายงานจุดเสี่ยง"], ["หน่วยงาน", "ศูนย์ปฏิบัติการ"], [],
             ["คำอธิบาย: กรอกข้อมูลในแผ่นงานถัดไป"]]
    table = [["รายงานประจำเดือน มี.ค. 2567"], [],
             ["ลำดับ", "ชื่อจุด", "ประเภท", "ละติจูด", "ลองจิจูด", "วันที่"]] + [
        [i, f"จุด {i}", "ยาเสพติด", lat, lon, "14/03/2567"]
        for i, (lat, lon) in enumerate(PLACES[:3], start=1)
    ]
    data = _xlsx([("ปก", cover), ("ข้อมูล", table)])
    s, report, points = _import(conn, data, "report.xlsx", test_settings)
    assert (s.stored, s.rejected) == (3, 0), report
    for n, (lat, lon) in enumerate(PLACES[:3], start=1):
        _assert_at(points[n], lat, lon)


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("14/03/2567 14.30 น.", date(2024, 3, 14)),
        ("14/03/2567 14:30 น.", date(2024, 3, 14)),
        ("14 มี.ค. 2567 เวลา 09.15 น.", date(2024, 3, 14)),
        ("เวลา 09.15 น. 14 มี.ค. 67", date(2024, 3, 14)),
        ("14.30 น. ๑๔/๐๓/๒๕๖๗", date(2024, 3, 14)),
        ("๑๔ มีนาคม ๒๕๖๗ ๑๔.๓๐ น.", date(2024, 3, 14)),
        ("2024/03/14 14:30:00 GMT+7", date(2024, 3, 14)),
        ("Mar 14, 2024 2:30 PM", date(2024, 3, 14)),
        ("2024-03-14T23:30:00+07:00", date(2024, 3, 14)),
    ],
)
def test_dates_with_thai_times(conn, test_settings, written, expected):
    rows = [["ชื่อ", "ประเภท", "lat", "lon", "วันที่เกิดเหตุ"],
            ["a", "ยาเสพติด", PLACES[0][0], PLACES[0][1], written]]
    s, report, points = _import(conn, _csv(rows), "dates.csv", test_settings)
    assert points[1].reported_on == expected, report[1]
    assert not any(re.search("date", w) for w in report[1]["warnings"] or "")
