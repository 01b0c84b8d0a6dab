"""Seeded CCTV siting instances and independent answers (brute force, PuLP, dense distances)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pulp
from pyproj import Geod, Transformer

from com.siting.plan import SitingPlan

GEOD = Geod(ellps="WGS84")
SURIN = (103.0, 14.2, 104.4, 15.5)
SMALL = (103.4, 14.8, 103.45, 14.85)  # a few km: heavily overlapping circles


def clustered(rng: np.random.Generator, n: int, centres: tuple[np.ndarray, np.ndarray],
              spread_m: float) -> tuple[np.ndarray, np.ndarray]:
    lon0, lat0 = centres
    which = rng.integers(0, len(lon0), n)
    lat = lat0[which] + rng.normal(0, spread_m, n) / 110_574
    lon = lon0[which] + rng.normal(0, spread_m, n) / (111_320 * np.cos(np.radians(lat0[which])))
    return lon, lat


def instance(seed: int, n_demand: int, n_sites: int, *, n_centres: int, spread_m: float,
             bbox: tuple[float, float, float, float] = SURIN) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Seeded risk points in clusters over ``bbox``; half the sites at points, half nearby."""
    rng = np.random.default_rng(seed)
    centres = (rng.uniform(bbox[0], bbox[2], n_centres), rng.uniform(bbox[1], bbox[3], n_centres))
    lon, lat = clustered(rng, n_demand, centres, spread_m)
    weight = rng.choice([0.8, 1.0, 1.2, 1.5, 2.0], n_demand) * rng.integers(1, 6, n_demand)
    demand = pd.DataFrame({"id": np.arange(1, n_demand + 1), "lon": lon, "lat": lat,
                           "weight": weight, "category": rng.choice(["drugs", "flood"], n_demand)})
    half = n_sites // 2
    pick = rng.choice(n_demand, half, replace=False)
    slon, slat = clustered(rng, n_sites - half, centres, spread_m)
    sites = pd.DataFrame({"site_id": [f"s{j}" for j in range(n_sites)],
                          "lon": np.r_[lon[pick], slon], "lat": np.r_[lat[pick], slat]})
    return demand, sites


def geodesic_cover(demand: pd.DataFrame, sites: pd.DataFrame, radius_m: float) -> np.ndarray:
    """Independent dense coverage: geodesic distance of every pair (pyproj Geod)."""
    dlon, slon = np.meshgrid(demand["lon"], sites["lon"], indexing="ij")
    dlat, slat = np.meshgrid(demand["lat"], sites["lat"], indexing="ij")
    _, _, dist = GEOD.inv(dlon.ravel(), dlat.ravel(), slon.ravel(), slat.ravel())
    return dist.reshape(dlon.shape) <= radius_m


def utm_cover(demand: pd.DataFrame, sites: pd.DataFrame, radius_m: float, epsg: int) -> np.ndarray:
    """Independent dense coverage: planar distance of every pair in the given UTM zone."""
    tr = Transformer.from_crs(4326, epsg, always_xy=True)
    dx, dy = tr.transform(demand["lon"].to_numpy(), demand["lat"].to_numpy())
    sx, sy = tr.transform(sites["lon"].to_numpy(), sites["lat"].to_numpy())
    return np.hypot(dx[:, None] - sx[None, :], dy[:, None] - sy[None, :]) <= radius_m


def brute_force(cover: np.ndarray, weight: np.ndarray, k: int) -> float:
    best = 0.0
    for combo in itertools.combinations(range(cover.shape[1]), k):
        best = max(best, float(weight[cover[:, list(combo)].any(axis=1)].sum()))
    return best


def brute_force_budget(cover: np.ndarray, weight: np.ndarray, cost: np.ndarray,
                       budget: float) -> float:
    best = 0.0
    n = cover.shape[1]
    for mask in range(1 << n):
        chosen = [j for j in range(n) if mask >> j & 1]
        if cost[chosen].sum() <= budget + 1e-9:
            best = max(best, float(weight[cover[:, chosen].any(axis=1)].sum()))
    return best


def pulp_optimum(cover: np.ndarray, weight: np.ndarray, k: int) -> float:
    prob = pulp.LpProblem("mclp", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(cover.shape[1])]
    y = [pulp.LpVariable(f"y{i}", 0, 1) for i in range(cover.shape[0])]
    prob += pulp.lpSum(float(weight[i]) * y[i] for i in range(cover.shape[0]))
    for i in range(cover.shape[0]):
        prob += y[i] <= pulp.lpSum(x[j] for j in np.flatnonzero(cover[i]))
    prob += pulp.lpSum(x) <= k
    status = prob.solve(pulp.PULP_CBC_CMD(msg=False))
    assert pulp.LpStatus[status] == "Optimal"
    return float(pulp.value(prob.objective))


def recount(plan: SitingPlan, demand: pd.DataFrame, sites: pd.DataFrame,
            cover: np.ndarray) -> float:
    """Covered weight of the plan's sites, recomputed from an independent coverage matrix."""
    index = {sid: j for j, sid in enumerate(sites["site_id"])}
    cols = [index[s] for s in plan.sites["site_id"]]
    return float(demand["weight"].to_numpy()[cover[:, cols].any(axis=1)].sum()) if cols else 0.0
