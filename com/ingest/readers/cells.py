"""Cell values as readers find them: blank or number-like cells, and plain Python values."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Sequence
from datetime import date, datetime, time
from decimal import Decimal

from com.text.thai import clean_text

__all__ = [
    "cell_text",
    "is_blank_cell",
    "is_blank_row",
    "is_numberish",
    "json_safe",
    "plain_value",
]


def is_blank_cell(value: object) -> bool:
    """Whether a cell holds nothing: None, NaN or only spaces."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def is_numberish(value: object) -> bool:
    """Whether a cell holds a number or a date (in a header row: not a column name)."""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return True
    if isinstance(value, datetime | date):
        return True
    if isinstance(value, str):
        try:
            float(clean_text(value).replace(",", ""))
        except ValueError:
            return False
        return True
    return False


def cell_text(value: object) -> str:
    """Return a cell as cleaned text, blank cells as ``""``."""
    return "" if is_blank_cell(value) else clean_text(str(value))


def is_blank_row(row: Sequence[object]) -> bool:
    """Whether every cell is blank; decided by the first filled cell in most rows."""
    for value in row:
        if value is None:
            continue
        return is_blank_cell(value) and all(is_blank_cell(v) for v in row)
    return True


def plain_value(value: object) -> object:
    """Numpy and pandas scalars to plain Python; missing values to None."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    if isinstance(value, bytes):
        return value.hex()
    return value


def json_safe(value: object) -> object:
    """Return a cell value as JSON: numbers and text as they are, dates as ISO text."""
    value = plain_value(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
