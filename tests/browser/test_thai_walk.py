"""Every page in Thai at 1366x768 (issue 15): no console error, no raw key or enum, buttons in view.

An administrator of the demo walks the pages with ``lang=th`` in headless Chromium; each page is
screenshotted under tests/browser/screenshots/thai_*.png.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from browserkit import PASSWORD, LiveServer, console_errors, make_driver, quit_driver, sign_in
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from api.i18n import TEXTS
from com.analysis.risk import HOTSPOT_LABELS
from com.db.engine import transaction
from com.ingest.reasons import REASON_CODES
from com.security import users
from com.security.access import ROLES

pytestmark = [pytest.mark.browser, pytest.mark.db]

ADMIN = "b_walk_admin"
#: Every page of api/routers/pages.py and api/routers/auth.py (GET), with the demo province.
PAGES = (
    "/?province=32",
    "/targets?province=32",
    "/cctv?province=32",
    "/upload",
    "/uploads",
    "/admin/users",
)
#: Values that must never reach a Thai page raw: Gi* classes, siting methods, upload reason
#: codes, roles; and every key of the page catalogue (api/i18n.py).
RAW = {
    *HOTSPOT_LABELS,
    "exact",
    "greedy",
    "auto",
    *REASON_CODES,
    *ROLES,
    *TEXTS,
}
#: Words a Thai page shows on purpose: the field keys next to their Thai label on the upload
#: form (people match their spreadsheet's headers to them), and names (COM, CCTV, Gi*).
ALLOWED = {"lat", "lon"}
RAW_WORD = re.compile(
    r"(?<![\w.@/-])("
    + "|".join(sorted(map(re.escape, RAW - ALLOWED), key=len, reverse=True))
    + r")(?![\w.@/-])"
)
#: Data shown as stored, not interface text: the demo accounts' bilingual display names
#: ("ผู้ชมตัวอย่าง (demo viewer)", com/demo.py) on the users page.
DATA = re.compile(r"\(demo \w+\)")
#: An English phrase (three words or more) in a Thai page: an untranslated message.
ENGLISH = re.compile(r"[A-Za-z]{2,}(?:[ ,:'-]+[A-Za-z]{2,}){2,}")
BUTTONS = "button, input[type=submit], input[type=button], a.button"


@pytest.fixture(scope="module")
def walker(live_server: LiveServer, browser_data) -> Iterator:  # type: ignore[no-untyped-def]
    """Headless Chromium at 1366x768, signed in as an administrator of the demo."""
    with transaction(browser_data) as conn:
        found = conn.execute(sa.text("SELECT 1 FROM users WHERE username = :u"), {"u": ADMIN})
        if not found.first():
            users.create_user(conn, username=ADMIN, password=PASSWORD, role="admin")
    driver = make_driver(window="1366,768")
    try:
        yield driver
    finally:
        quit_driver(driver)


def _with_thai(path: str) -> str:
    return path + ("&" if "?" in path else "?") + "lang=th"


def _check_page(driver, name: str, screenshot, refused: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """Assert the open page's text, console and buttons; save its screenshot.

    ``refused``: the one console error expected, Chromium's note of an API refusal the page
    shows (e.g. "/api/cctv/plan - ... 422"), which no page script can silence.
    """
    WebDriverWait(driver, 30).until(
        lambda d: d.execute_script("return document.readyState") == "complete"
    )
    driver.execute_script("return new Promise(r => setTimeout(r, 800));")  # scripts settle
    screenshot(driver, f"thai_{name}")
    assert driver.execute_script("return document.documentElement.lang") == "th"
    text = driver.find_element(By.TAG_NAME, "body").text
    raw = sorted(set(RAW_WORD.findall(DATA.sub("", text))))
    assert raw == [], f"{name}: raw keys or enum values shown: {raw}"
    english = ENGLISH.findall(DATA.sub("", text))
    assert english == [], f"{name}: English in the Thai page: {english}"
    errors = console_errors(driver)
    if refused:
        errors = [e for e in errors if not re.search(refused, e)]
    assert errors == []
    outside = driver.execute_script(
        """
        var out = [];
        document.querySelectorAll(arguments[0]).forEach(function (b) {
          var r = b.getBoundingClientRect();
          if (!r.width || !r.height || getComputedStyle(b).visibility === "hidden") return;
          b.scrollIntoView({block: "center", inline: "center"});
          r = b.getBoundingClientRect();
          var inside = r.left >= 0 && r.top >= 0 && r.right <= innerWidth + 0.5
            && r.bottom <= innerHeight + 0.5;
          // Not clipped by a container: each corner (1 px in) hits the button itself.
          var corners = [[r.left + 1, r.top + 1], [r.right - 1, r.top + 1],
                         [r.left + 1, r.bottom - 1], [r.right - 1, r.bottom - 1]];
          var whole = corners.every(function (p) {
            var e = document.elementFromPoint(p[0], p[1]);
            return e && (e === b || b.contains(e) || e.contains(b));
          });
          if (!inside || !whole) out.push((b.id || b.textContent.trim() || b.value) + " "
            + JSON.stringify([r.left, r.top, r.right, r.bottom]));
        });
        return out;
        """,
        BUTTONS,
    )
    assert outside == [], f"{name}: buttons not fully visible: {outside}"


def test_login_page_in_thai(live_server, screenshot):  # type: ignore[no-untyped-def]
    driver = make_driver(window="1366,768")
    try:
        driver.get(live_server.url + "/login?lang=th")
        _check_page(driver, "login", screenshot)
    finally:
        quit_driver(driver)


def _signed_in(walker, live_server) -> None:  # type: ignore[no-untyped-def]
    if not walker.get_cookie("com_session"):
        sign_in(walker, live_server, ADMIN, "/uploads")
        console_errors(walker)  # drain the sign-in's log


def test_upload_report_in_thai(live_server, walker, tmp_path, screenshot):  # type: ignore[no-untyped-def]
    # Rows that are all refused (nothing stored: the other browser tests' data stays as it is),
    # so the report shows reasons and the history page has an upload to list.
    sample = tmp_path / "thai_walk.csv"
    sample.write_text(
        "ลำดับ,ชื่อจุดเสี่ยง,ประเภทปัญหา,ระดับความรุนแรง,ละติจูด,ลองจิจูด,วันที่รายงาน\n"
        "1,นอกประเทศ,ยาเสพติด,3,1.5,1.5,2024-10-11\n"
        "2,นอกจังหวัด,ยาเสพติด,3,13.7563,100.5018,2024-10-11\n"
        "3,ไม่มีพิกัด,ยาเสพติด,3,,,2024-10-11\n",
        encoding="utf-8",
    )
    _signed_in(walker, live_server)
    walker.get(live_server.url + "/upload?lang=th")
    Select(walker.find_element(By.ID, "province")).select_by_value("32")
    walker.find_element(By.ID, "file").send_keys(str(sample))
    walker.find_element(By.ID, "upload-submit").click()
    WebDriverWait(walker, 120).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#report-rows tbody tr")
            or d.find_element(By.ID, "upload-error").is_displayed()
        )
    )
    assert not walker.find_element(By.ID, "upload-error").is_displayed()
    _check_page(walker, "upload_report", screenshot)


def test_cctv_plan_in_thai(live_server, walker, screenshot):  # type: ignore[no-untyped-def]
    _signed_in(walker, live_server)
    walker.get(live_server.url + "/cctv?province=32&lang=th")
    walker.find_element(By.ID, "plan-submit").click()
    WebDriverWait(walker, 120).until(
        lambda d: (
            d.find_elements(By.CSS_SELECTOR, "#plan-table tbody tr")
            or "error" in (d.find_element(By.ID, "plan-status").get_attribute("class") or "")
        )
    )
    assert walker.find_elements(By.CSS_SELECTOR, "#plan-table tbody tr")
    summary = walker.find_element(By.ID, "plan-summary").text
    assert "คำตอบแม่นตรง" in summary or "วิธีละโมบ" in summary, summary
    _check_page(walker, "cctv_plan", screenshot)


def test_cctv_refusal_in_thai(live_server, walker, screenshot):  # type: ignore[no-untyped-def]
    # An API error the page shows (neither k nor a budget: 422) is in Thai, not the API's words.
    _signed_in(walker, live_server)
    walker.get(live_server.url + "/cctv?province=32&lang=th")
    walker.find_element(By.CSS_SELECTOR, "[name=k]").clear()
    walker.find_element(By.ID, "plan-submit").click()
    WebDriverWait(walker, 30).until(
        lambda d: "error" in (d.find_element(By.ID, "plan-status").get_attribute("class") or "")
    )
    _check_page(walker, "cctv_refusal", screenshot, refused=r"/api/cctv/plan .*\b422\b")


def test_refused_province_in_thai(live_server, screenshot):  # type: ignore[no-untyped-def]
    # A staff account of province 32 asking for another province's map: refused, in Thai.
    driver = make_driver(window="1366,768")
    try:
        sign_in(driver, live_server, "b_staff", "/upload")
        console_errors(driver)
        driver.get(live_server.url + "/?province=31&lang=th")
        assert "ดูข้อมูลได้เฉพาะจังหวัด" in driver.find_element(By.TAG_NAME, "body").text
        _check_page(driver, "refused_province", screenshot, refused=r"province=31.*\b403\b")
    finally:
        quit_driver(driver)


@pytest.mark.parametrize("path", PAGES)
def test_page_in_thai(live_server, walker, path, screenshot):  # type: ignore[no-untyped-def]
    _signed_in(walker, live_server)
    walker.get(live_server.url + _with_thai(path))
    name = path.strip("/").split("?")[0].replace("/", "_") or "map"
    _check_page(walker, name, screenshot)


def test_map_legend_fully_visible_in_thai(live_server, walker):  # type: ignore[no-untyped-def]
    walker.get(live_server.url + _with_thai("/?province=32"))
    WebDriverWait(walker, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".com-legend"))
    box = walker.execute_script(
        "var l = document.querySelector('.com-legend'); l.scrollIntoView({block: 'center'});"
        "var r = l.getBoundingClientRect(), m = l.closest('.leaflet-container')"
        ".getBoundingClientRect();"
        "return [r.top >= Math.max(0, m.top) && r.bottom <= Math.min(innerHeight, m.bottom)"
        " && r.left >= m.left && r.right <= m.right, l.scrollHeight <= l.clientHeight + 1];"
    )
    assert box == [True, True]
