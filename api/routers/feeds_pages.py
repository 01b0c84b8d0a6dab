"""The admin page of live feeds (issue 17): devices with their statistics, webhooks, the log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.deps import EngineDep, SettingsDep
from api.pages_deps import AdminPage, FormCsrf
from api.web import render
from com.db.engine import transaction
from com.errors import ComError, ValidationError
from com.feeds.delivery import delivery_log
from com.feeds.devices import add_device, device_statistics
from com.feeds.webhooks import list_subscriptions

router = APIRouter(tags=["pages"], include_in_schema=False)


def _page(request: Request, page: Any, engine: Any, settings: Any,
          **extra: Any) -> Response:
    with engine.connect() as conn:
        context = {
            "devices": device_statistics(conn, silence_s=settings.device_silence_s),
            "subscriptions": list_subscriptions(conn),
            "deliveries": delivery_log(conn, limit=50),
            "provinces": page.provinces, **extra,
        }
    return render(request, "feeds.html", context, principal=page.principal)


@router.get("/admin/feeds")
def feeds_page(request: Request, page: AdminPage, engine: EngineDep,
               settings: SettingsDep) -> Response:
    """Devices (false-alarm rate, silence), webhook subscriptions and the delivery log."""
    return _page(request, page, engine, settings)


def _number(text: str, field: str) -> float:
    try:
        return float(text.strip())
    except ValueError:
        raise ValidationError(f"{field}: {text!r} ไม่ใช่ตัวเลข / is not a number") from None


@router.post("/admin/feeds/devices")
def feeds_add_device(
    request: Request, _csrf: FormCsrf, page: AdminPage, engine: EngineDep,
    settings: SettingsDep,
    device_id: Annotated[str, Form(max_length=100)],
    province_code: Annotated[str, Form(max_length=2)],
    lat: Annotated[str, Form(max_length=20)],
    lon: Annotated[str, Form(max_length=20)],
    kind: Annotated[str, Form(max_length=20)] = "detector",
) -> Response:
    """Register a device; its secret is shown once, in this response only."""
    try:
        with transaction(engine) as conn:
            created = add_device(
                conn, device_id=device_id.strip(), kind=kind, province_code=province_code,
                lat=_number(lat, "lat"), lon=_number(lon, "lon"),
                secret_key=settings.secret_key, principal=page.principal)
    except ComError as exc:
        return _page(request, page, engine, settings, message=str(exc))
    return _page(request, page, engine, settings, new_device=created.id,
                 new_secret=created.secret)
