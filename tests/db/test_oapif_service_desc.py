"""GDAL/OGR's OAPIF driver (QGIS's) reads the OGC-only OpenAPI document (issue 15).

The driver follows the landing page's ``service-desc`` link (before issue 15 the whole app's
3.1 document at /openapi.json) and pages with the ``limit`` maximum the document declares.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pyogrio
import pytest
from live_server import LiveServer
from ogc_data import many_points, standard_dataset
from sqlalchemy.engine import Engine

from com.config.settings import Settings
from com.ogc.query import MAX_LIMIT

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def server(engine: Engine, test_settings: Settings, tmp_path_factory: Any) -> Iterator[str]:
    standard_dataset(engine)
    env = {
        "COM_DATABASE_URL": test_settings.database_url,
        "COM_ENVIRONMENT": "test",
        "COM_SECRET_KEY": test_settings.secret_key,
        "COM_GEODATA_DIR": str(test_settings.geodata_dir),
        "COM_SMALL_AREA_K": "1",
    }
    with LiveServer(env, tmp_path_factory.mktemp("oapif-desc") / "uvicorn.log") as live:
        yield live.base_url


def test_ogr_reads_the_service_desc_and_pages_at_the_declared_maximum(
    server: str, engine: Engine, capfd: pytest.CaptureFixture[str]
) -> None:
    try:
        inserted = many_points(engine, 2345)
        capfd.readouterr()
        pyogrio.set_gdal_config_options({"CPL_DEBUG": "ON"})
        try:
            frame = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="risk-points",
                                           fid_as_index=True)
        finally:
            pyogrio.set_gdal_config_options({"CPL_DEBUG": None})
        fetched = re.findall(r"HTTP: Fetch\((\S+)\)", capfd.readouterr().err)
    finally:
        standard_dataset(engine)
    assert sorted(frame.index.astype(int)) == inserted
    assert f"{server}/ogc/openapi.json" in fetched, fetched
    pages = [u for u in fetched if "/collections/risk-points/items" in u]
    # The first request is GDAL's small probe of the layer's fields; the reading pages follow.
    reading = pages[1:]
    # GDAL takes the declared maximum as its page size, capped at its own 1,000.
    page = min(MAX_LIMIT, 1000)
    assert reading and all(f"limit={page}" in u for u in reading), pages
    assert len(reading) == -(-2345 // page), pages
