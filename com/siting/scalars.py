"""Plain Python values from numpy scalars, arrays and dates, for JSON and spreadsheets."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np


def plain_scalar(value: Any) -> Any:
    """Return a numpy integer or float as a Python one; any other value unchanged.

    Examples
    --------
    >>> plain_scalar(np.int64(3)), plain_scalar("a")
    (3, 'a')
    """
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def json_default(value: Any) -> Any:
    """Return what :func:`json.dumps` writes for a value it cannot (its ``default=``).

    Examples
    --------
    >>> json_default(np.arange(2)), json_default(date(2026, 1, 2))
    ([0, 1], '2026-01-02')
    """
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | set):
        return list(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)
