"""The transactional outbox: CloudEvents written with the data, fanned out to subscriptions.

An event row and one delivery row per matching subscription are written in the caller's
transaction, so an event exists exactly when its data was committed: a rolled-back upload
leaves neither. The deliverer (:mod:`com.feeds.delivery`) POSTs them afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db.tables_feeds import outbox_events, webhook_deliveries, webhook_subscriptions

SOURCE = "/com"
UPLOAD_EVENT = "th.go.com.upload.committed"
ALERT_EVENT = "th.go.com.alert.received"
#: Points listed in an upload's event; the rest are counted and reachable through OGC items.
MAX_EVENT_POINTS = 1_000


def subscription_wants(sub: Mapping[str, Any], point: Mapping[str, Any]) -> bool:
    """Return True when a point (or alert) passes a subscription's filters.

    ``provinces`` and ``categories`` (None: all) and ``min_severity`` decide.
    """
    provinces, categories = sub.get("provinces"), sub.get("categories")
    if provinces and point.get("province_code") not in provinces:
        return False
    if categories and point.get("category") not in categories:
        return False
    return int(point.get("severity") or 0) >= int(sub.get("min_severity") or 1)


def active_subscriptions(conn: Connection) -> list[dict[str, Any]]:
    """Return the subscriptions not disabled (with their filters)."""
    query = sa.select(webhook_subscriptions).where(webhook_subscriptions.c.disabled_at.is_(None))
    return [dict(r) for r in conn.execute(query).mappings()]


def write_event(
    conn: Connection, *, type_: str, subject: str, data: dict[str, Any],
    items: Iterable[Mapping[str, Any]], alert: bool = False,
    subscriptions: list[dict[str, Any]] | None = None,
) -> str | None:
    """Write one event and its deliveries in the caller's transaction; return its id.

    Parameters
    ----------
    conn
        The transaction that writes the data the event reports.
    type_, subject
        CloudEvents ``type`` and ``subject``.
    data
        The event's ``data`` (exact positions; coarsened per subscription on delivery).
    items
        The points or alert the event carries, matched against each subscription's filters.
    alert
        True for an alert event: only subscriptions taking alerts get it.
    subscriptions
        The active subscriptions when the caller has read them already.

    Returns
    -------
    str or None
        The event id, or None when no subscription wants it (nothing is written then).
    """
    items = list(items)
    wanted = [
        s["id"] for s in (subscriptions if subscriptions is not None
                          else active_subscriptions(conn))
        if (s["alerts"] or not alert) and any(subscription_wants(s, p) for p in items)
    ]
    if not wanted:
        return None
    event_id = str(uuid.uuid4())
    conn.execute(sa.insert(outbox_events).values(
        id=event_id, type=type_, source=SOURCE, subject=subject, data=data,
    ))
    conn.execute(sa.insert(webhook_deliveries),
                 [{"event_id": event_id, "subscription_id": s} for s in wanted])
    return event_id


_UPLOAD_POINTS = sa.text("""
SELECT rp.id, rp.category, rp.severity, rp.reported_on::text AS reported_on, rp.name,
       rp.address, rp.province_code, rp.district_code, rp.subdistrict_code,
       ST_X(rp.geom) AS lon, ST_Y(rp.geom) AS lat,
       ST_X(s.rep_point) AS rep_lon, ST_Y(s.rep_point) AS rep_lat
FROM risk_points rp LEFT JOIN subdistricts s ON s.code = rp.subdistrict_code
WHERE rp.source_upload_id = :upload ORDER BY rp.id LIMIT :limit
""")


def record_upload(conn: Connection, upload_id: int, *, filename: str | None = None,
                  province_code: str | None = None, stored: int = 0) -> str | None:
    """Write the event of a committed upload (call it inside the upload's transaction).

    The event lists the upload's first :data:`MAX_EVENT_POINTS` points. An upload that stored
    no new point (all duplicates) still makes an event, for subscriptions not filtering on
    category; one that no subscription wants writes nothing.
    """
    subscriptions = active_subscriptions(conn)
    if not subscriptions:  # the common case costs one small query, not a read of the points
        return None
    points = [dict(r) for r in conn.execute(
        _UPLOAD_POINTS, {"upload": upload_id, "limit": MAX_EVENT_POINTS}
    ).mappings()]
    data = {
        "upload_id": upload_id, "filename": filename, "province_code": province_code,
        "points_stored": stored, "points_listed": len(points),
        "items_url": f"/ogc/collections/risk-points/items?source_upload_id={upload_id}",
        "points": points,
    }
    # With no point, the upload itself is matched: its province, the highest severity.
    items = points or [{"province_code": province_code, "category": None, "severity": 5}]
    return write_event(conn, type_=UPLOAD_EVENT, subject=f"upload/{upload_id}", data=data,
                       items=items, subscriptions=subscriptions)
