"""Admin routes: read the audit trail (read-only; the app has no route that changes it)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request

from api.deps import EngineDep
from api.security import require_role
from com.db.engine import transaction
from com.security import audit
from com.security.access import Principal

router = APIRouter(tags=["admin"])

AdminDep = Annotated[Principal, Depends(require_role("admin"))]


@router.get("/api/admin/audit")
def audit_log(
    request: Request,
    engine: EngineDep,
    principal: AdminDep,
    action: Annotated[
        str | None, Query(max_length=100, description="Action or its prefix, e.g. `upload`.")
    ] = None,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    since: Annotated[
        datetime | None,
        Query(description="Earliest time (ISO 8601; without a zone it means Thai time)."),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Return audit rows, newest first (admin only). Reading the trail is itself audited."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=ZoneInfo("Asia/Bangkok"))
    with transaction(engine) as conn:
        rows = audit.entries(conn, action=action, actor=actor, since=since, limit=limit)
        audit.record(
            conn,
            principal=principal,
            action="audit.read",
            target="audit_log",
            details={"action": action, "actor": actor, "since": since, "limit": limit,
                     "returned": len(rows)},
            client=request.client.host if request.client else None,
        )
    return {"entries": rows, "count": len(rows)}
