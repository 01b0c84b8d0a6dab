"""Vector tiles served from compiled statements (issue 13): same features as the rules say.

The fast path (:class:`com.ogc.tile_cache.TileCache`) builds each selection's statements once
and binds the tile address. These tests check its tiles against the dataset itself (which
points lie in a tile, which are coarsened, which areas the small-area rule hides) for
anonymous callers, a sensitive key and province keys, against the per-request path of
:meth:`com.ogc.catalog.FeatureCatalog.tile`, and the HTTP details that changed with it: gzip
in the handler, ETag/304, and the filter parameters still documented in OpenAPI.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import mapbox_vector_tile
import pytest
import shapely
import sqlalchemy as sa
from fastapi.testclient import TestClient
from ogc_data import BURIRAM, SURIN, standard_dataset
from sqlalchemy.engine import Engine

import com.ogc.tile_cache as tile_cache_module
from api.main import create_app
from com.config.settings import Settings
from com.ogc.catalog import FeatureCatalog
from com.ogc.tile_cache import TileCache
from com.security.access import ANONYMOUS, CLI, Principal

pytestmark = pytest.mark.db
HALF = 20037508.342789244
K = 5  # the small-area rule of the test settings: Buriram's areas (4, 3, 3 points) are hidden
PRINCIPALS = {
    "anonymous": ANONYMOUS,
    "sensitive": CLI,
    "surin_key": Principal(kind="api_key", name="surin", province_code=SURIN),
    "buriram_key": Principal(kind="api_key", name="buriram", province_code=BURIRAM),
}


@pytest.fixture(scope="module")
def dataset(engine: Engine) -> dict[str, Any]:
    return standard_dataset(engine)


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def in_tile(lon: float, lat: float, z: int, x: int, y: int) -> bool:
    size = 2 * HALF / 2**z
    mx = lon * HALF / 180
    my = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2)) * HALF / math.pi
    west, north, pad = -HALF + x * size, HALF - y * size, size / 64
    return west - pad <= mx <= west + size + pad and north - size - pad <= my <= north + pad


def decode(content: bytes, layer: str = "risk-points") -> list[dict[str, Any]]:
    if not content:
        return []
    return mapbox_vector_tile.decode(content).get(layer, {}).get("features", [])


def served_place(point: dict[str, Any], dataset: dict[str, Any], name: str) -> tuple[float, float]:
    """Where ``name`` is shown the point: its subdistrict's representative point if coarsened."""
    if point["category"] == "drugs" and name != "sensitive":
        rep = shapely.from_wkt(dataset["rep_points"][point["subdistrict_code"]])
        return rep.x, rep.y
    return point["lon"], point["lat"]


def visible(point: dict[str, Any], name: str) -> bool:
    """Whether ``name`` may see the point at all (province keys, small-area rule)."""
    principal = PRINCIPALS[name]
    if principal.province_code and point["province_code"] != principal.province_code:
        return False
    return not (name == "anonymous" and point["province_code"] == BURIRAM)


def expected_ids(dataset: dict[str, Any], name: str, z: int, x: int, y: int) -> set[int]:
    return {p["id"] for p in dataset["points"]
            if visible(p, name) and in_tile(*served_place(p, dataset, name), z, x, y)}


def test_small_area_rule_of_the_dataset(dataset: dict[str, Any]) -> None:
    counts = Counter(p["subdistrict_code"] for p in dataset["points"])
    assert all(counts[c] >= K for c in dataset["surin"])
    assert all(0 < counts[c] < K for c in dataset["buriram"])


@pytest.mark.parametrize("name", list(PRINCIPALS))
@pytest.mark.parametrize("z", [10, 12, 14, 16])
def test_cached_tiles_hold_exactly_what_the_caller_may_see(
    engine: Engine, dataset: dict[str, Any], name: str, z: int
) -> None:
    cache = TileCache(FeatureCatalog(small_area_k=K))
    tiles = {tile_of(*served_place(p, dataset, name), z) for p in dataset["points"]}
    tiles |= {tile_of(p["lon"], p["lat"], z) for p in dataset["points"]}
    with engine.connect() as conn:
        for x, y in sorted(tiles):
            features = decode(cache.read(conn, "risk-points", z, x, y, PRINCIPALS[name]))
            assert {f["id"] for f in features} == expected_ids(dataset, name, z, x, y)
            for f in features:
                coarse = f["properties"]["location_coarsened"]
                assert coarse is (f["properties"]["category"] == "drugs"
                                  and name != "sensitive")
                assert ("name" in f["properties"]) is not coarse


@pytest.mark.parametrize("name", list(PRINCIPALS))
@pytest.mark.parametrize(("collection", "z"), [("risk-points", 6), ("risk-points", 8),
                                              ("risk-points", 12), ("districts", 8),
                                              ("subdistricts", 10)])
def test_cached_tiles_equal_tiles_built_per_request(
    engine: Engine, dataset: dict[str, Any], name: str, collection: str, z: int
) -> None:
    catalog = FeatureCatalog(small_area_k=K, ranking_provider=None)
    cache = TileCache(catalog)
    tiles = {tile_of(p["lon"], p["lat"], z) for p in dataset["points"]}
    with engine.connect() as conn:
        for x, y in sorted(tiles):
            built = catalog.tile(conn, collection, z, x, y, PRINCIPALS[name])
            assert cache.read(conn, collection, z, x, y, PRINCIPALS[name]) == built
            assert z >= 10 or collection != "risk-points" or all(
                f["properties"]["cluster"] for f in decode(built))


def test_statements_are_built_once_per_selection(
    engine: Engine, dataset: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[str] = []
    original = tile_cache_module.tile_statements

    def counting(collection: Any, *args: Any) -> Any:
        built.append(collection.id)
        return original(collection, *args)

    monkeypatch.setattr(tile_cache_module, "tile_statements", counting)
    cache = TileCache(FeatureCatalog(small_area_k=K))
    with engine.connect() as conn:
        for z in (8, 10, 12, 14):
            for p in dataset["points"][:10]:
                for principal in (ANONYMOUS, CLI):
                    cache.read(conn, "risk-points", z, *tile_of(p["lon"], p["lat"], z),
                               principal)
    assert built == ["risk-points", "risk-points"]  # one per kind of caller


def test_public_tiles_follow_new_small_area_sets(engine: Engine, dataset: dict[str, Any]) -> None:
    """A hidden area that reaches k points appears once the area sets are renewed."""
    counts = Counter(p["subdistrict_code"] for p in dataset["points"])
    code = next(c for c in dataset["buriram"] if counts[c] == K - 1)
    point = next(p for p in dataset["points"]
                 if p["subdistrict_code"] == code and p["category"] != "drugs")
    z = 16
    x, y = tile_of(point["lon"], point["lat"], z)
    cache = TileCache(FeatureCatalog(small_area_k=K), areas_ttl_s=0.0)
    with engine.connect() as conn, conn.begin() as transaction:
        assert decode(cache.read(conn, "risk-points", z, x, y, ANONYMOUS)) == []
        conn.execute(sa.text(
            "INSERT INTO risk_points (category, severity, geom, subdistrict_code, "
            "district_code, province_code) SELECT 'smuggling', 2, geom, subdistrict_code, "
            "district_code, province_code FROM risk_points WHERE id = :id"),
            {"id": point["id"]})
        shown = {f["id"] for f in decode(cache.read(conn, "risk-points", z, x, y, ANONYMOUS))}
        assert point["id"] in shown
        transaction.rollback()


@pytest.fixture(scope="module")
def client(dataset: dict[str, Any], test_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(test_settings)) as c:
        yield c


def test_tiles_are_gzipped_in_the_handler_with_the_same_etag(
    client: TestClient, dataset: dict[str, Any]
) -> None:
    x, y = tile_of(103.5, 14.9, 9)
    url = f"/tiles/subdistricts/9/{x}/{y}.pbf"
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert len(plain.content) >= 1024 and "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == plain.content  # decoded by the client
    assert zipped.headers["etag"] == plain.headers["etag"]
    assert "Accept-Encoding" in zipped.headers["vary"]
    again = client.get(url, headers={"Accept-Encoding": "gzip",
                                     "If-None-Match": zipped.headers["etag"]})
    assert again.status_code == 304 and again.content == b""


def test_filtered_tiles_and_their_documented_parameters(
    client: TestClient, dataset: dict[str, Any]
) -> None:
    z = 6
    x, y = tile_of(103.5, 14.9, z)
    features = decode(client.get(f"/tiles/risk-points/{z}/{x}/{y}.pbf?category=smuggling"
                                 "&datetime=2024-01-01/..").content)
    expected = [p for p in dataset["points"] if p["category"] == "smuggling"
                and p["reported_on"] is not None and p["province_code"] == SURIN]
    assert sum(f["properties"]["point_count"] for f in features) == len(expected) > 0
    assert client.get(f"/tiles/risk-points/{z}/{x}/{y}.pbf?crs=EPSG:3857").status_code == 400
    assert client.get(f"/tiles/risk-points/{z}/{x}/{y}.pbf?severity=x").status_code == 400
    operation = client.get("/openapi.json").json()["paths"][
        "/tiles/risk-points/{z}/{x}/{y}.pbf"]["get"]
    names = [p["name"] for p in operation["parameters"]]
    assert names[:3] == ["z", "x", "y"]
    assert {"datetime", "filter", "filter-lang", "crs", "category", "severity"} <= set(names)
    assert "bbox" not in names and len(names) == len(set(names))
