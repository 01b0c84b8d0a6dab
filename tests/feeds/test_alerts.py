"""Detector alerts (issue 17, Done means 1): MQTT on the local broker to OGC items within 2 s,
refused and audited when unsigned or unknown, stored once per event id; HTTP, SSE, triage."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from dbclean import clean_data_tables
from fastapi.testclient import TestClient
from feedkit import SYSTEM_BROKER, alert, forget_session, publish, publisher, wait_for

from api.main import create_app
from com.db.engine import transaction
from com.feeds.devices import add_device
from com.security.access import CLI, Principal
from com.security.apikeys import create_key

pytestmark = pytest.mark.db

# A natural route near the Chong Chom crossing, Kap Choeng district, Surin (32).
LAT, LON = 14.43, 103.45
USERS = {
    "admin": Principal(kind="user", name="admin", role="admin"),
    "planner": Principal(kind="user", name="planner-surin", role="planner", province_code="32"),
    "planner33": Principal(kind="user", name="planner-sisaket", role="planner",
                           province_code="33"),
}


@pytest.fixture(scope="module")
def feed(engine, test_settings) -> Iterator[dict[str, Any]]:
    """The app subscribed to the local broker under a client id of its own, and a device."""
    clean_data_tables(engine)
    client_id = f"com-test-{uuid.uuid4().hex[:8]}"
    settings = test_settings.model_copy(update={"mqtt_url": SYSTEM_BROKER,
                                                "mqtt_client_id": client_id})
    with transaction(engine) as conn:
        device = add_device(conn, device_id="surin-bd-001", kind="detector", province_code="32",
                            lat=LAT, lon=LON, secret_key=settings.secret_key, principal=CLI)
        write_key = create_key(conn, name="detector gateway", scope="write",
                               province_code="32", created_by=CLI).key
    app = create_app(settings)
    app.state.principal_resolvers.insert(0, lambda request: USERS.get(
        request.headers.get("x-test-user", "")))
    with TestClient(app) as client:
        subscriber = app.state.feed_workers[0]
        assert subscriber.connected.wait(10), "COM did not connect to the local broker"
        pub = publisher(SYSTEM_BROKER)
        yield {"client": client, "secret": device.secret, "pub": pub, "key": write_key,
               "settings": settings}
        pub.loop_stop()
        pub.disconnect()
    forget_session(SYSTEM_BROKER, client_id)
    clean_data_tables(engine)


def _items(client: TestClient, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/ogc/collections/alerts/items", params=params,
                          headers={"x-test-user": "admin"})
    assert response.status_code == 200, response.text
    return response.json()["features"]


def _with_event(client: TestClient, event_id: str) -> list[dict[str, Any]]:
    return [f for f in _items(client, limit=1000) if f["properties"]["event_id"] == event_id]


def _refusals(engine, since_id: int) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.text(
            "SELECT * FROM audit_log WHERE action = 'alert.refused' AND id > :i ORDER BY id"),
            {"i": since_id}).mappings()]


def _last_audit_id(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar_one()


def test_published_alert_is_served_within_two_seconds(feed) -> None:
    payload = alert("surin-bd-001", feed["secret"])
    started = time.monotonic()
    publish(feed["pub"], payload).wait_for_publish(5)
    found = wait_for(lambda: _with_event(feed["client"], payload["event_id"]), 2.0)
    elapsed = time.monotonic() - started
    assert found, "alert not at /ogc/collections/alerts/items within 2 s"
    assert elapsed < 2.0
    props = found[0]["properties"]
    assert props["device_id"] == "surin-bd-001" and props["kind"] == "person"
    assert props["kind_th"] == "บุคคล" and props["status"] == "new"
    assert props["province_code"] == "32" and props["subdistrict_code"].startswith("32")
    # No position in the payload: the device's own.
    assert found[0]["geometry"]["coordinates"] == pytest.approx([LON, LAT])


def test_same_event_id_twice_is_stored_once(feed, engine) -> None:
    payload = alert("surin-bd-001", feed["secret"], lat=14.44, lon=103.46)
    for _ in range(2):
        publish(feed["pub"], payload).wait_for_publish(5)
    assert wait_for(lambda: _with_event(feed["client"], payload["event_id"]), 2.0)
    response = feed["client"].post("/api/alerts", json=payload, headers={"X-API-Key": feed["key"]})
    assert response.status_code == 200 and response.json()["duplicate"] is True
    time.sleep(0.5)  # let any second copy arrive
    with engine.connect() as conn:
        n = conn.execute(sa.text("SELECT count(*) FROM alerts WHERE event_id = :e"),
                         {"e": payload["event_id"]}).scalar_one()
    assert n == 1


def test_bad_signature_and_unknown_device_are_refused_and_audited(feed, engine) -> None:
    mark = _last_audit_id(engine)
    forged = alert("surin-bd-001", "not-the-secret")
    unknown = alert("nobody-999", feed["secret"])
    for payload in (forged, unknown):
        publish(feed["pub"], payload).wait_for_publish(5)
    refused = wait_for(lambda: _refusals(engine, mark) if len(_refusals(engine, mark)) >= 2
                       else None, 3.0)
    assert refused, "refusals not audited"
    reasons = {(r["target"], r["details"]["reason"]) for r in refused}
    assert ("device:surin-bd-001", "bad signature") in reasons
    assert ("device:nobody-999", "unknown device") in reasons
    with engine.connect() as conn:
        stored = conn.execute(sa.text(
            "SELECT count(*) FROM alerts WHERE event_id IN (:a, :b)"),
            {"a": forged["event_id"], "b": unknown["event_id"]}).scalar_one()
    assert stored == 0
    # The same over HTTP: 403, nothing stored.
    tampered = {**alert("surin-bd-001", feed["secret"]), "kind": "vehicle"}
    response = feed["client"].post("/api/alerts", json=tampered,
                                   headers={"X-API-Key": feed["key"]})
    assert response.status_code == 403
    assert "bad signature" in response.json()["detail"]


def test_malformed_payload_names_the_field(feed) -> None:
    payload = alert("surin-bd-001", feed["secret"], kind="person")
    payload["time"] = "yesterday"
    response = feed["client"].post("/api/alerts", json=payload, headers={"X-API-Key": feed["key"]})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "'time'" in detail and "ISO 8601" in detail and "เวลา" in detail


def test_http_alert_needs_a_write_key(feed) -> None:
    payload = alert("surin-bd-001", feed["secret"])
    assert feed["client"].post("/api/alerts", json=payload).status_code == 401
    response = feed["client"].post("/api/alerts", json=payload,
                                   headers={"X-API-Key": feed["key"]})
    assert response.status_code == 201 and response.json()["alert_id"] > 0


def test_datetime_filters_alerts_by_thai_day(feed) -> None:
    payload = alert("surin-bd-001", feed["secret"])
    payload = alert("surin-bd-001", feed["secret"], event_id=payload["event_id"])
    payload_old = alert("surin-bd-001", feed["secret"])
    payload_old.pop("hmac")
    payload_old["time"] = "2025-01-15T23:30:00+00:00"  # 16 January in Thailand
    from com.feeds.signing import signed

    payload_old = signed(feed["secret"], payload_old)
    for p in (payload, payload_old):
        r = feed["client"].post("/api/alerts", json=p, headers={"X-API-Key": feed["key"]})
        assert r.status_code == 201
    day = _items(feed["client"], datetime="2025-01-16", limit=1000)
    assert [f["properties"]["event_id"] for f in day] == [payload_old["event_id"]]
    assert not _items(feed["client"], datetime="2025-01-15", limit=1000)


def _stream_first_alert(base: str, headers: dict[str, str], out: list[dict[str, Any]],
                        ready: threading.Event) -> None:
    with httpx.stream("GET", f"{base}/api/alerts/stream", headers=headers, timeout=10) as r:
        ready.set()
        event = None
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "alert":
                out.append(json.loads(line[6:]))
                return


def test_sse_stream_pushes_new_alerts(feed, engine, test_settings, tmp_path) -> None:
    """A real server: the stream sends the alert published after it opened."""
    from live_server import LiveServer

    with transaction(engine) as conn:
        key = create_key(conn, name="map wall", created_by=CLI).key
    server = LiveServer({"COM_DATABASE_URL": test_settings.database_url,
                         "COM_ENVIRONMENT": "test", "COM_SECRET_KEY": test_settings.secret_key,
                         "COM_GEODATA_DIR": str(test_settings.geodata_dir),
                         "COM_WEBHOOK_DELIVERY": "false"}, tmp_path / "server.log").start()
    try:
        out: list[dict[str, Any]] = []
        ready = threading.Event()
        reader = threading.Thread(target=_stream_first_alert,
                                  args=(server.base_url, {"X-API-Key": key}, out, ready))
        reader.start()
        assert ready.wait(10)
        time.sleep(0.5)
        payload = alert("surin-bd-001", feed["secret"])
        publish(feed["pub"], payload).wait_for_publish(5)
        reader.join(timeout=10)
        assert out and out[0]["properties"]["event_id"] == payload["event_id"]
        assert out[0]["properties"]["location_coarsened"] is False
        assert httpx.get(f"{server.base_url}/api/alerts/stream", timeout=5).status_code == 403
    finally:
        server.stop()


def test_triage_confirm_makes_a_risk_point(feed, engine) -> None:
    r = feed["client"].post("/api/alerts", json=alert("surin-bd-001", feed["secret"]),
                            headers={"X-API-Key": feed["key"]})
    alert_id = r.json()["alert_id"]
    planner = {"x-test-user": "planner"}
    other = feed["client"].post(f"/api/alerts/{alert_id}/status", json={"status": "confirmed"},
                                headers={"x-test-user": "planner33"})
    assert other.status_code == 403
    ack = feed["client"].post(f"/api/alerts/{alert_id}/status",
                              json={"status": "acknowledged"}, headers=planner)
    assert ack.status_code == 200
    done = feed["client"].post(f"/api/alerts/{alert_id}/status", json={"status": "confirmed"},
                               headers=planner)
    assert done.status_code == 200, done.text
    point_id = done.json()["risk_point_id"]
    with engine.connect() as conn:
        point = conn.execute(sa.text(
            "SELECT category, severity, province_code, attributes FROM risk_points "
            "WHERE id = :i"), {"i": point_id}).mappings().one()
    assert point["category"] == "illegal_entry" and point["province_code"] == "32"
    assert point["attributes"]["alert_id"] == alert_id
    again = feed["client"].post(f"/api/alerts/{alert_id}/status",
                                json={"status": "false_alarm"}, headers=planner)
    assert again.status_code == 422


def test_device_statistics_false_alarm_rate_and_silence(feed, engine) -> None:
    with transaction(engine) as conn:
        add_device(conn, device_id="surin-bd-002", kind="detector", province_code="32",
                   lat=14.5, lon=103.5, secret_key=feed["settings"].secret_key, principal=CLI)
        conn.execute(sa.text("UPDATE devices SET created_at = now() - interval '2 hours' "
                             "WHERE id = 'surin-bd-002'"))
    ids = []
    for _ in range(4):
        r = feed["client"].post("/api/alerts", json=alert("surin-bd-001", feed["secret"]),
                                headers={"X-API-Key": feed["key"]})
        ids.append(r.json()["alert_id"])
    heartbeat = alert("surin-bd-001", feed["secret"], kind="heartbeat")
    assert feed["client"].post("/api/alerts", json=heartbeat,
                               headers={"X-API-Key": feed["key"]}).status_code == 200
    for alert_id, status in zip(ids, ["false_alarm", "false_alarm", "false_alarm", "confirmed"],
                                strict=True):
        feed["client"].post(f"/api/alerts/{alert_id}/status", json={"status": status},
                            headers={"x-test-user": "planner"})
    body = feed["client"].get("/api/devices", headers={"x-test-user": "planner"}).json()
    stats = {d["id"]: d for d in body["devices"]}
    with engine.connect() as conn:
        expected = conn.execute(sa.text(
            "SELECT count(*) FILTER (WHERE status = 'false_alarm')::float / "
            "count(*) FILTER (WHERE status IN ('false_alarm', 'confirmed')) FROM alerts "
            "WHERE device_id = 'surin-bd-001'")).scalar_one()
    assert stats["surin-bd-001"]["false_alarm_rate"] == pytest.approx(expected)
    assert stats["surin-bd-001"]["silent"] is False
    assert stats["surin-bd-002"]["silent"] is True
    assert stats["surin-bd-002"]["false_alarm_rate"] is None


def test_a_committed_alert_wakes_the_watch_and_a_rolled_back_one_does_not(
    feed, engine, test_settings,
) -> None:
    """Streams wait on one LISTEN connection per process: an alert's notification is sent on
    commit (so a rolled-back alert wakes nobody) and reaches listeners in other processes."""
    from com.feeds.alerts import receive_alerts
    from com.feeds.watch import AlertWatch, libpq_dsn

    watch = AlertWatch(libpq_dsn(test_settings.database_url), fallback_s=60).start()
    woken = threading.Event()
    watch.add(woken.set)
    try:
        assert watch.listening.wait(10)
        woken.clear()
        before = watch.notifications
        with pytest.raises(RuntimeError), transaction(engine) as conn:
            conn.execute(sa.text("SELECT pg_notify('com_alerts', '1')"))
            raise RuntimeError("rolled back")
        assert not woken.wait(1.0) and watch.notifications == before
        receive_alerts(engine, [alert("surin-bd-001", feed["secret"])],
                       secret_key=feed["settings"].secret_key)
        assert woken.wait(5), "the committed alert did not wake the watch"
        assert watch.notifications == before + 1
    finally:
        watch.stop()
    assert not watch.listening.is_set()
