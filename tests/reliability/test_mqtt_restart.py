"""Issue 17, Done means 2: the broker restarts during a burst of 1,000 QoS-1 alerts; COM's
persistent session gets every one, and each is stored exactly once (bounded in time)."""

from __future__ import annotations

import time
import uuid

import pytest
import sqlalchemy as sa
from feedkit import PrivateBroker, alert, publish, publisher, wait_for

from com.db.engine import transaction
from com.feeds.devices import add_device
from com.feeds.mqtt import AlertSubscriber
from com.security.access import CLI

pytestmark = [pytest.mark.db, pytest.mark.slow]

BURST = 1_000
RESTART_AFTER = 400
DEADLINE_S = 120


def test_broker_restart_during_a_burst_loses_nothing(clean_engine, test_settings, tmp_path):
    with transaction(clean_engine) as conn:
        device = add_device(conn, device_id="surin-burst", kind="detector", province_code="32",
                            lat=14.43, lon=103.45, secret_key=test_settings.secret_key,
                            principal=CLI)
    broker = PrivateBroker(tmp_path).start()
    subscriber = AlertSubscriber(clean_engine, url=broker.url,
                                 client_id=f"com-burst-{uuid.uuid4().hex[:6]}",
                                 secret_key=test_settings.secret_key).start()
    pub = None
    try:
        assert subscriber.connected.wait(10)
        pub = publisher(broker.url)
        payloads = [alert("surin-burst", device.secret, event_id=f"burst-{i:04d}")
                    for i in range(BURST)]
        started = time.monotonic()
        for payload in payloads[:RESTART_AFTER]:
            publish(pub, payload)
        broker.stop()  # mid-burst: in flight, queued for COM, or not yet sent
        for payload in payloads[RESTART_AFTER:RESTART_AFTER + 200]:
            publish(pub, payload)  # while the broker is away: queued by the publisher
        time.sleep(1.0)
        broker.start()
        for payload in payloads[RESTART_AFTER + 200:]:
            publish(pub, payload)

        def stored() -> bool:
            with clean_engine.connect() as conn:
                return conn.execute(sa.text(
                    "SELECT count(DISTINCT event_id) FROM alerts WHERE device_id = 'surin-burst'"
                )).scalar_one() >= BURST

        assert wait_for(stored, DEADLINE_S, step_s=0.5), "not every alert stored in time"
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # any redelivered copy would land now
        with clean_engine.connect() as conn:
            rows, distinct = conn.execute(sa.text(
                "SELECT count(*), count(DISTINCT event_id) FROM alerts "
                "WHERE device_id = 'surin-burst'")).one()
        assert (rows, distinct) == (BURST, BURST)
        assert elapsed < DEADLINE_S
    finally:
        if pub is not None:
            pub.loop_stop()
            pub.disconnect()
        subscriber.stop()
        broker.stop()
