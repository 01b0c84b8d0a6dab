"""H3 cells of the risk analysis: the cell of each point, cell polygons and cell codes."""

from __future__ import annotations

from itertools import chain

import numpy as np
import shapely


def h3_api():  # type: ignore[no-untyped-def]
    """Return the h3 module working on integer cells (``h3.api.basic_int``)."""
    import h3.api.basic_int as h3int  # deferred: h3 loads only for H3 levels

    return h3int


def h3_cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """Return the int64 H3 cell of each point at ``resolution``."""
    # h3 4.x has no array API; one call per distinct location (callers de-duplicate).
    h3int = h3_api()
    cell = h3int.latlng_to_cell
    return np.fromiter(
        (cell(a, o, resolution) for a, o in zip(lat.tolist(), lon.tolist(), strict=True)),
        dtype=np.int64,
        count=len(lat),
    )


def h3_polygons(cells: np.ndarray) -> np.ndarray:
    """Return the shapely polygons (EPSG:4326) of int64 H3 cells."""
    h3int = h3_api()
    boundaries = [h3int.cell_to_boundary(int(c)) for c in cells]
    lengths = np.fromiter((len(b) for b in boundaries), dtype=np.int64, count=len(boundaries))
    flat = np.fromiter(chain.from_iterable(chain.from_iterable(boundaries)), dtype=float,
                       count=int(lengths.sum()) * 2).reshape(-1, 2)[:, ::-1]  # lat,lng -> x,y
    # One vectorised call; shapely closes each ring by repeating its first vertex.
    rings = shapely.linearrings(flat, indices=np.repeat(np.arange(len(cells)), lengths))
    return shapely.polygons(rings)


def h3_strings(cells: np.ndarray) -> np.ndarray:
    """H3 cell strings (15 hex digits) of int64 cells, without a Python call per cell."""
    text = np.asarray(cells, dtype=">u8").tobytes().hex()
    return np.array([text[i + 1 : i + 16] for i in range(0, len(text), 16)], dtype=object)
