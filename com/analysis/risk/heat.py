"""Heat surface: a binned Gaussian kernel density of point weights for the map."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from pathlib import Path

import geopandas as gpd
import numpy as np
from sqlalchemy.engine import Connection

from com.analysis.risk.filters import make_filter
from com.analysis.risk.queries import copy_frame, filter_params, points_query
from com.config.severity import SeverityModel, severity_model_of
from com.errors import ValidationError
from com.geo.projection import (
    project,
    unproject,
    utm_crs_for,
)


def heat_surface(
    conn: Connection,
    *,
    province: str | None = None,
    district: str | None = None,
    region: str | None = None,
    date_from: dt.date | str | None = None,
    date_to: dt.date | str | None = None,
    categories: Iterable[str] | str | None = None,
    min_severity: int | None = None,
    as_of: dt.date | str | None = None,
    model: SeverityModel | Path | str | None = None,
    cell_m: float = 500.0,
    bandwidth_m: float = 2000.0,
    max_cells: int = 250_000,
) -> gpd.GeoDataFrame:
    """Return a kernel density surface of point weights for the map's heat layer.

    A binned Gaussian kernel density estimate: point weights (:func:`point_weights`) are summed
    on a ``cell_m`` grid in UTM and smoothed with a Gaussian of standard deviation
    ``bandwidth_m`` (``scipy.ndimage.gaussian_filter``), which scales to any number of points,
    unlike ``scipy.stats.gaussian_kde`` whose cost grows with points x cells.

    Returns
    -------
    geopandas.GeoDataFrame
        Cell centres (EPSG:4326) with ``density`` (weight per km2), cells above 0.1% of the
        maximum only, densest first.

    Raises
    ------
    com.errors.ValidationError
        When the grid would exceed ``max_cells``.
    """
    from scipy.ndimage import gaussian_filter  # deferred: scipy is heavy to import

    model = severity_model_of(model)
    if cell_m <= 0 or bandwidth_m <= 0:
        raise ValidationError("cell_m and bandwidth_m must be positive")
    filt = make_filter(province=province, district=district, region=region,
                       date_from=date_from,
                       date_to=date_to, categories=categories, min_severity=min_severity,
                       as_of=as_of, model=model)
    frame = copy_frame(conn, points_query("rank_h3_points"), filter_params(filt, model),
                        ["lon", "lat", "category", "points", "incidents", "base"])
    empty = gpd.GeoDataFrame({"density": []}, geometry=gpd.GeoSeries([], crs=4326), crs=4326)
    if frame.empty:
        return empty
    lon, lat, w = frame["lon"].to_numpy(), frame["lat"].to_numpy(), frame["base"].to_numpy()
    epsg = utm_crs_for(lon)
    x, y = project(lon, lat, epsg)
    pad = 3 * bandwidth_m
    x0, x1 = x.min() - pad, x.max() + pad
    y0, y1 = y.min() - pad, y.max() + pad
    nx, ny = int(math.ceil((x1 - x0) / cell_m)), int(math.ceil((y1 - y0) / cell_m))
    if nx * ny > max_cells:
        raise ValidationError(
            f"heat grid of {nx} x {ny} cells is too large; choose a province or a larger cell_m"
        )
    grid, _, _ = np.histogram2d(x, y, bins=[nx, ny], range=[[x0, x0 + nx * cell_m],
                                                           [y0, y0 + ny * cell_m]], weights=w)
    smooth = gaussian_filter(grid, sigma=bandwidth_m / cell_m, mode="constant")
    density = smooth / (cell_m * cell_m / 1e6)
    keep = density > density.max() * 1e-3
    ix, iy = np.nonzero(keep)
    cx = x0 + (ix + 0.5) * cell_m
    cy = y0 + (iy + 0.5) * cell_m
    clon, clat = unproject(cx, cy, epsg)
    out = gpd.GeoDataFrame({"density": density[keep]}, geometry=gpd.points_from_xy(clon, clat),
                           crs=4326)
    return out.sort_values("density", ascending=False).reset_index(drop=True)
