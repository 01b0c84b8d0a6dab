"""Filter values read as their queryable's type (numbers, dates, categories) and range-checked."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.sql.elements import ColumnElement

from com.config.severity import Category, alias_index, match_category
from com.db.integers import BIGINT, range_of
from com.errors import InvalidQuery
from com.ogc.collections import Queryable
from com.text.thai import to_arabic_digits

#: Thai local time: a datetime instant is matched against the Thai calendar date of reports.
THAI_TZ = ZoneInfo("Asia/Bangkok")


def parse_number(text: str, what: str) -> float:
    """Return a finite number from text (Thai digits allowed); ``what`` names it in errors."""
    try:
        value = float(to_arabic_digits(text.strip()))
    except ValueError:
        raise InvalidQuery(f"{what}: {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidQuery(f"{what}: {text!r} is not a finite number")
    return value


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_instant(text: str) -> date:
    """Return the Thai calendar date of an RFC 3339 date or zoned date-time."""
    text = text.strip()
    try:
        if _DATE_RE.match(text):
            return date.fromisoformat(text)
        if "T" not in text.upper():
            raise ValueError(text)
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidQuery(
            f"datetime: {text!r} is not an RFC 3339 date (2024-05-01) or date-time "
            "(2024-05-01T10:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        raise InvalidQuery(f"datetime: {text!r} needs a time zone (Z or +07:00)")
    # Reports carry a Thai calendar date: compare in Asia/Bangkok.
    return moment.astimezone(THAI_TZ).date()


def coerce_value(queryable: Queryable, value: Any) -> Any:
    """Convert a filter value (text or a CQL2 literal) to the queryable's type.

    Raises
    ------
    InvalidQuery
        When the value cannot be read as that type.
    """
    kind = queryable.type
    if kind == "string":
        if isinstance(value, bool | int | float):
            return str(value)
        if not isinstance(value, str):
            raise InvalidQuery(f"{queryable.name} takes text, got {value!r}")
        return value
    if kind == "integer":
        if isinstance(value, bool):
            raise InvalidQuery(f"{queryable.name} takes a whole number, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(to_arabic_digits(value.strip()))
            except ValueError:
                pass
        raise InvalidQuery(f"{queryable.name} takes a whole number, got {value!r}")
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            return parse_number(value, queryable.name)
        raise InvalidQuery(f"{queryable.name} takes a number, got {value!r}")
    if kind == "date":
        if isinstance(value, datetime):
            return value.astimezone(THAI_TZ).date() if value.tzinfo else value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            return parse_instant(value)
        raise InvalidQuery(f"{queryable.name} takes a date (2024-05-01), got {value!r}")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidQuery(f"{queryable.name} takes true or false, got {value!r}")


def check_range(queryable: Queryable, column: ColumnElement[Any], value: Any) -> Any:
    """Return ``value`` when the property's column type can hold it.

    PostgreSQL casts a bound integer to the column's type (smallint, integer, bigint) and
    fails the whole statement when it does not fit, so such values are refused here.

    Raises
    ------
    InvalidQuery
        An integer outside the range of the column's type (a smallint severity of 40000,
        an upload id beyond bigint).
    """
    if queryable.type != "integer":
        return value
    bounds = range_of(column.type) or BIGINT
    if value not in bounds:
        raise InvalidQuery(
            f"{queryable.name}: {value} is out of range; it holds whole numbers from "
            f"{bounds.low} to {bounds.high}"
        )
    return value


def category_filter_key(value: str, categories: Mapping[str, Category]) -> str:
    """Map a category spelling to its key by the one exact rule (unknown names pass through).

    :func:`com.config.severity.match_category`: every spelling an upload accepts exactly
    selects the same category here.
    """
    return match_category(value, alias_index(categories.values())) or value.strip()
