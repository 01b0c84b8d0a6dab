"""The append-only audit trail (who saw and changed what, when, from where)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db.tables import AuditEntry
from com.security.access import Principal

audit_table: sa.Table = AuditEntry.__table__  # type: ignore[assignment]


def record(
    conn: Connection,
    *,
    principal: Principal,
    action: str,
    target: str | None = None,
    record_ids: Iterable[int | str] = (),
    details: dict[str, Any] | None = None,
    client: str | None = None,
) -> None:
    """Append one audit row in the caller's transaction.

    Parameters
    ----------
    conn
        Connection of the transaction doing the work, so the row exists only if the work does.
    principal
        Who acted.
    action
        A dotted verb such as ``login``, ``upload.create``, ``export.csv``, ``apikey.use``.
    target
        What was acted on (``upload:12``, ``collection:risk-points``).
    record_ids
        Identifiers of the records read or changed.
    details
        JSON-serialisable extra facts (counts, filters).
    client
        Client address (IP) for web requests.
    """
    conn.execute(
        sa.insert(audit_table).values(
            actor=principal.name,
            actor_kind=principal.kind,
            action=action,
            target=target,
            record_ids=[str(r) for r in record_ids],
            details=json.loads(json.dumps(details or {}, default=str)),
            client=client,
        )
    )


def entries(
    conn: Connection,
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Return audit rows, newest first, optionally filtered."""
    query = sa.select(audit_table).order_by(audit_table.c.id.desc()).limit(limit)
    if action:
        query = query.where(audit_table.c.action.like(f"{action}%"))
    if actor:
        query = query.where(audit_table.c.actor == actor)
    if since:
        query = query.where(audit_table.c.at >= since)
    return [dict(r) for r in conn.execute(query).mappings()]


@dataclass
class _Reads:
    principal: Principal
    target: str
    last_row: float = float("-inf")  # monotonic time of the last row written
    count: int = 0  # reads since that row, not yet in any row
    first_at: str | None = None
    items: list[str] = field(default_factory=list)


class ReadSummaries:
    """Turn reads too frequent to log one by one into one audit row per window.

    Vector tiles are the case: a map view fetches dozens of tiles at once and more at every
    pan, so one row per tile would bury the trail (and add an INSERT to every tile). Instead
    the first read of an actor and target writes a row at once, and later reads within
    ``window_s`` are counted; the next read after the window writes a row holding that
    count (every read since the previous row, itself included) and the tiles read (the
    first ``max_items``). So each row says who read what from when, and how much; the reads
    of the last window are written by :meth:`drain` when the app stops. Counts are kept per
    process (each worker keeps its own; the trail stays complete, windows may overlap).

    Parameters
    ----------
    window_s
        Shortest time between two rows of one actor and target (seconds).
    max_items
        How many read items (tile addresses) a row lists; ``reads`` counts them all.
    """

    def __init__(self, *, window_s: float = 60.0, max_items: int = 200) -> None:
        self.window_s = window_s
        self.max_items = max_items
        self._reads: dict[tuple[str, str, str], _Reads] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _summary(state: _Reads) -> dict[str, Any]:
        summary = {
            "reads": state.count,
            "since": state.first_at,
            "items": list(state.items),
            "items_complete": state.count <= len(state.items),
        }
        state.count, state.first_at, state.items = 0, None, []
        return summary

    def note(
        self, principal: Principal, target: str, item: str, *, now: float | None = None
    ) -> dict[str, Any] | None:
        """Count one read; return the summary to write as a row now, or None.

        Parameters
        ----------
        principal
            Who read.
        target
            What was read (``collection:risk-points``).
        item
            This read (a tile address ``z/x/y``).
        now
            Monotonic time (tests pass their own clock).

        Returns
        -------
        dict or None
            ``reads``, ``since``, ``items``, ``items_complete`` when a row is due.
        """
        now = time.monotonic() if now is None else now
        key = (principal.kind, principal.name, target)
        with self._lock:
            state = self._reads.get(key)
            if state is None:
                if len(self._reads) > 10_000:
                    self._forget_idle(now)
                state = self._reads[key] = _Reads(principal=principal, target=target)
            state.count += 1
            state.first_at = state.first_at or datetime.now(UTC).isoformat(timespec="seconds")
            if len(state.items) < self.max_items:
                state.items.append(item)
            if now - state.last_row < self.window_s:
                return None
            state.last_row = now
            return self._summary(state)

    def _forget_idle(self, now: float) -> None:
        idle = [k for k, s in self._reads.items()
                if s.count == 0 and now - s.last_row >= self.window_s]
        for key in idle:
            del self._reads[key]

    def drain(self) -> list[tuple[Principal, str, dict[str, Any]]]:
        """Return (principal, target, summary) of every read not yet in a row, and forget them."""
        with self._lock:
            pending = [(s.principal, s.target, self._summary(s))
                       for s in self._reads.values() if s.count]
            self._reads.clear()
        return pending


#: Actions of refused requests, written by the API's error handlers (issue 11).
REFUSAL_ACTIONS = (
    "access.denied",  # 403: signed in, but not allowed
    "access.unauthenticated",  # 401: no valid credentials
    "apikey.refused",  # 401: a malformed, unknown or revoked API key
    "csrf.failed",  # 403: a signed-in write without the session's CSRF token
    "upload.failed",  # an upload refused (403, 413, 415, 422 ...)
)


class RefusalLimiter:
    """Let through one audit row per actor, client, action and path per window; count the rest.

    A client hammering a route it may not use (a revoked key left in a dashboard, a scanner)
    must not bury the trail or cost an INSERT per request. The first refusal of a key writes a
    row at once; later ones within ``window_s`` are only counted, and the next refusal after
    the window writes a row whose ``repeats`` holds them all (itself included). Counts are kept
    per process, like :class:`ReadSummaries`.

    Parameters
    ----------
    window_s
        Shortest time between two rows of one key (seconds).
    max_keys
        Keys remembered before idle ones are forgotten (bounds the memory a flood can take).
    """

    def __init__(self, *, window_s: float = 60.0, max_keys: int = 10_000) -> None:
        self.window_s = window_s
        self.max_keys = max_keys
        self._state: dict[tuple[str, ...], tuple[float, int]] = {}  # key -> (last row, count)
        self._lock = threading.Lock()

    def admit(self, key: tuple[str, ...], *, now: float | None = None) -> int | None:
        """Count one refusal; return how many refusals a row written now stands for, or None.

        Parameters
        ----------
        key
            What makes two refusals "the same" (action, actor, client, path).
        now
            Monotonic time (tests pass their own clock).
        """
        now = time.monotonic() if now is None else now
        with self._lock:
            last, count = self._state.get(key, (float("-inf"), 0))
            count += 1
            if now - last < self.window_s:
                self._state[key] = (last, count)
                return None
            if key not in self._state and len(self._state) >= self.max_keys:
                self._state = {k: v for k, v in self._state.items()
                               if now - v[0] < self.window_s or v[1]}
                if len(self._state) >= self.max_keys:
                    self._state.clear()
            self._state[key] = (now, 0)
            return count


def record_refusal(
    conn: Connection,
    *,
    principal: Principal,
    action: str,
    method: str,
    path: str,
    status: int,
    reason: str,
    client: str | None = None,
    repeats: int = 1,
) -> None:
    """Append the audit row of a refused request (denied read, failed upload, bad key ...).

    Parameters
    ----------
    conn
        A connection (the refused request's work was rolled back: use a transaction of its own).
    principal
        Who asked, as far as known (anonymous when no credentials were accepted; the key's
        ``key:<prefix>`` for a revoked key).
    action
        One of :data:`REFUSAL_ACTIONS`.
    method, path
        The request (the path only: query strings may hold personal data).
    status
        The HTTP status answered.
    reason
        Why it was refused (the error's message, at most 300 characters).
    client
        Client address.
    repeats
        Refusals this row stands for (:class:`RefusalLimiter`).
    """
    record(
        conn,
        principal=principal,
        action=action,
        target=f"route:{method} {path[:300]}",
        details={"status": status, "reason": reason[:300], "repeats": repeats},
        client=client,
    )
