"""Header phrases and column values recognised (issue 14, item 1); no database."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from com.ingest.columns import ColumnsNotRecognised, plan_columns
from com.ingest.readers import read_table, recognise_column
from com.ingest.readers.headers import guess_field, profile_values

PHRASES = [
    ("ที่อยู่จุดเกิดเหตุ", "address"),
    ("ที่ตั้งจุดตรวจ", "address"),
    ("Incident address", "address"),
    ("ที่อยู่ (บ้านเลขที่ หมู่ ตำบล)", "address"),
    ("พิกัดจุดเสี่ยง (ละติจูด, ลองจิจูด)", "location"),
    ("ตำแหน่ง GPS", "location"),
    ("Lat/Long", "location"),
    ("พิกัดภูมิศาสตร์ (Lat, Lon)", "location"),
    ("GPS coordinates", "location"),
    ("Google Maps link", "location"),
    ("พิกัด UTM 48P", "location"),
    ("X (UTM)", "easting"),
    ("Y (UTM)", "northing"),
    ("UTM Easting (m)", "easting"),
    ("Northing (ม.)", "northing"),
    ("UTM E (zone 48)", "easting"),
    ("UTM N", "northing"),
    ("ค่าพิกัด E", "easting"),
    ("พิกัด X", "lon"),
    ("พิกัด Y", "lat"),
    ("ละติจูด (องศา)", "lat"),
    ("Latitude (WGS84)", "lat"),
    ("Longitude (DD)", "lon"),
    ("ลองจิจูด", "lon"),
    ("โซน UTM", "zone"),
    ("Zone (47/48)", "zone"),
    ("MGRS grid", "mgrs"),
    ("วัน/เดือน/ปี ที่เกิดเหตุ", "date"),
    ("วันที่รายงาน", "date"),
    ("Date of incident", "date"),
    ("ระดับความเสี่ยง (1-5)", "severity"),
    ("Risk level (1-5)", "severity"),
    ("ความรุนแรง", "severity"),
    ("ประเภทความเสี่ยง", "category"),
    ("Category of issue", "category"),
    ("ชื่อจุดตรวจ", "name"),
    ("ชื่อสถานที่", "name"),
    ("ตำบลที่เกิดเหตุ", "subdistrict"),
    ("อำเภอ/เขต", "district"),
    ("จังหวัด", "province"),
    ("รหัสไปรษณีย์", "postcode"),
    ("หมายเหตุเพิ่มเติม", "note"),
    ("จำนวนครั้งที่เกิดเหตุ", "count"),
    ("ลำดับที่", "row_id"),
    ("ที่", "row_id"),
]


@pytest.mark.parametrize(("header", "field"), PHRASES)
def test_header_phrases_are_recognised(header: str, field: str) -> None:
    assert recognise_column([header]) == field


def test_a_zone_written_in_the_header_is_read() -> None:
    guess = guess_field("พิกัด UTM 48P")
    assert guess is not None and guess.zone == 48


def _plan(text: str):  # type: ignore[no-untyped-def]
    return plan_columns(read_table(text.encode(), "upload.csv"))


def test_the_issue_file_is_accepted() -> None:
    plan = _plan("ที่,ที่อยู่จุดเกิดเหตุ,ประเภท,ความรุนแรง\n"
                 "1,ต.ด่าน อ.กาบเชิง จ.สุรินทร์,ยาเสพติด,3\n")
    assert plan.as_dict()["ที่อยู่จุดเกิดเหตุ"] == "address"


def test_competing_columns_are_decided_by_their_values_and_reported() -> None:
    plan = _plan("ที่อยู่,ที่ตั้งจุดตรวจ,ชื่อ\n"
                 "บ้านเลขที่ 5,ต.ด่าน อ.กาบเชิง จ.สุรินทร์,ก\n"
                 "หน้าวัด,ต.ในเมือง อ.เมือง จ.สุรินทร์,ข\n")
    assert plan.name("address") == "ที่ตั้งจุดตรวจ"
    assert any("ที่ตั้งจุดตรวจ" in n and "ที่อยู่" in n and "ใช้คอลัมน์" in n for n in plan.notes)


def test_unnamed_coordinate_columns_are_found_by_their_values() -> None:
    plan = _plan("a,b,c\nจุด1,14.88,103.49\nจุด2,15.1,104.2\n")
    assert (plan.name("lat"), plan.name("lon")) == ("b", "c")
    assert plan.notes


def test_unknown_headers_give_every_column_and_what_it_looked_like() -> None:
    with pytest.raises(ColumnsNotRecognised) as info:
        _plan("foo,bar,baz\n1,hello,2024-01-05\n2,world,2024-02-01\n")
    err = info.value
    assert [c["column"] for c in err.columns] == ["foo", "bar", "baz"]
    assert all(c["looks_like_th"] and c["looks_like_en"] for c in err.columns)
    assert "dates" in err.columns[2]["looks_like_en"]
    assert "วันที่" in err.columns[2]["looks_like_th"]
    assert err.problem_extra["columns"] == ["foo", "bar", "baz"]
    assert "'bar': text" in str(err)


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["14.88", "15.2", 16.0], "lat"),
        (["103.49", "100.1"], "lon"),
        (["ต.ด่าน อ.กาบเชิง จ.สุรินทร์", "บ้านหนองแวง 32000"], "address"),
        (["14.88, 103.49", "https://maps.google.com/?q=14.8,103.4"], "location"),
        (["21/08/2566", "2024-10-11"], "date"),
        ([None, ""], "empty"),
    ],
)
def test_values_are_profiled(values: list[object], kind: str) -> None:
    assert profile_values(values).kind == kind


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_any_header_text_is_handled(text: str) -> None:
    guess = guess_field(text)
    assert guess is None or guess.score >= 2.0
    recognise_column([text])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=30), st.floats(allow_nan=True), st.integers(),
                          st.none()), max_size=20))
def test_any_column_values_are_profiled(values: list[object]) -> None:
    profile = profile_values(values)
    th, en = profile.describe()
    assert th and en
