"""An offline basemap: tiles read from an MBTiles file the province provides (issue 15).

``COM_BASEMAP=file:/path/basemap.mbtiles`` makes COM serve the file's tiles from its own
routes (``/basemap/{z}/{x}/{y}.{ext}`` and the TileJSON ``/basemap.json``), so the map of an
operations room without internet still has roads and villages and no request leaves the machine.

MBTiles is a SQLite database (https://github.com/mapbox/mbtiles-spec): a ``metadata`` table of
name/value rows and a ``tiles`` table keyed by zoom, column and TMS row (row 0 at the south, so
the XYZ ``y`` Leaflet asks for is flipped). Reading it takes a few lines of the standard
library's ``sqlite3``; the libraries that read MBTiles (e.g. ``pymbtiles``) add nothing here.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
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
    """Return the file of a ``file:/path/x.mbtiles`` basemap setting, None for other settings."""
    if not basemap.startswith(FILE_PREFIX):
        return None
    return Path(basemap[len(FILE_PREFIX) :]).expanduser()


@dataclass(frozen=True)
class Tile:
    """One tile's bytes, their media type and content encoding (gzip for most vector tiles)."""

    data: bytes
    media_type: str
    encoding: str | None


@dataclass
class MBTiles:
    """A read-only MBTiles file; safe to share between the threads serving requests.

    Parameters
    ----------
    path
        The ``.mbtiles`` file.

    Raises
    ------
    ConfigError
        When the file is missing, not SQLite, has no ``tiles`` table or no tiles.
    """

    path: Path
    metadata: dict[str, str] = field(init=False)
    format: str = field(init=False)
    minzoom: int = field(init=False)
    maxzoom: int = field(init=False)
    _conn: sqlite3.Connection = field(init=False, repr=False)
    _lock: threading.Lock = field(init=False, repr=False, default_factory=threading.Lock)

    def __post_init__(self) -> None:
        """Open the file read-only and read its metadata, naming the path in any error."""
        if not self.path.is_file():
            raise ConfigError(f"COM_BASEMAP: basemap file {self.path} does not exist")
        try:
            self._conn = sqlite3.connect(
                f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False
            )
            rows = self._conn.execute("SELECT name, value FROM metadata").fetchall()
            zooms = self._conn.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles")
            low, high = zooms.fetchone()
            first = self._conn.execute("SELECT tile_data FROM tiles LIMIT 1").fetchone()
        except sqlite3.Error as exc:
            raise ConfigError(
                f"COM_BASEMAP: {self.path} is not a readable MBTiles file ({exc})"
            ) from None
        if low is None:
            raise ConfigError(f"COM_BASEMAP: basemap file {self.path} holds no tiles")
        self.metadata = {str(name): str(value) for name, value in rows}
        self.format = self._format(first[0])
        self.minzoom = int(self.metadata.get("minzoom", low))
        self.maxzoom = int(self.metadata.get("maxzoom", high))

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

    @property
    def bounds(self) -> list[float]:
        """Return ``[west, south, east, north]`` from the metadata (the whole world if none)."""
        try:
            west, south, east, north = (float(v) for v in self.metadata["bounds"].split(","))
        except (KeyError, ValueError):
            return [-180.0, -85.0511, 180.0, 85.0511]
        return [west, south, east, north]

    def covers(self, z: int, x: int, y: int) -> bool:
        """Return whether ``z/x/y`` is a tile of the file's zoom range on the XYZ grid."""
        return self.minzoom <= z <= self.maxzoom and 0 <= x < 2**z and 0 <= y < 2**z

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        """Return the XYZ tile ``z/x/y`` (MBTiles stores TMS rows), None when it is not stored."""
        if not self.covers(z, x, y):
            return None
        with self._lock:
            row = self._conn.execute(
                "SELECT tile_data FROM tiles"
                " WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (z, x, 2**z - 1 - y),
            ).fetchone()
        if row is None:
            return None
        data = bytes(row[0])
        encoding = "gzip" if data.startswith(GZIP_MAGIC) else None
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
        if meta.get("center"):
            doc["center"] = [float(v) for v in meta["center"].split(",")]
        if self.format == "pbf" and meta.get("json"):
            doc["vector_layers"] = json.loads(meta["json"]).get("vector_layers", [])
        return doc


def open_basemap(basemap: str) -> MBTiles | None:
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
            f"COM_BASEMAP: {path} is not an MBTiles file (expected {', '.join(BASEMAP_SUFFIXES)})"
        )
    return MBTiles(path)


@lru_cache(maxsize=4)
def _cached(basemap: str, mtime_ns: int) -> MBTiles | None:
    """Return the opened basemap, once per file version (the map page asks on every render)."""
    return open_basemap(basemap)


def cached_basemap(basemap: str) -> MBTiles | None:
    """Return the basemap of a setting, opened once while the file is unchanged."""
    path = basemap_path(basemap)
    if path is None:
        return None
    try:
        mtime = path.stat().st_mtime_ns
    except OSError:
        raise ConfigError(f"COM_BASEMAP: basemap file {path} does not exist") from None
    return _cached(basemap, mtime)
