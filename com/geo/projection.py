"""The one UTM rule: zone 47 west of 102 E, zone 48 east of it, and projection to metres."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

__all__ = [
    "UTM47",
    "UTM48",
    "UTM_SPLIT_LON",
    "project",
    "project_geometries",
    "transformer",
    "unproject",
    "utm_crs_for",
    "utm_zone",
    "utm_zones",
]

UTM47 = "EPSG:32647"
UTM48 = "EPSG:32648"
#: Longitude where COM switches from UTM zone 47 (EPSG:32647) to zone 48 (EPSG:32648); a point
#: exactly on 102 E is in zone 48 (Surin, at about 103.5 E, is in 48).
UTM_SPLIT_LON = 102.0


def utm_zones(lon: Any) -> np.ndarray:
    """Return the UTM zone of each longitude: 47 west of 102 E, 48 from 102 E on.

    Examples
    --------
    >>> utm_zones([100.5, 102.0, 103.49]).tolist()
    [47, 48, 48]
    """
    return np.where(np.asarray(lon, dtype=float) < UTM_SPLIT_LON, 47, 48)


def utm_zone(lon: float) -> int:
    """Return the UTM zone of one longitude (:func:`utm_zones`).

    Examples
    --------
    >>> utm_zone(100.5), utm_zone(102.0), utm_zone(103.49)
    (47, 48, 48)
    """
    return int(utm_zones(float(lon)))


def utm_crs_for(lon: Iterable[float] | float) -> str:
    """Return the UTM CRS for data centred at the median of ``lon``.

    Thailand spans zone 47 (west of 102 E) and zone 48 (east of it; Surin is in 48). Non-finite
    longitudes are ignored; with none left the answer is zone 48.

    Examples
    --------
    >>> utm_crs_for([103.49, 103.5])
    'EPSG:32648'
    >>> utm_crs_for(100.5)
    'EPSG:32647'
    """
    values = np.atleast_1d(np.asarray(lon, dtype=float))
    values = values[np.isfinite(values)]
    if values.size == 0:
        return UTM48
    return UTM47 if utm_zone(float(np.median(values))) == 47 else UTM48


@lru_cache(maxsize=8)
def transformer(crs: str | int, inverse: bool = False) -> Transformer:
    """Return the cached WGS 84 -> ``crs`` transformer (``inverse``: ``crs`` -> WGS 84), x = lon."""
    if inverse:
        return Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def project(lon: Any, lat: Any, crs: str | int) -> tuple[np.ndarray, np.ndarray]:
    """Project WGS 84 longitudes and latitudes to ``crs`` (metres in UTM).

    Examples
    --------
    >>> x, y = project([103.49], [14.88], utm_crs_for(103.49))
    >>> round(float(x[0])), round(float(y[0]))
    (337557, 1645603)
    """
    x, y = transformer(crs).transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def unproject(x: Any, y: Any, crs: str | int) -> tuple[np.ndarray, np.ndarray]:
    """Return WGS 84 longitudes and latitudes of ``crs`` coordinates (:func:`project` undone)."""
    lon, lat = transformer(crs, inverse=True).transform(
        np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    )
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def project_geometries(
    geoms: Sequence[Any], crs: str | int, *, densify_deg: float = 0.01
) -> np.ndarray:
    """Project WGS 84 shapely geometries to ``crs``, densified first to about 1 km.

    A long straight edge in degrees is a curve in UTM, so edges are cut every ``densify_deg``
    degrees before projecting.
    """
    forward = transformer(crs)

    def fn(coords: np.ndarray) -> np.ndarray:
        x, y = forward.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    dense = shapely.segmentize(np.asarray(geoms, dtype=object), densify_deg)
    return shapely.transform(dense, fn)
