"""The offline basemap routes: tiles by XYZ, 204/404, ETag/304, gzip, TileJSON (issue 15)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from basemapkit import SURIN_BOUNDS, make_mbtiles, make_pmtiles
from fastapi.testclient import TestClient

from api.main import create_app
from com.config.settings import Settings
from com.errors import ConfigError

GZIPPED = (9, 403, 234)


@pytest.fixture(scope="module")
def mbtiles(tmp_path_factory) -> tuple[Path, dict]:
    path = tmp_path_factory.mktemp("basemap") / "surin.mbtiles"
    return path, make_mbtiles(path, gzipped=GZIPPED)


@pytest.fixture(scope="module")
def client(mbtiles, test_settings: Settings):
    settings = test_settings.model_copy(update={"basemap": f"file:{mbtiles[0]}"})
    with TestClient(create_app(settings)) as c:
        yield c


def test_each_tile_is_served_by_xyz_with_the_tms_row_flipped(client, mbtiles):
    tiles = mbtiles[1]
    for (z, x, y), data in tiles.items():
        response = client.get(f"/basemap/{z}/{x}/{y}.png")
        assert response.status_code == 200, (z, x, y)
        assert response.headers["content-type"] == "image/png"
        assert response.content == data, (z, x, y)
        assert response.headers["etag"].startswith('"')
        assert "public" in response.headers["cache-control"]
    # The stored (TMS) row number, read as XYZ, is outside the province: nothing there.
    z, x, y = 9, 403, 234
    assert client.get(f"/basemap/{z}/{x}/{2**z - 1 - y}.png").status_code == 204


def test_tiles_outside_the_file_are_404_or_204(client):
    assert client.get("/basemap/4/12/7.png").status_code == 404  # below minzoom
    assert client.get("/basemap/10/806/468.png").status_code == 404  # above maxzoom
    assert client.get("/basemap/5/32/14.png").status_code == 404  # off the grid
    assert client.get("/basemap/5/25/14.jpg").status_code == 404  # wrong format
    missing = client.get("/basemap/5/0/0.png")  # in range, but far from Surin
    assert missing.status_code == 204 and missing.content == b""
    problem = client.get("/basemap/4/12/7.png")
    assert problem.headers["content-type"].startswith("application/problem+json")


def test_a_known_etag_gets_304(client):
    first = client.get("/basemap/6/50/29.png")
    etag = first.headers["etag"]
    again = client.get("/basemap/6/50/29.png", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    other = client.get("/basemap/6/50/29.png", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200
    assert client.get("/basemap/7/100/58.png").headers["etag"] != etag


def test_gzipped_tile_data_goes_out_with_its_content_encoding(client, mbtiles):
    z, x, y = GZIPPED
    url = f"/basemap/{z}/{x}/{y}.png"
    with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response:
        assert response.headers["content-encoding"] == "gzip"
        assert response.headers["content-type"] == "image/png"
        raw = b"".join(response.iter_raw())
    assert gzip.decompress(raw) == mbtiles[1][GZIPPED]  # compressed once, not twice
    assert client.get(url).content == mbtiles[1][GZIPPED]


def test_tilejson_describes_the_file(client):
    response = client.get("/basemap.json")
    assert response.status_code == 200
    doc = response.json()
    assert doc["tiles"] == ["http://testserver/basemap/{z}/{x}/{y}.png"]
    assert doc["bounds"] == list(SURIN_BOUNDS)
    assert (doc["minzoom"], doc["maxzoom"]) == (5, 9)
    assert doc["attribution"] == "Surin GIS test tiles"


def test_without_a_basemap_file_the_routes_are_404(test_settings):
    with TestClient(create_app(test_settings)) as c:
        assert c.get("/basemap.json").status_code == 404
        assert c.get("/basemap/5/25/14.png").status_code == 404


def test_an_unreadable_file_fails_at_start_up_naming_it(tmp_path, test_settings):
    junk = tmp_path / "broken.mbtiles"
    junk.write_bytes(b"not sqlite" * 200)
    settings = test_settings.model_copy(update={"basemap": f"file:{junk}"})
    with pytest.raises(ConfigError, match=str(junk)):
        create_app(settings)
    vector = tmp_path / "vector.mbtiles"
    make_mbtiles(vector, zooms=range(5, 6), metadata={"format": "pbf"})
    with pytest.raises(ConfigError, match=f"{vector}.*vector tiles"):
        create_app(test_settings.model_copy(update={"basemap": f"file:{vector}"}))


def test_a_pmtiles_file_is_served_the_same_way(tmp_path, test_settings):
    pytest.importorskip("pmtiles")
    source = tmp_path / "surin.mbtiles"
    tiles = make_mbtiles(source, zooms=range(5, 8))
    path = tmp_path / "surin.pmtiles"
    make_pmtiles(path, source)
    settings = test_settings.model_copy(update={"basemap": f"file:{path}"})
    with TestClient(create_app(settings)) as c:
        for (z, x, y), data in tiles.items():
            response = c.get(f"/basemap/{z}/{x}/{y}.png")
            assert response.status_code == 200 and response.content == data, (z, x, y)
        etag = c.get("/basemap/6/50/29.png").headers["etag"]
        assert c.get("/basemap/6/50/29.png", headers={"If-None-Match": etag}).status_code == 304
        assert c.get("/basemap/8/201/117.png").status_code == 404
        assert c.get("/basemap/5/0/0.png").status_code == 204
        assert c.get("/basemap.json").json()["maxzoom"] == 7
