"""Issue 16: the map opened on a region: each province's outline, areas ranked across it."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from browserkit import console_errors
from selenium.webdriver.common.by import By
from test_map_page import MAP, wait_for_map

pytestmark = [pytest.mark.browser, pytest.mark.db]

ONCB3 = ["30", "31", "32", "33", "34", "35", "36", "37"]


def test_map_at_a_region(live_server, driver, screenshot, engine):
    driver.set_window_size(1400, 1000)
    driver.get(live_server.url + "/?region=oncb-3&lang=en")
    wait_for_map(driver, timeout=60)
    screenshot(driver, "map_region_oncb3")
    outlines = driver.find_elements(By.CSS_SELECTOR, "path.com-province-outline")
    assert len(outlines) == len(ONCB3)
    seen = driver.execute_script(
        MAP
        + """
        var areas = null;
        map.eachLayer(function (l) {
          if (l.getLayers && l.getLayers().length && l.getLayers()[0].feature
              && l.getLayers()[0].feature.properties.code
              && String(l.getLayers()[0].feature.properties.code).length === 6) areas = l;
        });
        var props = areas.getLayers().map(function (l) { return l.feature.properties; });
        var view = map.getBounds(), b = areas.getBounds();
        return {codes: props.map(function (p) { return String(p.code); }),
                popups: props.map(function (p) { return String(p.popup); }),
                sees_all: view.pad(0.02).contains(b)};
        """
    )
    with engine.connect() as conn:
        expected = conn.execute(sa.text(
            "SELECT count(*) FROM subdistricts WHERE province_code = ANY(:p)"),
            {"p": ONCB3}).scalar_one()
    # Every subdistrict of the eight provinces is drawn, in one ranking across them.
    assert len(seen["codes"]) == expected
    assert sorted({c[:2] for c in seen["codes"]}) == ONCB3
    assert seen["sees_all"], "the view is fitted to the whole region"
    with engine.connect() as conn:
        surin = conn.execute(sa.text(
            "SELECT count(*) FROM subdistricts WHERE province_code = '32'")).scalar_one()
    # The top area's popup ranks it among the areas of all eight provinces, not Surin's.
    totals = {int(m.group(1).replace(",", "")) for p in seen["popups"]
              for m in [re.search(r"<b>1</b>\s*of\s*([\d,]+)", p)] if m}
    assert len(totals) == 1 and totals.pop() > surin
    region = driver.find_element(By.ID, "f-region")
    assert region.get_attribute("value") == "oncb-3"
    assert driver.find_element(By.ID, "f-province").get_attribute("value") == ""
    assert console_errors(driver) == []
