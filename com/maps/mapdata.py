"""What the operations map shows (:class:`MapData`), apart from folium, which draws it.

The API builds a map only for the map pages: keeping this here lets the data be gathered
(com.maps.data) without importing folium (about 30 MB in every worker at start).
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd


@dataclass
class MapData:
    """Everything the operations map shows, already filtered and privacy-checked."""

    areas: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    points: pd.DataFrame
    land_border: gpd.GeoDataFrame | None = None
    mekong: gpd.GeoDataFrame | None = None
    crossings: gpd.GeoDataFrame | None = None
    cameras: gpd.GeoDataFrame | None = None
    sites: gpd.GeoDataFrame | None = None
    synthetic: bool = False
    #: Score class bounds shared by the choropleth and the legend. load_map_data makes them
    #: from the scores of the areas public outputs show, for every viewer: classes must not
    #: change with who is looking, nor betray a suppressed area's score (issue 15).
    bins: list[float] | None = None
    #: The district the view is fitted to (``?district=``): the legend starts folded so it
    #: does not cover the district, and the fit keeps clear of the controls (issue 15).
    district_code: str | None = None
    #: Issue 16: the outlines of a region's provinces when the map spans a region.
    provinces: gpd.GeoDataFrame | None = None

    def bounds(self) -> list[list[float]] | None:
        """Return ``[[south, west], [north, east]]`` of the areas, or None when empty."""
        if self.areas is None or self.areas.empty:
            return None
        west, south, east, north = self.areas.total_bounds
        return [[float(south), float(west)], [float(north), float(east)]]
