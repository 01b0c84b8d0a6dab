"""Reference data the rankings reuse between calls: area boundaries and context distances.

Boundaries and context layers change only when someone loads geodata, yet reading and decoding
7,425 subdistrict polygons costs more than the ranking itself (issue 13). They are kept in this
process, keyed by a fingerprint of the reference tables taken in the caller's transaction: the
row count and the newest row version (``xmin``) of each table, which any committed insert,
update or delete changes, so a reload is seen at the next call and never a stale answer. A
transaction that has written anything itself computes afresh (its writes share one ``xmin``,
so two of them could not be told apart).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db.rollup import ensure_folded

T = TypeVar("T")

#: Tables the cached values are made of.
REFERENCE_TABLES = (
    "provinces", "districts", "subdistricts", "context_layers", "border_crossings",
    "area_features",  # villages and custom layers (issue 16)
)

# One round trip: whether the caller's transaction has written, then each table's state.
_STATE = sa.text(
    "SELECT 'wrote', CAST(pg_current_xact_id_if_assigned() IS NOT NULL AS integer), 0 UNION ALL "
    + " UNION ALL ".join(
        f"SELECT '{t}', count(*), COALESCE(max(xmin::text::bigint), 0) FROM {t}"
        for t in REFERENCE_TABLES
    )
)

#: Entries kept (each a level's areas of one extent, or their context distances).
MAX_ENTRIES = 24

_lock = threading.Lock()
_entries: OrderedDict[Hashable, Any] = OrderedDict()


def fingerprint(conn: Connection) -> tuple[Any, ...] | None:
    """Return what identifies the current reference data (seen by ``conn``'s transaction).

    None when the transaction has written anything itself (see the module's docstring).
    """
    rows = sorted(tuple(row) for row in conn.execute(_STATE))  # UNION ALL keeps no order
    if any(name == "wrote" and flag for name, flag, _ in rows):
        return None
    return tuple(row for row in rows if row[0] != "wrote")


_ROLLUP_VERSION = sa.text(
    "SELECT count(*), COALESCE(max(xmin::text::bigint), 0) FROM risk_rollup_total"
)


def rollup_version(conn: Connection) -> tuple[int, int]:
    """Return what identifies the risk points' rollup as ``conn`` sees it.

    Every write of risk_points that can change a ranking (a point added, removed, or its area,
    category, severity, count or date changed) rewrites a row of ``risk_rollup_total`` in the
    same transaction (migration 0008_rollup), changing its row versions (``xmin``) or its row
    count. (Writes of the caller's own transaction all share one ``xmin``: :func:`cached`
    computes afresh in a transaction that has written.)
    """
    ensure_folded(conn)  # uploads whose sums came after their commit (0017_rollup_pending)
    count, newest = conn.execute(_ROLLUP_VERSION).one()
    return int(count), int(newest)


def cached(conn: Connection, key: Hashable, make: Callable[[], T]) -> T:
    """Return the value of ``key`` for the current reference data, computing it once.

    The value is shared between callers: they must not modify it.
    """
    state = fingerprint(conn)
    if state is None:
        return make()
    full_key = (state, key)
    with _lock:
        if full_key in _entries:
            _entries.move_to_end(full_key)
            return _entries[full_key]  # type: ignore[no-any-return]
    value = make()
    with _lock:
        _entries[full_key] = value
        while len(_entries) > MAX_ENTRIES:
            _entries.popitem(last=False)
    return value


def clear() -> None:
    """Forget every cached value (tests)."""
    with _lock:
        _entries.clear()
