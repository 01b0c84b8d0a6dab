"""The admin page of live feeds (issue 17): devices with their statistics, webhooks, the log."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from api.deps import EngineDep, SettingsDep
from api.pages_deps import AdminPage, FormCsrf
from api.web import render
from com.config.regions import regions_in_force
from com.db.engine import transaction
from com.errors import ComError, ValidationError
from com.feeds.delivery import delivery_log
from com.feeds.devices import add_device, device_statistics
from com.feeds.webhooks import add_subscription, disable_subscription, list_subscriptions

router = APIRouter(tags=["pages"], include_in_schema=False)


def _page(request: Request, page: Any, engine: Any, settings: Any,
          **extra: Any) -> Response:
    with engine.connect() as conn:
        context = {
            "devices": device_statistics(conn, silence_s=settings.device_silence_s),
            "subscriptions": list_subscriptions(conn),
            "deliveries": delivery_log(conn, limit=50),
            "provinces": page.provinces, "regions": regions_in_force().regions, **extra,
        }
    return render(request, "feeds.html", context, principal=page.principal)


def _act(request: Request, page: Any, engine: Any, settings: Any,
         work: Callable[[Connection], dict[str, Any]]) -> Response:
    """Run a form's change in one transaction; show the page with its result or its error."""
    try:
        with transaction(engine) as conn:
            shown = work(conn)
    except ComError as exc:
        return _page(request, page, engine, settings, message=str(exc))
    return _page(request, page, engine, settings, **shown)


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

    def work(conn: Connection) -> dict[str, Any]:
        created = add_device(
            conn, device_id=device_id.strip(), kind=kind, province_code=province_code,
            lat=_number(lat, "lat"), lon=_number(lon, "lon"),
            secret_key=settings.secret_key, principal=page.principal)
        return {"new_device": created.id, "new_secret": created.secret}

    return _act(request, page, engine, settings, work)


def _checked(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "on", "yes")


@router.post("/admin/feeds/webhooks")
def feeds_add_webhook(
    request: Request, _csrf: FormCsrf, page: AdminPage, engine: EngineDep,
    settings: SettingsDep,
    name: Annotated[str, Form(max_length=200)],
    url: Annotated[str, Form(max_length=2000)],
    province_code: Annotated[str, Form(max_length=2)] = "",
    region: Annotated[str, Form(max_length=100)] = "",
    min_severity: Annotated[str, Form(max_length=2)] = "1",
    alerts: Annotated[str, Form(max_length=5)] = "",
    sensitive: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    """Subscribe an agency's webhook (as ``com webhooks add``); its secret is shown once."""

    def work(conn: Connection) -> dict[str, Any]:
        created = add_subscription(
            conn, name=name, url=url.strip(), secret_key=settings.secret_key,
            principal=page.principal, provinces=[province_code] if province_code else None,
            region=region or None, min_severity=int(_number(min_severity, "min_severity")),
            alerts=_checked(alerts), sensitive=_checked(sensitive),
            severity_config=settings.severity_config)
        return {"new_webhook": created.id, "new_webhook_secret": created.secret}

    return _act(request, page, engine, settings, work)


@router.post("/admin/feeds/webhooks/{subscription_id}/disable")
def feeds_disable_webhook(
    request: Request, _csrf: FormCsrf, page: AdminPage, engine: EngineDep,
    settings: SettingsDep, subscription_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """Stop sending to a subscription (its delivery log stays)."""

    def work(conn: Connection) -> dict[str, Any]:
        disable_subscription(conn, subscription_id, principal=page.principal)
        return {}

    return _act(request, page, engine, settings, work)
