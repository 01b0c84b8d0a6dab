"""Fixtures of the browser tests: the app on a free loopback port, Chromium, screenshots.

The app runs in a thread against the session's test database with the synthetic Surin demo
and one account per role. Under CI a missing browser is a failure, never a skip.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from browserkit import (
    ACCOUNTS,
    PASSWORD,
    SCREENSHOTS,
    LiveServer,
    clean_data,
    make_driver,
    need_browser,
    quit_driver,
)


@pytest.fixture(scope="session")
def browser_data(engine, test_settings, pytestconfig):  # type: ignore[no-untyped-def]
    """The synthetic Surin demo and the browser tests' accounts, loaded once."""
    from com.db.engine import transaction
    from com.demo import load_demo_data
    from com.security import users

    clean_data(engine, pytestconfig)
    load_demo_data(engine, test_settings)
    with transaction(engine) as conn:
        for name, role, province in ACCOUNTS:
            users.create_user(
                conn, username=name, password=PASSWORD, role=role, province_code=province
            )
    yield engine
    clean_data(engine, pytestconfig)


@pytest.fixture(scope="session")
def live_server(browser_data, test_settings) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """The app with no basemap tiles (COM_BASEMAP=none, the default)."""
    need_browser()
    with LiveServer(test_settings) as server:
        yield server


@pytest.fixture(scope="session")
def live_server_osm(browser_data, test_settings) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """The app configured for OpenStreetMap tiles (to show the map survives without them)."""
    need_browser()
    with LiveServer(test_settings.model_copy(update={"basemap": "osm"})) as server:
        yield server


@pytest.fixture
def driver():  # type: ignore[no-untyped-def]
    """A fresh headless Chromium with its own throwaway profile."""
    need_browser()
    d = make_driver()
    yield d
    quit_driver(d)


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """Save a PNG of a driver's window under tests/browser/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(driver, name: str) -> Path:  # type: ignore[no-untyped-def]
        path = SCREENSHOTS / f"{name}.png"
        driver.save_screenshot(str(path))
        return path

    return take
