"""The pages in headless Chromium: local-only requests, layers, popups, upload, roles, offline."""

from __future__ import annotations

import csv
from pathlib import Path
from urllib.parse import urlparse

import pytest
from browserkit import console_errors, make_driver, quit_driver, requested_urls, sign_in
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

from com.maps.style import layer_name
from com.text.thai import to_arabic_digits

pytestmark = [pytest.mark.browser, pytest.mark.db]

LAYERS = (
    "choropleth",
    "districts",
    "points",
    "heat",
    "hotspots",
    "land_border",
    "mekong",
    "crossings",
    "cameras",
    "cctv_sites",
)


def wait_for_map(driver, timeout: float = 15) -> None:  # type: ignore[no-untyped-def]
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script(
            "return document.querySelectorAll('.leaflet-overlay-pane path').length > 100 && "
            "document.querySelectorAll('.marker-cluster, .com-point').length > 0 && "
            "!!document.querySelector('.leaflet-control-layers')"
        )
    )


def layer_labels(driver) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        e.text.strip()
        for e in driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
    ]


def test_map_loads_only_from_the_app_and_has_every_layer(live_server, driver, screenshot):
    requested_urls(driver)  # drain what the blank start tab asked for (chrome:// pages)
    driver.get(live_server.url + "/")
    wait_for_map(driver)
    screenshot(driver, "map_home")
    urls = requested_urls(driver)
    assert len(urls) > 10
    # Every network request went to the app (data:, blob: and Chromium's own chrome:// pages
    # of the blank start tab never leave the machine).
    network = [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss", "ftp")]
    hosts = {urlparse(u).netloc for u in network}
    assert hosts == {f"127.0.0.1:{live_server.port}"}, hosts
    labels = layer_labels(driver)
    for key in LAYERS:
        assert layer_name(key, "th") in labels, (key, labels)
    assert driver.find_element(By.CSS_SELECTOR, ".leaflet-control-search input")
    assert driver.find_elements(
        By.CSS_SELECTOR, ".leaflet-control-fullscreen, .leaflet-control-zoom-fullscreen"
    )
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-measure")
    assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-scale")
    assert "ข้อมูลสมมติ / synthetic" in driver.find_element(By.CSS_SELECTOR, ".com-synthetic").text
    legend = driver.find_element(By.CSS_SELECTOR, ".com-legend").text
    assert "คะแนนความเสี่ยง" in legend and "ยาเสพติด" in legend
    assert console_errors(driver) == []


def test_clicking_a_subdistrict_shows_its_popup(live_server, driver, screenshot):
    # Signed in, so no area is suppressed and every popup carries the ranking's figures.
    sign_in(driver, live_server, "b_viewer", "/?province=32&district=3206")
    WebDriverWait(driver, 15).until(
        lambda d: d.execute_script(
            "return document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive')"
            ".length > 5"
        )
    )
    # Points of subdistrict shapes that no marker, cluster or control covers (one per shape,
    # largest shapes first; a click can land on a shape still being redrawn, so try a few).
    spots = driver.execute_script(
        """
        var paths = Array.from(document.querySelectorAll(
            '.leaflet-overlay-pane path.leaflet-interactive'));
        paths.sort(function (a, b) {
          var r = a.getBoundingClientRect(), s = b.getBoundingClientRect();
          return s.width * s.height - r.width * r.height;
        });
        var out = [];
        for (var p of paths) {
          var r = p.getBoundingClientRect(), found = null;
          for (var i = 1; i < 10 && !found; i++) for (var j = 1; j < 10 && !found; j++) {
            var x = r.left + r.width * i / 10, y = r.top + r.height * j / 10;
            if (document.elementFromPoint(x, y) === p) found = [x, y];
          }
          if (found) out.push(found);
          if (out.length >= 8) break;
        }
        return out;
        """
    )
    assert spots, "no subdistrict shape is exposed for a click"
    popup = None
    for x, y in spots:
        # A real mouse click at that spot (CDP), as a person would.
        for kind in ("mousePressed", "mouseReleased"):
            driver.execute_cdp_cmd(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )
        try:
            popup = WebDriverWait(driver, 4).until(
                ec.visibility_of_element_located((By.CSS_SELECTOR, ".leaflet-popup-content"))
            )
            break
        except TimeoutException:
            continue
    assert popup is not None, "no popup opened after clicking subdistrict shapes"
    screenshot(driver, "map_popup")
    assert popup.text.startswith("ต."), popup.text
    assert "อ. กาบเชิง" in popup.text and "คะแนน" in popup.text and "จุดเสี่ยง" in popup.text


def test_staff_uploads_the_surin_sample_and_sees_the_report(
    live_server, driver, screenshot, samples_dir: Path
):
    sample = samples_dir / "uploads" / "surin_risk_points.csv"
    with (samples_dir / "uploads" / "truth.csv").open(encoding="utf-8") as f:
        truth = [r for r in csv.DictReader(f) if r["file"] == sample.name]
    expected_ok = sum(r["expect"] == "ok" for r in truth)
    expected_reject = sum(r["expect"] == "reject" for r in truth)
    sign_in(driver, live_server, "b_staff", "/upload")
    driver.find_element(By.ID, "file").send_keys(str(sample))
    driver.find_element(By.ID, "upload-submit").click()
    # The report, or the page's error message, whichever comes first (the server geocodes
    # the address-only rows, which takes a while on a busy machine).
    WebDriverWait(driver, 120).until(
        lambda d: (
            d.find_element(By.ID, "report").is_displayed()
            or d.find_element(By.ID, "upload-error").is_displayed()
        )
    )
    error = driver.find_element(By.ID, "upload-error")
    assert not error.is_displayed(), error.text
    WebDriverWait(driver, 30).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#report-rows tbody tr")
    )
    screenshot(driver, "upload_report")

    def count(element_id: str) -> int:
        return int(to_arabic_digits(driver.find_element(By.ID, element_id).text).replace(",", ""))

    assert count("count-total") == len(truth)
    assert count("count-rejected") == expected_reject
    assert count("count-stored") + count("count-duplicate") == expected_ok
    rows = driver.find_elements(By.CSS_SELECTOR, "#report-rows tbody tr")
    rejected_rows = {r["row"] for r in truth if r["expect"] == "reject"}
    shown = {
        to_arabic_digits(r.find_elements(By.TAG_NAME, "td")[0].text)
        for r in rows
        if "status-rejected" in (r.get_attribute("class") or "")
    }
    assert shown == rejected_rows
    # The errors CSV is made in the page from the report (a blob: URL of the app's origin).
    link = driver.find_element(By.ID, "download-errors").get_attribute("href")
    assert link.startswith(f"blob:{live_server.url}/")


def test_a_viewer_cannot_reach_the_upload_page(live_server, driver, screenshot):
    sign_in(driver, live_server, "b_viewer", "/")
    driver.get(live_server.url + "/upload")
    screenshot(driver, "viewer_upload_forbidden")
    assert driver.find_elements(By.ID, "file") == []
    assert "ไม่มีสิทธิ์" in driver.find_element(By.TAG_NAME, "body").text
    nav = driver.find_element(By.CSS_SELECTOR, ".com-nav").text
    assert "นำเข้าข้อมูล" not in nav


def test_map_works_with_the_network_blocked(live_server_osm, screenshot):
    # Every host name but the loopback resolves to nothing, as in a cut-off operations room;
    # the app is configured for OpenStreetMap tiles, which therefore fail to load.
    driver = make_driver("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    try:
        driver.get(live_server_osm.url + "/")
        wait_for_map(driver)
        screenshot(driver, "map_offline")
        urls = requested_urls(driver)
        assert any("openstreetmap" in u for u in urls)  # tiles were tried and failed
        paths = driver.execute_script(
            "return document.querySelectorAll('.leaflet-overlay-pane path').length"
        )
        assert paths > 150  # 159 subdistricts plus districts and lines
        assert driver.find_elements(By.CSS_SELECTOR, ".marker-cluster, .com-point")
        assert len(layer_labels(driver)) >= len(LAYERS)
        assert driver.find_elements(By.CSS_SELECTOR, ".com-legend")
        assert driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-search")
    finally:
        quit_driver(driver)


def test_pages_run_under_the_content_security_policy(live_server, driver):
    # Issue 11: a strict CSP (nonces, no eval) must not break any page: no violation is
    # reported and the map's own measuring tool (which replaced the eval-based plugin) works.
    driver.get(live_server.url + "/")
    driver.execute_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " function (e) { window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI); });"
    )
    wait_for_map(driver)
    toggle = driver.find_element(By.CSS_SELECTOR, ".leaflet-control-measure-toggle")
    toggle.click()
    box = driver.find_element(By.CSS_SELECTOR, ".leaflet-container").rect
    for dx, dy in ((0.45, 0.4), (0.6, 0.45), (0.55, 0.65)):
        x, y = box["x"] + box["width"] * dx, box["y"] + box["height"] * dy
        for kind in ("mousePressed", "mouseReleased"):
            driver.execute_cdp_cmd(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )
    result = driver.find_element(By.CSS_SELECTOR, ".com-measure-result").text
    assert "ระยะทาง" in result and "km" in result and "ไร่" not in result, result
    assert "rai" in result  # three points: an area too
    assert driver.execute_script("return window.cspViolations") == []
    logs = console_errors(driver)
    sign_in(driver, live_server, "b_staff", "/upload")
    for path in ("/upload", "/uploads", "/targets", "/cctv", "/login"):
        driver.get(live_server.url + path)
        logs += console_errors(driver)
    assert not [m for m in logs if "Content Security Policy" in m or "Refused" in m], logs
