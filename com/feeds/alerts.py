"""Receiving alerts (MQTT or HTTP): check, store once, announce; and triaging them."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from com.db.engine import transaction
from com.db.tables import RiskPoint
from com.db.tables_feeds import alerts, devices
from com.errors import ComError, NotFoundError, PermissionDenied, ValidationError
from com.feeds import outbox
from com.feeds.devices import device_secret
from com.feeds.payload import HEARTBEAT, AlertIn, parse_alert
from com.feeds.signing import payload_signature_ok
from com.feeds.watch import notify_alerts
from com.security import audit
from com.security.access import Principal

log = logging.getLogger(__name__)

#: The severity-model category a confirmed alert becomes (its weight and the model's decay).
ALERT_CATEGORY = "illegal_entry"
#: Severity of an alert in webhook filters and of the risk point a confirmed alert becomes.
ALERT_SEVERITY = 3
STATUSES = ("new", "acknowledged", "confirmed", "false_alarm")
_NEXT = {"new": {"acknowledged", "confirmed", "false_alarm"},
         "acknowledged": {"confirmed", "false_alarm"}}
DEVICE_PRINCIPAL_KIND = "api_key"


class AlertRefused(PermissionDenied):
    """An alert from an unknown or disabled device, or with a bad signature."""


@dataclass(frozen=True)
class Received:
    """What became of one payload."""

    device_id: str
    event_id: str
    alert_id: int | None  # None for a heartbeat or a duplicate
    duplicate: bool = False
    heartbeat: bool = False


_limiter = audit.RefusalLimiter(window_s=60.0)


def _refuse(engine: Engine, *, via: str, device_id: str, reason: str,
            principal: Principal | None) -> AlertRefused:
    """Audit a refused alert (own transaction; a flood makes one row a minute) and return it."""
    who = principal or Principal(kind="anonymous", name=f"device:{device_id[:100]}")
    repeats = _limiter.admit(("alert.refused", via, device_id, reason))
    if repeats is not None:
        try:
            with transaction(engine) as conn:
                audit.record(conn, principal=who, action="alert.refused",
                             target=f"device:{device_id[:100]}",
                             details={"via": via, "reason": reason, "repeats": repeats})
        except Exception:  # noqa: BLE001 - a failed audit write must not hide the refusal
            log.exception("could not audit a refused alert")
    return AlertRefused(f"{reason} (device {device_id[:100]})")


# Many alerts in one statement: each with its subdistrict (the subdivided parts, GiST), the
# device's province when it lies in none; a repeated (device, event id) is skipped.
_INSERT_MANY = sa.text("""
INSERT INTO alerts (device_id, event_id, observed_at, kind, confidence, geom, subdistrict_code,
                    district_code, province_code, via, payload)
SELECT v.device_id, v.event_id, v.observed_at, v.kind, v.confidence,
       ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326), pl.code, pl.district_code,
       coalesce(pl.province_code, v.device_province), :via, v.payload::jsonb
FROM unnest(CAST(:device_ids AS text[]), CAST(:event_ids AS text[]),
            CAST(:times AS timestamptz[]), CAST(:kinds AS text[]),
            CAST(:confidences AS float8[]), CAST(:lons AS float8[]), CAST(:lats AS float8[]),
            CAST(:provinces AS text[]), CAST(:payloads AS text[]))
     AS v(device_id, event_id, observed_at, kind, confidence, lon, lat, device_province,
          payload)
LEFT JOIN LATERAL (
  SELECT s.code, s.district_code, s.province_code
  FROM subdistrict_parts p JOIN subdistricts s ON s.code = p.subdistrict_code
  WHERE ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(v.lon, v.lat), 4326)) LIMIT 1
) pl ON true
ON CONFLICT (device_id, event_id) DO NOTHING
RETURNING id, device_id, event_id, subdistrict_code, district_code, province_code
""")


def _position(alert: AlertIn, device: sa.RowMapping) -> tuple[float, float]:
    if alert.lon is not None and alert.lat is not None:
        return alert.lon, alert.lat
    return float(device["lon"]), float(device["lat"])


def _store_many(conn: Connection, accepted: list[tuple[AlertIn, sa.RowMapping]],
                via: str) -> dict[tuple[str, str], int]:
    """Store alerts (not heartbeats) once each with their outbox events; return the new ids."""
    if not accepted:
        return {}
    places = [_position(a, d) for a, d in accepted]
    rows = conn.execute(_INSERT_MANY, {
        "via": via,
        "device_ids": [a.device_id for a, _ in accepted],
        "event_ids": [a.event_id for a, _ in accepted],
        "times": [a.time for a, _ in accepted], "kinds": [a.kind for a, _ in accepted],
        "confidences": [a.confidence for a, _ in accepted],
        "lons": [p[0] for p in places], "lats": [p[1] for p in places],
        "provinces": [d["province_code"] for _, d in accepted],
        "payloads": [json.dumps(a.raw, ensure_ascii=False) for a, _ in accepted],
    }).mappings().all()
    stored = {(r["device_id"], r["event_id"]): int(r["id"]) for r in rows}
    if stored:
        notify_alerts(conn, max(stored.values()))  # sent on commit: wakes the open streams
    subscriptions = outbox.active_subscriptions(conn) if stored else []
    if not subscriptions:
        return stored
    by_key = {(a.device_id, a.event_id): (a, p) for (a, _), p in zip(accepted, places,
                                                                     strict=True)}
    for row in rows:
        alert, (lon, lat) = by_key[(row["device_id"], row["event_id"])]
        item = {
            "id": row["id"], "device_id": alert.device_id, "event_id": alert.event_id,
            "time": alert.time.isoformat(), "kind": alert.kind, "confidence": alert.confidence,
            "lon": lon, "lat": lat, "province_code": row["province_code"],
            "district_code": row["district_code"], "subdistrict_code": row["subdistrict_code"],
            "category": ALERT_CATEGORY, "severity": ALERT_SEVERITY, "status": "new",
        }
        outbox.write_event(conn, type_=outbox.ALERT_EVENT, subject=f"alert/{row['id']}",
                           data={"alert": item}, items=[item], alert=True,
                           subscriptions=subscriptions)
    return stored


def _devices(conn: Connection, ids: set[str]) -> dict[str, sa.RowMapping]:
    query = sa.select(
        devices.c.id, devices.c.province_code, devices.c.secret_salt, devices.c.disabled_at,
        sa.func.ST_X(devices.c.geom).label("lon"), sa.func.ST_Y(devices.c.geom).label("lat"),
    ).where(devices.c.id.in_(sorted(ids)))
    return {r["id"]: r for r in conn.execute(query).mappings()}


def _problem(alert: AlertIn, device: sa.RowMapping | None, secret_key: str) -> str:
    """Return why an alert is refused ("" when it is accepted)."""
    if device is None:
        return "unknown device"
    if device["disabled_at"] is not None:
        return "disabled device"
    secret = device_secret(secret_key, device["id"], device["secret_salt"])
    return "" if payload_signature_ok(secret, alert.raw) else "bad signature"


def _accept(conn: Connection, accepted: list[tuple[AlertIn, sa.RowMapping]],
            via: str) -> list[Received]:
    """Mark the devices seen (heartbeats: alive) and store the alerts; one result each."""
    seen = sorted({a.device_id for a, _ in accepted})
    beating = sorted({a.device_id for a, _ in accepted if a.kind == HEARTBEAT})
    if seen:
        conn.execute(sa.update(devices).where(devices.c.id.in_(seen))
                     .values(last_seen_at=sa.func.now()))
    if beating:
        conn.execute(sa.update(devices).where(devices.c.id.in_(beating))
                     .values(last_heartbeat_at=sa.func.now()))
    stored = _store_many(conn, [(a, d) for a, d in accepted if a.kind != HEARTBEAT], via)
    results = []
    for alert, _ in accepted:
        if alert.kind == HEARTBEAT:
            results.append(Received(alert.device_id, alert.event_id, None, heartbeat=True))
            continue
        alert_id = stored.pop((alert.device_id, alert.event_id), None)
        results.append(Received(alert.device_id, alert.event_id, alert_id,
                                duplicate=alert_id is None))
    return results


def receive_alert(
    engine: Engine, data: bytes | str | dict[str, Any], *, secret_key: str, via: str = "mqtt",
    principal: Principal | None = None,
) -> Received:
    """Check one alert payload and store it once, with its outbox event, in one transaction.

    Parameters
    ----------
    engine
        The database.
    data
        The JSON payload (see :func:`com.feeds.payload.parse_alert`).
    secret_key
        ``COM_SECRET_KEY``: device secrets are derived from it.
    via
        ``mqtt`` or ``http``.
    principal
        The caller on HTTP (a write key); its province restriction applies to the device.

    Raises
    ------
    com.errors.ValidationError
        A malformed payload (field named, Thai and English).
    AlertRefused
        Unknown or disabled device, or a bad signature (audited as ``alert.refused``).
    """
    alert = parse_alert(data)
    with transaction(engine) as conn:
        device = _devices(conn, {alert.device_id}).get(alert.device_id)
        if device is not None and principal is not None:
            principal.require_province(device["province_code"])
        problem = _problem(alert, device, secret_key)
        if not problem:
            return _accept(conn, [(alert, device)], via)[0]  # type: ignore[list-item]
    raise _refuse(engine, via=via, device_id=alert.device_id, reason=problem,
                  principal=principal)


def receive_alerts(
    engine: Engine, payloads: list[bytes], *, secret_key: str, via: str = "mqtt",
) -> list[Received | ComError]:
    """Check and store many payloads in one transaction (the MQTT subscriber's batches).

    The same rules as :func:`receive_alert`, one result per payload in order: a
    :class:`Received`, or the error refusing it (malformed, or refused and audited).
    """
    results: list[Received | ComError | None] = [None] * len(payloads)
    parsed: list[tuple[int, AlertIn]] = []
    for i, data in enumerate(payloads):
        try:
            parsed.append((i, parse_alert(data)))
        except ComError as exc:
            results[i] = exc
    refused: list[tuple[int, AlertIn, str]] = []
    with transaction(engine) as conn:
        known = _devices(conn, {a.device_id for _, a in parsed})
        accepted: list[tuple[int, AlertIn, sa.RowMapping]] = []
        for i, alert in parsed:
            problem = _problem(alert, known.get(alert.device_id), secret_key)
            if problem:
                refused.append((i, alert, problem))
            else:
                accepted.append((i, alert, known[alert.device_id]))
        done = _accept(conn, [(a, d) for _, a, d in accepted], via)
        for (i, _, _), result in zip(accepted, done, strict=True):
            results[i] = result
    for i, alert, problem in refused:
        results[i] = _refuse(engine, via=via, device_id=alert.device_id, reason=problem,
                             principal=None)
    return [r for r in results if r is not None]


def _risk_point(conn: Connection, alert_row: sa.RowMapping, principal: Principal) -> int:
    rp = cast(sa.Table, RiskPoint.__table__)
    return int(conn.execute(sa.insert(rp).values(
        name=f"แจ้งเตือน {alert_row['device_id']} / alert {alert_row['event_id']}",
        category=ALERT_CATEGORY, category_raw=f"alert:{alert_row['kind']}",
        severity=ALERT_SEVERITY, geom=alert_row["geom"],
        reported_on=sa.cast(sa.func.timezone("Asia/Bangkok", alert_row["observed_at"]), sa.Date),
        subdistrict_code=alert_row["subdistrict_code"],
        district_code=alert_row["district_code"], province_code=alert_row["province_code"],
        geocode_quality="coordinates",
        attributes={"source": "alert", "alert_id": alert_row["id"],
                    "device_id": alert_row["device_id"], "event_id": alert_row["event_id"],
                    "confirmed_by": principal.name},
    ).returning(rp.c.id)).scalar_one())


def set_status(conn: Connection, alert_id: int, status: str, *,
               principal: Principal) -> dict[str, Any]:
    """Move an alert along new -> acknowledged -> confirmed | false alarm.

    Confirming makes a risk point of :data:`ALERT_CATEGORY` whose source is the alert
    (``attributes.alert_id``; the alert keeps ``risk_point_id``), so it enters the ranking
    with that category's weight and the model's recency decay.

    Raises
    ------
    com.errors.NotFoundError, com.errors.ValidationError, com.errors.PermissionDenied
    """
    principal.require_role("planner")
    if status not in STATUSES:
        raise ValidationError(f"สถานะ {status!r} ไม่ถูกต้อง / status must be one of {STATUSES}")
    row = conn.execute(
        sa.select(alerts).where(alerts.c.id == alert_id).with_for_update()
    ).mappings().first()
    if row is None:
        raise NotFoundError(f"ไม่พบการแจ้งเตือน {alert_id} / no alert {alert_id}")
    principal.require_province(row["province_code"])
    if status not in _NEXT.get(row["status"], set()):
        raise ValidationError(
            f"เปลี่ยนสถานะจาก {row['status']} เป็น {status} ไม่ได้ / "
            f"cannot go from {row['status']} to {status}"
        )
    values: dict[str, Any] = {"status": status, "status_by": principal.name,
                              "status_at": sa.func.now()}
    if status == "confirmed":
        values["risk_point_id"] = _risk_point(conn, row, principal)
    conn.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(values))
    audit.record(conn, principal=principal, action=f"alert.{status}", target=f"alert:{alert_id}",
                 record_ids=[alert_id], details={"risk_point_id": values.get("risk_point_id")})
    return {"id": alert_id, "status": status, "risk_point_id": values.get("risk_point_id")}
