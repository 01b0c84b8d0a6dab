"""Cells read a column at a time agree with the cell-by-cell reading (com/ingest/cells.py)."""

from __future__ import annotations

import random

import pytest

from com.ingest.cells import all_tidy_text
from com.ingest.records import cell_text

TIDY = ["จุดเสี่ยงที่ 1", "บ้านหนองคู", "ด่านช่องจอม/จุดผ่อนปรน", "Chong Chom", "7-11 หน้าตลาด"]
#: Each one makes a column untidy or blank somewhere: the column check must say no.
UNTIDY = [
    " นำหน้า", "ตามหลัง ", "สอง  ช่อง", "แท็บ\tกลาง", "ขึ้น\nบรรทัด", "ซ่อน\u200bอยู่",
    "e\u0301", "n/a", "N/A", "-", "", "null", "nan", "ก | ", "\u0301นำ",
]


def test_a_tidy_column_is_its_own_text() -> None:
    assert all_tidy_text(TIDY)
    assert [cell_text(v) for v in TIDY] == TIDY


@pytest.mark.parametrize("odd", UNTIDY)
def test_one_odd_cell_sends_the_column_cell_by_cell(odd: str) -> None:
    column = [*TIDY, odd, *TIDY]
    assert not all_tidy_text(column)


@pytest.mark.parametrize("seed", range(5))
def test_the_column_check_never_says_yes_where_a_cell_would_change(seed: int) -> None:
    rng = random.Random(seed)
    pieces = ["ก", "ข", "a", "N", "1", " ", "  ", "|", "\t", "\u0301", "\u200b", "é", "e", "-"]
    for _ in range(2000):
        column = ["".join(rng.choice(pieces) for _ in range(rng.randint(1, 4)))
                  for _ in range(rng.randint(1, 3))]
        if all_tidy_text(column):
            assert [cell_text(v) for v in column] == column, column


def test_other_cells_are_not_taken_for_text() -> None:
    assert not all_tidy_text([])
    assert not all_tidy_text(["ก", None])
    assert not all_tidy_text(["ก", 1.5])
