"""Webhook pushes (issue 17, Done means 3): one signed CloudEvent per committed upload and alert,
none for a rolled-back upload, and every event delivered after a receiver comes back."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from feedkit import Receiver, alert, wait_for

from com.config.regions import regions_in_force
from com.db.engine import transaction
from com.errors import ValidationError
from com.feeds.alerts import receive_alert
from com.feeds.delivery import deliver_due, retry_delay_s
from com.feeds.devices import add_device
from com.feeds.webhooks import add_subscription
from com.ingest import ImportOptions, import_upload
from com.security.access import CLI

pytestmark = pytest.mark.db

# Two points per upload: one of a sensitive category (drugs), one not (flood).
CSV = ("ชื่อจุดเสี่ยง,ประเภทปัญหา,ระดับความรุนแรง,ละติจูด,ลองจิจูด\n"
       "จุด {n} ก,ยาเสพติด,4,14.882,103.493\njุด {n} ข,อุทกภัย,2,14.701,103.705\n")


class Boom(Exception):
    pass


@pytest.fixture
def feeds(clean_engine, test_settings) -> dict[str, Any]:
    settings = test_settings.model_copy(update={"webhook_retry_base_s": 0.2,
                                                "webhook_retry_max_s": 0.5})
    with transaction(clean_engine) as conn:
        device = add_device(conn, device_id="surin-bd-101", kind="detector",
                            province_code="32", lat=14.43, lon=103.45,
                            secret_key=settings.secret_key, principal=CLI)
    return {"engine": clean_engine, "settings": settings, "device_secret": device.secret}


def _subscribe(feeds: dict[str, Any], url: str, **filters: Any):
    with transaction(feeds["engine"]) as conn:
        return add_subscription(conn, name="ตม.สุรินทร์", url=url, principal=CLI,
                                secret_key=feeds["settings"].secret_key, **filters)


def _upload(feeds: dict[str, Any], n: int, *, fail: bool = False) -> None:
    data = CSV.replace("jุด", "จุด").format(n=n).encode()
    with transaction(feeds["engine"]) as conn:
        import_upload(conn, data, f"points-{n}.csv", settings=feeds["settings"],
                      options=ImportOptions(province_code="32"))
        if fail:
            raise Boom("the caller's later step fails: the upload rolls back")


def _deliver_all(feeds: dict[str, Any], client: httpx.Client, *, timeout_s: float = 30) -> None:
    def pending() -> bool:
        deliver_due(feeds["engine"], feeds["settings"], client=client)
        with feeds["engine"].connect() as conn:
            return conn.execute(sa.text(
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")
            ).scalar_one() == 0
    assert wait_for(pending, timeout_s, step_s=0.1), "deliveries still pending"


def test_one_signed_event_per_commit_none_for_rollback(feeds) -> None:
    with Receiver() as receiver, httpx.Client(timeout=5) as client:
        sub = _subscribe(feeds, receiver.url)
        _upload(feeds, 1)
        with pytest.raises(Boom):
            _upload(feeds, 2, fail=True)
        receive_alert(feeds["engine"], alert("surin-bd-101", feeds["device_secret"]),
                      secret_key=feeds["settings"].secret_key)
        _deliver_all(feeds, client)
        events = receiver.events(sub.secret)  # every signature checked
    with feeds["engine"].connect() as conn:
        uploads = conn.execute(sa.text("SELECT id FROM uploads")).scalars().all()
        alert_ids = conn.execute(sa.text("SELECT id FROM alerts")).scalars().all()
    assert len(uploads) == 1 and len(alert_ids) == 1  # the second upload rolled back
    by_type = sorted((e["type"], e["subject"]) for e in events)
    assert by_type == [("th.go.com.alert.received", f"alert/{alert_ids[0]}"),
                       ("th.go.com.upload.committed", f"upload/{uploads[0]}")]
    for event in events:
        assert event["specversion"] == "1.0" and event["source"] == "/com"
        assert event["datacontenttype"] == "application/json" and event["id"] and event["time"]
    upload_event = next(e for e in events if e["type"].endswith("upload.committed"))
    points = {p["category"]: p for p in upload_event["data"]["points"]}
    assert set(points) == {"drugs", "flood"}
    # No sensitive right: the drugs point stands at its subdistrict's representative point.
    assert points["drugs"]["location_coarsened"] is True and "name" not in points["drugs"]
    assert (points["drugs"]["lon"], points["drugs"]["lat"]) != pytest.approx((103.493, 14.882))
    assert points["flood"]["lat"] == pytest.approx(14.701)


def test_filters_and_sensitive_right(feeds) -> None:
    with Receiver() as exact, Receiver() as narrow, httpx.Client(timeout=5) as client:
        sub_exact = _subscribe(feeds, exact.url, sensitive=True, alerts=False)
        sub_narrow = _subscribe(feeds, narrow.url, categories=["flood"], provinces=["33"])
        _upload(feeds, 3)
        receive_alert(feeds["engine"], alert("surin-bd-101", feeds["device_secret"]),
                      secret_key=feeds["settings"].secret_key)
        _deliver_all(feeds, client)
        got_exact, got_narrow = exact.events(sub_exact.secret), narrow.events(sub_narrow.secret)
    assert [e["type"] for e in got_exact] == ["th.go.com.upload.committed"]  # alerts: no
    drugs = next(p for p in got_exact[0]["data"]["points"] if p["category"] == "drugs")
    assert (drugs["lon"], drugs["lat"]) == pytest.approx((103.493, 14.882))
    assert got_narrow == []  # Surin points and alerts, the subscription wants Sisaket floods


def test_a_region_subscription_gets_its_provinces_events_only(feeds) -> None:
    regions = regions_in_force().regions
    with_surin = next(r for r in regions if "32" in r.provinces)
    without = next(r for r in regions if "32" not in r.provinces)
    with Receiver() as inside, Receiver() as outside, httpx.Client(timeout=5) as client:
        sub_in = _subscribe(feeds, inside.url, region=with_surin.key)
        sub_out = _subscribe(feeds, outside.url, region=without.th, provinces=["10"])
        _upload(feeds, 8)
        _deliver_all(feeds, client)
        got_in, got_out = inside.events(sub_in.secret), outside.events(sub_out.secret)
    with feeds["engine"].connect() as conn:
        stored = dict(conn.execute(sa.text(
            "SELECT id, provinces FROM webhook_subscriptions")).all())
    assert stored[sub_in.id] == sorted(with_surin.provinces)  # the region, as provinces
    assert stored[sub_out.id] == sorted({"10", *without.provinces})
    assert [e["type"] for e in got_in] == ["th.go.com.upload.committed"]
    assert got_out == []  # Surin's upload is outside that region
    with pytest.raises(ValidationError, match="unknown region"):
        _subscribe(feeds, "http://127.0.0.1:9/x", region="no-such-region")


def test_receiver_down_gets_every_event_after_it_comes_back(feeds) -> None:
    with Receiver() as receiver, httpx.Client(timeout=5) as client:
        sub = _subscribe(feeds, receiver.url)
        receiver.up = False
        for n in range(4, 7):
            _upload(feeds, n)
        for _ in range(3):
            receive_alert(feeds["engine"], alert("surin-bd-101", feeds["device_secret"]),
                          secret_key=feeds["settings"].secret_key)
        for _ in range(3):  # several failed rounds while it is down
            deliver_due(feeds["engine"], feeds["settings"], client=client)
            time.sleep(0.3)
        with feeds["engine"].connect() as conn:
            log = conn.execute(sa.text(
                "SELECT status, attempts, last_status_code FROM webhook_deliveries")).all()
        assert len(log) == 6 and all(r.status == "pending" and r.attempts >= 1
                                     and r.last_status_code == 503 for r in log)
        assert receiver.requests == []
        receiver.up = True
        _deliver_all(feeds, client)
        events = receiver.events(sub.secret)
    ids = [e["id"] for e in events]
    assert len(ids) == 6 and len(set(ids)) == 6
    with feeds["engine"].connect() as conn:
        outbox = set(conn.execute(sa.text("SELECT id::text FROM outbox_events")).scalars())
        delivered = conn.execute(sa.text(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")).scalar_one()
    assert set(ids) == outbox and delivered == 6


def test_retry_delay_doubles_up_to_the_cap() -> None:
    assert [retry_delay_s(n, base_s=2, max_s=30) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]
