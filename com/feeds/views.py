"""Alerts as callers may see them: province-filtered, coarsened like other sensitive outputs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.config.severity import sensitive_categories
from com.db.tables import Subdistrict
from com.db.tables_feeds import alerts
from com.errors import PermissionDenied
from com.feeds.alerts import ALERT_CATEGORY
from com.security.access import Principal
from com.security.coarsening import coarsened_geometry, has_coarsened_position

KIND_TH = {"person": "บุคคล", "vehicle": "ยานพาหนะ", "animal": "สัตว์",
           "tamper": "การงัดแงะอุปกรณ์", "other": "อื่นๆ"}
STATUS_TH = {"new": "ใหม่", "acknowledged": "รับทราบแล้ว", "confirmed": "ยืนยันแล้ว",
             "false_alarm": "แจ้งเตือนผิดพลาด"}


def require_alert_reader(principal: Principal) -> None:
    """Refuse anonymous callers: live detections are for signed-in users and keys only."""
    if principal.kind == "anonymous":
        raise PermissionDenied("ต้องเข้าสู่ระบบเพื่อดูการแจ้งเตือน / sign in to see alerts")


def coarsen_for(principal: Principal, severity_config: Any = None) -> bool:
    """Return True when alerts are served coarsened to this caller (the one sensitive rule)."""
    return (ALERT_CATEGORY in sensitive_categories(severity_config)
            and not principal.sees_sensitive)


def alert_features(
    conn: Connection, *, principal: Principal, after_id: int = 0, since: datetime | None = None,
    status: str | None = None, limit: int = 100, severity_config: Any = None,
) -> list[dict[str, Any]]:
    """Return alerts as GeoJSON features, oldest first after ``after_id`` (the SSE cursor).

    Parameters
    ----------
    conn
        A database connection.
    principal
        Who reads: a province restriction keeps to its province; without the sensitive
        right, alerts of a sensitive category stand at their subdistrict's representative point.
    after_id
        Only alerts with a larger id.
    since
        Only alerts observed at or after this time.
    status
        Only alerts in this triage status.
    limit
        Most features returned.
    """
    require_alert_reader(principal)
    sub = Subdistrict.__table__.alias("rep")
    hidden = {ALERT_CATEGORY} if coarsen_for(principal, severity_config) else set()
    category = sa.literal(ALERT_CATEGORY)
    geom = coarsened_geometry(alerts.c.geom, category, sub.c.rep_point, hidden)
    query = (
        sa.select(
            alerts.c.id, alerts.c.device_id, alerts.c.event_id, alerts.c.observed_at,
            alerts.c.received_at, alerts.c.kind, alerts.c.confidence, alerts.c.status,
            alerts.c.province_code, alerts.c.district_code, alerts.c.subdistrict_code,
            alerts.c.risk_point_id,
            sa.func.ST_X(geom).label("lon"), sa.func.ST_Y(geom).label("lat"),
        )
        .select_from(alerts.outerjoin(sub, sub.c.code == alerts.c.subdistrict_code))
        .where(alerts.c.id > after_id,
               has_coarsened_position(category, sub.c.rep_point, hidden))
        .order_by(alerts.c.id).limit(limit)
    )
    allowed = principal.allowed_provinces  # a province's, or a region's provinces
    if allowed is not None:
        query = query.where(alerts.c.province_code.in_(sorted(allowed)))
    if since is not None:
        query = query.where(alerts.c.observed_at >= since)
    if status:
        query = query.where(alerts.c.status == status)
    return [_feature(dict(r), coarsened=bool(hidden)) for r in conn.execute(query).mappings()]


def _feature(row: dict[str, Any], *, coarsened: bool) -> dict[str, Any]:
    lon, lat = row.pop("lon"), row.pop("lat")
    row["observed_at"] = row["observed_at"].isoformat()
    row["received_at"] = row["received_at"].isoformat()
    row["kind_th"] = KIND_TH.get(row["kind"], row["kind"])
    row["status_th"] = STATUS_TH.get(row["status"], row["status"])
    row["location_coarsened"] = coarsened
    return {"type": "Feature", "id": row["id"], "properties": row,
            "geometry": {"type": "Point", "coordinates": [lon, lat]}}


def latest_alert_id(conn: Connection) -> int:
    """Return the largest alert id (0 when none): where a new SSE stream starts."""
    return int(conn.execute(sa.select(sa.func.coalesce(sa.func.max(alerts.c.id), 0))).scalar_one())
