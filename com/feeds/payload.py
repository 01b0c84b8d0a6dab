"""The alert payload devices send: parsed and checked field by field, errors in Thai and English."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from com.errors import ValidationError

#: Kinds of detection a device reports; ``heartbeat`` says only "I am alive".
ALERT_KINDS = ("person", "vehicle", "animal", "tamper", "heartbeat", "other")
HEARTBEAT = "heartbeat"
MAX_PAYLOAD_BYTES = 16_384
MAX_ID_CHARS = 200


@dataclass(frozen=True)
class AlertIn:
    """A parsed alert (signature not yet checked)."""

    device_id: str
    event_id: str
    time: datetime
    kind: str
    confidence: float | None
    lon: float | None
    lat: float | None
    raw: dict[str, Any]


def _bad(field: str, th: str, en: str) -> ValidationError:
    return ValidationError(f"alert field '{field}': {th} / {en}")


def _text(raw: dict[str, Any], field: str) -> str:
    value = raw.get(field)
    if not isinstance(value, str) or not value.strip():
        raise _bad(field, "ต้องเป็นข้อความที่ไม่ว่าง", "must be a non-empty string")
    if len(value) > MAX_ID_CHARS:
        raise _bad(field, f"ยาวเกิน {MAX_ID_CHARS} ตัวอักษร", f"longer than {MAX_ID_CHARS}")
    return value.strip()


def _time(raw: dict[str, Any]) -> datetime:
    value = raw.get("time")
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise _bad("time", f"อ่านเวลา {value!r} ไม่ได้ (ใช้ ISO 8601 เช่น "
                   "2026-12-03T14:00:00+07:00)", f"{value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise _bad("time", "ต้องระบุเขตเวลา (+07:00 หรือ Z)", "needs a time zone (+07:00 or Z)")
    return parsed.astimezone(UTC)


def _number(raw: dict[str, Any], field: str, low: float, high: float) -> float | None:
    value = raw.get(field)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _bad(field, "ต้องเป็นตัวเลข", "must be a number")
    if not low <= float(value) <= high:
        raise _bad(field, f"ต้องอยู่ระหว่าง {low} ถึง {high}", f"must lie in {low}..{high}")
    return float(value)


def _position(raw: dict[str, Any]) -> tuple[float | None, float | None]:
    position = raw.get("position")
    if position is None:
        return None, None
    if not isinstance(position, dict):
        raise _bad("position", "ต้องเป็น {\"lat\": .., \"lon\": ..}", "must be {lat, lon}")
    lat = _number(position, "lat", -90, 90)
    lon = _number(position, "lon", -180, 180)
    if lat is None or lon is None:
        raise _bad("position", "ต้องมีทั้ง lat และ lon", "needs both lat and lon")
    return lon, lat


def parse_alert(data: bytes | str | dict[str, Any]) -> AlertIn:
    """Parse an alert payload (JSON bytes or an object) and check every field.

    Parameters
    ----------
    data
        The JSON payload: ``device_id``, ``event_id``, ``time`` (ISO 8601 with zone),
        ``kind`` (one of :data:`ALERT_KINDS`), optional ``confidence`` (0-1), optional
        ``position`` ``{"lat", "lon"}`` and ``hmac``.

    Raises
    ------
    com.errors.ValidationError
        Naming the field and the problem in Thai and English.
    """
    raw: Any = data
    if isinstance(data, bytes | str):
        if len(data) > MAX_PAYLOAD_BYTES:
            raise _bad("*", f"ข้อมูลยาวเกิน {MAX_PAYLOAD_BYTES} ไบต์",
                       f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
        try:
            raw = json.loads(data)
        except (ValueError, UnicodeDecodeError):
            raise _bad("*", "ไม่ใช่ JSON", "payload is not JSON") from None
    if not isinstance(raw, dict):
        raise _bad("*", "ต้องเป็นออบเจกต์ JSON", "payload must be a JSON object")
    kind = _text(raw, "kind").lower()
    if kind not in ALERT_KINDS:
        raise _bad("kind", f"ไม่รู้จักชนิด {kind!r} (ใช้ {', '.join(ALERT_KINDS)})",
                   f"unknown kind {kind!r}")
    _text(raw, "hmac")
    lon, lat = _position(raw)
    return AlertIn(
        device_id=_text(raw, "device_id"), event_id=_text(raw, "event_id"), time=_time(raw),
        kind=kind, confidence=_number(raw, "confidence", 0, 1), lon=lon, lat=lat, raw=raw,
    )
