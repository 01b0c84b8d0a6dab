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
from com.errors import NotFoundError, PermissionDenied, ValidationError
from com.feeds import outbox
from com.feeds.devices import device_secret
from com.feeds.payload import HEARTBEAT, AlertIn, parse_alert
from com.feeds.signing import payload_signature_ok
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


_INSERT = sa.text("""
WITH place AS (
  SELECT s.code, s.district_code, s.province_code
  FROM subdistrict_parts p JOIN subdistricts s ON s.code = p.subdistrict_code
  WHERE ST_Intersects(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) LIMIT 1
)
INSERT INTO alerts (device_id, event_id, observed_at, kind, confidence, geom, subdistrict_code,
                    district_code, province_code, via, payload)
VALUES (:device_id, :event_id, :observed_at, :kind, :confidence,
        ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), (SELECT code FROM place),
        (SELECT district_code FROM place),
        coalesce((SELECT province_code FROM place), :device_province), :via,
        CAST(:payload AS jsonb))
ON CONFLICT (device_id, event_id) DO NOTHING
RETURNING id, subdistrict_code, district_code, province_code
""")


def _store(conn: Connection, alert: AlertIn, device: sa.RowMapping, via: str) -> int | None:
    lon = alert.lon if alert.lon is not None else device["lon"]
    lat = alert.lat if alert.lat is not None else device["lat"]
    row = conn.execute(_INSERT, {
        "device_id": alert.device_id, "event_id": alert.event_id,
        "observed_at": alert.time, "kind": alert.kind, "confidence": alert.confidence,
        "lon": lon, "lat": lat, "device_province": device["province_code"], "via": via,
        "payload": json.dumps(alert.raw, ensure_ascii=False),
    }).mappings().first()
    if row is None:
        return None
    item = {
        "id": row["id"], "device_id": alert.device_id, "event_id": alert.event_id,
        "time": alert.time.isoformat(), "kind": alert.kind, "confidence": alert.confidence,
        "lon": lon, "lat": lat, "province_code": row["province_code"],
        "district_code": row["district_code"], "subdistrict_code": row["subdistrict_code"],
        "category": ALERT_CATEGORY, "severity": ALERT_SEVERITY, "status": "new",
    }
    outbox.write_event(conn, type_=outbox.ALERT_EVENT, subject=f"alert/{row['id']}",
                       data={"alert": item}, items=[item], alert=True)
    return int(row["id"])


def _device(conn: Connection, device_id: str) -> sa.RowMapping | None:
    query = sa.select(
        devices.c.id, devices.c.province_code, devices.c.secret_salt, devices.c.disabled_at,
        sa.func.ST_X(devices.c.geom).label("lon"), sa.func.ST_Y(devices.c.geom).label("lat"),
    ).where(devices.c.id == device_id)
    return conn.execute(query).mappings().first()


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
        device = _device(conn, alert.device_id)
        if device is not None and principal is not None:
            principal.require_province(device["province_code"])
        if device is None or device["disabled_at"] is not None:
            problem = "unknown device" if device is None else "disabled device"
        elif not payload_signature_ok(
            device_secret(secret_key, device["id"], device["secret_salt"]), alert.raw
        ):
            problem = "bad signature"
        else:
            problem = ""
            touch = {"last_seen_at": sa.func.now()}
            if alert.kind == HEARTBEAT:
                touch["last_heartbeat_at"] = sa.func.now()
            conn.execute(sa.update(devices).where(devices.c.id == alert.device_id).values(touch))
            if alert.kind == HEARTBEAT:
                return Received(alert.device_id, alert.event_id, None, heartbeat=True)
            alert_id = _store(conn, alert, device, via)
            return Received(alert.device_id, alert.event_id, alert_id,
                            duplicate=alert_id is None)
    raise _refuse(engine, via=via, device_id=alert.device_id, reason=problem,
                  principal=principal)


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
