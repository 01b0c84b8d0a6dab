"""Issue 18: the brief's Thai line breaking, plain-Thai verdicts and number formats."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from com.brief.content import Numbers
from com.brief.kpi_section import change_words_th, threat_series
from com.brief.thaiwrap import thai_words, wrap_thai

SENTENCE = "จำนวนเหตุปีนี้ไม่เกินระดับบนเส้นทางสู่การลดลงร้อยละ 80 ภายในปีงบประมาณ 2570 (ปีฐาน 2566)"


def test_thai_lines_break_between_words_only():
    words = set(thai_words(SENTENCE))
    lines = wrap_thai(SENTENCE, 20, len)
    assert len(lines) > 3
    assert "".join(lines).replace(" ", "") == SENTENCE.replace(" ", "")
    for line in lines:
        # Every line is made of whole words: it starts where a word starts.
        assert any(line.startswith(w.strip()) for w in words if w.strip()), line
    assert "ร้อยละ" in "".join(lines) and not any(line.endswith("ร้อย") for line in lines)
    # An opening bracket stays with the word after it.
    assert not any(line.endswith("(") for line in wrap_thai(SENTENCE, 30, len))


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="กขคงจฉชซญฎดตถทนบปผพภมยรลวศสหอฮะาำิีึืุูเแโใไ่้๊๋็์ ()0123456789\n",
               max_size=80), st.integers(min_value=1, max_value=40))
def test_wrapping_keeps_every_character(text, width):
    lines = wrap_thai(text, width, len)
    joined = "".join(lines).replace(" ", "").replace("\n", "")
    assert joined == text.replace(" ", "").replace("\n", "")


def test_change_is_said_in_plain_thai_without_p_values():
    assert change_words_th(30, 15, True) == "ลดลงจริง (มีนัยสำคัญทางสถิติ)"
    assert "ความผันผวน" in change_words_th(5, 8, False)
    assert change_words_th(0, 0, False) == "ไม่มีเหตุทั้งสองปี"
    assert change_words_th(4, 4, False) == "เท่าเดิม"
    assert all("p =" not in change_words_th(a, b, s) for a in (0, 3) for b in (0, 9)
               for s in (True, False))


def test_numbers_dates_and_thai_digits():
    arabic, thai = Numbers(False), Numbers(True)
    assert arabic(1234) == "1,234" and thai(1234) == "๑,๒๓๔"
    assert arabic.pct(-37.5) == "-37.5%" and arabic.pct(None) == "-"
    assert arabic.year(2568) == "2568" and thai.year(2568) == "๒๕๖๘"
    assert arabic.date(dt.date(2025, 12, 3)) == "3 ธ.ค. 2568"


def test_threat_series_follows_the_reports_path():
    report = {
        "fiscal_year_be": 2568, "period": {"partial": False},
        "targets": {"previous": {"incidents": 96}, "this": {"incidents": 60},
                    "reduction_target_pct": 10.0},
        "path": {"baseline_fiscal_year_be": 2566, "baseline_value": 41,
                 "final_fiscal_year_be": 2570, "required_annual_reduction": 0.331},
    }
    series = threat_series(report)
    assert series.fiscal_years == [2566, 2567, 2568]
    assert series.incidents == [41.0, 96.0, 60.0]
    assert series.path_years == [2566, 2567, 2568, 2569, 2570]
    assert series.yearly_path[0] == 41 and abs(series.yearly_path[2] - 41 * 0.81) < 1e-9
    assert abs(series.final_path[-1] - 41 * (1 - 0.331) ** 4) < 1e-9


def test_thai_digits_reach_every_sentence():
    from com.brief.content import Heading, Picture, Table, Text, thai_digit_block

    assert thai_digit_block(Text("ลดลงร้อยละ 10 (-37.5%)")).text == "ลดลงร้อยละ ๑๐ (-๓๗.๕%)"
    assert thai_digit_block(Heading("ปีงบประมาณ 2568", 1)) == Heading("ปีงบประมาณ ๒๕๖๘", 1)
    table = thai_digit_block(Table(["ปีงบ 2567"], [["30"]], [1.0]))
    assert table == Table(["ปีงบ ๒๕๖๗"], [["๓๐"]], [1.0])
    picture = Picture(b"png")
    assert thai_digit_block(picture) is picture


def test_thai_marks_are_shaped_in_the_pdf() -> None:
    """HarfBuzz places tone marks above upper vowels (ที่, ปั้น): without it they overlap."""
    from com.brief.pdf import thai_shaping

    assert thai_shaping()
