"""Registered detectors and sensors: add, list, disable, their secrets and their statistics."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db.tables import Province
from com.db.tables_feeds import alerts, devices
from com.errors import ConflictError, NotFoundError, ValidationError
from com.feeds.signing import derive_secret, new_salt
from com.security import audit
from com.security.access import Principal

DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")
DEVICE_KINDS = ("detector", "camera", "sensor")


@dataclass(frozen=True)
class CreatedDevice:
    """A new device with the only copy of its secret the caller is shown."""

    id: str
    secret: str


def device_secret(secret_key: str, device_id: str, salt: str) -> str:
    """Return the HMAC secret of a device (derived from the app's secret key and its salt)."""
    return derive_secret(secret_key, purpose="device", ident=device_id, salt=salt)


def add_device(
    conn: Connection, *, device_id: str, kind: str, province_code: str, lat: float, lon: float,
    secret_key: str, principal: Principal, name: str | None = None,
) -> CreatedDevice:
    """Register a device and return its secret (shown once; COM re-derives it to verify).

    Raises
    ------
    com.errors.ValidationError
        A malformed id, unknown kind, unknown province or a position out of range.
    com.errors.ConflictError
        (From the database) the id is taken.
    """
    principal.require_role("admin")
    if not DEVICE_ID.match(device_id or ""):
        raise ValidationError(
            f"รหัสอุปกรณ์ {device_id!r} ใช้ไม่ได้ / device id {device_id!r}: use letters, "
            "digits, _ . : - (at most 100)"
        )
    if kind not in DEVICE_KINDS:
        raise ValidationError(f"ชนิดอุปกรณ์ {kind!r} / device kind must be one of {DEVICE_KINDS}")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValidationError(f"พิกัด lat={lat} lon={lon} ไม่ถูกต้อง / position out of range")
    known = conn.execute(sa.select(Province.code).where(Province.code == province_code)).first()
    if known is None:
        raise ValidationError(f"ไม่พบจังหวัด {province_code!r} / unknown province")
    if conn.execute(sa.select(devices.c.id).where(devices.c.id == device_id)).first():
        raise ConflictError(f"มีอุปกรณ์ {device_id} แล้ว / device {device_id} exists")
    salt = new_salt()
    conn.execute(sa.insert(devices).values(
        id=device_id, kind=kind, name=name, province_code=province_code, secret_salt=salt,
        geom=sa.func.ST_SetSRID(sa.func.ST_MakePoint(lon, lat), 4326),
        created_by=principal.name,
    ))
    audit.record(conn, principal=principal, action="device.create", target=f"device:{device_id}",
                 details={"kind": kind, "province": province_code})
    return CreatedDevice(id=device_id, secret=device_secret(secret_key, device_id, salt))


def reveal_secret(conn: Connection, device_id: str, *, secret_key: str,
                  principal: Principal) -> str:
    """Return a device's secret again (admins only; audited)."""
    principal.require_role("admin")
    salt = conn.execute(sa.select(devices.c.secret_salt).where(devices.c.id == device_id)).first()
    if salt is None:
        raise NotFoundError(f"ไม่พบอุปกรณ์ {device_id} / no device {device_id}")
    audit.record(conn, principal=principal, action="device.secret", target=f"device:{device_id}")
    return device_secret(secret_key, device_id, salt[0])


def set_disabled(conn: Connection, device_id: str, *, disabled: bool,
                 principal: Principal) -> None:
    """Disable (alerts refused from now on) or re-enable a device."""
    principal.require_role("admin")
    done = conn.execute(
        sa.update(devices).where(devices.c.id == device_id)
        .values(disabled_at=sa.func.now() if disabled else None)
    ).rowcount
    if not done:
        raise NotFoundError(f"ไม่พบอุปกรณ์ {device_id} / no device {device_id}")
    audit.record(conn, principal=principal, target=f"device:{device_id}",
                 action="device.disable" if disabled else "device.enable")


def device_statistics(
    conn: Connection, *, silence_s: float, province_code: str | None = None,
    provinces: Collection[str] | None = None,
) -> list[dict[str, Any]]:
    """Return each device with its alert counts, false-alarm rate and whether it is silent.

    The false-alarm rate is false alarms over triaged alerts (confirmed + false alarm);
    ``silent`` is true when the last heartbeat (or, lacking one, registration) is older than
    ``silence_s`` seconds.
    """
    counts = (
        sa.select(
            alerts.c.device_id,
            sa.func.count().label("alerts"),
            sa.func.count().filter(alerts.c.status == "new").label("new"),
            sa.func.count().filter(alerts.c.status == "confirmed").label("confirmed"),
            sa.func.count().filter(alerts.c.status == "false_alarm").label("false_alarms"),
            sa.func.max(alerts.c.observed_at).label("last_alert_at"),
        ).group_by(alerts.c.device_id).subquery()
    )
    last = sa.func.coalesce(devices.c.last_heartbeat_at, devices.c.created_at)
    silent = last < sa.func.now() - sa.func.make_interval(0, 0, 0, 0, 0, 0, silence_s)
    query = (
        sa.select(
            devices.c.id, devices.c.kind, devices.c.name, devices.c.province_code,
            sa.func.ST_Y(devices.c.geom).label("lat"), sa.func.ST_X(devices.c.geom).label("lon"),
            devices.c.created_at, devices.c.disabled_at, devices.c.last_seen_at,
            devices.c.last_heartbeat_at, silent.label("silent"),
            sa.func.coalesce(counts.c.alerts, 0).label("alerts"),
            sa.func.coalesce(counts.c.new, 0).label("new"),
            sa.func.coalesce(counts.c.confirmed, 0).label("confirmed"),
            sa.func.coalesce(counts.c.false_alarms, 0).label("false_alarms"),
            counts.c.last_alert_at,
        )
        .select_from(devices.outerjoin(counts, counts.c.device_id == devices.c.id))
        .order_by(devices.c.id)
    )
    if province_code:
        query = query.where(devices.c.province_code == province_code)
    if provinces is not None:  # a restricted caller's provinces (one, or a region's)
        query = query.where(devices.c.province_code.in_(sorted(provinces)))
    rows = []
    for row in conn.execute(query).mappings():
        item = dict(row)
        triaged = item["confirmed"] + item["false_alarms"]
        item["false_alarm_rate"] = item["false_alarms"] / triaged if triaged else None
        rows.append(item)
    return rows
