"""Thai text helpers: digits, cleaning, Buddhist-era dates, severity words, fiscal years."""

from __future__ import annotations

import contextlib
import datetime as dt
import tomllib
import unicodedata
from importlib.resources import files

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pythainlp.util import normalize as pythainlp_normalize

from com.errors import ConfigError, ParseError
from com.text.thai import (
    THAI_MONTHS_ABBR,
    THAI_MONTHS_FULL,
    clean_text,
    fiscal_year_be,
    fiscal_year_bounds,
    format_thai_date,
    is_blank,
    load_severity_words,
    parse_date,
    parse_severity,
    to_arabic_digits,
    to_thai_digits,
)

# --------------------------------------------------------------------------- text


def test_digits_both_ways() -> None:
    assert to_arabic_digits("๐๑๒๓๔๕๖๗๘๙") == "0123456789"
    assert to_thai_digits("2566") == "๒๕๖๖"
    assert to_arabic_digits("หมู่ที่ ๔") == "หมู่ที่ 4"


def test_clean_text_removes_invisible_characters_and_fixes_thai_order() -> None:
    assert clean_text("\ufeff ต.ด่าน\u200b\u00a0 อ.กาบเชิง \n") == "ต.ด่าน อ.กาบเชิง"
    assert clean_text("เเปลก") == "แปลก"  # two sara e typed for sara ae
    assert clean_text("ดีีี") == "ดี"
    assert clean_text("๑๒๓/๔") == "123/4"


thai_chars = st.characters(min_codepoint=0x0E01, max_codepoint=0x0E5B)


@settings(max_examples=300, deadline=None)
@given(st.text(st.one_of(thai_chars, st.sampled_from(" \u200b")), max_size=25))
def test_clean_text_fast_path_agrees_with_pythainlp(text: str) -> None:
    # clean_text calls pythainlp.normalize only when a pattern it repairs is present; the
    # result must equal calling it every time (after Unicode NFC, which clean_text applies).
    nfc = unicodedata.normalize("NFC", text)
    expected = " ".join(to_arabic_digits(pythainlp_normalize(nfc)).split())
    assert clean_text(text) == expected


# Marks and vowels, often repeated, with consonants and spaces between: every repeated-vowel
# pass of pythainlp's normalize has something to match (and most texts skip most passes).
_MARKY = st.text(st.sampled_from("กขมนอวย เแโใไะาำๅัิีึืุู็่้๊๋์ํฺ\u0e4e"), max_size=20)


@settings(max_examples=400, deadline=None)
@given(_MARKY)
def test_thai_normalize_equals_pythainlps(text: str) -> None:
    from com.text.thai import _thai_normalize

    assert _thai_normalize(text) == pythainlp_normalize(text)


@pytest.mark.parametrize("value", [None, "", "  ", "-", "nan", float("nan"), "\u200b"])
def test_blank_cells(value: object) -> None:
    assert is_blank(value)


@pytest.mark.parametrize("value", ["0", 0, "ต.ด่าน", dt.date(2024, 1, 1)])
def test_not_blank_cells(value: object) -> None:
    assert not is_blank(value)


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21/08/2566", dt.date(2023, 8, 21)),
        ("21/8/2566", dt.date(2023, 8, 21)),
        ("21-08-2566", dt.date(2023, 8, 21)),
        ("21.08.2566", dt.date(2023, 8, 21)),
        ("๒๑/๘/๒๕๖๖", dt.date(2023, 8, 21)),
        ("8 มิ.ย. 67", dt.date(2024, 6, 8)),
        ("8 มิ.ย.67", dt.date(2024, 6, 8)),
        ("8 มิย 67", dt.date(2024, 6, 8)),
        ("๘ มิ.ย. ๖๗", dt.date(2024, 6, 8)),
        ("1 ม.ค. 2566", dt.date(2023, 1, 1)),
        ("1 มกราคม 2566", dt.date(2023, 1, 1)),
        ("1 มกราคม พ.ศ. 2566", dt.date(2023, 1, 1)),
        ("วันที่ 1 มกราคม พ.ศ. 2566", dt.date(2023, 1, 1)),
        ("วันจันทร์ที่ 2 ตุลาคม 2566", dt.date(2023, 10, 2)),
        ("1 ตุลา 66", dt.date(2023, 10, 1)),
        ("29 ก.พ. 67", dt.date(2024, 2, 29)),
        ("2024-10-11", dt.date(2024, 10, 11)),
        ("2024-10-11T10:30:00", dt.date(2024, 10, 11)),
        ("2024-10-11 10:30", dt.date(2024, 10, 11)),
        ("2567-10-11", dt.date(2024, 10, 11)),
        ("21/08/2023", dt.date(2023, 8, 21)),
        ("21/08/66", dt.date(2023, 8, 21)),
        ("21/08/2566 14.30 น.", dt.date(2023, 8, 21)),
        ("21 Aug 2023", dt.date(2023, 8, 21)),
        ("Aug 21, 2023", dt.date(2023, 8, 21)),
        ("1 ม.ค. 2023 ค.ศ.", dt.date(2023, 1, 1)),
    ],
)
def test_dates_as_thai_offices_write_them(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


def test_date_objects_excel_serials_and_be_years_in_date_cells() -> None:
    assert parse_date(dt.date(2024, 6, 8)) == dt.date(2024, 6, 8)
    assert parse_date(dt.datetime(2024, 6, 8, 13, 5)) == dt.date(2024, 6, 8)
    # A Buddhist year typed into an Excel date cell.
    assert parse_date(dt.datetime(2566, 8, 21)) == dt.date(2023, 8, 21)
    # Excel serial day 45159 is 2023-08-21 (day 1 = 1900-01-01 with Excel's leap-year bug).
    assert parse_date(45159) == dt.date(2023, 8, 21)
    assert parse_date(45159.75) == dt.date(2023, 8, 21)


@pytest.mark.parametrize("value", [None, "", "   ", float("nan")])
def test_empty_dates_are_none(value: object) -> None:
    assert parse_date(value) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31/02/2566", "does not exist"),
        ("13/13/2566", "month 13"),
        ("21/13/2566", "day/month/year"),
        ("1 ก.ข. 2566", "not a month"),
        ("abc", "not in a known form"),
        ("2566", "not in a known form"),
        ("1/1/1066", "outside"),
        (12, "number"),
        (True, "not a date"),
        (float("inf"), "not a date"),
    ],
)
def test_bad_dates_raise_parse_error_with_reason(value: object, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_date(value)


def test_format_thai_date() -> None:
    day = dt.date(2024, 6, 8)
    assert format_thai_date(day) == "8 มิ.ย. 2567"
    assert format_thai_date(day, year_digits=2) == "8 มิ.ย. 67"
    assert format_thai_date(day, month_style="full") == "8 มิถุนายน 2567"
    assert format_thai_date(day, month_style="number", thai_digits=True) == "๐๘/๐๖/๒๕๖๗"


def test_month_tables() -> None:
    assert len(THAI_MONTHS_FULL) == len(THAI_MONTHS_ABBR) == 12
    assert THAI_MONTHS_ABBR[5] == "มิ.ย." and THAI_MONTHS_FULL[0] == "มกราคม"


dates = st.dates(min_value=dt.date(1957, 1, 1), max_value=dt.date(2056, 12, 31))


@settings(max_examples=300, deadline=None)
@given(dates, st.booleans())
def test_dates_round_trip_dd_mm_be(day: dt.date, thai: bool) -> None:
    text = f"{day.day:02d}/{day.month:02d}/{day.year + 543}"
    assert parse_date(to_thai_digits(text) if thai else text) == day


@settings(max_examples=300, deadline=None)
@given(dates, st.sampled_from(["abbr", "full"]), st.sampled_from([2, 4]), st.booleans())
def test_dates_round_trip_thai_month_names(
    day: dt.date, style: str, digits: int, thai: bool
) -> None:
    # Two-digit years are 25xx BE, so every date 1957-2056 (2500-2599 BE) comes back.
    text = format_thai_date(day, month_style=style, year_digits=digits, thai_digits=thai)
    assert parse_date(text) == day


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=40))
def test_parse_date_never_raises_anything_but_parse_error(text: str) -> None:
    try:
        result = parse_date(text)
    except ParseError:
        return
    assert result is None or isinstance(result, dt.date)


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"\A[0-9๐-๙]{1,4}[ /.\-]{0,2}[0-9๐-๙ก-ฮ.]{0,6}[ /.\-]{0,2}[0-9๐-๙]{0,5}\Z"))
def test_parse_date_date_like_text_never_crashes(text: str) -> None:
    with contextlib.suppress(ParseError):
        parse_date(text)


# --------------------------------------------------------------------------- fiscal years


@pytest.mark.parametrize(
    ("day", "fy"),
    [
        (dt.date(2024, 9, 30), 2567),
        (dt.date(2024, 10, 1), 2568),
        (dt.date(2025, 1, 15), 2568),
        (dt.date(2025, 9, 30), 2568),
        (dt.date(2025, 10, 1), 2569),
    ],
)
def test_fiscal_year_be(day: dt.date, fy: int) -> None:
    assert fiscal_year_be(day) == fy


def test_fiscal_year_bounds() -> None:
    assert fiscal_year_bounds(2568) == (dt.date(2024, 10, 1), dt.date(2025, 9, 30))
    with pytest.raises(ParseError):
        fiscal_year_bounds(2024)


@given(st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2100, 12, 31)))
def test_every_day_lies_within_its_fiscal_year(day: dt.date) -> None:
    start, end = fiscal_year_bounds(fiscal_year_be(day))
    assert start <= day <= end
    assert (end - start).days in (364, 365)


# --------------------------------------------------------------------------- severity


def _packaged_levels() -> dict[int, list[str]]:
    resource = files("com.config").joinpath("severity.toml")
    if not resource.is_file():
        return {}
    levels = tomllib.loads(resource.read_text(encoding="utf-8")).get("levels", {})
    words: dict[int, list[str]] = {}
    for key, entry in levels.items():
        items = entry.values() if isinstance(entry, dict) else [entry]
        for item in items:
            words.setdefault(int(key), []).extend([item] if isinstance(item, str) else item)
    return words


def test_severity_words_come_from_the_risk_model_file() -> None:
    levels = _packaged_levels()
    assert levels, "com/config/severity.toml with a [levels] table is expected"
    for level, words in levels.items():
        for word in words:
            assert parse_severity(word) == level, word
            assert parse_severity(f"  {word.upper()} ") == level, word


@pytest.mark.parametrize(
    ("value", "level"),
    [
        (1, 1),
        (5, 5),
        (3.0, 3),
        ("4", 4),
        ("๒", 2),
        ("3.0", 3),
        ("ระดับ 3", 3),
        ("ระดับความรุนแรง ๔", 4),
        ("สูงมาก", 5),
        ("วิกฤต", 5),
        ("ปานกลาง", 3),
        ("High", 4),
        ("very high", 5),
        ("4 (สูง)", 4),
        ("สูง (4)", 4),
    ],
)
def test_severity_numbers_and_words(value: object, level: int) -> None:
    assert parse_severity(value) == level


def test_rather_low_sits_between_low_and_medium() -> None:
    # Offices use ต่ำ < ค่อนข้างต่ำ < ปานกลาง; the file's words win, the default fills gaps.
    assert parse_severity("ต่ำ") <= parse_severity("ค่อนข้างต่ำ") < parse_severity("ปานกลาง")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "empty"),
        ("", "empty"),
        (0, "not a level"),
        (6, "not a level"),
        (2.5, "not a level"),
        ("45", "not a level"),
        (True, "not a level"),
        ("4 (ต่ำ)", "disagree"),
        ("ร้ายแรงพิเศษ", "not 1-5 or a known word"),
    ],
)
def test_bad_severity(value: object, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_severity(value)


def test_severity_words_from_an_override_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "severity.toml"
    path.write_text(
        '[levels]\n1 = ["เล็กน้อย"]\n5 = { th = "อันตรายมาก", words = ["แดง"] }\n',
        encoding="utf-8",
    )
    words = load_severity_words(path)
    assert parse_severity("แดง", words=words) == 5
    assert parse_severity("อันตรายมาก", words=words) == 5
    assert parse_severity("เล็กน้อย", words=words) == 1
    assert parse_severity("ปานกลาง", words=words) == 3  # packaged levels 2-4 are kept
    bad = tmp_path / "bad.toml"
    bad.write_text("[levels]\n7 = ['x']\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_severity_words(bad)


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=30), st.integers(), st.floats()))
def test_parse_severity_never_raises_anything_but_parse_error(value: object) -> None:
    try:
        level = parse_severity(value)
    except ParseError:
        return
    assert level in (1, 2, 3, 4, 5)
