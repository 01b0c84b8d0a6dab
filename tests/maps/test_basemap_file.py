"""The offline basemap file: MBTiles reading, TMS rows, TileJSON, errors naming the path."""

from __future__ import annotations

import gzip
import sqlite3
import sys
from pathlib import Path

import pytest
from basemapkit import SURIN_BOUNDS, make_mbtiles, make_pmtiles
from pydantic import ValidationError

from com.config.settings import Settings
from com.errors import ConfigError
from com.maps.basemap import MBTiles, PMTiles, basemap_path, cached_basemap, open_basemap
from com.maps.layers import new_map


@pytest.fixture
def mbtiles(tmp_path: Path) -> tuple[Path, dict]:
    path = tmp_path / "surin.mbtiles"
    return path, make_mbtiles(path, gzipped=(9, 403, 234))


def test_tiles_are_read_by_xyz_with_the_tms_row_flipped(mbtiles):
    path, tiles = mbtiles
    basemap = MBTiles(path)
    for (z, x, y), data in tiles.items():
        tile = basemap.tile(z, x, y)
        assert tile is not None and tile.media_type == "image/png"
        stored = gzip.decompress(tile.data) if tile.encoding == "gzip" else tile.data
        assert stored == data, (z, x, y)
    # The TMS row of a tile is another tile's XYZ row only by accident: nothing there.
    z, x, y = next(iter(tiles))
    assert basemap.tile(z, x, 2**z - 1 - y) is None


def test_gzipped_tile_data_is_passed_as_is_with_its_encoding(mbtiles):
    path, tiles = mbtiles
    tile = MBTiles(path).tile(9, 403, 234)
    assert tile is not None and tile.encoding == "gzip"
    assert gzip.decompress(tile.data) == tiles[(9, 403, 234)]
    plain = MBTiles(path).tile(5, 25, 14)
    assert plain is not None and plain.encoding is None


def test_tiles_outside_the_zoom_range_or_grid_are_not_covered(mbtiles):
    basemap = MBTiles(mbtiles[0])
    assert (basemap.minzoom, basemap.maxzoom) == (5, 9)
    assert not basemap.covers(4, 12, 7) and not basemap.covers(10, 806, 468)
    assert not basemap.covers(5, 32, 14) and basemap.covers(5, 31, 14)
    assert basemap.tile(10, 806, 468) is None


def test_tilejson_comes_from_the_metadata(mbtiles):
    doc = MBTiles(mbtiles[0]).tilejson("http://127.0.0.1:8000")
    assert doc["tilejson"] == "3.0.0"
    assert doc["tiles"] == ["http://127.0.0.1:8000/basemap/{z}/{x}/{y}.png"]
    assert doc["bounds"] == list(SURIN_BOUNDS)
    assert (doc["minzoom"], doc["maxzoom"]) == (5, 9)
    assert doc["attribution"] == "Surin GIS test tiles"
    assert doc["center"] == [103.5, 14.9, 8]


def test_format_is_guessed_from_the_tiles_when_the_metadata_omits_it(tmp_path):
    path = tmp_path / "noformat.mbtiles"
    make_mbtiles(path, zooms=range(6, 7))
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM metadata WHERE name IN ('format', 'minzoom', 'maxzoom')")
    basemap = MBTiles(path)
    assert (basemap.format, basemap.minzoom, basemap.maxzoom) == ("png", 6, 6)


def test_a_missing_or_unreadable_file_is_named_in_the_error(tmp_path):
    with pytest.raises(ConfigError, match=str(tmp_path / "gone.mbtiles")):
        open_basemap(f"file:{tmp_path / 'gone.mbtiles'}")
    junk = tmp_path / "junk.mbtiles"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(ConfigError, match=f"{junk}.*not a readable MBTiles"):
        open_basemap(f"file:{junk}")
    empty = tmp_path / "empty.mbtiles"
    sqlite3.connect(empty).close()
    with pytest.raises(ConfigError, match=str(empty)):
        open_basemap(f"file:{empty}")
    with pytest.raises(ConfigError, match=r"x\.tif is not a basemap file.*\.mbtiles"):
        open_basemap(f"file:{tmp_path / 'x.tif'}")
    assert open_basemap("osm") is None and basemap_path("none") is None


def test_settings_refuse_a_missing_basemap_file_naming_it(tmp_path, mbtiles):
    missing = tmp_path / "nowhere" / "surin.mbtiles"
    with pytest.raises(ValidationError, match=str(missing)):
        Settings(basemap=f"file:{missing}", _env_file=None)  # type: ignore[call-arg]
    with pytest.raises(ValidationError, match=r"\.mbtiles"):
        Settings(basemap=f"file:{mbtiles[0].with_suffix('.tif')}", _env_file=None)  # type: ignore[call-arg]
    ok = Settings(basemap=f"file:{mbtiles[0]}", _env_file=None)  # type: ignore[call-arg]
    assert ok.basemap == f"file:{mbtiles[0]}"


def test_the_map_draws_the_file_from_the_apps_own_route(mbtiles):
    path = mbtiles[0]
    html = new_map(basemap=f"file:{path}").get_root().render()
    assert '"/basemap/{z}/{x}/{y}.png"' in html
    assert '"maxNativeZoom": 9' in html and '"minNativeZoom": 5' in html
    assert "Surin GIS test tiles" in html
    assert "http" not in html.split("L.tileLayer(", 1)[1].split(")", 1)[0]
    assert cached_basemap(f"file:{path}") is cached_basemap(f"file:{path}")


def test_a_pmtiles_file_is_read_like_its_mbtiles_source(tmp_path):
    pytest.importorskip("pmtiles")
    source = tmp_path / "surin.mbtiles"
    tiles = make_mbtiles(source)
    path = tmp_path / "surin.pmtiles"
    make_pmtiles(path, source)
    basemap = open_basemap(f"file:{path}")
    assert isinstance(basemap, PMTiles)
    assert (basemap.format, basemap.minzoom, basemap.maxzoom) == ("png", 5, 9)
    for (z, x, y), data in tiles.items():
        tile = basemap.tile(z, x, y)
        assert tile is not None and tile.data == data and tile.encoding is None, (z, x, y)
    z, x, y = 9, 403, 234
    assert basemap.tile(z, x, 2**z - 1 - y) is None and basemap.tile(10, 806, 468) is None
    doc = basemap.tilejson()
    assert doc["attribution"] == "Surin GIS test tiles"
    assert doc["bounds"] == pytest.approx(list(SURIN_BOUNDS))
    assert doc["tiles"] == ["/basemap/{z}/{x}/{y}.png"]
    junk = tmp_path / "junk.pmtiles"
    junk.write_bytes(b"\x00\xff" * 500)
    with pytest.raises(ConfigError, match=f"{junk}.*not a readable PMTiles"):
        open_basemap(f"file:{junk}")


def test_a_pmtiles_file_without_the_reader_package_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "surin.pmtiles"
    path.write_bytes(b"PMTiles\x03" + bytes(200))
    monkeypatch.setitem(sys.modules, "pmtiles.reader", None)  # import now fails
    with pytest.raises(ConfigError, match=f"{path}.*install the pmtiles package"):
        open_basemap(f"file:{path}")
