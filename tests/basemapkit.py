"""Small MBTiles files built by the tests (sqlite3 + Pillow), around Surin (issue 15)."""

from __future__ import annotations

import gzip
import io
import math
import sqlite3
from pathlib import Path

from PIL import Image

# West, south, east, north of the test basemap: Surin province and a margin.
SURIN_BOUNDS = (102.9, 14.1, 104.5, 15.6)


def tile_range(z: int, bounds: tuple[float, float, float, float]) -> tuple[range, range]:
    """Return the XYZ columns and rows of zoom ``z`` that cover ``bounds``."""
    west, south, east, north = bounds

    def xy(lon: float, lat: float) -> tuple[int, int]:
        n = 2**z
        rad = math.radians(lat)
        y = (1 - math.log(math.tan(rad) + 1 / math.cos(rad)) / math.pi) / 2 * n
        return int((lon + 180) / 360 * n), int(y)

    x0, y0 = xy(west, north)
    x1, y1 = xy(east, south)
    return range(x0, x1 + 1), range(y0, y1 + 1)


def tile_png(z: int, x: int, y: int) -> bytes:
    """Return a 256 px PNG whose colour encodes ``z/x/y`` (so each tile's bytes differ)."""
    colour = (40 + z * 20, x % 256, y % 256)
    buffer = io.BytesIO()
    Image.new("RGB", (256, 256), colour).save(buffer, format="PNG")
    return buffer.getvalue()


def make_mbtiles(
    path: Path,
    *,
    zooms: range = range(5, 10),
    bounds: tuple[float, float, float, float] = SURIN_BOUNDS,
    metadata: dict[str, str] | None = None,
    gzipped: tuple[int, int, int] | None = None,
) -> dict[tuple[int, int, int], bytes]:
    """Write an MBTiles file of PNG tiles covering ``bounds``; return its tiles by XYZ key.

    ``gzipped`` names one XYZ tile stored gzip-compressed (the returned bytes stay the PNG).
    Rows are stored TMS-style (row 0 at the south), as the specification says.
    """
    tiles: dict[tuple[int, int, int], bytes] = {}
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE metadata (name text, value text)")
        conn.execute(
            "CREATE TABLE tiles (zoom_level integer, tile_column integer, tile_row integer,"
            " tile_data blob)"
        )
        meta = {
            "name": "Surin test basemap",
            "format": "png",
            "bounds": ",".join(str(v) for v in bounds),
            "minzoom": str(zooms.start),
            "maxzoom": str(zooms.stop - 1),
            "attribution": "Surin GIS test tiles",
            "center": "103.5,14.9,8",
        }
        meta.update(metadata or {})
        conn.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
        for z in zooms:
            columns, rows = tile_range(z, bounds)
            for x in columns:
                for y in rows:
                    data = tiles[(z, x, y)] = tile_png(z, x, y)
                    stored = gzip.compress(data) if gzipped == (z, x, y) else data
                    conn.execute(
                        "INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, stored)
                    )
    conn.close()
    return tiles


def make_pmtiles(path: Path, mbtiles: Path) -> None:
    """Convert an MBTiles file to PMTiles v3 with Protomaps' own converter (pmtiles package)."""
    from pmtiles.convert import mbtiles_to_pmtiles  # optional: the PMTiles tests skip without it

    mbtiles_to_pmtiles(str(mbtiles), str(path), None)
