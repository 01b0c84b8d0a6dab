"""Context factors (borders, crossings, rivers, towns): distances and band multipliers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.risk.filters import AreaLevel
from com.config.severity import SeverityModel
from com.geo.projection import (
    UTM47,
    UTM48,
    project,
    project_geometries,
    utm_zones,
)

#: Points measured at a time by :func:`context_distances` (their shapely points are the
#: transient memory).
POINT_STEP = 65_536


def _pieces(geoms: np.ndarray, max_vertices: int = 64) -> list[Any]:
    """Cut lines into short pieces so the STRtree can skip far-away parts of a long border."""
    out: list[Any] = []
    for geom in geoms:
        parts = getattr(geom, "geoms", [geom])
        for part in parts:
            if part.geom_type == "LineString":
                coords = np.asarray(part.coords)
                for start in range(0, max(len(coords) - 1, 1), max_vertices - 1):
                    chunk = coords[start : start + max_vertices]
                    if len(chunk) >= 2:
                        out.append(shapely.linestrings(chunk))
            else:
                out.append(part)
    return out


def context_distances(
    lon: np.ndarray,
    lat: np.ndarray,
    features: Mapping[str, Sequence[Any]],
    *,
    max_distance_m: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Distance in metres from each point to the nearest feature of each set.

    Distances are planar in UTM zone 47 for points west of 102 E and zone 48 east of it
    (scale error under 0.1% within Thailand), with the features projected into the same zone.

    Parameters
    ----------
    lon, lat : numpy.ndarray
        Points in EPSG:4326.
    features : mapping of str to sequence of shapely geometries
        Feature sets in EPSG:4326 (lines are cut into pieces internally).
    max_distance_m : mapping of str to float, optional
        Per set, distances beyond this are not computed and come back as NaN.

    Returns
    -------
    pandas.DataFrame
        One column per feature set; NaN where the set is empty or the feature is farther
        than ``max_distance_m``.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    out = pd.DataFrame({name: np.full(len(lon), np.nan) for name in features},
                       index=range(len(lon)))
    if len(lon) == 0:
        return out
    zones = utm_zones(lon)
    for epsg, mask in ((UTM47, zones == 47), (UTM48, zones == 48)):
        if not mask.any():
            continue
        x, y = project(lon[mask], lat[mask], epsg)
        rows = np.flatnonzero(mask)
        trees = {name: shapely.STRtree(_pieces(project_geometries(list(geoms), epsg)))
                 for name, geoms in features.items() if len(geoms)}
        values = {name: np.full(len(rows), np.nan) for name in trees}
        # A chunk of points at a time: 500,000 shapely points at once cost ~70 MB (a national
        # h3:8 ranking); each point's nearest feature does not depend on the others.
        for start in range(0, len(rows), POINT_STEP):
            part = slice(start, start + POINT_STEP)
            points = shapely.points(x[part], y[part])
            for name, tree in trees.items():
                (idx_in, _idx_tree), dist = tree.query_nearest(
                    points, max_distance=(max_distance_m or {}).get(name),
                    return_distance=True, all_matches=False,
                )
                values[name][idx_in + start] = dist
        for name, found in values.items():
            out.loc[rows, name] = found
    return out


def load_context(conn: Connection, model: SeverityModel) -> dict[str, list[Any]]:
    """Return the features of each context factor of the model (EPSG:4326 geometries)."""
    features: dict[str, list[Any]] = {}
    for key, factor in model.context.items():
        if factor.source == "border_crossings":
            query = sa.text("SELECT ST_AsBinary(geom) FROM border_crossings")
            params: dict[str, Any] = {}
        elif factor.source == "district_towns":
            query = sa.text("SELECT ST_AsBinary(rep_point) FROM districts")
            params = {}
        else:
            query = sa.text("SELECT ST_AsBinary(geom) FROM context_layers WHERE layer = :layer")
            params = {"layer": factor.source}
        features[key] = [shapely.from_wkb(bytes(r[0])) for r in conn.execute(query, params)]
    return features


def factor_table(
    lon: np.ndarray, lat: np.ndarray, level: AreaLevel, model: SeverityModel,
    features: Mapping[str, Sequence[Any]],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Distances and band multipliers (1 where a factor does not apply at this level)."""
    active = {k: f for k, f in model.context.items() if level.factor_kind in f.levels
              and f.weight > 0}
    distances = context_distances(
        lon, lat, {k: features.get(k, []) for k in active},
        max_distance_m={k: f.bands_m[-1] for k, f in active.items()},
    )
    for key in model.context:
        if key not in active:
            distances[key] = np.nan
    return distances, band_multipliers(distances, level, model)


def band_multipliers(
    distances: pd.DataFrame, level: AreaLevel, model: SeverityModel
) -> pd.DataFrame:
    """Band multipliers of the distances of :func:`factor_table` (1 where a factor does not apply).

    A function of the distances alone: the H3 rankings keep the distances of each cell and
    make the multipliers at each call (they live only while the scores are combined).
    """
    multipliers = pd.DataFrame(index=range(len(distances)))
    for key, factor in model.context.items():
        if level.factor_kind in factor.levels and factor.weight > 0:
            multipliers[key] = factor.multiplier(distances[key].to_numpy())
        else:
            multipliers[key] = 1.0
    return multipliers
