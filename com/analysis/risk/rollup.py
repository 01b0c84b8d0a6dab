"""Rankings from the rollup: area sums by month instead of a pass over every point (issue 13).

The recency weight of a point dated d on or before the analysis date A factors as
2^(-(A - m) / h) x 2^((d - m) / h), m being the first day of d's month and h the half-life. The
database keeps, per (area, category, severity, month), the sum of severity x count x
2^((d - m) / h) (``risk_rollup``, maintained by triggers in the same transaction as every write
of ``risk_points``; migration ``0008_rollup``). A ranking then reads about one row per area,
category and month and multiplies by the first factor. A month is *whole* when every one of its
days passes the date filter and lies on one side of A; the others (at most three: the months of
``date_from``, ``date_to`` and A when these fall inside a month) are summed from their points.
What a rollup cannot answer (a bounding box, a half-life other than the rollup's) runs the exact
query. ``tests/analysis/test_rollup.py`` checks both agree to 1e-9 on random filters.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.risk.filters import RiskFilter
from com.config.severity import SeverityModel
from com.db.engine import load_sql
from com.db.rollup import ensure_folded

#: Months read from the points themselves: at most the months of date_from, date_to, as_of.
_EXACT_SLOTS = 3


def month_start(day: dt.date) -> dt.date:
    """First day of the month of ``day``."""
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    """First day of the month after the month of ``day``."""
    start = month_start(day)
    return (start.replace(year=start.year + 1, month=1) if start.month == 12
            else start.replace(month=start.month + 1))


@dataclass(frozen=True)
class MonthSplit:
    """Which months the rollup answers and which come from the points.

    ``full_from``/``full_to`` bound the whole months (first days, inclusive; None: open);
    ``exact_months`` lists the first days of the months summed from their points.
    """

    full_from: dt.date | None
    full_to: dt.date | None
    exact_months: tuple[dt.date, ...]


def split_months(filt: RiskFilter) -> MonthSplit:
    """Return the whole months of a filter and the months its points must answer.

    Examples
    --------
    >>> from com.analysis.risk.filters import RiskFilter
    >>> split_months(RiskFilter(date_from=dt.date(2024, 1, 15), date_to=dt.date(2024, 6, 30),
    ...                         as_of=dt.date(2024, 6, 30)))
    MonthSplit(full_from=datetime.date(2024, 2, 1), full_to=datetime.date(2024, 6, 1), \
exact_months=(datetime.date(2024, 1, 1),))
    """
    exact: set[dt.date] = set()
    full_from = full_to = None
    if filt.date_from is not None:
        full_from = filt.date_from
        if filt.date_from.day != 1:
            exact.add(month_start(filt.date_from))
            full_from = next_month(filt.date_from)
    if filt.date_to is not None:
        last_day = next_month(filt.date_to) - dt.timedelta(days=1)
        full_to = month_start(filt.date_to)
        if filt.date_to != last_day:
            exact.add(month_start(filt.date_to))
            full_to = month_start(month_start(filt.date_to) - dt.timedelta(days=1))
    as_of = filt.analysis_date
    if filt.use_recency and as_of != next_month(as_of) - dt.timedelta(days=1):
        # Days after as_of count at age 0: the month of as_of has days on both sides.
        exact.add(month_start(as_of))
    return MonthSplit(full_from, full_to, tuple(sorted(exact)))


def rollup_usable(conn: Connection, model: SeverityModel) -> bool:
    """Whether the rollup exists and was made with the model's half-life."""
    half_life = conn.execute(sa.text(
        "SELECT half_life_days FROM risk_rollup_config"
    )).scalar_one_or_none()
    return half_life is not None and float(half_life) == float(model.recency.half_life_days)


def rollup_params(filt: RiskFilter, params: dict[str, Any]) -> dict[str, Any]:
    """Add the month split of ``filt`` to the parameters of the exact point query."""
    split = split_months(filt)
    out = {**params, "full_from": split.full_from, "full_to": split.full_to,
           "exact_months": list(split.exact_months)}
    slots = list(split.exact_months) + [None] * (_EXACT_SLOTS - len(split.exact_months))
    for i, start in enumerate(slots[:_EXACT_SLOTS], 1):
        out[f"x{i}_from"] = start
        out[f"x{i}_to"] = next_month(start) if start is not None else None
    return out


def total_answers(conn: Connection, filt: RiskFilter) -> bool:
    """Whether the all-time tier answers ``filt``.

    It does without a date or severity filter when (with recency) the analysis date is on or
    after every anchor of the areas the filter reads.
    """
    if filt.date_from or filt.date_to or filt.min_severity is not None:
        return False
    if not filt.use_recency:
        return True
    latest = conn.execute(sa.text(
        "SELECT max(anchor) FROM risk_rollup_total "
        "WHERE (CAST(:p AS text[]) IS NULL OR province_code = ANY(CAST(:p AS text[]))) "
        "AND (CAST(:d AS text) IS NULL OR district_code = CAST(:d AS text))"
    ), {"p": list(filt.province_codes) if filt.province_codes else None,
        "d": filt.district}).scalar_one()
    return latest is None or latest <= filt.analysis_date


def rollup_statement(conn: Connection, filt: RiskFilter, params: dict[str, Any]
                     ) -> tuple[sa.TextClause, dict[str, Any]]:
    """Return the rollup query answering ``filt`` (all-time tier, else months) and its parameters.

    The parameters are those of the exact point query plus the month split.
    """
    ensure_folded(conn)  # uploads whose sums came after their commit (0017_rollup_pending)
    if total_answers(conn, filt):
        return sa.text(load_sql("rank_areas_total")), params
    return sa.text(load_sql("rank_areas_rollup")), rollup_params(filt, params)


def rebuild_rollup(conn: Connection, *, half_life_days: float) -> int:
    """Rebuild the rollup from every risk point with a half-life; return its row count.

    Run by ``com db rollup`` after changing the severity model's half-life (rankings with a
    half-life other than the rollup's run the exact, slower query meanwhile).
    """
    if not half_life_days > 0:
        raise ValueError("half_life_days must be positive")
    return int(conn.execute(sa.text("SELECT risk_rollup_rebuild(:h)"),
                            {"h": float(half_life_days)}).scalar_one())
