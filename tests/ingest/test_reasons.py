"""Every way a row can be rejected says why in Thai and English, with a code (done-item 5)."""

from __future__ import annotations

import io
import json
import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from com.ingest.kinds import KINDS
from com.ingest.options import ImportOptions, RowRejected
from com.ingest.prepare import prepare_rows
from com.ingest.readers import read_table
from com.ingest.reasons import REASON_CODES, describe

_THAI = re.compile(r"[\u0e01-\u0e5b]")


def _assert_bilingual(reason: str | None) -> None:
    described = describe(reason)
    assert described is not None
    assert described.code in REASON_CODES and described.code != "rejected", reason
    assert described.en == reason
    assert _THAI.search(described.th), described


def _rejections(data: bytes, name: str, **options) -> list[tuple[str, str | None]]:
    table = read_table(data, name, extra_fields=KINDS[options.get("kind", "risk_points")]
                       .extra_fields)
    rows, _, _ = prepare_rows(table, options=ImportOptions(province_code="32", **options),
                              locality_point=lambda text: (14.88, 103.49) if text in
                              ("", "สุรินทร์") else None)
    return [(r.reason or "", r.column) for r in rows if r.status == "rejected"]


def _csv(header: list[str], cells: list[list[str]]) -> bytes:
    import csv

    out = io.StringIO()
    csv.writer(out).writerows([header, *cells])
    return out.getvalue().encode()


BAD_COORDINATES = [
    "NaN", "inf", "1e309, 103.5", "abc", "14.88", "14.88, 103.49, 12.1",
    "91, 200", "14.88, 190", "10, 10", "14°88' 103°29'", "14°52'70\" 103°29'",
    "N N 14 103", "N14 N103", "'14 103", "14° 52' 30\" 12\" 103°", "LAT 14 LAT 103",
    "-14°52'S 103°29'E", "https://goo.gl/maps/abc", "https://maps.app.goo.gl/x",
    "https://example.com/?q=14.5,103.2", "https://www.google.com/maps/place/X",
    "geo:abc", "48P 312345", "312345 1598765", "47Q 312345 1598765", "49P 312345 1598765",
    "48P UA 12345", "48P UA 123 4567", "48P UA", "VQ5R+XX ที่ไม่มีอยู่จริง",
    "14.88 เหนือ 103.49 เหนือ", "14.88 E 103.49 E", "ละติจูด 14 ละติจูด 103",
]


@pytest.mark.parametrize("cell", BAD_COORDINATES)
def test_bad_coordinate_cells_are_rejected_in_both_languages(cell: str) -> None:
    rejected = _rejections(_csv(["ชื่อ", "พิกัด"], [["a", cell]]), "c.csv")
    assert len(rejected) == 1, cell
    _assert_bilingual(rejected[0][0])
    assert rejected[0][1] == "พิกัด"


@pytest.mark.parametrize(
    ("lat", "lon"),
    [("NaN", "103.5"), ("14.8", "inf"), ("abc", "103.5"), ("14.8", ""), ("95", "103"),
     ("14°99'", "103"), ("1e400", "103")],
)
def test_bad_latitude_longitude_columns(lat: str, lon: str) -> None:
    rejected = _rejections(_csv(["ชื่อ", "lat", "lon"], [["a", lat, lon]]), "c.csv")
    assert len(rejected) == 1
    _assert_bilingual(rejected[0][0])


@pytest.mark.parametrize(
    ("header", "row"),
    [
        (["ชื่อ", "UTM E", "UTM N", "โซน"], ["a", "312345", "1598765", "52"]),
        (["ชื่อ", "UTM E", "UTM N", "โซน"], ["a", "312345", "1598765", "48C"]),
        (["ชื่อ", "UTM E", "UTM N", "โซน"], ["a", "312345", "", "48"]),
        (["ชื่อ", "UTM E", "UTM N", "โซน"], ["a", "99", "1598765", "48"]),
        (["ชื่อ", "MGRS"], ["a", "48P UA 1234 567"]),
        (["ชื่อ", "MGRS"], ["a", "not a grid"]),
        (["ชื่อ", "ที่อยู่"], ["a", ""]),
        (["ชื่อ", "ที่อยู่"], ["a", "อ.ปราสาท จ.สุรินทร์"]),
        (["ชื่อ", "ที่อยู่"], ["a", "ไม่ทราบที่อยู่ แถวๆ ตลาด"]),
        (["ชื่อ", "ที่อยู่"], ["a", "ต.หนองบัว"]),
        (["ชื่อ", "wkt"], ["a", "POINT (abc)"]),
        (["ชื่อ", "wkt"], ["a", "POINT EMPTY"]),
        (["ชื่อ", "wkt"], ["a", "LINESTRING (103 14, 999 14)"]),
    ],
)
def test_other_place_failures(header: list[str], row: list[str]) -> None:
    rejected = _rejections(_csv(header, [row]), "c.csv")
    assert len(rejected) == 1, (header, row)
    _assert_bilingual(rejected[0][0])


def test_kind_rules_are_bilingual() -> None:
    cameras = _rejections(_csv(["ชื่อ", "ที่อยู่", "wkt"],
                               [["a", "ต.ในเมือง อ.เมืองสุรินทร์ จ.สุรินทร์", ""],
                                ["b", "", "POLYGON ((103 14, 103.1 14, 103.1 14.1, 103 14))"]]),
                          "cams.csv", kind="cameras")
    projects = _rejections(_csv(["ชื่อ", "lat", "lon", "ปีงบประมาณ"],
                                [["p", "14.88", "103.49", ""], ["q", "14.88", "103.49", "xx"]]),
                           "p.csv", kind="projects")
    assert len(cameras) == 2 and len(projects) == 2
    for reason, _ in cameras + projects:
        _assert_bilingual(reason)


def test_geometry_failures_of_vector_files() -> None:
    kml = (b'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           b"<Placemark><name>a</name><Point><coordinates>abc</coordinates></Point></Placemark>"
           b"<Placemark><name>b</name><LineString><coordinates>103,14</coordinates>"
           b"</LineString></Placemark>"
           b"<Placemark><name>c</name><Polygon><outerBoundaryIs><LinearRing><coordinates>"
           b"103,14 103.1,14</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>"
           b"</Document></kml>")
    geojson = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "open"}, "geometry": {
            "type": "Polygon", "coordinates": [[[103, 14], [103.1, 14], [103.1, 14.1],
                                                [103, 14.2]]]}},
    ]}).encode()
    rejected = _rejections(kml, "a.kml") + _rejections(geojson, "a.geojson", layer="x")
    assert len(rejected) == 4
    for reason, _ in rejected:
        _assert_bilingual(reason)


def test_short_plus_code_without_a_place() -> None:
    table = read_table(_csv(["ชื่อ", "พิกัด"], [["a", "VQ5R+XX"]]), "p.csv")
    rows, _, _ = prepare_rows(table, options=ImportOptions(province_code="32"))
    assert rows[0].status == "rejected"
    assert describe(rows[0].reason).code == "plus_code_no_locality"  # type: ignore[union-attr]
    _assert_bilingual(rows[0].reason)


def test_row_rejected_carries_the_code_and_thai() -> None:
    exc = RowRejected("no coordinates and no address")
    assert exc.described.code == "no_place" and exc.described.th == "ไม่มีพิกัดและไม่มีที่อยู่"


@pytest.mark.parametrize(
    "reason",
    [
        # Written by the SQL checks (com/db/sql/ingest_reject_*.sql) and the duplicate rules.
        "outside Thailand: 11.556400, 104.928200 is not inside (or within 1000 m of) any Thai "
        "subdistrict",
        "outside province 32 สุรินทร์ (Surin): the place is in 33 ศรีสะเกษ (Si Sa Ket), "
        "subdistrict 330101",
        "the address gives subdistrict 999999, which the loaded boundaries do not have",
        "outside Thailand: the feature does not come within 1 km of any Thai subdistrict",
        "identical to row 1",
        "same category and place within 25 m as stored record 7 (upload 3, row 2)",
        "same subdistrict, name and address as stored record 9",
        "same category within 25 m of row 4",
        "same subdistrict, name and address as row 2",
        "the same feature is already in layer roads",
    ],
)
def test_database_reasons_are_bilingual(reason: str) -> None:
    _assert_bilingual(reason)


def test_sql_reason_texts_are_known() -> None:
    """The English the SQL files write starts as a rule expects (read from the files)."""
    from importlib import resources

    sql = resources.files("com.db").joinpath("sql")
    for name in ("ingest_reject_outside", "ingest_reject_province",
                 "ingest_reject_unknown_code", "ingest_reject_layer_outside"):
        text = sql.joinpath(f"{name}.sql").read_text(encoding="utf-8")
        literal = re.search(r"reason = (?:format\()?'([^']+)'", text)
        assert literal is not None, name
        sample = re.sub(r"%s", "1", literal.group(1))
        _assert_bilingual(sample)


_CELL = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),
    st.text(alphabet="0123456789.,;°'\" NSEWnsew-+:/เหนือใต้ละติจูดลองจิจูด๑๔", max_size=30),
    st.from_regex(r"(https?://)?(maps\.)?google\.com/maps\?q=[-0-9.,a-z]{0,20}", fullmatch=True),
    st.from_regex(r"[2-9CFGHJMPQRVWX]{2,8}\+[2-9CFGHJMPQRVWX]{0,3}( [ก-ฮ]{0,8})?",
                  fullmatch=True),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_CELL, min_size=1, max_size=5))
def test_any_rejected_coordinate_says_why_in_both_languages(cells: list[str]) -> None:
    data = _csv(["ชื่อ", "พิกัด"], [["a", c] for c in cells])
    for reason, _ in _rejections(data, "h.csv"):
        _assert_bilingual(reason)


def test_thai_reasons_carry_no_english_detail():
    """Issue 15: a Thai reason embedded the parser's English detail ("อ่านพิกัด ... ไม่ได้
    (cannot read ...)"). The Thai templates hold Thai words, codes and examples only."""
    import re as _re

    from com.ingest.reasons import _RULES

    # Names and notations that stay as written (formats, services, examples, literals).
    allowed = {"UTM", "MGRS", "PTA", "datum", "goo", "gl", "Google", "Maps", "Plus", "Code",
               "VQ", "XX", "NaN", "Infinity"}
    for code, _pattern, thai in _RULES:
        text = _re.sub(r"\{[a-z_0-9]+\}", "", thai)
        words = set(_re.findall(r"[A-Za-z]{2,}", text)) - allowed
        assert not words, (code, thai, words)
        assert "{detail}" not in thai, code
