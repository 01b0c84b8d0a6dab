"""Village catchments: the part of a subdistrict closer to a village than to its other villages.

A village given only as a point gets the Voronoi cell of its point among the subdistrict's
village points, clipped to the subdistrict (minus the villages given as polygons there).
Cells are cut in metres (UTM), where "closer" means what it says; in degrees the east-west
distances would be stretched by 1/cos(latitude).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from com.geo.projection import project_geometries, transformer, utm_crs_for


def voronoi_catchments(
    points: Sequence[Any], subdistrict: Any, *, taken: Any | None = None
) -> list[Any]:
    """Return each point's catchment within ``subdistrict`` (WGS 84 in and out), in order.

    Parameters
    ----------
    points : sequence of shapely.Point
        The village points of one subdistrict (lon/lat).
    subdistrict : shapely geometry
        The subdistrict's boundary (lon/lat).
    taken : shapely geometry, optional
        Parts of the subdistrict already covered by villages given as polygons.

    Returns
    -------
    list of shapely geometry
        One (multi)polygon per point; a point outside the free part gets an empty geometry.

    Examples
    --------
    >>> import shapely
    >>> square = shapely.box(103.0, 14.0, 103.02, 14.02)
    >>> cells = voronoi_catchments([shapely.Point(103.005, 14.01),
    ...                             shapely.Point(103.015, 14.01)], square)
    >>> [round(c.area / square.area, 3) for c in cells]
    [0.5, 0.5]
    """
    if not len(points):
        return []
    crs = utm_crs_for(float(np.mean([p.x for p in points])))
    region = subdistrict if taken is None else shapely.difference(subdistrict, taken)
    region_m = project_geometries([region], crs)[0]
    pts_m = project_geometries(list(points), crs)
    if len(points) == 1:
        cells = [region_m]
    else:
        extent = shapely.envelope(shapely.union(region_m, shapely.multipoints(pts_m)))
        diagram = shapely.voronoi_polygons(shapely.multipoints(pts_m), extend_to=extent.buffer(1))
        parts = list(shapely.get_parts(diagram))
        tree = shapely.STRtree(parts)
        cells = []
        for pt in pts_m:
            hits = tree.query(pt, predicate="intersects")
            cell = parts[int(hits[0])] if len(hits) else shapely.Polygon()
            cells.append(shapely.intersection(cell, region_m))
    inverse: Transformer = transformer(crs, inverse=True)

    def back(coords: np.ndarray) -> np.ndarray:
        x, y = inverse.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return [shapely.transform(c, back) for c in cells]
