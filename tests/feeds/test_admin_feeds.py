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
