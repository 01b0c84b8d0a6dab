"""The one spreadsheet formula-escaping rule, used by every CSV and XLSX writer."""

from __future__ import annotations

import re
from typing import TypeVar

__all__ = ["FORMULA_PREFIXES", "escape_formula", "needs_escape"]

#: A spreadsheet may run text beginning with one of these as a formula (OWASP CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: Text that is just a number (``-12.5``, ``+3``, ``1e5``, ``-.5``) is data, not a formula.
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")

T = TypeVar("T")


def needs_escape(value: object) -> bool:
    """Tell whether a cell is text a spreadsheet would run as a formula.

    True for text beginning with ``= + - @``, a tab or a carriage return, unless the whole text
    is a plain number. Numbers themselves (int, float, Decimal, numpy) never need escaping.

    Examples
    --------
    >>> needs_escape("-1+1"), needs_escape("-12.5"), needs_escape(-12.5)
    (True, False, False)
    """
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and _NUMBER.fullmatch(value) is None
    )


def escape_formula(value: T) -> T | str:
    """Return a cell made safe for a spreadsheet: formula-like text gets a leading apostrophe.

    Parameters
    ----------
    value : object
        The cell; anything that is not text is returned unchanged.

    Returns
    -------
    object
        ``"'" + value`` when :func:`needs_escape`, else ``value`` itself.

    Examples
    --------
    >>> escape_formula("=SUM(A1)"), escape_formula("+66 81"), escape_formula("@x")
    ("'=SUM(A1)", "'+66 81", "'@x")
    >>> escape_formula("-12.5"), escape_formula("+3"), escape_formula("1e5"), escape_formula(-3)
    ('-12.5', '+3', '1e5', -3)
    """
    if needs_escape(value):
        return "'" + str(value)
    return value
