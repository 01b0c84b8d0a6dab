"""Coordinate cells read before the parser: NaN and infinity, exponents, plain decimals."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from com.geo.coords import in_thailand_bbox
from com.ingest.options import RowRejected
from com.ingest.readers import json_safe
from com.text.thai import clean_text

__all__ = ["decimal_column", "fast_decimal", "is_non_finite", "number_cell", "number_pair"]

_NON_FINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


def is_non_finite(value: object) -> bool:
    """Return True for a NaN or infinite cell: a float, or text such as "NaN" or "-inf"."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, str):
        head = value.lstrip()[:1]
        if not head or head not in "+-nNiI":  # fast path: numbers, DMS, links, UTM text
            return False
        return clean_text(value).lower().replace(" ", "") in _NON_FINITE
    return False


_PLAIN_DECIMAL = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{1,15})?")


def _plain_decimal(value: object) -> float | None:
    """Return a plain ASCII decimal (a float cell or text like ``14.8818``), else None."""
    if type(value) is float or type(value) is int:
        number = float(value)
        return number if math.isfinite(number) else None
    if type(value) is str and _PLAIN_DECIMAL.fullmatch(value):
        return float(value)
    return None


def fast_decimal(cells: Mapping[str, Any], datum: str) -> tuple[float, float] | None:
    """Read the commonest row without the general parser, or return None.

    The commonest row holds two plain decimals already in latitude, longitude order inside
    the box around Thailand, in WGS 84. Anything else (swapped, DMS, Thai digits, UTM, links,
    other datum) goes to parse_coordinate, which returns the same values for these
    (tests/ingest/readers/test_readers.py checks it).
    """
    if (datum != "wgs84" or cells.get("location") is not None
            or cells.get("easting") is not None or cells.get("mgrs") is not None):
        return None
    lat, lon = _plain_decimal(cells.get("lat")), _plain_decimal(cells.get("lon"))
    if lat is None or lon is None or not in_thailand_bbox(lat, lon):
        return None
    return lat, lon


#: A number written with an exponent ("1.49e1", "1e309"); Thai digits are made Arabic first.
_EXPONENT_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+")
_PLAIN_NUMBER = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)")
_NEGATIVE_ZERO = re.compile(r"-0*\.?0*")
_PAIR_SPLIT = re.compile(r"\s*[,;]\s*|\s+")


def number_cell(value: Any, column: str | None) -> Any:
    """Return a coordinate cell ready for the parser: exponent notation as a float.

    The coordinate parser reads decimals, DMS, UTM and MGRS text; "1e309" would be split
    into "1" and "e309" and refused for holding two values. A number with an exponent is a
    number: it is read here, and one too large for a float (infinite) is refused as such.
    A negative zero becomes 0 so the outside-Thailand reason does not print "-0.000000".

    Raises
    ------
    RowRejected
        For a number beyond the range of floating point (``1e309``) or NaN/Infinity.
    """
    if type(value) is not str:
        if isinstance(value, float) and not math.isfinite(value):
            raise RowRejected(
                f"coordinate {json_safe(value)!r} is not a finite number (NaN/Infinity)", column)
        return value
    text = clean_text(value).replace(" ", "")
    if _NEGATIVE_ZERO.fullmatch(text) and any(ch == "0" for ch in text):
        return 0.0
    if not _EXPONENT_NUMBER.fullmatch(text):
        return value
    number = float(text)
    if not math.isfinite(number):
        raise RowRejected(
            f"coordinate {value!r} is not a finite number: {text} is out of range (too large "
            "for any coordinate)", column)
    return number + 0.0  # -0.0 -> 0.0


def number_pair(value: Any, column: str | None) -> tuple[float, float] | None:
    """Read a one-cell "lat, lon" of two numbers when one of them has an exponent, else None.

    Raises
    ------
    RowRejected
        When a part is NaN/Infinity or a number out of range.
    """
    if type(value) is not str:
        return None
    parts = _PAIR_SPLIT.split(clean_text(value).strip())
    if len(parts) != 2:
        return None
    if any(p.lower().lstrip("+-") in _NON_FINITE for p in parts) and all(
        _EXPONENT_NUMBER.fullmatch(p) or _PLAIN_NUMBER.fullmatch(p)
        or p.lower().lstrip("+-") in _NON_FINITE for p in parts
    ):
        raise RowRejected(f"coordinate {value!r} is not a finite number (NaN/Infinity)", column)
    if not any(_EXPONENT_NUMBER.fullmatch(p) for p in parts) or not all(
        _EXPONENT_NUMBER.fullmatch(p) or _PLAIN_NUMBER.fullmatch(p) for p in parts
    ):
        return None
    first, second = (number_cell(p, column) for p in parts)
    return float(first), float(second)


def decimal_column(values: Sequence[Any]) -> np.ndarray:
    """Read a column of cells as floats at once (pandas, in C); NaN for anything else.

    Besides plain decimals this reads exponents ("1.49e1") and numeric cells; every value it
    gives is the value the coordinate parser gives for the cell (test_readers.py checks it).
    Thai digits, DMS, UTM and the like are NaN here and go to the parser.
    """
    import pandas as pd  # deferred: pandas is heavy, and only column reads need it

    series = pd.Series(values, dtype=object)
    bools = series.map(type).isin((bool, np.bool_))  # True/False are not coordinates
    numbers = pd.to_numeric(series.mask(bools), errors="coerce")
    return numbers.to_numpy(dtype=float, na_value=np.nan)

