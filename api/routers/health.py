"""Health and status: is the database reachable, what is loaded."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import EngineDep
from com.db.engine import transaction
from com.geodata import boundary_counts

router = APIRouter(tags=["status"])


@router.get("/api/health")
def health(engine: EngineDep) -> dict:
    """Return ok when the database answers (503 problem+json otherwise)."""
    with transaction(engine) as conn:
        counts = boundary_counts(conn)
    return {"status": "ok", "counts": counts}


@router.get("/api/status")
def status(engine: EngineDep) -> dict:
    """Return the loaded counts of reference data and risk points."""
    with transaction(engine) as conn:
        return boundary_counts(conn)
