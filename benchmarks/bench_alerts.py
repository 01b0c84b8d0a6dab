"""Benchmark live alerts (issue 17): alerts/s from MQTT publish to stored, p95 latency to the map.

    .venv/bin/python benchmarks/bench_alerts.py [--alerts 2000] [--repeats 3] [--keep-db]

Everything runs on 127.0.0.1 against a throwaway database ``com_bench_alerts`` (migrations and
the HDX boundaries of ``COM_GEODATA_DIR``) and a private ``mosquitto`` on a free port.

1. **Publish -> stored.** ``--alerts`` signed QoS-1 alerts are published as fast as paho sends
   them; the time runs until the last is in the table. COM's subscriber (verifies each HMAC,
   stores once per event id, writes the outbox in the same transaction) takes turns with the
   bridge a user would otherwise write by hand: a paho subscriber INSERTing each payload into
   a JSONB table (no signature check, no de-duplication, no place, no outbox).
2. **Publish -> map.** COM (uvicorn, one worker, subscribed to the broker) and a client of
   ``/api/alerts/stream`` (what the map page does); alerts are published one every 100 ms and
   the latency is publish -> SSE event. Beside it, the way dashboards learn of new data today:
   polling (``/api/alerts?after_id=`` once a second).

Each comparison alternates the two ``--repeats`` times and prints min/median of both, the
ratio and the load average (the machine's 2 cores are shared with other work).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from com.config.settings import Settings  # noqa: E402
from com.db.engine import make_engine, transaction  # noqa: E402
from com.feeds.devices import add_device  # noqa: E402
from com.feeds.mqtt import AlertSubscriber  # noqa: E402
from com.feeds.signing import signed  # noqa: E402
from com.security.access import CLI  # noqa: E402
from com.security.apikeys import create_key  # noqa: E402

ADMIN_URL = os.environ.get(
    "COM_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = "com_bench_alerts"
SECRET_KEY = "bench-alerts-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url() -> str:
    return sa.engine.make_url(ADMIN_URL).set(database=DB_NAME).render_as_string(
        hide_password=False)


def prepare_database(*, keep: bool) -> str:
    from com.db.migrate import upgrade
    from com.geodata import load_geodata

    url = database_url()
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": DB_NAME}).scalar()
        if not (exists and keep):
            conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                 "WHERE datname = :n"), {"n": DB_NAME})
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}"'))
            conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    engine = make_engine(settings(url))
    if not (exists and keep):
        upgrade(engine)
        load_geodata(engine, Path(os.environ.get("COM_GEODATA_DIR",
                                                 REPO.parent / "shared" / "geodata")))
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE alerts, devices, outbox_events, webhook_deliveries, "
                             "webhook_subscriptions RESTART IDENTITY CASCADE"))
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_plain_alerts"))
        conn.execute(sa.text("CREATE TABLE bench_plain_alerts (id bigserial PRIMARY KEY, "
                             "topic text, payload jsonb, received_at timestamptz DEFAULT now())"))
    engine.dispose()
    return url


def settings(url: str) -> Settings:
    return Settings(environment="test", database_url=url, secret_key=SECRET_KEY,
                    _env_file=None)  # type: ignore[call-arg]


class Broker:
    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="bench-mqtt-"))
        self.port = free_port()
        (self.dir / "m.conf").write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n")
        self.process = subprocess.Popen(["mosquitto", "-c", str(self.dir / "m.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)


def publisher(port: int) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:6]}",
                         clean_session=True, protocol=mqtt.MQTTv311)
    client.max_inflight_messages_set(200)
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def payload(device_id: str, secret: str) -> dict:
    return signed(secret, {"device_id": device_id, "event_id": uuid.uuid4().hex,
                           "time": datetime.now(UTC).isoformat(), "kind": "person",
                           "confidence": 0.9})


class PlainBridge:
    """The hand-written alternative: paho -> one INSERT per message, nothing checked."""

    def __init__(self, url: str, port: int) -> None:
        import psycopg

        self.conn = psycopg.connect(sa.engine.make_url(url).set(drivername="postgresql")
                                    .render_as_string(hide_password=False), autocommit=True)
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f"plain-{uuid.uuid4().hex[:6]}",
                                  clean_session=False, protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, u, f, r, p=None: c.subscribe("com/alerts/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, message) -> None:  # type: ignore[no-untyped-def]
        with self.lock:
            self.conn.execute("INSERT INTO bench_plain_alerts (topic, payload) VALUES (%s, %s)",
                              (message.topic, message.payload.decode()))

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.conn.close()


def count(engine, table: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def throughput_run(engine, port: int, table: str, n: int,  # type: ignore[no-untyped-def]
                   device: tuple[str, str]) -> float:
    before = count(engine, table)
    payloads = [json.dumps(payload(*device)) for _ in range(n)]
    pub = publisher(port)
    started = time.perf_counter()
    for body in payloads:
        pub.publish(f"com/alerts/{device[0]}", body, qos=1)
    deadline = time.monotonic() + 600
    while count(engine, table) < before + n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"{table}: not all {n} stored in 600 s")
        time.sleep(0.02)
    elapsed = time.perf_counter() - started
    pub.loop_stop()
    pub.disconnect()
    return n / elapsed


def bench_throughput(url: str, broker: Broker, n: int, repeats: int,
                     device: tuple[str, str]) -> dict:
    engine = make_engine(settings(url))
    com = AlertSubscriber(engine, url=broker.url, client_id=f"com-{uuid.uuid4().hex[:6]}",
                          secret_key=SECRET_KEY).start()
    com.connected.wait(10)
    com.client.unsubscribe("com/alerts/#")
    plain = PlainBridge(url, broker.port)
    time.sleep(0.5)
    plain.client.unsubscribe("com/alerts/#")
    rates: dict[str, list[float]] = {"com": [], "plain": []}
    for _ in range(repeats):
        for name in ("com", "plain"):
            client = com.client if name == "com" else plain.client
            client.subscribe("com/alerts/#", qos=1)
            time.sleep(0.3)
            table = "alerts" if name == "com" else "bench_plain_alerts"
            rates[name].append(throughput_run(engine, broker.port, table, n, device))
            client.unsubscribe("com/alerts/#")
            time.sleep(0.3)
    com.stop()
    plain.stop()
    engine.dispose()
    return rates


def start_com(url: str, broker: Broker) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO), "COM_DATABASE_URL": url,
           "COM_ENVIRONMENT": "test", "COM_SECRET_KEY": SECRET_KEY,
           "COM_MQTT_URL": broker.url, "COM_MQTT_CLIENT_ID": f"com-api-{uuid.uuid4().hex[:6]}",
           "COM_RATE_LIMIT_PER_MINUTE": "0"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            httpx.get(f"{base}/api/health", timeout=2)
            return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    raise RuntimeError("COM did not start")


def latency_sse(base: str, key: str, broker: Broker, device: tuple[str, str],
                m: int) -> list[float]:
    seen: dict[str, float] = {}
    ready = threading.Event()
    stop = threading.Event()

    def read() -> None:
        with httpx.stream("GET", f"{base}/api/alerts/stream", headers={"X-API-Key": key},
                          params={"max_s": 120}, timeout=130) as r:
            event = None
            for line in r.iter_lines():
                if line.startswith(": connected"):
                    ready.set()
                elif line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "alert":
                    seen[json.loads(line[6:])["properties"]["event_id"]] = time.perf_counter()
                if stop.is_set():
                    return

    return _publish_and_wait(read, ready, stop, seen, broker, device, m)


def latency_poll(base: str, key: str, broker: Broker, device: tuple[str, str],
                 m: int) -> list[float]:
    seen: dict[str, float] = {}
    ready = threading.Event()
    stop = threading.Event()

    def read() -> None:
        with httpx.Client(headers={"X-API-Key": key}, timeout=10) as client:
            after = _latest(base, client)
            ready.set()
            while not stop.is_set():
                r = client.get(f"{base}/api/alerts", params={"limit": 1000, "after_id": after})
                now = time.perf_counter()
                for f in r.json()["features"]:
                    seen.setdefault(f["properties"]["event_id"], now)
                    after = max(after, int(f["id"]))
                time.sleep(1.0)

    return _publish_and_wait(read, ready, stop, seen, broker, device, m)


def _latest(base: str, client: httpx.Client) -> int:
    """Return the newest alert id (a poller starts from there), paging from a recent guess."""
    after = LATEST_HINT[0]
    while True:
        features = client.get(f"{base}/api/alerts",
                              params={"limit": 1000, "after_id": after}).json()["features"]
        if not features:
            return after
        after = int(features[-1]["id"])


LATEST_HINT = [0]


def _publish_and_wait(read, ready, stop, seen, broker, device, m) -> list[float]:  # type: ignore[no-untyped-def]
    thread = threading.Thread(target=read, daemon=True)
    thread.start()
    if not ready.wait(60):
        raise RuntimeError("the client did not get ready")
    time.sleep(0.5)
    pub = publisher(broker.port)
    sent: dict[str, float] = {}
    for _ in range(m):
        p = payload(*device)
        sent[p["event_id"]] = time.perf_counter()
        pub.publish(f"com/alerts/{device[0]}", json.dumps(p), qos=1)
        time.sleep(0.1)
    deadline = time.monotonic() + 30
    while any(e not in seen for e in sent) and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    pub.loop_stop()
    pub.disconnect()
    missing = [e for e in sent if e not in seen]
    if missing:
        raise RuntimeError(f"{len(missing)} alerts never reached the client")
    return [seen[e] - t for e, t in sent.items()]


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def summary(label: str, unit: str, com: list[float], other: list[float], other_name: str,
            *, higher_better: bool) -> None:
    cm, om = statistics.median(com), statistics.median(other)
    print(f"### {label}")
    print("| | min | median | runs |\n|---|---|---|---|")
    print(f"| COM | {min(com):.3f} {unit} | {cm:.3f} {unit} | "
          f"{', '.join(f'{v:.3f}' for v in com)} |")
    print(f"| {other_name} | {min(other):.3f} {unit} | {om:.3f} {unit} | "
          f"{', '.join(f'{v:.3f}' for v in other)} |")
    ratio = cm / om
    print(f"ratio COM / {other_name} (medians): {ratio:.2f}"
          f" ({'higher' if higher_better else 'lower'} is better for COM)")
    print(f"load average: {', '.join(f'{x:.2f}' for x in os.getloadavg())}\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--latency-alerts", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args()
    url = prepare_database(keep=args.keep_db)
    engine = make_engine(settings(url))
    with transaction(engine) as conn:
        created = add_device(conn, device_id="bench-bd-1", kind="detector", province_code="32",
                             lat=14.43, lon=103.45, secret_key=SECRET_KEY, principal=CLI)
        key = create_key(conn, name="bench", created_by=CLI).key
    engine.dispose()
    device = (created.id, created.secret)
    broker = Broker()
    print(f"## Live alerts (issue 17), {datetime.now(UTC):%Y-%m-%d %H:%M} UTC\n")
    try:
        rates = bench_throughput(url, broker, args.alerts, args.repeats, device)
        summary(f"Publish -> stored, {args.alerts} QoS-1 alerts (alerts/s)", "/s",
                rates["com"], rates["plain"], "plain paho->INSERT bridge", higher_better=True)
        hint_engine = make_engine(settings(url))
        with hint_engine.connect() as conn:
            LATEST_HINT[0] = int(conn.execute(sa.text(
                "SELECT coalesce(max(id), 0) FROM alerts")).scalar_one())
        hint_engine.dispose()
        process, base = start_com(url, broker)
        try:
            time.sleep(2)  # the API's subscriber connects
            sse: list[float] = []
            poll: list[float] = []
            for _ in range(args.repeats):
                sse.append(p95(latency_sse(base, key, broker, device, args.latency_alerts)))
                poll.append(p95(latency_poll(base, key, broker, device, args.latency_alerts)))
            summary(f"Publish -> map, p95 latency of {args.latency_alerts} alerts (s)", "s",
                    sse, poll, "polling /api/alerts every 1 s", higher_better=False)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=20)
    finally:
        broker.stop()


if __name__ == "__main__":
    main()
