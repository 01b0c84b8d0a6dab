"""Typed integer parameters: path ids and query integers within what the database can hold.

PostgreSQL casts a bound integer to its column's type and fails the whole statement when it
does not fit (a 500), so every integer that reaches SQL is bounded here first: a query value
out of range is a 400 (FastAPI's validation), a path id no row can have is a 404.
"""

# No `from __future__ import annotations`: FastAPI must evaluate the annotations of the
# dependency made in record_id, which refer to its arguments.
import datetime as dt
import re
from collections.abc import Callable
from typing import Annotated

from fastapi import Path, Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BeforeValidator

from com.analysis.kpi import FISCAL_YEAR_BE_MAX, FISCAL_YEAR_BE_MIN
from com.db.integers import BIGINT
from com.errors import NotFoundError

#: numpy's legacy seeding (esda's permutation inference) takes 0 .. 2^32 - 1.
SEED_MAX = 2**32 - 1


def record_id(name: str, what: str) -> Callable[..., int]:
    """Dependency for the path parameter ``name``: a bigint identity id (1 .. 2^63 - 1).

    Ids outside that range cannot name a row, so they answer 404 like any missing record
    (never a database error). Text that is no integer at all stays a 400.
    """

    def dependency(
        value: Annotated[
            int,
            Path(
                alias=name,
                description=f"The {what}'s id",
                json_schema_extra={"minimum": 1, "maximum": BIGINT.high, "format": "int64"},
            ),
        ],
    ) -> int:
        if not 1 <= value <= BIGINT.high:
            raise NotFoundError(f"{what} {value} does not exist")
        return value

    return dependency


FiscalYear = Annotated[
    int,
    Query(
        ge=FISCAL_YEAR_BE_MIN,
        le=FISCAL_YEAR_BE_MAX,
        description="Fiscal year (Buddhist era), e.g. 2568",
    ),
]
OptionalFiscalYear = Annotated[
    int | None,
    Query(
        ge=FISCAL_YEAR_BE_MIN,
        le=FISCAL_YEAR_BE_MAX,
        description="Fiscal year (Buddhist era), e.g. 2568",
    ),
]
Seed = Annotated[
    int | None,
    Query(
        ge=0,
        le=SEED_MAX,
        description="Seed of the permutations (0 .. 2^32 - 1)",
    ),
]
Offset = Annotated[int, Query(ge=0, le=BIGINT.high, description="Rows to skip")]
#: Issue 16: a region (com/config/regions.toml) wherever a province is accepted.
RegionParam = Annotated[
    str | None,
    Query(max_length=100, description="Region instead of one province, e.g. isoc-2 or oncb-3"),
]


#: Report dates COM can hold: well before any list it serves, and the Common Era (a
#: Buddhist-era year such as 2568-01-01 is refused with a hint rather than matching nothing).
FIRST_DATE = dt.date(1900, 1, 1)
LAST_DATE = dt.date(2199, 12, 31)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: object) -> object:
    # Pydantic would read "0" or "1700000000" as a Unix time (1970-01-01 ...): dates here
    # are calendar dates, written YYYY-MM-DD.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value.strip()):
        raise ValueError(f"{value!r} is not a date written YYYY-MM-DD (e.g. 2024-05-01)")
    return value.strip() if isinstance(value, str) else value


def _sensible_date(value: dt.date | None) -> dt.date | None:
    if value is None or FIRST_DATE <= value <= LAST_DATE:
        return value
    hint = (
        f"; {value.year} looks like a Buddhist-era year, write {value.year - 543}"
        if value.year >= 2400
        else ""
    )
    raise ValueError(f"{value} is outside {FIRST_DATE} .. {LAST_DATE}{hint}")


#: An optional calendar date (YYYY-MM-DD) within FIRST_DATE .. LAST_DATE.
CalendarDate = Annotated[dt.date | None, BeforeValidator(_iso_date), AfterValidator(_sensible_date)]
DateFrom = Annotated[CalendarDate, Query(alias="from", description="First date (inclusive)")]
DateTo = Annotated[CalendarDate, Query(alias="to", description="Last date (inclusive)")]
AsOf = Annotated[CalendarDate, Query(description="Date ages count back from")]


def check_period(date_from: dt.date | None, date_to: dt.date | None) -> None:
    """Refuse a period whose first day is after its last (400, like any bad parameter)."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "from"),
                    "msg": f"from ({date_from}) is after to ({date_to})",
                }
            ]
        )
