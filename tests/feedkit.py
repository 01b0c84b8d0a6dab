"""Helpers of the live-feed tests (issue 17): private Mosquitto, publisher, alerts, receiver."""

from __future__ import annotations

import getpass
import http.server
import json
import signal
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from live_server import free_port

from com.feeds.signing import body_signature, signed

SYSTEM_BROKER = "mqtt://127.0.0.1:1883"


class PrivateBroker:
    """A ``mosquitto`` of the test's own on a free port, persistence on (survives restarts)."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.dir = directory
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(
            # Run as the test's own user: as root, mosquitto would switch to the "mosquitto"
            # user, which may not write the persistence file into the test's directory.
            f"user {getpass.getuser()}\n"
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {directory}/\nautosave_interval 1\n"
            "max_queued_messages 0\nmax_inflight_messages 0\n"
            f"log_dest file {directory}/mosquitto.log\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> PrivateBroker:
        self.process = subprocess.Popen(["mosquitto", "-c", str(self.conf)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        import socket

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """Stop it the way a restart does: SIGTERM, which writes the persistence file."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=10)
        self.process = None


def publisher(url: str, client_id: str | None = None) -> mqtt.Client:
    """Return a connected publisher (persistent session, so QoS-1 messages survive restarts)."""
    host, port = url.removeprefix("mqtt://").split(":")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                         client_id=client_id or f"pub-{uuid.uuid4().hex[:8]}",
                         clean_session=False, protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(100)
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    client.connect(host, int(port), keepalive=10)
    client.loop_start()
    return client


def forget_session(url: str, client_id: str) -> None:
    """Remove a persistent session from a broker (connect once with a clean session)."""
    host, port = url.removeprefix("mqtt://").split(":")
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=True, protocol=mqtt.MQTTv311)
    try:
        client.connect(host, int(port), keepalive=5)
        client.loop(timeout=0.5)
        client.disconnect()
    except OSError:
        pass


def alert(device_id: str, secret: str, *, event_id: str | None = None, kind: str = "person",
          lat: float | None = None, lon: float | None = None, **extra: Any) -> dict[str, Any]:
    """Return a signed alert payload."""
    payload: dict[str, Any] = {
        "device_id": device_id, "event_id": event_id or uuid.uuid4().hex, "kind": kind,
        "time": datetime.now(UTC).isoformat(), "confidence": 0.87, **extra,
    }
    if lat is not None and lon is not None:
        payload["position"] = {"lat": lat, "lon": lon}
    return signed(secret, payload)


def publish(client: mqtt.Client, payload: dict[str, Any]) -> mqtt.MQTTMessageInfo:
    """Publish a payload to com/alerts/<device> at QoS 1."""
    return client.publish(f"com/alerts/{payload['device_id']}", json.dumps(payload), qos=1)


class Receiver:
    """A webhook receiver: a real HTTP server recording every POST (can be 'down': 503)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.up = True
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if not outer.up:
                    self.send_response(503)
                    self.end_headers()
                    return
                with outer.lock:
                    outer.requests.append({"headers": dict(self.headers), "body": body,
                                           "path": self.path})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self, secret: str) -> list[dict[str, Any]]:
        """Return the CloudEvents received whose signature checks with ``secret``."""
        out = []
        with self.lock:
            requests = list(self.requests)
        for r in requests:
            h = {k.lower(): v for k, v in r["headers"].items()}
            expected = body_signature(secret, int(h["webhook-timestamp"]), r["body"])
            assert h["webhook-signature"] == expected, "bad webhook signature"
            out.append(json.loads(r["body"]))
        return out


def wait_for(predicate: Any, timeout_s: float, step_s: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; return it (or the last value)."""
    deadline = time.monotonic() + timeout_s
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(step_s)
        value = predicate()
    return value


def province_alerts(engine: Any, settings: Any) -> dict[str, Any]:
    """A device and an alert in Surin (32) and in Sisaket (33), at the first subdistrict's
    representative point of each (where tests/security/test_access.py puts its points)."""
    import sqlalchemy as sa

    from com.db.engine import transaction
    from com.feeds.alerts import receive_alert
    from com.feeds.devices import add_device
    from com.security.access import CLI

    out: dict[str, Any] = {"alerts": {}, "devices": {}, "secrets": {}}
    tag = uuid.uuid4().hex[:6]
    for province in ("32", "33"):
        with transaction(engine) as conn:
            lon, lat = conn.execute(sa.text(
                "SELECT ST_X(rep_point), ST_Y(rep_point) FROM subdistricts "
                "WHERE province_code = :p ORDER BY code LIMIT 1"), {"p": province}).one()
            device = add_device(conn, device_id=f"acc-{province}-{tag}", kind="detector",
                                province_code=province, lat=lat, lon=lon,
                                secret_key=settings.secret_key, principal=CLI)
        got = receive_alert(engine, alert(device.id, device.secret),
                            secret_key=settings.secret_key)
        out["alerts"][province] = got.alert_id
        out["devices"][province] = device.id
        out["secrets"][province] = device.secret
    return out


def check_feed_routes(client: Any, check: Any, headers: dict[str, str], feeds: dict[str, Any],
                      other: str) -> None:
    """Province checks of the live-feed routes for a Surin staff session (test_access)."""
    def no_other(response: Any) -> bool:
        return response.status_code == 200 and (
            f'"province_code":"{other}"' not in response.text.replace(" ", ""))

    def refused(response: Any) -> bool:
        return response.status_code in (401, 403, 404)

    listed = client.get("/api/alerts", params={"limit": 1000})
    check("alerts list", "/api/alerts", no_other(listed)
          and f'"id":{feeds["alerts"]["32"]},' in listed.text.replace(" ", ""))
    stream = client.get("/api/alerts/stream", params={"max_s": 0.5},
                        headers={"Last-Event-ID": "0"})
    check("alerts stream", "/api/alerts/stream", no_other(stream)
          and '"event_id":' in stream.text)
    payload = alert(feeds["devices"][other], feeds["secrets"][other])
    check("alert from a 33 device", "/api/alerts",
          refused(client.post("/api/alerts", json=payload, headers=headers)))
    check("triage a 33 alert", "/api/alerts/{alert_id}/status", refused(client.post(
        f"/api/alerts/{feeds['alerts'][other]}/status", json={"status": "confirmed"},
        headers=headers)))
    check("devices", "/api/devices", refused(client.get("/api/devices"))
          or no_other(client.get("/api/devices")))
    check("add a 33 device", "/api/devices", refused(client.post(
        "/api/devices", headers=headers,
        json={"id": "x-33", "province": other, "lat": 15.1, "lon": 104.3})))
    check("disable a 33 device", "/api/devices/{device_id}/disable", refused(client.post(
        f"/api/devices/{feeds['devices'][other]}/disable", headers=headers)))
    for path in ("/api/webhooks", "/api/webhooks/deliveries"):  # admins only
        check(f"{path} admin only", path, refused(client.get(path)))
    check("webhook add admin only", "/api/webhooks", refused(client.post(
        "/api/webhooks", headers=headers, json={"name": "x", "url": "http://127.0.0.1:9/"})))
    check("webhook disable admin only", "/api/webhooks/{subscription_id}/disable",
          refused(client.post("/api/webhooks/1/disable", headers=headers)))
