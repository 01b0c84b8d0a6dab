"""Alerts triaged over a period, counted by status and kind (the meeting brief's summary)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db.tables_feeds import alerts

#: The statuses an alert reaches by triage (``new`` is not yet triaged).
TRIAGED = ("acknowledged", "confirmed", "false_alarm")


@dataclass(frozen=True)
class TriageCount:
    """How many alerts of one kind were moved to one status."""

    status: str
    kind: str
    count: int


def triaged_counts(
    conn: Connection, *, province: str, since: dt.date | None = None
) -> list[TriageCount]:
    """Count a province's alerts triaged on or after ``since`` by status and kind.

    An alert counts under its current status when that status was set on or after ``since``
    (a Thai calendar day, Asia/Bangkok); without ``since``, every triaged alert counts.
    Counts only: no position or device leaves here, so no coarsening is needed.
    """
    day = sa.cast(sa.func.timezone("Asia/Bangkok", alerts.c.status_at), sa.Date)
    query = (
        sa.select(alerts.c.status, alerts.c.kind, sa.func.count().label("n"))
        .where(alerts.c.province_code == province, alerts.c.status.in_(TRIAGED))
        .group_by(alerts.c.status, alerts.c.kind)
    )
    if since is not None:
        query = query.where(day >= since)
    rows = conn.execute(query).all()
    order = {s: i for i, s in enumerate(TRIAGED)}
    return sorted((TriageCount(str(r.status), str(r.kind), int(r.n)) for r in rows),
                  key=lambda c: (order[c.status], c.kind))
