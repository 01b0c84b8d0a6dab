"""H3 cells of coordinates, a whole array per call (the cells stored with every risk point)."""

from __future__ import annotations

import numpy as np

#: Resolutions whose cell every risk point carries (columns ``h3_6`` ... ``h3_9``, 0010_h3cells).
#: One column per resolution: the cell_to_parent of a finer cell differs from latlng_to_cell at
#: the coarser resolution for about 6% of points (H3's hierarchy is not nested exactly).
STORED_RESOLUTIONS: tuple[int, ...] = (6, 7, 8, 9)


def cell_column(resolution: int) -> str:
    """Return the risk_points column holding the cell at ``resolution`` (``h3_8``)."""
    if resolution not in STORED_RESOLUTIONS:
        raise ValueError(f"no stored H3 column for resolution {resolution}")
    return f"h3_{resolution}"


def latlng_to_cells(lat: np.ndarray, lon: np.ndarray, resolution: int) -> np.ndarray:
    """Return the int64 H3 cell of each coordinate, as ``h3.latlng_to_cell`` gives it.

    h3 4.x has no array API (one Python call per point, ~0.5 s per million); h3ronpy (h3o,
    Rust) takes the arrays whole.
    """
    lat = np.ascontiguousarray(lat, dtype=np.float64)
    lon = np.ascontiguousarray(lon, dtype=np.float64)
    if len(lat) == 0:
        return np.empty(0, dtype=np.int64)
    from h3ronpy.vector import coordinates_to_cells  # deferred: 0.2 s of import, H3 work only

    cells = np.asarray(coordinates_to_cells(lat, lon, int(resolution)))
    return cells.astype(np.int64)


def stored_cells(lat: np.ndarray, lon: np.ndarray) -> dict[str, np.ndarray]:
    """Return the values of the stored H3 columns (``h3_6`` ... ``h3_9``) of coordinates."""
    return {cell_column(r): latlng_to_cells(lat, lon, r) for r in STORED_RESOLUTIONS}
