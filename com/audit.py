"""The append-only audit trail (who saw and changed what, when, from where)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.access import Principal
from com.db.tables import AuditEntry

audit_table = AuditEntry.__table__


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
