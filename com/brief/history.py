"""Each brief's ranks and hot spots, kept so that the next brief can say what changed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db.tables_brief import brief_records


def last_brief(conn: Connection, *, province: str) -> dict[str, Any] | None:
    """Return the newest recorded brief of ``province`` (ranks, hot spots, when), or None."""
    row = conn.execute(
        sa.select(brief_records)
        .where(brief_records.c.province_code == province)
        .order_by(brief_records.c.made_at.desc(), brief_records.c.id.desc())
        .limit(1)
    ).mappings().first()
    return dict(row) if row is not None else None


def record_brief(
    conn: Connection, *, province: str, fiscal_year_be: int, data_cut_off: dt.date,
    made_by: str, ranks: Mapping[str, int], hotspots: Sequence[str],
) -> int:
    """Store the ranks and hot spot codes a brief showed, in the caller's transaction."""
    return int(conn.execute(
        sa.insert(brief_records).values(
            province_code=province, fiscal_year_be=int(fiscal_year_be),
            data_cut_off=data_cut_off, made_by=made_by,
            ranks={str(k): int(v) for k, v in ranks.items()},
            hotspots=sorted(str(c) for c in hotspots),
        ).returning(brief_records.c.id)
    ).scalar_one())
