"""PostgreSQL integer types and the values they hold, so callers refuse the rest before SQL runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True)
class IntegerRange:
    """The values of one PostgreSQL integer type (both ends inclusive)."""

    name: str
    low: int
    high: int

    def __contains__(self, value: object) -> bool:
        """Return True when ``value`` is an int this type can hold."""
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and self.low <= value <= self.high
        )


SMALLINT = IntegerRange("smallint", -(2**15), 2**15 - 1)
INTEGER = IntegerRange("integer", -(2**31), 2**31 - 1)
BIGINT = IntegerRange("bigint", -(2**63), 2**63 - 1)


def range_of(type_: Any) -> IntegerRange | None:
    """Return the range of a SQLAlchemy column type, or None when it is no integer type.

    Examples
    --------
    >>> range_of(sa.SmallInteger()).high
    32767
    >>> range_of(sa.Float()) is None
    True
    """
    # SmallInteger and BigInteger subclass Integer: the specific ones first.
    if isinstance(type_, sa.SmallInteger):
        return SMALLINT
    if isinstance(type_, sa.BigInteger):
        return BIGINT
    if isinstance(type_, sa.Integer):
        return INTEGER
    return None
