"""Delivering outbox events to webhooks: signed POSTs, retries with back-off, the delivery log.

At-least-once: a delivery is claimed with a lease (its next attempt moved past the POST's
timeout), POSTed, then marked delivered or rescheduled with exponential back-off. A deliverer
that dies mid-POST leaves the row to be tried again when the lease ends, so a receiver may see
an event twice; the CloudEvents ``id`` is the same every time, for receivers to de-duplicate.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from com.config.settings import Settings
from com.config.severity import sensitive_categories
from com.db.engine import transaction
from com.db.tables_feeds import outbox_events, webhook_deliveries, webhook_subscriptions
from com.errors import DatabaseUnavailable, ServerBusy
from com.feeds.outbox import subscription_wants
from com.feeds.signing import body_signature
from com.feeds.webhooks import subscription_secret

log = logging.getLogger(__name__)

USER_AGENT = "COM-Webhooks/1"
POLL_S = 0.5


def retry_delay_s(attempts: int, *, base_s: float, max_s: float) -> float:
    """Return the wait before attempt ``attempts + 1``: base x 2^(attempts - 1), capped.

    Examples
    --------
    >>> [retry_delay_s(n, base_s=5, max_s=60) for n in (1, 2, 3, 5)]
    [5.0, 10.0, 20.0, 60.0]
    """
    return float(min(max_s, base_s * 2 ** max(0, attempts - 1)))


def _coarsened(item: dict[str, Any], hidden: frozenset[str]) -> dict[str, Any]:
    """Return a point as a subscription without the sensitive right may see it."""
    if item.get("category") not in hidden:
        return {k: v for k, v in item.items() if k not in ("rep_lon", "rep_lat")}
    out = {k: v for k, v in item.items() if k not in ("rep_lon", "rep_lat", "name", "address")}
    out["lon"], out["lat"] = item.get("rep_lon"), item.get("rep_lat")
    out["location_coarsened"] = True
    return out


def event_body(event: dict[str, Any], sub: dict[str, Any], hidden: frozenset[str]) -> bytes:
    """Return the CloudEvents 1.0 JSON body of ``event`` for subscription ``sub``.

    Points outside the subscription's filters are left out; points of the ``hidden``
    (sensitive) categories are coarsened unless the subscription holds the sensitive right.
    """
    data = dict(event["data"])
    hide = frozenset() if sub["sensitive"] else hidden
    if "points" in data:
        data["points"] = [_coarsened(p, hide) for p in data["points"]
                          if subscription_wants(sub, p)]
    if "alert" in data:
        data["alert"] = _coarsened(data["alert"], hide)
    cloud_event = {
        "specversion": "1.0", "id": event["id"], "source": event["source"],
        "type": event["type"], "subject": event["subject"],
        "time": event["time"].astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json", "data": data,
    }
    return json.dumps(cloud_event, ensure_ascii=False, default=str).encode("utf-8")


def _claim(conn: Connection, *, limit: int, lease_s: float) -> list[dict[str, Any]]:
    due = (
        sa.select(webhook_deliveries.c.id)
        .where(webhook_deliveries.c.status == "pending",
               webhook_deliveries.c.next_attempt_at <= sa.func.now())
        .order_by(webhook_deliveries.c.next_attempt_at).limit(limit)
        .with_for_update(skip_locked=True).scalar_subquery()
    )
    lease = sa.func.now() + sa.func.make_interval(0, 0, 0, 0, 0, 0, lease_s)
    claimed = conn.execute(
        sa.update(webhook_deliveries).where(webhook_deliveries.c.id.in_(due))
        .values(next_attempt_at=lease, attempts=webhook_deliveries.c.attempts + 1)
        .returning(webhook_deliveries.c.id, webhook_deliveries.c.event_id,
                   webhook_deliveries.c.subscription_id, webhook_deliveries.c.attempts)
    ).mappings().all()
    return [dict(r) for r in claimed]


def _load(conn: Connection, claimed: list[dict[str, Any]]) -> tuple[dict, dict]:
    events = {str(r["id"]): dict(r) for r in conn.execute(
        sa.select(outbox_events).where(outbox_events.c.id.in_({c["event_id"] for c in claimed}))
    ).mappings()}
    subs = {r["id"]: dict(r) for r in conn.execute(
        sa.select(webhook_subscriptions)
        .where(webhook_subscriptions.c.id.in_({c["subscription_id"] for c in claimed}))
    ).mappings()}
    return events, subs


def _post(client: httpx.Client, sub: dict[str, Any], body: bytes, event_id: str,
          secret: str) -> tuple[int | None, str | None]:
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/cloudevents+json; charset=utf-8",
        "User-Agent": USER_AGENT, "Webhook-Id": event_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": body_signature(secret, timestamp, body),
    }
    try:
        response = client.post(sub["url"], content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= response.status_code < 300:
        return response.status_code, None
    return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"


def deliver_due(engine: Engine, settings: Settings, *, client: httpx.Client,
                limit: int = 50) -> int:
    """POST every due delivery (up to ``limit``) once; return how many were attempted.

    Each outcome is written to the delivery log: delivered, or pending again after
    :func:`retry_delay_s`, or ``failed`` after ``webhook_max_attempts``.
    """
    with transaction(engine) as conn:
        claimed = _claim(conn, limit=limit, lease_s=settings.webhook_timeout_s * 3)
        if not claimed:
            return 0
        events, subs = _load(conn, claimed)
    hidden = sensitive_categories(settings.severity_config)
    for row in claimed:
        event, sub = events[str(row["event_id"])], subs[row["subscription_id"]]
        body = event_body(event, sub, hidden)
        secret = subscription_secret(settings.secret_key, sub["id"], sub["secret_salt"])
        status, error = _post(client, sub, body, str(event["id"]), secret)
        _record(engine, settings, row, status, error)
    return len(claimed)


def _record(engine: Engine, settings: Settings, row: dict[str, Any], status: int | None,
            error: str | None) -> None:
    values: dict[str, Any] = {"last_status_code": status, "last_error": error}
    if error is None:
        values.update(status="delivered", delivered_at=sa.func.now())
    elif row["attempts"] >= settings.webhook_max_attempts:
        values.update(status="failed")
    else:
        delay = retry_delay_s(row["attempts"], base_s=settings.webhook_retry_base_s,
                              max_s=settings.webhook_retry_max_s)
        values["next_attempt_at"] = sa.func.now() + sa.func.make_interval(0, 0, 0, 0, 0, 0,
                                                                         delay)
    with transaction(engine) as conn:
        conn.execute(sa.update(webhook_deliveries)
                     .where(webhook_deliveries.c.id == row["id"]).values(values))


class Deliverer:
    """A background thread delivering due webhook events until stopped."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self.run, name="com-webhooks", daemon=True)

    def run(self) -> None:
        """Deliver until :meth:`stop`; waits ``POLL_S`` when nothing is due."""
        with httpx.Client(timeout=self.settings.webhook_timeout_s) as client:
            while not self._stop.is_set():
                try:
                    done = deliver_due(self.engine, self.settings, client=client)
                except (DatabaseUnavailable, ServerBusy) as exc:  # expected: no traceback
                    log.warning("webhook delivery waits: %s", exc)
                    self._stop.wait(POLL_S * 10)
                    continue
                except Exception:  # noqa: BLE001 - keep the deliverer alive
                    log.exception("webhook delivery round failed")
                    self._stop.wait(POLL_S * 10)
                    continue
                if not done:
                    self._stop.wait(POLL_S)

    def start(self) -> Deliverer:
        """Start the thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop after the current round."""
        self._stop.set()
        self._thread.join(timeout=self.settings.webhook_timeout_s + 5)


def delivery_log(conn: Connection, *, limit: int = 100,
                 subscription_id: int | None = None) -> list[dict[str, Any]]:
    """Return the newest deliveries with their event type and subscription (admins' log)."""
    d, e, s = webhook_deliveries, outbox_events, webhook_subscriptions
    query = (
        sa.select(d.c.id, d.c.event_id, e.c.type, e.c.subject, e.c.time.label("event_time"),
                  d.c.subscription_id, s.c.name.label("subscription"), d.c.status,
                  d.c.attempts, d.c.last_status_code, d.c.last_error, d.c.next_attempt_at,
                  d.c.delivered_at)
        .select_from(d.join(e, e.c.id == d.c.event_id).join(s, s.c.id == d.c.subscription_id))
        .order_by(d.c.id.desc()).limit(limit)
    )
    if subscription_id is not None:
        query = query.where(d.c.subscription_id == subscription_id)
    return [dict(r) for r in conn.execute(query).mappings()]

