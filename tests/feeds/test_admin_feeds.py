"""The admin page of live feeds: devices with false-alarm rate and silence, webhooks, the log."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from feedkit import alert

from api.main import create_app
from com.db.engine import transaction
from com.feeds.alerts import receive_alert, set_status
from com.feeds.devices import add_device
from com.feeds.webhooks import add_subscription
from com.security.access import CLI, Principal

pytestmark = pytest.mark.db
ADMIN = Principal(kind="user", name="admin", role="admin")
VIEWER = Principal(kind="user", name="viewer", role="viewer")


def test_admin_page_shows_rates_silence_and_the_log(clean_engine, test_settings) -> None:
    settings = test_settings.model_copy(update={"webhook_delivery": False})
    with transaction(clean_engine) as conn:
        device = add_device(conn, device_id="surin-adm-1", kind="detector", province_code="32",
                            lat=14.43, lon=103.45, secret_key=settings.secret_key, principal=CLI)
        add_device(conn, device_id="surin-adm-2", kind="sensor", province_code="32",
                   lat=14.5, lon=103.5, secret_key=settings.secret_key, principal=CLI)
        conn.execute(sa.text("UPDATE devices SET created_at = now() - interval '3 hours'"))
        add_subscription(conn, name="ตำรวจภูธรจังหวัดสุรินทร์", url="http://127.0.0.1:9/hook",
                         secret_key=settings.secret_key, principal=CLI)
    ids = [receive_alert(clean_engine, alert("surin-adm-1", device.secret),
                         secret_key=settings.secret_key).alert_id for _ in range(3)]
    receive_alert(clean_engine, alert("surin-adm-1", device.secret, kind="heartbeat"),
                  secret_key=settings.secret_key)
    with transaction(clean_engine) as conn:
        set_status(conn, ids[0], "false_alarm", principal=CLI)
        set_status(conn, ids[1], "confirmed", principal=CLI)
    app = create_app(settings)
    users = {"admin": ADMIN, "viewer": VIEWER}
    app.state.principal_resolvers.insert(0, lambda r: users.get(r.headers.get("x-test-user")))
    with TestClient(app) as client:
        page = client.get("/admin/feeds", headers={"x-test-user": "admin"})
        assert page.status_code == 200
        html = page.text
        assert "อัตราแจ้งเตือนผิดพลาด" in html and "ตำรวจภูธรจังหวัดสุรินทร์" in html
        row1 = html.split('data-device="surin-adm-1"')[1].split("</tr>")[0]
        row2 = html.split('data-device="surin-adm-2"')[1].split("</tr>")[0]
        assert "๕๐%" in row1 or "50%" in row1  # 1 false alarm of 2 triaged
        assert '<td class="silent">✓' in row1  # heartbeat just now
        assert '<td class="silent">⚠' in row2  # registered 3 h ago, never heard from
        assert "th.go.com.alert.received" in html  # the delivery log
        assert client.get("/admin/feeds", headers={"x-test-user": "viewer"}).status_code == 403


def test_admin_subscribes_and_stops_an_agency_from_the_page(clean_engine, test_settings) -> None:
    """The page's forms (CSRF-checked, admin only) do what `com webhooks add/disable` do."""
    import re

    from com.security import users

    settings = test_settings.model_copy(update={"webhook_delivery": False})
    with transaction(clean_engine) as conn:
        for name, role in (("hookadmin", "admin"), ("hookstaff", "staff")):
            users.create_user(conn, username=name, password="a long test password", role=role,
                              province_code="32" if role == "staff" else None)

    def signed_in(client: TestClient, username: str) -> str:
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)[1]
        client.post("/login", data={"username": username, "password": "a long test password",
                                    "csrf_token": token, "next": "/"}, follow_redirects=False)
        return client.get("/api/session").json()["csrf_token"]

    with TestClient(create_app(settings)) as client:
        csrf = signed_in(client, "hookadmin")
        form = {"name": "ป.ป.ส. ภาค 3", "url": "https://oncb.example/hook", "region": "oncb-3",
                "min_severity": "3", "alerts": "1", "csrf_token": csrf}
        assert client.post("/admin/feeds/webhooks",
                           data={**form, "csrf_token": "forged"}).status_code in (400, 403)
        page = client.post("/admin/feeds/webhooks", data=form)
        assert page.status_code == 200
        secret = re.search(r'id="webhook-secret".*?<code>([^<]+)</code>', page.text, re.S)[1]
        with clean_engine.connect() as conn:
            sub = conn.execute(sa.text(
                "SELECT id, provinces, min_severity, alerts, sensitive, disabled_at "
                "FROM webhook_subscriptions WHERE name = 'ป.ป.ส. ภาค 3'")).one()
        assert sub.provinces == ["30", "31", "32", "33", "34", "35", "36", "37"]
        assert (sub.min_severity, sub.alerts, sub.sensitive) == (3, True, False)
        assert len(secret) >= 32 and secret not in client.get("/admin/feeds").text  # shown once
        bad = client.post("/admin/feeds/webhooks", data={**form, "url": "ftp://x"})
        assert "must be an http(s) URL" in bad.text
        client.post(f"/admin/feeds/webhooks/{sub.id}/disable", data={"csrf_token": csrf})
        with clean_engine.connect() as conn:
            assert conn.execute(sa.text(
                "SELECT disabled_at IS NOT NULL FROM webhook_subscriptions WHERE id = :i"),
                {"i": sub.id}).scalar_one()
            actions = set(conn.execute(sa.text(
                "SELECT action FROM audit_log WHERE target = :t"),
                {"t": f"webhook:{sub.id}"}).scalars())
        assert {"webhook.create", "webhook.disable"} <= actions
    with TestClient(create_app(settings)) as client:
        csrf = signed_in(client, "hookstaff")
        assert client.post("/admin/feeds/webhooks", data={**form, "csrf_token": csrf}
                           ).status_code == 403
