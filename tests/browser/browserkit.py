"""Helpers of the browser tests: headless Debian Chromium (selenium) and a live uvicorn server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import tempfile
import threading
import time
from pathlib import Path

import pytest
from dbclean import clean_data_tables
from sqlalchemy.engine import Engine

from com.config.settings import Settings

CHROMIUM = os.environ.get("COM_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("COM_CHROMEDRIVER", "/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
PASSWORD = "browser test password"
ACCOUNTS = (("b_viewer", "viewer", None), ("b_staff", "staff", "32"))
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
    "--lang=th-TH",
)


def clean_data(engine: Engine, config: pytest.Config) -> None:
    """Empty the data tables with the shared cleaner (tests/dbclean.py)."""
    clean_data_tables(engine)


def need_browser() -> None:
    """Skip (fail under CI) when Chromium or chromedriver is missing."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not shutil.which(p)]
    if missing:
        message = f"headless Chromium not installed ({', '.join(missing)}): run scripts/setup.sh"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


def free_port() -> int:
    """Return a TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """uvicorn serving ``create_app(settings)`` in a daemon thread on 127.0.0.1."""

    def __init__(self, settings: Settings) -> None:
        import uvicorn

        from api.main import create_app

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # No webhook deliverer: the server lives for the whole test session, and its thread
        # would claim (and reschedule) the deliveries the webhook tests deliver themselves.
        settings = settings.model_copy(update={"webhook_delivery": False})
        config = uvicorn.Config(
            create_app(settings), host="127.0.0.1", port=self.port, log_level="warning"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def make_driver(*extra_flags: str, window: str | None = None):  # type: ignore[no-untyped-def]
    """Return a headless Chromium driver with network (CDP) and console logs enabled."""
    from selenium import webdriver

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="com-chromium-")
    flags = [*CHROMIUM_FLAGS, *extra_flags, f"--user-data-dir={profile}"]
    if window:
        flags = [f for f in flags if not f.startswith("--window-size")] + [
            f"--window-size={window}"
        ]
    for flag in flags:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.com_profile = profile  # type: ignore[attr-defined]
    return driver


def quit_driver(driver) -> None:  # type: ignore[no-untyped-def]
    """Close the browser and delete its throwaway profile."""
    driver.quit()
    shutil.rmtree(driver.com_profile, ignore_errors=True)


def performance_events(driver) -> list[dict]:  # type: ignore[no-untyped-def]
    """Return the CDP events recorded since the last call (Network.*, Page.*)."""
    return [json.loads(e["message"])["message"] for e in driver.get_log("performance")]


def requested_urls(driver) -> list[str]:  # type: ignore[no-untyped-def]
    """Return every URL the page asked the network for (CDP Network.requestWillBeSent)."""
    return [
        m["params"]["request"]["url"]
        for m in performance_events(driver)
        if m.get("method") == "Network.requestWillBeSent"
    ]


def console_errors(driver) -> list[str]:  # type: ignore[no-untyped-def]
    """Return the page's console errors, favicon misses aside."""
    return [
        e["message"]
        for e in driver.get_log("browser")
        if e["level"] == "SEVERE" and "favicon" not in e["message"]
    ]


def sign_in(driver, server: LiveServer, username: str, next_path: str = "/") -> None:  # type: ignore[no-untyped-def]
    """Sign in through the login form and wait for the page it leads to."""
    from urllib.parse import quote

    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(f"{server.url}/login?next={quote(next_path, safe='')}")
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    # Wait for the redirect away from the login page to finish loading: "/" is in every URL,
    # so url_contains(next_path) alone returned before the form's POST had answered, and a
    # following driver.get() raced with the redirect (a flaky failure under load).
    WebDriverWait(driver, 20).until(
        lambda d: "/login" not in d.current_url and next_path in d.current_url
        and d.execute_script("return document.readyState") == "complete"
    )
