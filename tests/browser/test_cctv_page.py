"""The CCTV planner at laptop size (issue 15): the province in view, circles, cameras, texts."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from browserkit import PASSWORD, console_errors, make_driver, quit_driver, sign_in
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from com.db.engine import transaction
from com.security import users

pytestmark = [pytest.mark.browser, pytest.mark.db]

ADMIN = "b_cctv_admin"
#: The smallest drawn radius of a coverage circle, in pixels (cctv.js MIN_RADIUS_PX).
MIN_RADIUS_PX = 6


@pytest.fixture(scope="module")
def admin(browser_data) -> str:  # type: ignore[no-untyped-def]
    """An administrator of the demo (all provinces)."""
    with transaction(browser_data) as conn:
        if not conn.execute(
            sa.text("SELECT 1 FROM users WHERE username = :u"), {"u": ADMIN}
        ).first():
            users.create_user(conn, username=ADMIN, password=PASSWORD, role="admin")
    return ADMIN


@pytest.fixture
def laptop():  # type: ignore[no-untyped-def]
    """Headless Chromium at 1366x768, a planner's laptop."""
    d = make_driver(window="1366,768")
    yield d
    quit_driver(d)


def _plan(driver, **values: str) -> None:  # type: ignore[no-untyped-def]
    """Fill the form's fields (an empty string clears one) and submit it."""
    for name, value in values.items():
        field = driver.find_element(By.CSS_SELECTOR, f"#cctv-form [name={name}]")
        field.clear()
        if value:
            field.send_keys(value)
    driver.find_element(By.ID, "plan-submit").click()


def _rect(driver, element) -> dict[str, float]:  # type: ignore[no-untyped-def]
    return driver.execute_script("return arguments[0].getBoundingClientRect().toJSON();", element)


def test_plan_shows_province_circles_and_cameras(
    live_server, browser_data, admin, laptop, screenshot
):  # type: ignore[no-untyped-def]
    with transaction(browser_data) as conn:
        n_cameras = conn.execute(
            sa.text(
                "SELECT count(*) FROM cameras c JOIN provinces p ON p.code = '32' "
                "WHERE c.geom && p.geom"
            )
        ).scalar()
        province_th = conn.execute(
            sa.text("SELECT name_th FROM provinces WHERE code = '32'")
        ).scalar()
    assert n_cameras > 0  # the demo installs a few
    sign_in(laptop, live_server, admin, "/cctv")
    laptop.get(live_server.url + "/cctv?lang=th&province=32")
    # The area is named by the province's Thai name, not its code.
    area = laptop.find_element(By.CSS_SELECTOR, "select[name=district] option").text
    assert province_th in area and "32" not in area, area
    # The coverage column says it is cumulative.
    heading = laptop.find_element(By.ID, "plan-covered-heading").text
    assert "สะสม" in heading, heading
    # Existing cameras drawn with their own symbol, named in the legend.
    assert len(laptop.find_elements(By.CSS_SELECTOR, ".com-camera")) == n_cameras
    legend = laptop.find_element(By.CSS_SELECTOR, ".com-cctv-legend").text
    assert "กล้องที่ติดตั้งแล้ว" in legend and "จุดติดตั้งที่เสนอ" in legend

    _plan(laptop, k="10", budget="")
    WebDriverWait(laptop, 120).until(
        lambda d: len(d.find_elements(By.CSS_SELECTOR, "#plan-table tbody tr")) == 10
    )
    laptop.execute_script("return new Promise(r => setTimeout(r, 500));")
    laptop.execute_script("document.getElementById('cctv-map').scrollIntoView();")
    screenshot(laptop, "cctv_plan_1366x768")
    map_box = _rect(laptop, laptop.find_element(By.ID, "cctv-map"))
    # The whole province (its district outlines) is inside the map's view after the plan.
    outlines = laptop.find_elements(
        By.CSS_SELECTOR, ".leaflet-overlay-pane path:not(.com-coverage)"
    )
    assert outlines
    for path in outlines:
        box = _rect(laptop, path)
        assert box["top"] >= map_box["top"] - 1 and box["bottom"] <= map_box["bottom"] + 1, box
        assert box["left"] >= map_box["left"] - 1 and box["right"] <= map_box["right"] + 1, box
    # Coverage circles stay visible at province zoom: at least MIN_RADIUS_PX in radius.
    circles = laptop.find_elements(By.CSS_SELECTOR, "path.com-coverage")
    assert len(circles) == 10
    for circle in circles:
        box = _rect(laptop, circle)
        assert box["width"] >= 2 * MIN_RADIUS_PX - 1 and box["height"] >= 2 * MIN_RADIUS_PX - 1
    # At close zoom a circle has its true radius in metres (Web Mercator scale at its latitude).
    radius_m = float(laptop.find_element(By.CSS_SELECTOR, "[name=radius_m]").get_attribute("value"))
    expected, drawn = laptop.execute_script(
        "var m = window.COM.cctvMap, layer = null;"
        "m.eachLayer(function (l) { if (l.options && l.options.radiusM) layer = l; });"
        "m.setView(layer.getLatLng(), 16, {animate: false});"
        "var p = m.latLngToContainerPoint(layer.getLatLng());"
        "var east = m.containerPointToLatLng([p.x + 100, p.y]);"
        "var perPx = m.distance(layer.getLatLng(), east) / 100;"
        "return [arguments[0] / perPx, layer.getRadius()];",
        radius_m,
    )
    assert expected > 3 * MIN_RADIUS_PX
    assert drawn == pytest.approx(expected, rel=0.02)
    # A planner saves the plan from the page (it is named after the area; a name is required).
    laptop.find_element(By.ID, "plan-save").click()
    WebDriverWait(laptop, 60).until(
        lambda d: d.find_elements(By.CSS_SELECTOR, "#plan-status a")
        or "error" in (d.find_element(By.ID, "plan-status").get_attribute("class") or "")
    )
    link = laptop.find_element(By.CSS_SELECTOR, "#plan-status a")
    assert "&plan=" in link.get_attribute("href")
    assert console_errors(laptop) == []


def test_plan_error_is_shown_in_the_page_language(live_server, admin, laptop):
    sign_in(laptop, live_server, admin, "/cctv")
    for lang, words, english in (
        ("th", "ระบุจำนวนกล้องหรืองบประมาณ", "give either"),
        ("en", "Give either the number of cameras (k) or a budget", None),
    ):
        laptop.get(f"{live_server.url}/cctv?lang={lang}&province=32")
        heading = laptop.find_element(By.ID, "plan-covered-heading").text
        assert ("สะสม" if lang == "th" else "Cumulative") in heading
        _plan(laptop, k="", budget="")  # neither k nor a budget: the API refuses (422)
        WebDriverWait(laptop, 20).until(
            lambda d: "error" in d.find_element(By.ID, "plan-status").get_attribute("class")
        )
        status = laptop.find_element(By.ID, "plan-status")
        assert words in status.text and "422" in status.text, status.text
        if english:
            assert english not in status.text.lower()
            assert english in status.get_attribute("title").lower()  # the API's words, on hover


def test_every_translated_refusal_matches_words_the_api_says() -> None:
    # The page translates a refusal by words of its message (api/routers/pages.py CCTV_ERRORS):
    # each must still occur in the siting code's messages, and each key be in the catalogue.
    from pathlib import Path

    import com.siting
    from api.i18n import TEXTS
    from api.routers import cctv, pages

    sources = "".join(
        p.read_text(encoding="utf-8") for p in Path(com.siting.__file__).parent.glob("*.py")
    ) + Path(cctv.__file__).read_text(encoding="utf-8")
    for words, key in pages.CCTV_ERRORS.items():
        assert words in sources, words
        assert key in TEXTS
    texts = pages.cctv_errors(pages.Translator("th"))
    assert all(key in TEXTS for key in pages.CCTV_FIELDS.values())
    assert texts["status"]["422"] == TEXTS["err_status_422"][0]
