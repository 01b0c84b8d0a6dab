"""An offline basemap: tiles read from an MBTiles or PMTiles file the province provides.

Issue 15: ``COM_BASEMAP=file:/path/basemap.mbtiles`` (or ``.pmtiles``) makes COM serve the
file's tiles from its own routes (``/basemap/{z}/{x}/{y}.{ext}`` and the TileJSON
``/basemap.json``), so the map of an operations room without internet still has roads and
villages and no request leaves the machine.

MBTiles is a SQLite database (https://github.com/mapbox/mbtiles-spec): a ``metadata`` table of
name/value rows and a ``tiles`` table keyed by zoom, column and TMS row (row 0 at the south, so
the XYZ ``y`` Leaflet asks for is flipped). Reading it takes a few lines of the standard
library's ``sqlite3``; the libraries that read MBTiles (e.g. ``pymbtiles``) add nothing here.
PMTiles (https://github.com/protomaps/PMTiles) is one file of Hilbert-ordered directories; the
``pmtiles`` package (Protomaps' own reader) reads it, imported only when such a file is set.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from com.config.settings import BASEMAP_SUFFIXES
from com.errors import ConfigError

FILE_PREFIX = "file:"
TILE_URL = "/basemap/{z}/{x}/{y}.{ext}"
TILEJSON_URL = "/basemap.json"
GZIP_MAGIC = b"\x1f\x8b"
# The image formats MBTiles names in its ``format`` metadata, with their media types.
MEDIA_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "webp": "image/webp",
    "pbf": "application/vnd.mapbox-vector-tile",
}
# Leading bytes of each image format, for files whose metadata leaves ``format`` out.
SIGNATURES = ((b"\x89PNG", "png"), (b"\xff\xd8\xff", "jpg"), (b"RIFF", "webp"))


def basemap_path(basemap: str) -> Path | None:
    """Return the file of a ``file:/path/x.mbtiles`` setting, None for ``osm``, ``none``, URLs."""
    if not basemap.startswith(FILE_PREFIX):
        return None
    return Path(basemap[len(FILE_PREFIX) :]).expanduser()


@dataclass(frozen=True)
class Tile:
    """One tile's bytes, their media type and content encoding (gzip for most vector tiles)."""

    data: bytes
    media_type: str
    encoding: str | None


class BasemapFile:
    """A read-only basemap file, shared by the threads serving requests (MBTiles or PMTiles).

    Subclasses open the file in ``__init__`` (raising :class:`ConfigError` naming the path),
    set the attributes below and read one stored tile in :meth:`_read`.

    Attributes
    ----------
    path
        The file.
    metadata
        Name, attribution, description ... as text.
    format
        ``png``, ``jpg``, ``webp`` or ``pbf`` (vector tiles).
    minzoom, maxzoom
        The file's zoom levels.
    """

    path: Path
    metadata: dict[str, str]
    format: str
    minzoom: int
    maxzoom: int
    _bounds: list[float] | None = None
    _center: list[float] | None = None

    def _read(self, z: int, x: int, y: int) -> tuple[bytes, str | None] | None:
        """Return the stored bytes of XYZ tile ``z/x/y`` and their encoding, None if absent."""
        raise NotImplementedError

    @property
    def bounds(self) -> list[float]:
        """Return ``[west, south, east, north]`` of the file (the whole world if unknown)."""
        return self._bounds or [-180.0, -85.0511, 180.0, 85.0511]

    def covers(self, z: int, x: int, y: int) -> bool:
        """Return whether ``z/x/y`` is a tile of the file's zoom range on the XYZ grid."""
        return self.minzoom <= z <= self.maxzoom and 0 <= x < 2**z and 0 <= y < 2**z

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        """Return the XYZ tile ``z/x/y``, None when the file does not hold it."""
        if not self.covers(z, x, y):
            return None
        stored = self._read(z, x, y)
        if stored is None:
            return None
        data, encoding = stored
        if encoding is None and data.startswith(GZIP_MAGIC):
            encoding = "gzip"
        return Tile(data=data, media_type=MEDIA_TYPES[self.format], encoding=encoding)

    def tilejson(self, base_url: str = "") -> dict[str, Any]:
        """Return the TileJSON 3.0 document of the basemap, tile URLs under ``base_url``."""
        meta = self.metadata
        doc: dict[str, Any] = {
            "tilejson": "3.0.0",
            "name": meta.get("name", self.path.stem),
            "tiles": [base_url + TILE_URL.replace("{ext}", self.format)],
            "scheme": "xyz",
            "format": self.format,
            "minzoom": self.minzoom,
            "maxzoom": self.maxzoom,
            "bounds": self.bounds,
        }
        for key in ("attribution", "description", "version"):
            if meta.get(key):
                doc[key] = meta[key]
        if self._center:
            doc["center"] = self._center
        if self.format == "pbf" and meta.get("json"):
            doc["vector_layers"] = json.loads(meta["json"]).get("vector_layers", [])
        return doc


def _numbers(text: str | None, count: int) -> list[float] | None:
    """Return ``count`` comma-separated numbers of a metadata value, None if it has not them."""
    try:
        values = [float(v) for v in (text or "").split(",")]
    except ValueError:
        return None
    return values if len(values) == count else None


class MBTiles(BasemapFile):
    """A read-only MBTiles file (SQLite), one connection shared under a lock.

    Parameters
    ----------
    path
        The ``.mbtiles`` file.

    Raises
    ------
    ConfigError
        When the file is missing, not SQLite, has no ``tiles`` table or no tiles.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise ConfigError(f"COM_BASEMAP: basemap file {path} does not exist")
        self._lock = threading.Lock()
        try:
            self._conn = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
            rows = self._conn.execute("SELECT name, value FROM metadata").fetchall()
            zooms = self._conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles")
            low, high = zooms.fetchone()
            first = self._conn.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
        except sqlite3.Error as exc:
            raise ConfigError(
                f"COM_BASEMAP: {path} is not a readable MBTiles file ({exc})"
            ) from None
        if low is None:
            raise ConfigError(f"COM_BASEMAP: basemap file {path} holds no tiles")
        self.metadata = {str(name): str(value) for name, value in rows}
        self.format = self._format(first[0])
        self.minzoom = int(self.metadata.get("minzoom", low))
        self.maxzoom = int(self.metadata.get("maxzoom", high))
        self._bounds = _numbers(self.metadata.get("bounds"), 4)
        self._center = _numbers(self.metadata.get("center"), 3)

    def _format(self, sample: bytes) -> str:
        """Return the tiles' format: the metadata's, else guessed from a tile's first bytes."""
        declared = self.metadata.get("format", "").lower()
        if declared in MEDIA_TYPES:
            return "jpg" if declared == "jpeg" else declared
        if declared:
            raise ConfigError(f"COM_BASEMAP: {self.path} has tiles of unknown format {declared!r}")
        for magic, name in SIGNATURES:
            if sample.startswith(magic):
                return name
        return "pbf"

    def _read(self, z: int, x: int, y: int) -> tuple[bytes, str | None] | None:
        """Return the stored tile; MBTiles numbers rows TMS-style (row 0 at the south)."""
        with self._lock:
            row = self._conn.execute(
                "SELECT tile_data FROM tiles"
                " WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (z, x, 2**z - 1 - y),
            ).fetchone()
        return None if row is None else (bytes(row[0]), None)


class PMTiles(BasemapFile):
    """A read-only PMTiles v3 file, read with the ``pmtiles`` package over a memory map.

    Parameters
    ----------
    path
        The ``.pmtiles`` file.

    Raises
    ------
    ConfigError
        When the file is missing or not PMTiles v3, or the ``pmtiles`` package is missing.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise ConfigError(f"COM_BASEMAP: basemap file {path} does not exist")
        try:
            # Optional dependency, deferred on purpose: only a PMTiles basemap needs it.
            from pmtiles.reader import MmapSource, Reader
            from pmtiles.tile import Compression, MagicNumberNotFound, SpecVersionUnsupported
        except ImportError:
            raise ConfigError(
                f"COM_BASEMAP: {path} is a PMTiles file; install the pmtiles package to serve it"
            ) from None
        try:
            with path.open("rb") as handle:
                self._reader = Reader(MmapSource(handle))  # the map outlives the handle
            header = self._reader.header()
            metadata = self._reader.metadata()
        except (
            OSError,
            ValueError,
            KeyError,
            MagicNumberNotFound,
            SpecVersionUnsupported,
        ) as exc:  # UnicodeDecodeError (a ValueError): the magic number is not text
            raise ConfigError(
                f"COM_BASEMAP: {path} is not a readable PMTiles v3 file ({exc!r})"
            ) from None
        kind = header["tile_type"].name.lower()
        formats = {"png": "png", "jpeg": "jpg", "webp": "webp", "mvt": "pbf"}
        if kind not in formats:
            raise ConfigError(f"COM_BASEMAP: {path} has tiles of unsupported type {kind!r}")
        self.format = formats[kind]
        self.metadata = {
            str(k): v if isinstance(v, str) else json.dumps(v) for k, v in metadata.items()
        }
        if "vector_layers" in metadata:
            self.metadata["json"] = json.dumps({"vector_layers": metadata["vector_layers"]})
        self.minzoom, self.maxzoom = int(header["min_zoom"]), int(header["max_zoom"])
        self._bounds = [
            header[key] / 1e7 for key in ("min_lon_e7", "min_lat_e7", "max_lon_e7", "max_lat_e7")
        ]
        self._center = [
            header["center_lon_e7"] / 1e7,
            header["center_lat_e7"] / 1e7,
            float(header["center_zoom"]),
        ]
        encodings = {Compression.GZIP: "gzip", Compression.BROTLI: "br", Compression.ZSTD: "zstd"}
        self._encoding = encodings.get(header["tile_compression"])

    def _read(self, z: int, x: int, y: int) -> tuple[bytes, str | None] | None:
        """Return the stored tile (PMTiles numbers tiles XYZ-style, no flip)."""
        data = self._reader.get(z, x, y)
        return None if not data else (bytes(data), self._encoding)


def open_basemap(basemap: str) -> BasemapFile | None:
    """Open the file of a ``file:`` basemap setting (None for ``osm``, ``none`` or a URL).

    Raises
    ------
    ConfigError
        Naming the path when the file is missing, of an unsupported kind or unreadable.
    """
    path = basemap_path(basemap)
    if path is None:
        return None
    if path.suffix.lower() not in BASEMAP_SUFFIXES:
        raise ConfigError(
            f"COM_BASEMAP: {path} is not a basemap file (expected {', '.join(BASEMAP_SUFFIXES)})"
        )
    return PMTiles(path) if path.suffix.lower() == ".pmtiles" else MBTiles(path)


@lru_cache(maxsize=4)
def _cached(basemap: str, mtime_ns: int) -> BasemapFile | None:
    """Return the opened basemap, once per file version (the map page asks on every render)."""
    return open_basemap(basemap)


def cached_basemap(basemap: str) -> BasemapFile | None:
    """Return the basemap of a setting, opened once while the file is unchanged."""
    path = basemap_path(basemap)
    if path is None:
        return None
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise ConfigError(f"COM_BASEMAP: basemap file {path} does not exist") from None
    return _cached(basemap, mtime)
