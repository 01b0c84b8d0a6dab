"""The one formula-escaping rule (com.io.escape) in every CSV and XLSX writer."""

from __future__ import annotations

import csv
import io

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from com.analysis import risk
from com.io.escape import escape_formula, needs_escape
from com.io.exports import to_csv, to_xlsx
from com.siting.patrols import write_patrols

DATA = ["-12.5", "+3", "1e5", "-.5", "42", "ปกติ", ""]
FORMULAS = ["-1+1", "=SUM(A1)", "+66 81", "@x", "\tx", "\r=x", "-", "-inf", "-cmd|' /C calc'!A0"]


@pytest.mark.parametrize("text", DATA)
def test_text_that_is_a_number_or_plain_is_data(text):
    assert not needs_escape(text)
    assert escape_formula(text) == text


@pytest.mark.parametrize("text", FORMULAS)
def test_formula_like_text_gets_an_apostrophe(text):
    assert needs_escape(text)
    assert escape_formula(text) == "'" + text


@pytest.mark.parametrize("number", [-12.5, -3, 0, 1e5])
def test_numbers_are_never_escaped(number):
    assert escape_formula(number) == number and not needs_escape(number)


def _frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"id": list(range(len(DATA) + len(FORMULAS))),
         "note": DATA + FORMULAS,
         "delta": [-4.25] * (len(DATA) + len(FORMULAS))},
        geometry=[shapely.Point(103.1, 14.9)] * (len(DATA) + len(FORMULAS)), crs=4326,
    )


def _expected(text: str) -> str:
    return "'" + text if text in FORMULAS else text


def _xml(text: str) -> str:
    # openpyxl writing with lxml (installed with python-docx, issue 18) keeps a carriage return
    # as &#13;; with the standard library's writer XML reads it back as a line feed.
    return text if openpyxl.LXML else text.replace("\r", "\n")


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))


def test_export_csv_and_xlsx():
    rows = _csv_rows(to_csv(_frame()).decode("utf-8"))
    header = rows[0]
    notes = [r[header.index("note")] for r in rows[1:]]
    assert notes == [_expected(t) for t in DATA + FORMULAS]
    assert {r[header.index("delta")] for r in rows[1:]} == {"-4.25"}

    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(_frame())))
    sheet = book.worksheets[0]
    names = [c.value for c in sheet[1]]
    cells = [row[names.index("note")] for row in sheet.iter_rows(min_row=2)]
    for cell, text in zip(cells, DATA + FORMULAS, strict=True):
        # XLSX: formula-like text is a text cell with Excel's quote prefix, data stays as typed.
        assert (cell.value or "") == _xml(text)
        assert cell.data_type == "s" or cell.value is None
        assert bool(cell.quotePrefix) == (text in FORMULAS)
    assert {row[names.index("delta")].value for row in sheet.iter_rows(min_row=2)} == {-4.25}


def test_ranking_csv_and_xlsx(tmp_path):
    frame = gpd.GeoDataFrame(
        {"rank": range(1, len(DATA) + len(FORMULAS) + 1),
         "subdistrict_code": DATA + FORMULAS, "risk_score": [-4.25] * (len(DATA) + len(FORMULAS))},
        geometry=[shapely.Point(103.1, 14.9)] * (len(DATA) + len(FORMULAS)), crs=4326,
    )
    path = risk.write_areas(frame, tmp_path / "r.csv", level="subdistrict")
    rows = _csv_rows(path.read_bytes().decode("utf-8-sig"))
    assert [r[1] for r in rows[1:]] == [_expected(t) for t in DATA + FORMULAS]
    assert {r[2] for r in rows[1:]} == {"-4.25"}
    path = risk.write_areas(frame, tmp_path / "r.xlsx", level="subdistrict")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    values = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert [v or "" for v in values] == [_xml(_expected(t)) for t in DATA + FORMULAS]
    assert {row[2].value for row in sheet.iter_rows(min_row=2)} == {-4.25}


def test_patrol_list_csv_and_xlsx(tmp_path):
    plan = pd.DataFrame({"subdistrict_th": DATA + FORMULAS,
                         "risk_score": [-4.25] * (len(DATA) + len(FORMULAS))})
    plan.attrs.update({"per_district": 3, "province_code": "32", "as_of": "2025-01-01"})
    path = write_patrols(plan, tmp_path / "p.csv")
    rows = _csv_rows(path.read_bytes().decode("utf-8-sig"))
    assert [r[0] for r in rows[1:]] == [_expected(t) for t in DATA + FORMULAS]
    assert {r[1] for r in rows[1:]} == {"-4.25"}
    path = write_patrols(plan, tmp_path / "p.xlsx")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    values = [row[0].value for row in sheet.iter_rows(min_row=2)]
    assert [v or "" for v in values] == [_xml(_expected(t)) for t in DATA + FORMULAS]
    assert {row[1].value for row in sheet.iter_rows(min_row=2)} == {-4.25}
