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
