"""Issue 17, Done means 1 (map): an alert published over MQTT appears on an open map page
without a reload, as a pulsing marker."""

from __future__ import annotations

import sys
import time
import uuid
from pathlib import Path

import pytest
from browserkit import LiveServer, console_errors, sign_in
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/feedkit.py
from feedkit import SYSTEM_BROKER, alert, forget_session, publish, publisher  # noqa: E402

from com.db.engine import transaction  # noqa: E402
from com.feeds.devices import add_device  # noqa: E402
from com.security.access import CLI  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.db]


def test_alert_appears_and_pulses_without_reload(browser_data, test_settings, driver,
                                                 screenshot) -> None:
    with transaction(browser_data) as conn:
        conn.exec_driver_sql("DELETE FROM alerts WHERE device_id = 'surin-map-1'")
        conn.exec_driver_sql("DELETE FROM devices WHERE id = 'surin-map-1'")
        device = add_device(conn, device_id="surin-map-1", kind="detector", province_code="32",
                            lat=14.43, lon=103.45, secret_key=test_settings.secret_key,
                            principal=CLI)
    client_id = f"com-map-{uuid.uuid4().hex[:6]}"
    settings = test_settings.model_copy(update={"mqtt_url": SYSTEM_BROKER,
                                                "mqtt_client_id": client_id})
    pub = publisher(SYSTEM_BROKER)
    try:
        with LiveServer(settings) as server:
            sign_in(driver, server, "b_staff", "/?province=32")
            wait = WebDriverWait(driver, 20)
            wait.until(lambda d: d.execute_script(
                "var m = document.querySelector('.folium-map');"
                "return m && m.getAttribute('data-com-alerts') === '0';"))
            time.sleep(1.0)  # the stream has connected and read its starting point
            marker_url = driver.current_url
            publish(pub, alert("surin-map-1", device.secret)).wait_for_publish(5)
            started = time.monotonic()
            wait.until(lambda d: d.execute_script(
                "return document.querySelector('.folium-map').getAttribute('data-com-alerts')"
            ) == "1")
            elapsed = time.monotonic() - started
            assert driver.current_url == marker_url  # no reload, no navigation
            paths = driver.find_elements(By.CSS_SELECTOR, "path.com-alert")
            assert len(paths) == 1
            # Pulsing: the marker's opacity changes from frame to frame.
            opacities = set()
            for _ in range(6):
                opacities.add(paths[0].get_attribute("stroke-opacity"))
                time.sleep(0.2)
            assert len(opacities) > 1
            screenshot(driver, "alerts_live")
            assert elapsed < 5
            assert not [e for e in console_errors(driver) if "alerts" in e]
    finally:
        pub.loop_stop()
        pub.disconnect()
        forget_session(SYSTEM_BROKER, client_id)
