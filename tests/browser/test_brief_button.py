"""Issue 18: the targets page's "พิมพ์รายงาน / Print brief" button downloads the brief PDF."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from browserkit import sign_in
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from com.db.engine import transaction

pytestmark = [pytest.mark.browser, pytest.mark.db, pytest.mark.slow]


@pytest.fixture
def demo_targets(browser_data, test_settings):  # type: ignore[no-untyped-def]
    """The demo's target lists and projects (the browser session loads the points only)."""
    from com.config.severity import load_severity_model
    from com.demo import SYNTHETIC_PREFIX
    from com.demo_kpi import declare_demo_targets

    with transaction(browser_data) as conn:
        declare_demo_targets(conn, province_code="32", prefix=SYNTHETIC_PREFIX,
                             model=load_severity_model(test_settings.severity_config))
    yield
    with transaction(browser_data) as conn:
        conn.execute(sa.text("TRUNCATE target_areas, target_lists, projects, brief_records "
                             "RESTART IDENTITY CASCADE"))


def _page_text(pdf: Path, page: int) -> str:
    return subprocess.run(["pdftotext", "-layout", "-f", str(page), "-l", str(page), str(pdf),
                           "-"], capture_output=True, text=True, check=True).stdout


def _pages(pdf: Path) -> str:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    return next(line for line in info.stdout.splitlines() if line.startswith("Pages:"))


def _download(folder: Path, timeout_s: float = 240) -> Path:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        done = [p for p in folder.glob("*.pdf") if p.stat().st_size]
        if done and not list(folder.glob("*.crdownload")):
            return done[0]
        time.sleep(0.5)
    raise AssertionError(f"no PDF downloaded into {folder}: {list(folder.iterdir())}")


def test_print_brief_button_downloads_the_brief(live_server, driver, demo_targets, tmp_path):
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    driver.execute_cdp_cmd("Browser.setDownloadBehavior",
                           {"behavior": "allow", "downloadPath": str(downloads)})
    sign_in(driver, live_server, "b_staff", "/targets?province=32")
    button = driver.find_element(By.ID, "print-brief")
    assert button.text == "พิมพ์รายงาน / Print brief"
    form = driver.find_element(By.ID, "brief-form")
    # The page picks the newest declared fiscal year of the province.
    WebDriverWait(driver, 20).until(lambda d: form.get_attribute("data-ready") == "1")
    assert driver.find_element(By.ID, "brief-fy").get_attribute("value") == "2568"
    button.click()
    pdf = _download(downloads)
    assert pdf.name == "brief-32-2568.pdf" and pdf.read_bytes()[:5] == b"%PDF-"
    # The same brief the API gives this user: same pages, same KPI page word for word.
    cookies = {c["name"]: c["value"] for c in driver.get_cookies()}
    api = httpx.get(f"{live_server.url}/api/briefs",
                    params={"province": "32", "fy": 2568, "format": "pdf"},
                    cookies=cookies, timeout=240)
    assert api.status_code == 200
    again = tmp_path / "api.pdf"
    again.write_bytes(api.content)
    assert _pages(pdf) == _pages(again)
    kpi_page = _page_text(pdf, 2)
    assert "ตัวชี้วัดจังหวัดสุรินทร์ ปีงบประมาณ 2568" in kpi_page
    assert kpi_page == _page_text(again, 2)
