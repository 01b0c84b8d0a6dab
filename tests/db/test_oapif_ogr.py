"""QGIS-style access (issue 7): GDAL/OGR's OAPIF driver, the one QGIS uses for OGC API -
Features, reads collections from a real uvicorn server on 127.0.0.1 through pyogrio.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pyogrio
import pytest
import shapely
from live_server import LiveServer
from ogc_data import BURIRAM, many_points, standard_dataset
from sqlalchemy.engine import Engine

from com.config.settings import Settings
from com.ogc.query import DEFAULT_LIMIT, MAX_LIMIT

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def dataset(engine: Engine) -> dict[str, Any]:
    return standard_dataset(engine)


@pytest.fixture(scope="module")
def server(
    dataset: dict[str, Any], test_settings: Settings, tmp_path_factory: Any
) -> Iterator[str]:
    """The app under uvicorn on a free loopback port.

    A subprocess rather than a thread: GDAL holds the GIL while it waits for HTTP answers, so
    an in-process server thread could never answer it.
    """
    env = {
        "COM_DATABASE_URL": test_settings.database_url,
        "COM_ENVIRONMENT": "test",
        "COM_SECRET_KEY": test_settings.secret_key,
        "COM_GEODATA_DIR": str(test_settings.geodata_dir),
        "COM_SMALL_AREA_K": "1",  # all 50 points public (suppression is tested elsewhere)
    }
    with LiveServer(env, tmp_path_factory.mktemp("oapif") / "uvicorn.log") as live:
        yield live.base_url


def test_ogr_reads_risk_points(server: str, dataset: dict[str, Any]) -> None:
    layers = {name for name, _ in pyogrio.list_layers(f"OAPIF:{server}/ogc")}
    assert {"risk-points", "subdistricts", "districts", "border-crossings"} <= layers
    # OGR makes the GeoJSON feature id its FID, as QGIS shows it.
    frame = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="risk-points",
                                   fid_as_index=True)
    points = {p["id"]: p for p in dataset["points"]}
    assert len(frame) == len(points) == 50
    assert sorted(frame.index.astype(int)) == sorted(points)
    assert frame.crs.to_string() == "OGC:CRS84"
    for row in frame.itertuples():
        expected = points[int(row.Index)]
        assert row.name == expected["name"] or expected["category"] == "drugs"
        assert row.category == expected["category"]
        assert int(row.severity) == expected["severity"]
        assert row.province_code == expected["province_code"]
        if expected["category"] != "drugs":
            assert row.geometry.x == pytest.approx(expected["lon"], abs=1e-6)
            assert row.geometry.y == pytest.approx(expected["lat"], abs=1e-6)
        else:
            assert bool(row.location_coarsened)
    assert set(frame["category_th"]) == {"ยาเสพติด", "ลักลอบขนสินค้าผิดกฎหมาย",
                                         "ลักลอบเข้าเมือง", "อาชญากรรมอื่นๆ"}


def test_ogr_filters_and_polygons(server: str, dataset: dict[str, Any]) -> None:
    box = (103.3, 14.8, 103.6, 15.0)
    frame = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="risk-points", bbox=box,
                                   fid_as_index=True)

    def served(p: dict[str, Any]) -> tuple[float, float]:
        # Anonymous callers get drugs points at their subdistrict's representative point.
        if p["category"] == "drugs":
            rep = shapely.from_wkt(dataset["rep_points"][p["subdistrict_code"]])
            return rep.x, rep.y
        return p["lon"], p["lat"]

    expected = sorted(p["id"] for p in dataset["points"]
                      if box[0] <= served(p)[0] <= box[2] and box[1] <= served(p)[1] <= box[3])
    assert 0 < len(expected) < 50
    assert sorted(frame.index.astype(int)) == expected
    districts = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="districts",
                                       where=f"province_code = '{BURIRAM}'")
    assert len(districts) > 5
    assert set(districts["province_code"]) == {BURIRAM}
    assert set(districts.geometry.geom_type) <= {"MultiPolygon", "Polygon"}


def test_ogr_pages_through_many_features(server: str, engine: Engine,
                                          dataset: dict[str, Any]) -> None:
    try:
        inserted = many_points(engine, 2345)
        frame = pyogrio.read_dataframe(f"OAPIF:{server}/ogc", layer="risk-points",
                                       fid_as_index=True)
        assert sorted(frame.index.astype(int)) == inserted
        assert httpx.get(f"{server}/ogc/collections/risk-points/items?limit=1").json()[
            "numberMatched"] == 2345
    finally:
        dataset.update(standard_dataset(engine))


def test_gdal_pages_at_the_declared_page_size(server: str, engine: Engine,
                                             dataset: dict[str, Any], tmp_path: Any) -> None:
    """Issue 13: with no options, GDAL (3.8 and newer, as in pyogrio and current QGIS) reads
    ``limit``'s default/maximum from the OpenAPI document and pages at that size; with neither
    declared it fetched 10 features a request. (Debian 12's ogr2ogr is GDAL 3.6, which always
    asks for 10 unless given ``-oo PAGE_SIZE=...``.)"""
    parameters = httpx.get(f"{server}/openapi.json").json()["paths"][
        "/ogc/collections/risk-points/items"]["get"]["parameters"]
    schema = next(p for p in parameters if p["name"] == "limit")["schema"]
    assert schema["default"] == DEFAULT_LIMIT and schema["maximum"] == MAX_LIMIT
    try:
        many_points(engine, 2345)
        out = tmp_path / "points.geojson"
        # The ogr2ogr of pyogrio's GDAL, no options, in a child process to read GDAL's log.
        script = (
            "import sys, pyogrio\n"
            "pyogrio.set_gdal_config_options({'CPL_DEBUG': 'ON'})\n"
            "frame = pyogrio.read_dataframe(sys.argv[1], layer='risk-points')\n"
            "pyogrio.write_dataframe(frame, sys.argv[2], driver='GeoJSON')\n"
        )
        run = subprocess.run(
            [sys.executable, "-c", script, f"OAPIF:{server}/ogc", str(out)],
            capture_output=True, text=True, timeout=120, check=True,
        )
        pages = set(re.findall(r"/collections/risk-points/items\?[^\s)]*", run.stderr))
        limits = {int(m) for page in pages for m in re.findall(r"[?&]limit=(\d+)", page)}
        # One small first page to learn the schema, then pages of the declared size or more
        # (GDAL takes the declared maximum, capped at its own 1,000).
        assert limits and max(limits) >= DEFAULT_LIMIT, (limits, run.stderr[-2000:])
        assert len(json.loads(out.read_text())["features"]) == 2345
        assert len(pages) <= 2345 // DEFAULT_LIMIT + 3, sorted(pages)
    finally:
        dataset.update(standard_dataset(engine))


def test_gdal_types_the_fields_from_the_feature_schema(server: str) -> None:
    """GDAL follows the collection's ``describedby`` JSON Schema for its field types (not the
    first page's values): numbers are real fields, integers integer fields."""
    script = (
        "import sys, json, pyogrio\n"
        "pyogrio.set_gdal_config_options({'CPL_DEBUG': 'ON'})\n"
        "info = pyogrio.read_info(sys.argv[1], layer='subdistricts')\n"
        "print(json.dumps(dict(zip(info['fields'].tolist(), info['dtypes'].tolist()))))\n"
    )
    run = subprocess.run([sys.executable, "-c", script, f"OAPIF:{server}/ogc"],
                         capture_output=True, text=True, timeout=120, check=True)
    assert "Using JSON schema" in run.stderr, run.stderr[-2000:]
    types = json.loads(run.stdout.strip().splitlines()[-1])
    assert types["risk_score"] == "float64" and types["area_km2"] == "float64", types
    assert types["rank"] == "int32" and types["code"] == "object", types
