"""The map page at laptop and phone sizes: legend, buttons, district fit, focus, clusters, dates.

Issue 15's map page items, checked in headless Chromium; every test saves screenshots under
tests/browser/screenshots/.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from browserkit import console_errors, make_driver, quit_driver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = [pytest.mark.browser, pytest.mark.db]

#: The folium map object of the page (its div's id is the map's variable name).
MAP = "var map = window[document.querySelector('.folium-map').id];"

#: Laptop, large window and phone (width, height).
SIZES = ((1366, 768), (1400, 1000), (390, 844))

#: Whether an element is drawn whole inside the viewport and not covered or clipped by anything
#: (its centre and near its corners hit the element itself or what it contains).
FULLY_VISIBLE = """
var el = arguments[0], r = el.getBoundingClientRect();
if (r.width === 0 || r.height === 0) return "not drawn";
if (r.left < 0 || r.top < 0 || r.right > window.innerWidth || r.bottom > window.innerHeight)
  return "outside the viewport: " + JSON.stringify(r);
// Near the corners, inside the rounding of a button's corners.
var dx = Math.min(5, r.width / 4), dy = Math.min(5, r.height / 4);
var spots = [[(r.left + r.right) / 2, (r.top + r.bottom) / 2], [r.left + dx, r.top + dy],
             [r.right - dx, r.top + dy], [r.left + dx, r.bottom - dy],
             [r.right - dx, r.bottom - dy]];
for (var s of spots) {
  var hit = document.elementFromPoint(s[0], s[1]);
  if (!hit || !(hit === el || el.contains(hit)))
    return "covered or clipped at " + s + " by " + (hit ? hit.outerHTML.slice(0, 80) : hit);
}
return "";
"""


def wait_for_map(driver, timeout: float = 20) -> None:  # type: ignore[no-untyped-def]
    WebDriverWait(driver, timeout).until(
        lambda d: d.execute_script(
            "return document.querySelectorAll('.leaflet-overlay-pane path').length > 5 && "
            "!!document.querySelector('.com-legend') && "
            "document.readyState === 'complete'"
        )
    )


@pytest.fixture
def sized_driver(request):  # type: ignore[no-untyped-def]
    """A headless Chromium whose viewport is ``request.param`` (width, height)."""
    width, height = request.param
    d = make_driver(window=f"{width},{height}")
    # --window-size sets the outer window; make the viewport itself the size under test.
    d.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
    )
    yield d
    quit_driver(d)


def not_fully_visible(driver, elements) -> dict[str, str]:  # type: ignore[no-untyped-def]
    out = {}
    for el in elements:
        why = driver.execute_script(FULLY_VISIBLE, el)
        if why:
            out[el.text or el.get_attribute("outerHTML")[:60]] = why
    return out


@pytest.mark.parametrize("sized_driver", SIZES, indirect=True, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("query", ["", "?district=3206"], ids=["province", "district"])
def test_legend_and_buttons_are_fully_visible(live_server, sized_driver, screenshot, query):
    driver = sized_driver
    width, height = driver.execute_script("return [window.innerWidth, window.innerHeight]")
    driver.get(live_server.url + "/" + query)
    wait_for_map(driver)
    name = f"map_legend_{width}x{height}{'_district' if query else ''}"
    toggle = driver.find_element(By.CSS_SELECTOR, ".com-legend-toggle")
    small = width < 600
    # Folded at first on a phone and on a district's view, so it does not hide the map;
    # open on a laptop's province view.
    folded = small or bool(query)
    assert toggle.get_attribute("aria-expanded") == ("false" if folded else "true")
    assert "คำอธิบายสัญลักษณ์" in toggle.text
    screenshot(driver, name + "_first")
    buttons = [toggle, driver.find_element(By.ID, "copy-link"),
               driver.find_element(By.ID, "apply")]
    assert not_fully_visible(driver, buttons) == {}
    if folded:
        toggle.click()
        assert toggle.get_attribute("aria-expanded") == "true"
    rows = driver.find_elements(By.CSS_SELECTOR, ".com-legend-row")
    assert len(rows) > 10
    assert "จุดติดตั้งกล้องที่เสนอ" in rows[-1].text  # the entry that used to be cut off
    screenshot(driver, name + "_open")
    if small:
        # On a phone the open legend fits inside the map and scrolls: each entry can be
        # brought into sight within it, and is then drawn whole.
        hidden = {}
        for row in [*rows, toggle]:
            driver.execute_script("arguments[0].scrollIntoView({block: 'nearest'})", row)
            hidden.update(not_fully_visible(driver, [row]))
        assert hidden == {}
        assert driver.execute_script("return document.scrollingElement.scrollTop") == 0
    else:
        assert not_fully_visible(driver, [*rows, toggle]) == {}
    # Folding it gives the map back (at district zoom it covered the subdistricts).
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not any(r.is_displayed() for r in rows)
    assert "แสดง" in toggle.text
    assert console_errors(driver) == []


def test_district_link_fits_the_district(live_server, driver, screenshot):
    driver.get(live_server.url + "/?district=3206")
    wait_for_map(driver)
    screenshot(driver, "map_district_3206")
    fit = driver.execute_script(
        MAP
        + """
        var areas = null;
        map.eachLayer(function (l) {
          if (l.getLayers && l.getLayers().length && l.getLayers()[0].feature
              && l.getLayers()[0].feature.properties.code) areas = l;
        });
        var codes = areas.getLayers().map(function (l) { return l.feature.properties.code; });
        var view = map.getBounds(), b = areas.getBounds();
        // The district's box on screen must be clear of the controls drawn over the map.
        var box = map.getContainer().getBoundingClientRect();
        var nw = map.latLngToContainerPoint(b.getNorthWest()),
            se = map.latLngToContainerPoint(b.getSouthEast());
        var d = {left: box.left + nw.x, top: box.top + nw.y,
                 right: box.left + se.x, bottom: box.top + se.y};
        var under = [];
        for (var sel of ['.leaflet-control-zoom', '.leaflet-control-layers', '.com-legend']) {
          var r = document.querySelector(sel).getBoundingClientRect();
          // The side controls are columns: what matters is that they stay beside the district.
          if (sel !== '.com-legend' && !(r.right <= d.left || r.left >= d.right)) under.push(sel);
          if (sel === '.com-legend' && !(r.right <= d.left || r.left >= d.right
              || r.bottom <= d.top || r.top >= d.bottom)) under.push(sel);
        }
        return {codes: codes, inside: view.contains(b), zoom: map.getZoom(), under: under,
                fills: view.getNorth() - view.getSouth() < 3 * (b.getNorth() - b.getSouth())};
        """
    )
    assert fit["codes"] and all(c.startswith("3206") for c in fit["codes"])
    assert fit["inside"], fit
    assert fit["fills"], fit  # fitted, not the whole province around it
    assert fit["under"] == [], fit  # no part of it under the zoom buttons, layers or legend


def test_clicking_a_subdistrict_leaves_no_focus_rectangle(live_server, driver, screenshot):
    driver.get(live_server.url + "/?district=3206")
    wait_for_map(driver)
    spot = driver.execute_script(
        """
        for (var p of document.querySelectorAll('.leaflet-overlay-pane path.leaflet-interactive')) {
          var r = p.getBoundingClientRect();
          for (var i = 2; i < 9; i++) for (var j = 2; j < 9; j++) {
            var x = r.left + r.width * i / 10, y = r.top + r.height * j / 10;
            if (document.elementFromPoint(x, y) === p) return [x, y];
          }
        }
        return null;
        """
    )
    assert spot
    for kind in ("mousePressed", "mouseReleased"):
        driver.execute_cdp_cmd(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": spot[0], "y": spot[1], "button": "left", "clickCount": 1},
        )
    WebDriverWait(driver, 5).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".leaflet-popup-content")
    )
    screenshot(driver, "map_clicked_subdistrict")
    # The click focuses the area's SVG path (Leaflet's interactive paths); the browser would draw
    # its focus ring round the path's bounding box.
    assert driver.execute_script("return document.activeElement.tagName") == "path"
    outlines = driver.execute_script(
        """
        var out = [];
        for (var p of document.querySelectorAll('.leaflet-overlay-pane path')) {
          var s = getComputedStyle(p);
          if (s.outlineStyle !== 'none' && s.outlineWidth !== '0px') out.push(s.outline);
        }
        return out;
        """
    )
    assert outlines == []
    # Keyboard users still see where the focus is: a thick outline of the area itself.
    sheet_rule = driver.execute_script(
        """
        for (var sh of document.styleSheets) {
          var rules; try { rules = sh.cssRules; } catch (e) { continue; }
          for (var r of rules) if (r.selectorText && r.selectorText.includes(':focus-visible')
              && r.selectorText.includes('path')) return r.style.strokeWidth;
        }
        return null;
        """
    )
    assert sheet_rule == "4px"


def test_clusters_take_the_category_colours(live_server, driver, screenshot):
    driver.get(live_server.url + "/")
    wait_for_map(driver)
    WebDriverWait(driver, 10).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, ".marker-cluster")
    )
    screenshot(driver, "map_clusters")
    found = driver.execute_script(
        """
        var legend = new Set(Array.from(document.querySelectorAll('.com-legend-row svg[fill]'))
          .map(function (s) {
            var probe = document.createElement('i'); probe.style.color = s.getAttribute('fill');
            document.body.appendChild(probe); var c = getComputedStyle(probe).color;
            probe.remove(); return c; }));
        return Array.from(document.querySelectorAll('.marker-cluster')).map(function (m) {
          var inner = m.querySelector('div');
          return {cls: m.className, colour: getComputedStyle(inner).backgroundColor,
                  legend: legend.has(getComputedStyle(inner).backgroundColor),
                  title: inner.title};
        });
        """
    )
    assert found
    for cluster in found:
        # markercluster's own size classes colour a cluster green, yellow or orange.
        assert "marker-cluster-small" not in cluster["cls"], cluster
        assert "marker-cluster-medium" not in cluster["cls"], cluster
        assert cluster["legend"], cluster
        assert cluster["title"].startswith("ประเภทที่พบมากที่สุด: "), cluster
    legend = driver.find_element(By.CSS_SELECTOR, ".com-legend").text
    assert "กลุ่มจุด: สีของประเภทที่พบมากที่สุด" in legend


def test_subdistrict_names_show_from_district_zoom(live_server, driver, screenshot):
    driver.get(live_server.url + "/")
    wait_for_map(driver)
    labels = "return document.querySelectorAll('.com-area-label').length"
    assert driver.execute_script(MAP + "return map.getZoom()") < 11
    assert driver.execute_script(labels) == 0  # no clutter at province zoom
    # Leaflet ignores a zoom asked for while it is still animating the first view.
    WebDriverWait(driver, 10).until(
        lambda d: d.execute_script(MAP + "return !map._animatingZoom")
    )
    driver.execute_script(MAP + "map.setZoom(12, {animate: false})")
    WebDriverWait(driver, 5).until(lambda d: d.execute_script(labels) > 0)
    screenshot(driver, "map_labels_zoom12")
    texts = driver.execute_script(
        "return Array.from(document.querySelectorAll('.com-area-label'))"
        ".map(function (e) { return e.textContent; })"
    )
    assert all(texts) and any("\u0e00" <= ch <= "\u0e7f" for ch in texts[0])
    # The district link opens at a zoom that shows its subdistricts' names.
    driver.get(live_server.url + "/?district=3206")
    wait_for_map(driver)
    WebDriverWait(driver, 5).until(lambda d: d.execute_script(labels) > 0)
    screenshot(driver, "map_labels_district")


def test_thai_date_filters_take_buddhist_era_dates(live_server, driver, screenshot):
    driver.get(live_server.url + "/?district=3206")
    wait_for_map(driver)
    date_from = driver.find_element(By.ID, "f-from")
    assert date_from.get_attribute("type") == "text"
    assert "15/01/2568" in driver.find_element(By.ID, "date-hint").text
    assert "พ.ศ." in driver.find_element(By.ID, "date-hint").text
    date_from.send_keys("15/01/2568")
    driver.find_element(By.ID, "f-to").send_keys("๓๑/๑๒/๒๕๖๘")  # Thai digits
    driver.find_element(By.ID, "apply").click()
    WebDriverWait(driver, 20).until(lambda d: "from=" in d.current_url)
    wait_for_map(driver)
    screenshot(driver, "map_dates_be")
    sent = parse_qs(urlparse(driver.current_url).query)
    # The form sends ISO dates (converted in the page); the server reads either.
    assert sent["from"] == ["2025-01-15"] and sent["to"] == ["2025-12-31"], sent
    share = parse_qs(urlparse(driver.find_element(By.ID, "copy-link").get_attribute(
        "data-url")).query)
    assert share["from"] == ["2025-01-15"] and share["to"] == ["2025-12-31"], share
    # The page shows the dates back in the Buddhist era.
    assert driver.find_element(By.ID, "f-from").get_attribute("value") == "15/01/2568"
    assert driver.find_element(By.ID, "f-to").get_attribute("value") == "31/12/2568"
    # A date that is no date is refused in the page, before any request.
    field = driver.find_element(By.ID, "f-from")
    field.clear()
    field.send_keys("31/02/2568")
    before = driver.current_url
    driver.find_element(By.ID, "apply").click()
    assert driver.current_url == before
    assert driver.execute_script("return arguments[0].validationMessage", field)
    assert console_errors(driver) == []


def test_english_date_filters_stay_iso(live_server, driver):
    driver.get(live_server.url + "/?district=3206&from=2025-01-15&lang=en")
    wait_for_map(driver)
    field = driver.find_element(By.ID, "f-from")
    assert field.get_attribute("type") == "date"
    assert field.get_attribute("value") == "2025-01-15"
    assert not driver.find_elements(By.ID, "date-hint")
