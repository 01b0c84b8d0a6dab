"""The `com sensors`, `com alerts` and `com webhooks` commands (issue 17), added by com.cli."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from typing import Annotated, Any

import typer

from com.commands.common import engine as _engine
from com.commands.common import settings as _settings

sensors_app = typer.Typer(help="Border detectors and sensors that send alerts.",
                          no_args_is_help=True)
alerts_app = typer.Typer(help="Detector alerts over MQTT.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Webhook subscriptions of other agencies.", no_args_is_help=True)


def _echo(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@sensors_app.command("add")
def sensors_add(
    device_id: Annotated[str, typer.Argument(help="The device's id, e.g. surin-bd-001.")],
    province: Annotated[str, typer.Option(help="Province code, e.g. 32 (Surin).")],
    lat: Annotated[float, typer.Option(help="Latitude of the device (WGS 84).")],
    lon: Annotated[float, typer.Option(help="Longitude of the device (WGS 84).")],
    kind: Annotated[str, typer.Option(help="detector, camera or sensor.")] = "detector",
    name: Annotated[str | None, typer.Option(help="A name people recognise.")] = None,
) -> None:
    """Register a device and print its HMAC secret ONCE (COM re-derives it to verify)."""
    from com.db.engine import transaction
    from com.feeds.devices import add_device
    from com.security.access import CLI

    with transaction(_engine()) as conn:
        created = add_device(conn, device_id=device_id, kind=kind, province_code=province,
                             lat=lat, lon=lon, name=name, secret_key=_settings().secret_key,
                             principal=CLI)
    _echo({"id": created.id, "secret": created.secret})
    typer.echo("give this secret to the device now; `com sensors secret ID` shows it again",
               err=True)


@sensors_app.command("list")
def sensors_list() -> None:
    """List devices with alert counts, false-alarm rate and silence (no heartbeat for 1 h)."""
    from com.feeds.devices import device_statistics

    with _engine().connect() as conn:
        _echo(device_statistics(conn, silence_s=_settings().device_silence_s))


@sensors_app.command("secret")
def sensors_secret(device_id: Annotated[str, typer.Argument(help="The device's id.")]) -> None:
    """Print a device's secret again (audited)."""
    from com.db.engine import transaction
    from com.feeds.devices import reveal_secret
    from com.security.access import CLI

    with transaction(_engine()) as conn:
        _echo({"id": device_id, "secret": reveal_secret(
            conn, device_id, secret_key=_settings().secret_key, principal=CLI)})


@sensors_app.command("disable")
def sensors_disable(
    device_id: Annotated[str, typer.Argument(help="The device's id.")],
    enable: Annotated[bool, typer.Option("--enable", help="Enable it again instead.")] = False,
) -> None:
    """Refuse a device's alerts from now on (or accept them again with --enable)."""
    from com.db.engine import transaction
    from com.feeds.devices import set_disabled
    from com.security.access import CLI

    with transaction(_engine()) as conn:
        set_disabled(conn, device_id, disabled=not enable, principal=CLI)
    _echo({"id": device_id, "disabled": not enable})


@alerts_app.command("listen")
def alerts_listen() -> None:
    """Subscribe to com/alerts/# on COM_MQTT_URL and store alerts until interrupted."""
    from com.errors import ConfigError
    from com.feeds.mqtt import AlertSubscriber

    settings = _settings()
    if not settings.mqtt_url:
        raise ConfigError("ตั้งค่า COM_MQTT_URL ก่อน / set COM_MQTT_URL (mqtt://host:1883)")
    logging.basicConfig(level=settings.log_level, stream=sys.stderr)
    subscriber = AlertSubscriber(_engine(), url=settings.mqtt_url,
                                 client_id=settings.mqtt_client_id,
                                 secret_key=settings.secret_key)
    typer.echo(f"listening on {settings.mqtt_url} (com/alerts/#); Ctrl-C stops", err=True)
    try:
        subscriber.run_forever()
    except KeyboardInterrupt:
        subscriber.client.disconnect()


@webhooks_app.command("add")
def webhooks_add(
    name: Annotated[str, typer.Argument(help="The agency, e.g. ตม.สุรินทร์.")],
    url: Annotated[str, typer.Argument(help="Where to POST events (http or https).")],
    province: Annotated[list[str] | None, typer.Option(
        help="Only points and alerts of this province (repeatable).")] = None,
    region: Annotated[str | None, typer.Option(
        help="Only points and alerts of this region's provinces, e.g. isoc-2.")] = None,
    category: Annotated[list[str] | None, typer.Option(
        help="Only points of this category key (repeatable).")] = None,
    min_severity: Annotated[int, typer.Option(min=1, max=5, help="Lowest severity sent.")] = 1,
    alerts: Annotated[bool, typer.Option("--alerts/--no-alerts",
                                         help="Send detector alerts too.")] = True,
    sensitive: Annotated[bool, typer.Option(
        "--sensitive", help="Exact positions of sensitive categories (else coarsened).")] = False,
) -> None:
    """Register an agency's webhook and print its signing secret ONCE."""
    from com.db.engine import transaction
    from com.feeds.webhooks import add_subscription
    from com.security.access import CLI

    settings = _settings()
    with transaction(_engine()) as conn:
        created = add_subscription(
            conn, name=name, url=url, provinces=province, region=region, categories=category,
            min_severity=min_severity, alerts=alerts, sensitive=sensitive,
            secret_key=settings.secret_key, principal=CLI,
            severity_config=settings.severity_config)
    _echo({"id": created.id, "secret": created.secret})
    typer.echo("give this secret to the agency now: it verifies the Webhook-Signature header",
               err=True)


@webhooks_app.command("list")
def webhooks_list() -> None:
    """List subscriptions (never their secrets)."""
    from com.feeds.webhooks import list_subscriptions

    with _engine().connect() as conn:
        _echo(list_subscriptions(conn))


@webhooks_app.command("disable")
def webhooks_disable(
    subscription_id: Annotated[int, typer.Argument(min=1, help="The subscription's id.")],
) -> None:
    """Stop sending to a subscription."""
    from com.db.engine import transaction
    from com.feeds.webhooks import disable_subscription
    from com.security.access import CLI

    with transaction(_engine()) as conn:
        disable_subscription(conn, subscription_id, principal=CLI)
    _echo({"id": subscription_id, "disabled": True})


@webhooks_app.command("log")
def webhooks_log(
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="Newest deliveries.")] = 50,
) -> None:
    """Show the delivery log: event, subscription, attempts, last status, delivered at."""
    from com.feeds.delivery import delivery_log

    with _engine().connect() as conn:
        _echo(delivery_log(conn, limit=limit))


@webhooks_app.command("deliver")
def webhooks_deliver(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit.")] = False,
) -> None:
    """Deliver outbox events (the API does this itself unless COM_WEBHOOK_DELIVERY=false)."""
    import httpx

    from com.feeds.delivery import Deliverer, deliver_due

    settings = _settings()
    engine = _engine()
    if once:
        with httpx.Client(timeout=settings.webhook_timeout_s) as client:
            _echo({"attempted": deliver_due(engine, settings, client=client)})
        return
    with contextlib.suppress(KeyboardInterrupt):
        Deliverer(engine, settings).run()
