"""Coverage from geometry: which candidate sites cover which demand points, in metres.

Distances are in metres: UTM zone 47N west of 102 E, 48N east of it (the one UTM rule,
:mod:`com.geo.projection`, chosen by the median longitude of the demand), or geodesic on WGS84.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import shapely
from pyproj import Geod

from com.geo.projection import project, transformer, utm_crs_for
from com.siting.mclp import cover_from_pairs

if TYPE_CHECKING:  # the matrix type only; the solver module is the one that imports scipy
    from scipy import sparse

DEFAULT_RADIUS_M = 200.0
MAX_RADIUS_M = 10_000.0

# Projected UTM distances overstate true ones by the scale factor, at most about 1.01 for
# Thai points projected in the neighbouring zone: the geodesic mode searches the tree this
# much wider and then keeps pairs by their true distance.
_GEODESIC_SEARCH_FACTOR = 1.02
_GEOD = Geod(ellps="WGS84")
_CIRCLE_VERTICES = 64

Metric = Literal["utm", "geodesic"]


def _pairs_within(
    tree_lon: np.ndarray,
    tree_lat: np.ndarray,
    query_lon: np.ndarray,
    query_lat: np.ndarray,
    radius_m: float | np.ndarray,
    *,
    metric: Metric,
    crs: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Return (query index, tree index) of all pairs within ``radius_m`` metres.

    The STRtree answers the ``dwithin`` query in C for all query points at once; geodesic mode
    refines the UTM candidates with vectorised pyproj distances.
    """
    if len(tree_lon) == 0 or len(query_lon) == 0:
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.int64)
    tx, ty = project(tree_lon, tree_lat, crs)
    qx, qy = project(query_lon, query_lat, crs)
    tree = shapely.STRtree(shapely.points(tx, ty))
    radius = np.asarray(radius_m, dtype=float)
    search = radius if metric == "utm" else radius * _GEODESIC_SEARCH_FACTOR + 1.0
    query_idx, tree_idx = tree.query(shapely.points(qx, qy), predicate="dwithin", distance=search)
    if metric == "geodesic" and query_idx.size:
        _, _, dist = _GEOD.inv(
            query_lon[query_idx], query_lat[query_idx], tree_lon[tree_idx], tree_lat[tree_idx]
        )
        limit = radius if radius.ndim == 0 else radius[query_idx]
        keep = dist <= limit
        query_idx, tree_idx = query_idx[keep], tree_idx[keep]
    return query_idx.astype(np.int64), tree_idx.astype(np.int64)


def coverage_matrix(
    demand_lon: Any,
    demand_lat: Any,
    site_lon: Any,
    site_lat: Any,
    *,
    radius_m: float = DEFAULT_RADIUS_M,
    metric: Metric = "utm",
    crs: str | None = None,
) -> sparse.csr_array:
    """Return the sparse demand x site matrix: entry (i, j) is 1 when site j covers point i.

    Parameters
    ----------
    demand_lon, demand_lat, site_lon, site_lat
        WGS84 coordinates.
    radius_m
        Coverage radius in metres.
    metric
        ``"utm"`` (planar distance in the UTM zone of the demand) or ``"geodesic"``.
    crs
        Projected CRS to use instead of the UTM zone chosen from the demand's median longitude.

    Returns
    -------
    scipy.sparse.csr_array
        Boolean matrix of shape (number of demand points, number of sites).

    Examples
    --------
    >>> m = coverage_matrix([103.5], [14.9], [103.5, 103.6], [14.9011, 14.9], radius_m=200)
    >>> m.toarray().tolist()
    [[True, False]]
    """
    dlon, dlat = np.asarray(demand_lon, float), np.asarray(demand_lat, float)
    slon, slat = np.asarray(site_lon, float), np.asarray(site_lat, float)
    crs = crs or utm_crs_for(dlon if dlon.size else slon)
    site_idx, demand_idx = _pairs_within(
        dlon, dlat, slon, slat, float(radius_m), metric=metric, crs=crs
    )
    return cover_from_pairs(demand_idx, site_idx, n_demand=dlon.size, n_sites=slon.size)


def covered_by_cameras(
    demand_lon: Any,
    demand_lat: Any,
    camera_lon: Any,
    camera_lat: Any,
    camera_radius_m: Any,
    *,
    metric: Metric = "utm",
    crs: str | None = None,
) -> np.ndarray:
    """Return a boolean mask of demand points within the radius of any existing camera."""
    dlon, dlat = np.asarray(demand_lon, float), np.asarray(demand_lat, float)
    clon, clat = np.asarray(camera_lon, float), np.asarray(camera_lat, float)
    mask = np.zeros(dlon.size, dtype=bool)
    if clon.size == 0 or dlon.size == 0:
        return mask
    radius = np.broadcast_to(np.asarray(camera_radius_m, float), clon.shape).copy()
    crs = crs or utm_crs_for(dlon)
    _, demand_idx = _pairs_within(dlon, dlat, clon, clat, radius, metric=metric, crs=crs)
    mask[demand_idx] = True
    return mask


# --- the optimisation -------------------------------------------------------------------------

def coverage_circles(
    lon: np.ndarray, lat: np.ndarray, radius_m: float, *, metric: Metric = "utm",
    crs: str | None = None,
) -> list[shapely.Polygon]:
    """Return WGS84 circles of ``radius_m`` around each point (UTM buffers or geodesic)."""
    if lon.size == 0:
        return []
    if metric == "geodesic":
        azimuths = np.linspace(0.0, 360.0, _CIRCLE_VERTICES, endpoint=False)
        n = lon.size
        az = np.tile(azimuths, n)
        px, py, _ = _GEOD.fwd(
            np.repeat(lon, _CIRCLE_VERTICES), np.repeat(lat, _CIRCLE_VERTICES), az,
            np.full(az.size, radius_m),
        )
        rings = np.stack([px, py], axis=1).reshape(n, _CIRCLE_VERTICES, 2)
        return [shapely.Polygon(np.round(r, 7)) for r in rings]
    crs = crs or utm_crs_for(lon)
    x, y = project(lon, lat, crs)
    buffers = shapely.buffer(shapely.points(x, y), radius_m, quad_segs=_CIRCLE_VERTICES // 4)
    inverse = transformer(crs, inverse=True)

    def to_wgs84(coords: np.ndarray) -> np.ndarray:
        bx, by = inverse.transform(coords[:, 0], coords[:, 1])
        return np.round(np.column_stack([bx, by]), 7)

    return list(shapely.transform(buffers, to_wgs84))
