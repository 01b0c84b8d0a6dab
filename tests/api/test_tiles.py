"""Vector tiles and TileJSON (issue 7): contents checked by decoding the MVT, counts compared
with the inserted points, ETag/304, cache headers, aggregation at low zoom, coarsening of
sensitive points and province-restricted keys.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import pytest
from fastapi.testclient import TestClient
from ogc_data import BURIRAM, SURIN, standard_dataset
from sqlalchemy.engine import Engine

from api.main import create_app
from com.config.settings import Settings
from com.security.access import CLI
from com.security.apikeys import create_key

pytestmark = pytest.mark.db
HALF = 20037508.342789244


@pytest.fixture(scope="module")
def dataset(engine: Engine) -> dict[str, Any]:
    return standard_dataset(engine)


@pytest.fixture(scope="module")
def client(dataset: dict[str, Any], test_settings: Settings) -> Iterator[TestClient]:
    # k = 1 turns the small-area suppression of public layers off for these tests; it has
    # its own test (test_ogc.py::test_public_layers_hide_small_areas).
    with TestClient(create_app(test_settings.model_copy(update={"small_area_k": 1}))) as c:
        yield c


@pytest.fixture(scope="module")
def keys(dataset: dict[str, Any], engine: Engine) -> dict[str, str]:
    with engine.begin() as conn:
        return {
            "sensitive": create_key(conn, name="tiles analyst", sensitive=True,
                                    created_by=CLI).key,
            "buriram": create_key(conn, name="Buriram", province_code=BURIRAM,
                                  created_by=CLI).key,
        }


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def mercator(lon: float, lat: float) -> tuple[float, float]:
    return (lon * HALF / 180,
            math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * HALF / math.pi)


def in_tile(lon: float, lat: float, z: int, x: int, y: int, buffer: float = 0.0) -> bool:
    size = 2 * HALF / 2**z
    mx, my = mercator(lon, lat)
    west, north = -HALF + x * size, HALF - y * size
    pad = size * buffer
    return west - pad <= mx <= west + size + pad and north - size - pad <= my <= north + pad


def decode(content: bytes, layer: str) -> list[dict[str, Any]]:
    if not content:
        return []
    return mapbox_vector_tile.decode(content).get(layer, {}).get("features", [])


def test_tilejson(client: TestClient, dataset: dict[str, Any]) -> None:
    doc = client.get("/tiles/risk-points.json").json()
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"][0].endswith("/tiles/risk-points/{z}/{x}/{y}.pbf")
    assert doc["minzoom"] == 0 and doc["maxzoom"] >= 14
    west, south, east, north = doc["bounds"]
    assert 102 < west < east < 105 and 14 < south < north < 16
    layer = doc["vector_layers"][0]
    assert layer["id"] == "risk-points"
    assert layer["fields"]["severity"] == "Number" and "point_count" in layer["fields"]
    index = client.get("/tiles").json()
    assert {t["id"] for t in index["tilesets"]} >= {"risk-points", "subdistricts"}
    for tileset in ("subdistricts", "districts", "border-crossings"):
        assert client.get(f"/tiles/{tileset}.json").json()["vector_layers"][0]["id"] == tileset


def test_z14_tile_holds_exactly_its_points(
    client: TestClient, dataset: dict[str, Any], keys: dict[str, str]
) -> None:
    target = next(p for p in dataset["points"] if p["category"] == "smuggling")
    z = 14
    x, y = tile_of(target["lon"], target["lat"], z)
    r = client.get(f"/tiles/risk-points/{z}/{x}/{y}.pbf", headers={"X-API-Key": keys["sensitive"]})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    features = decode(r.content, "risk-points")
    expected = {p["id"] for p in dataset["points"] if in_tile(p["lon"], p["lat"], z, x, y, 1 / 64)}
    assert {f["id"] for f in features} == expected and target["id"] in expected
    props = next(f["properties"] for f in features if f["id"] == target["id"])
    assert props["category"] == "smuggling" and props["severity"] == target["severity"]
    assert props["reported_on"] == str(target["reported_on"])
    assert "cluster" not in props


def test_low_zoom_tiles_are_aggregated(client: TestClient, dataset: dict[str, Any]) -> None:
    z = 6
    x, y = tile_of(103.5, 14.9, z)
    features = decode(client.get(f"/tiles/risk-points/{z}/{x}/{y}.pbf").content, "risk-points")
    assert features and all(f["properties"]["cluster"] for f in features)
    expected = sum(in_tile(p["lon"], p["lat"], z, x, y, 1 / 64) for p in dataset["points"])
    assert sum(f["properties"]["point_count"] for f in features) == expected == 50
    assert len(features) < 50
    assert max(f["properties"]["severity_max"] for f in features) == 5


def test_etag_and_cache_headers(client: TestClient, keys: dict[str, str]) -> None:
    x, y = tile_of(103.5, 14.9, 8)
    url = f"/tiles/risk-points/8/{x}/{y}.pbf"
    first = client.get(url)
    etag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public")
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    keyed = client.get(url, headers={"X-API-Key": keys["sensitive"]})
    assert keyed.headers["cache-control"].startswith("private")
    assert "X-API-Key" in keyed.headers["vary"]
    filtered = client.get(url + "?category=smuggling")
    assert filtered.headers["etag"] != etag


def test_sensitive_points_coarsened_in_tiles(
    client: TestClient, dataset: dict[str, Any], keys: dict[str, str]
) -> None:
    import shapely

    for drug in (p for p in dataset["points"] if p["category"] == "drugs"):
        rep = shapely.from_wkt(dataset["rep_points"][drug["subdistrict_code"]])
        x, y = tile_of(drug["lon"], drug["lat"], 16)
        if tile_of(rep.x, rep.y, 16) != (x, y):
            break
    url = f"/tiles/risk-points/16/{x}/{y}.pbf"
    anonymous = {f["id"] for f in decode(client.get(url).content, "risk-points")}
    exact = {f["id"] for f in decode(
        client.get(url, headers={"X-API-Key": keys["sensitive"]}).content, "risk-points")}
    assert drug["id"] in exact and drug["id"] not in anonymous
    rx, ry = tile_of(rep.x, rep.y, 16)
    at_rep = decode(client.get(f"/tiles/risk-points/16/{rx}/{ry}.pbf").content, "risk-points")
    coarse = next(f for f in at_rep if f["id"] == drug["id"])
    assert coarse["properties"]["location_coarsened"] is True


def test_province_key_sees_only_its_province_in_tiles(
    client: TestClient, dataset: dict[str, Any], keys: dict[str, str]
) -> None:
    z = 6
    x, y = tile_of(103.5, 14.9, z)
    url = f"/tiles/risk-points/{z}/{x}/{y}.pbf"
    features = decode(client.get(url, headers={"X-API-Key": keys["buriram"]}).content,
                      "risk-points")
    expected = sum(p["province_code"] == BURIRAM for p in dataset["points"])
    assert sum(f["properties"]["point_count"] for f in features) == expected == 10
    surin_point = next(p for p in dataset["points"] if p["province_code"] == SURIN
                       and p["category"] == "smuggling")
    x, y = tile_of(surin_point["lon"], surin_point["lat"], 14)
    assert decode(client.get(f"/tiles/risk-points/14/{x}/{y}.pbf",
                             headers={"X-API-Key": keys["buriram"]}).content,
                  "risk-points") == []
    x, y = tile_of(103.1, 15.0, 7)
    areas = decode(client.get(f"/tiles/subdistricts/7/{x}/{y}.pbf",
                              headers={"X-API-Key": keys["buriram"]}).content, "subdistricts")
    assert areas and {a["properties"]["province_code"] for a in areas} == {BURIRAM}


def test_polygon_tiles(client: TestClient) -> None:
    x, y = tile_of(103.5, 14.9, 9)
    features = decode(client.get(f"/tiles/subdistricts/9/{x}/{y}.pbf").content, "subdistricts")
    assert features
    assert all(f["geometry"]["type"] in ("Polygon", "MultiPolygon") for f in features)
    assert any(f["properties"]["code"].startswith(SURIN) for f in features)


@pytest.mark.parametrize(
    "url,status",
    [
        ("/tiles/risk-points/3/8/1.pbf", 404),
        ("/tiles/risk-points/23/0/0.pbf", 400),
        ("/tiles/risk-points/a/0/0.pbf", 400),
        ("/tiles/nope/1/0/0.pbf", 404),
        ("/tiles/nope.json", 404),
        ("/tiles/risk-points/5/25/14.pbf?bbox=1,2,3,4", 400),
        ("/tiles/risk-points/5/25/14.pbf?colour=red", 400),
    ],
)
def test_tile_errors(client: TestClient, url: str, status: int) -> None:
    r = client.get(url)
    assert r.status_code == status
    assert r.headers["content-type"] == "application/problem+json"
