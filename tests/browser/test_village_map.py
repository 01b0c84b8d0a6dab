"""The map at village level (issue 16): the choropleth colours the demo's villages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from browserkit import console_errors, sign_in
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from com.analysis import risk
from com.maps.style import NO_POINTS_COLOUR, SUPPRESSED_COLOUR

pytestmark = [pytest.mark.browser, pytest.mark.db]

#: The choropleth's features: code and fill of each (the map's variable is its div's id).
FEATURES = """
var map = window[document.querySelector('.folium-map').id], out = [];
map.eachLayer(function (l) {
  if (l.feature && l.feature.properties && l.feature.properties.fill !== undefined)
    out.push([String(l.feature.properties.code), l.feature.properties.fill]);
});
return out;
"""


@pytest.fixture
def demo_villages(browser_data):  # type: ignore[no-untyped-def]
    """The demo's synthetic villages (``com demo`` stores them with its KPI data)."""
    from com.demo_villages import store_demo_villages

    with browser_data.begin() as conn:
        store_demo_villages(conn)
    yield browser_data
    with browser_data.begin() as conn:
        conn.execute(sa.text("DELETE FROM area_features WHERE synthetic"))


def test_the_map_at_village_level_colours_the_villages(live_server, driver, screenshot,
                                                       demo_villages):
    with demo_villages.connect() as conn:
        villages = conn.execute(sa.text(
            "SELECT code FROM area_features WHERE layer = 'villages' AND province_code = '32'"
        )).scalars().all()
        ranked = risk.rank_areas(conn, level="village", province="32")
    assert len(villages) == 24  # the demo's synthetic villages
    with_points = set(ranked.loc[ranked["risk_score"] > 0, "village_code"])
    sign_in(driver, live_server, "b_viewer")  # signed in: no area is suppressed
    driver.get(live_server.url + "/?province=32&level=village")
    WebDriverWait(driver, 30).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && !!document.querySelector('.com-legend')"))
    screenshot(driver, "map_villages")
    features = dict(driver.execute_script(FEATURES))
    assert set(features) == set(villages)
    coloured = {code for code, fill in features.items()
                if fill not in (NO_POINTS_COLOUR, SUPPRESSED_COLOUR)}
    assert coloured == with_points and coloured
    selected = driver.find_element(By.CSS_SELECTOR, "#f-level option:checked")
    assert selected.get_attribute("value") == "village" and selected.text == "หมู่บ้าน"
    assert console_errors(driver) == []
