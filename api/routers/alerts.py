"""Live feeds (issue 17): alerts in over HTTP, the SSE stream, triage, devices and webhooks."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field

from api.deps import EngineDep, SettingsDep
from api.params import record_id
from api.security import PrincipalDep, require_role, require_write
from com.db.engine import transaction
from com.feeds import devices as device_store
from com.feeds import webhooks
from com.feeds.alerts import receive_alert, set_status
from com.feeds.delivery import delivery_log
from com.feeds.views import alert_features, latest_alert_id, require_alert_reader
from com.feeds.watch import AlertWatch, libpq_dsn, stream_waker
from com.security.access import Principal

router = APIRouter(tags=["alerts"])

Writer = Annotated[Principal, Depends(require_write)]
Planner = Annotated[Principal, Depends(require_role("planner"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
AlertId = Annotated[int, Depends(record_id("alert_id", "alert"))]
SubscriptionId = Annotated[int, Depends(record_id("subscription_id", "webhook subscription"))]
#: Seconds of silence before a keep-alive comment on an SSE stream. Streams look for new
#: alerts when the process's alert watch wakes them (a committed alert's notification, or its
#: timer: every STREAM_FALLBACK_S), never on a timer of their own.
STREAM_KEEPALIVE_S = 15.0
STREAM_FALLBACK_S = 2.0
_WATCH_LOCK = threading.Lock()
#: A stream ends after this long; EventSource reconnects at once with Last-Event-ID.
STREAM_MAX_S = 600.0
MAX_ID = 2**63 - 1


@router.post("/api/alerts", status_code=201)
def post_alert(
    principal: Writer, engine: EngineDep, settings: SettingsDep,
    payload: Annotated[dict[str, Any], Body(description="Signed alert payload (see README)")],
) -> JSONResponse:
    """Receive one signed alert from a device on HTTP (write key); a repeat is stored once."""
    result = receive_alert(engine, payload, secret_key=settings.secret_key, via="http",
                           principal=principal)
    body = {"alert_id": result.alert_id, "duplicate": result.duplicate,
            "heartbeat": result.heartbeat, "event_id": result.event_id}
    return JSONResponse(body, status_code=200 if result.duplicate or result.heartbeat else 201)


@router.get("/api/alerts")
def list_alerts(
    principal: PrincipalDep, engine: EngineDep, settings: SettingsDep,
    after_id: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
    status: Literal["new", "acknowledged", "confirmed", "false_alarm"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Return alerts as GeoJSON (province-filtered; sensitive ones coarsened)."""
    with engine.connect() as conn:
        features = alert_features(conn, principal=principal, after_id=after_id, status=status,
                                  limit=limit, severity_config=settings.severity_config)
    return {"type": "FeatureCollection", "features": features}


@router.get("/api/alerts/stream", response_class=StreamingResponse,
            responses={200: {"content": {"text/event-stream": {}}}})
async def alert_stream(
    request: Request, principal: PrincipalDep, engine: EngineDep, settings: SettingsDep,
    max_s: Annotated[float, Query(gt=0, le=STREAM_MAX_S,
                                  description="End the stream after this many seconds")]
    = STREAM_MAX_S,
) -> StreamingResponse:
    """Server-Sent Events: one ``alert`` event (a GeoJSON feature) per new alert.

    A client reconnecting with ``Last-Event-ID`` gets the alerts it missed.
    """
    require_alert_reader(principal)
    last = request.headers.get("last-event-id", "")

    def read(after: int) -> list[dict[str, Any]]:
        with engine.connect() as conn:
            return alert_features(conn, principal=principal, after_id=after, limit=200,
                                  severity_config=settings.severity_config)

    def start() -> int:
        if last.isdigit() and int(last) <= MAX_ID:
            return int(last)
        with engine.connect() as conn:
            return latest_alert_id(conn)

    async def events() -> AsyncIterator[str]:
        after = await run_in_threadpool(start)
        yield "retry: 2000\n: connected\n\n"
        loop = asyncio.get_running_loop()
        woken = asyncio.Event()
        waker = stream_waker(loop, woken)
        watch = alert_watch(request.app)
        watch.add(waker)
        try:
            said, ends = loop.time(), loop.time() + max_s
            while loop.time() < ends and not await request.is_disconnected():
                woken.clear()  # before reading: an alert committed after the read wakes us
                for feature in await run_in_threadpool(read, after):
                    after = max(after, int(feature["id"]))
                    said = loop.time()
                    yield (f"id: {feature['id']}\nevent: alert\n"
                           f"data: {json.dumps(feature, ensure_ascii=False)}\n\n")
                wait = min(STREAM_KEEPALIVE_S, max(ends - loop.time(), 0.0))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(woken.wait(), timeout=wait)
                if loop.time() - said >= STREAM_KEEPALIVE_S:
                    said = loop.time()
                    yield ": keep-alive\n\n"
        finally:
            watch.remove(waker)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


class StatusIn(BaseModel):
    """A triage decision."""

    status: Literal["acknowledged", "confirmed", "false_alarm"]


@router.post("/api/alerts/{alert_id}/status")
def triage_alert(alert_id: AlertId, body: StatusIn, principal: Planner,
                 engine: EngineDep) -> dict[str, Any]:
    """Acknowledge, confirm (becomes an illegal-entry risk point) or dismiss an alert."""
    with transaction(engine) as conn:
        return set_status(conn, alert_id, body.status, principal=principal)


@router.get("/api/devices")
def list_devices(principal: Planner, engine: EngineDep, settings: SettingsDep) -> dict[str, Any]:
    """Devices with alert counts, false-alarm rate and silence (no heartbeat for 1 h)."""
    with engine.connect() as conn:
        rows = device_store.device_statistics(conn, silence_s=settings.device_silence_s,
                                              provinces=principal.allowed_provinces)
    return {"devices": rows}


class DeviceIn(BaseModel):
    """A device to register."""

    id: str = Field(min_length=1, max_length=100, examples=["surin-bd-001"])
    kind: Literal["detector", "camera", "sensor"] = "detector"
    province: str = Field(pattern=r"^\d{2}$", examples=["32"])
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    name: str | None = Field(default=None, max_length=200)


@router.post("/api/devices", status_code=201)
def add_device(body: DeviceIn, principal: Admin, engine: EngineDep,
               settings: SettingsDep) -> dict[str, Any]:
    """Register a device; the answer holds its secret, shown this once."""
    with transaction(engine) as conn:
        created = device_store.add_device(
            conn, device_id=body.id, kind=body.kind, province_code=body.province, lat=body.lat,
            lon=body.lon, name=body.name, secret_key=settings.secret_key, principal=principal)
    return {"id": created.id, "secret": created.secret}


@router.post("/api/devices/{device_id}/disable")
def disable_device(device_id: str, principal: Admin, engine: EngineDep) -> dict[str, Any]:
    """Refuse a device's alerts from now on."""
    with transaction(engine) as conn:
        device_store.set_disabled(conn, device_id, disabled=True, principal=principal)
    return {"id": device_id, "disabled": True}


class SubscriptionIn(BaseModel):
    """An agency's webhook."""

    name: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=8, max_length=2000)
    provinces: list[Annotated[str, Field(pattern=r"^\d{2}$")]] | None = None
    region: str | None = Field(default=None, max_length=100,
                               description="A region whose provinces join `provinces`")
    categories: list[str] | None = None
    min_severity: int = Field(default=1, ge=1, le=5)
    alerts: bool = True
    sensitive: bool = False


@router.get("/api/webhooks")
def list_webhooks(principal: Admin, engine: EngineDep) -> dict[str, Any]:
    """Return every subscription (never its secret)."""
    with engine.connect() as conn:
        return {"subscriptions": webhooks.list_subscriptions(conn)}


@router.post("/api/webhooks", status_code=201)
def add_webhook(body: SubscriptionIn, principal: Admin, engine: EngineDep,
                settings: SettingsDep) -> dict[str, Any]:
    """Register an agency's webhook; the answer holds its signing secret, shown this once."""
    with transaction(engine) as conn:
        created = webhooks.add_subscription(
            conn, name=body.name, url=body.url, provinces=body.provinces, region=body.region,
            categories=body.categories, min_severity=body.min_severity, alerts=body.alerts,
            sensitive=body.sensitive, secret_key=settings.secret_key, principal=principal,
            severity_config=settings.severity_config)
    return {"id": created.id, "secret": created.secret}


@router.post("/api/webhooks/{subscription_id}/disable")
def disable_webhook(subscription_id: SubscriptionId, principal: Admin,
                    engine: EngineDep) -> dict[str, Any]:
    """Stop sending to a subscription."""
    with transaction(engine) as conn:
        webhooks.disable_subscription(conn, subscription_id, principal=principal)
    return {"id": subscription_id, "disabled": True}


@router.get("/api/webhooks/deliveries")
def webhook_deliveries(
    principal: Admin, engine: EngineDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Return the delivery log: each event per subscription, attempts, last status."""
    with engine.connect() as conn:
        return {"deliveries": delivery_log(conn, limit=limit)}


def start_background(app: Any) -> None:
    """Start the MQTT subscriber (when ``COM_MQTT_URL`` is set) and the webhook deliverer."""
    from com.feeds.delivery import Deliverer
    from com.feeds.mqtt import AlertSubscriber

    settings, engine = app.state.settings, app.state.engine
    app.state.feed_workers = []
    if settings.mqtt_url:
        app.state.feed_workers.append(AlertSubscriber(
            engine, url=settings.mqtt_url, client_id=settings.mqtt_client_id,
            secret_key=settings.secret_key).start())
    if settings.webhook_delivery:
        app.state.feed_workers.append(Deliverer(engine, settings).start())


def alert_watch(app: Any) -> AlertWatch:
    """Return the process's :class:`AlertWatch`, started by the first stream that needs it."""
    with _WATCH_LOCK:
        watch = getattr(app.state, "alert_watch", None)
        if watch is None:
            watch = AlertWatch(libpq_dsn(app.state.engine.url),
                               fallback_s=STREAM_FALLBACK_S).start()
            app.state.alert_watch = watch
    return watch


def stop_background(app: Any) -> None:
    """Stop what :func:`start_background` (and the first stream) started."""
    watch = getattr(app.state, "alert_watch", None)
    if watch is not None:
        watch.stop()
        app.state.alert_watch = None
    for worker in getattr(app.state, "feed_workers", []):
        worker.stop()
