"""The map with the province's MBTiles basemap and the network blocked (issue 15, done item 4)."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from basemapkit import make_mbtiles
from browserkit import LiveServer, console_errors, make_driver, quit_driver, requested_urls
from selenium.webdriver.support.ui import WebDriverWait

from com.maps.style import layer_name

pytestmark = pytest.mark.browser

LOADED_TILES = (
    "return Array.from(document.querySelectorAll('.leaflet-tile-pane img.leaflet-tile-loaded'))"
    ".map(function (img) { return img.src; })"
)


@pytest.fixture(scope="module")
def live_server_basemap(browser_data, test_settings, tmp_path_factory) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """The app with COM_BASEMAP=file:... (an MBTiles file of PNG tiles around Surin)."""
    path = tmp_path_factory.mktemp("basemap") / "surin.mbtiles"
    make_mbtiles(path)
    with LiveServer(test_settings.model_copy(update={"basemap": f"file:{path}"})) as server:
        yield server


def test_map_draws_the_local_basemap_with_the_network_blocked(live_server_basemap, screenshot):
    # Every host name but the loopback resolves to nothing, as in a cut-off operations room.
    server = live_server_basemap
    driver = make_driver("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")
    try:
        requested_urls(driver)  # drain the blank start tab's requests
        driver.get(server.url + "/")
        WebDriverWait(driver, 20).until(
            lambda d: (
                d.execute_script(
                    "return document.querySelectorAll('.leaflet-overlay-pane path').length > 100"
                )
                and len(d.execute_script(LOADED_TILES)) >= 4
            )
        )
        screenshot(driver, "map_offline_basemap")
        tiles = driver.execute_script(LOADED_TILES)
        assert tiles and all(
            urlparse(src).netloc == f"127.0.0.1:{server.port}"
            and urlparse(src).path.startswith("/basemap/")
            and src.endswith(".png")
            for src in tiles
        ), tiles
        # Drawn, not just fetched: a loaded tile has the image's 256 px.
        width = driver.execute_script(
            "return document.querySelector('.leaflet-tile-pane img.leaflet-tile-loaded')"
            ".naturalWidth"
        )
        assert width == 256
        urls = requested_urls(driver)
        network = [u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss", "ftp")]
        assert {urlparse(u).netloc for u in network} == {f"127.0.0.1:{server.port}"}, network
        assert sum("/basemap/" in u for u in network) >= len(tiles)
        labels = driver.execute_script(
            "return Array.from(document.querySelectorAll('.leaflet-control-layers-base label'))"
            ".map(function (l) { return l.textContent.trim(); })"
        )
        assert layer_name("basemap_local", "th") in labels, labels
        attribution = driver.execute_script(
            "return document.querySelector('.leaflet-control-attribution').textContent"
        )
        assert "Surin GIS test tiles" in attribution
        assert console_errors(driver) == []
    finally:
        quit_driver(driver)
