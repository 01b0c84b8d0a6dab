"""Benchmark: CCTV siting (maximal covering location) at Surin size and national size.

    .venv/bin/python benchmarks/bench_cctv.py [--seeds 5] [--skip-national] [--json]

Instances (radius 200 m, candidates as stated, no database involved):

* Surin-size: 280 risk points and 280 candidate sites (the points themselves), k = 30, over
  the Surin province polygon (from COM_GEODATA_DIR, default ../shared/geodata): points
  uniform over the province, and points clustered around 25 villages (Gaussian, 300 m).
* National-size: 100,000 risk points and 20,000 candidates (half at risk points, half near
  them), k = 500, over all of Thailand: "towns" (3,000 centres, 700 m spread, realistic) and
  "dense" (300 centres, 300 m spread: heavily overlapping circles, the hard case).

For each: wall seconds of ``com.siting.plan.plan_sites`` (coverage matrix with STRtree, reduction,
solve, output), solver seconds, objective, upper bound, gap, method and where the bound came
from. The Surin-size result is also checked against an independent PuLP/CBC model on the
first seed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import shapely

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from com.geodata import find_layer_file, read_layer  # noqa: E402
from com.siting.mclp import DEFAULT_TIME_LIMIT_S  # noqa: E402
from com.siting.plan import plan_sites  # noqa: E402

GEODATA = Path(os.environ.get("COM_GEODATA_DIR", REPO.parent / "shared" / "geodata"))


def provinces() -> pd.DataFrame:
    frame = read_layer(find_layer_file(GEODATA, "tha_adm1"))
    code = next(c for c in ("ADM1_PCODE", "adm1_pcode", "code") if c in frame.columns)
    frame["code"] = frame[code].astype(str).str.removeprefix("TH")
    return frame


def points_in(geom, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Uniform points inside a polygon (rejection sampling on its bounding box)."""
    minx, miny, maxx, maxy = geom.bounds
    shapely.prepare(geom)
    lon, lat = np.empty(0), np.empty(0)
    while lon.size < n:
        x = rng.uniform(minx, maxx, 4 * n)
        y = rng.uniform(miny, maxy, 4 * n)
        keep = shapely.contains_xy(geom, x, y)
        lon, lat = np.r_[lon, x[keep]], np.r_[lat, y[keep]]
    return lon[:n], lat[:n]


def around(lon0, lat0, n, spread_m, rng):
    which = rng.integers(0, len(lon0), n)
    lat = lat0[which] + rng.normal(0, spread_m, n) / 110_574
    lon = lon0[which] + rng.normal(0, spread_m, n) / (111_320 * np.cos(np.radians(lat0[which])))
    return lon, lat


def weights(n: int, rng: np.random.Generator) -> np.ndarray:
    # category weight x severity x recency x incidents, in the ranges of the severity model
    return (rng.choice([0.8, 1.0, 1.2, 1.5, 2.0], n) * rng.integers(1, 6, n)
            * np.power(0.5, rng.uniform(0, 2, n)) * rng.integers(1, 3, n))


def surin_instance(surin, seed: int, clustered: bool):
    rng = np.random.default_rng(seed)
    if clustered:
        clon, clat = points_in(surin, 25, rng)
        lon, lat = around(clon, clat, 280, 300, rng)
    else:
        lon, lat = points_in(surin, 280, rng)
    demand = pd.DataFrame({"id": np.arange(280), "lon": lon, "lat": lat,
                           "weight": weights(280, rng)})
    sites = demand.rename(columns={"id": "site_id"})[["site_id", "lon", "lat"]]
    return demand, sites


def national_instance(prov: pd.DataFrame, seed: int, centres: int, spread_m: float):
    rng = np.random.default_rng(seed)
    area = prov.to_crs(3857).area.to_numpy()
    pick = rng.choice(len(prov), centres, p=area / area.sum())
    clon, clat = np.empty(centres), np.empty(centres)
    for i in np.unique(pick):
        idx = np.flatnonzero(pick == i)
        x, y = points_in(prov.geometry.iloc[i], idx.size, rng)
        clon[idx], clat[idx] = x, y
    lon, lat = around(clon, clat, 100_000, spread_m, rng)
    demand = pd.DataFrame({"id": np.arange(100_000), "lon": lon, "lat": lat,
                           "weight": weights(100_000, rng)})
    at = rng.choice(100_000, 10_000, replace=False)
    nlon, nlat = around(clon, clat, 10_000, spread_m, rng)
    sites = pd.DataFrame({"site_id": np.arange(20_000), "lon": np.r_[lon[at], nlon],
                          "lat": np.r_[lat[at], nlat]})
    return demand, sites


def run(name: str, demand, sites, k: int, **kwargs) -> dict:
    started = time.perf_counter()
    plan = plan_sites(demand, sites, k=k, radius_m=200, **kwargs)
    seconds = time.perf_counter() - started
    sol = plan.solution
    return {
        "instance": name, "demand": len(demand), "candidates": len(sites), "k": k,
        "seconds": round(seconds, 3), "solver_seconds": round(sol.seconds, 3),
        "objective": round(sol.objective, 3), "upper_bound": round(sol.upper_bound, 3),
        "gap": sol.gap, "method": sol.method, "status": sol.status,
        "bound_source": sol.bound_source, "sites": len(plan.sites),
        "share_covered": round(plan.share_covered, 4),
        "reduced": f"{sol.model['demand_groups']}x{sol.model['reduced_sites']}"
                   f" ({sol.model['reduced_nonzeros']} nz)",
    }


def pulp_check(demand, sites, k: int) -> float:
    """Independent optimum: all-pairs geodesic coverage, PuLP + CBC."""
    import pulp
    from pyproj import Geod

    dlon, slon = np.meshgrid(demand["lon"], sites["lon"], indexing="ij")
    dlat, slat = np.meshgrid(demand["lat"], sites["lat"], indexing="ij")
    _, _, dist = Geod(ellps="WGS84").inv(dlon.ravel(), dlat.ravel(), slon.ravel(), slat.ravel())
    cover = dist.reshape(dlon.shape) <= 200
    prob = pulp.LpProblem("mclp", pulp.LpMaximize)
    x = [pulp.LpVariable(f"x{j}", cat="Binary") for j in range(len(sites))]
    y = [pulp.LpVariable(f"y{i}", 0, 1) for i in range(len(demand))]
    w = demand["weight"].to_numpy()
    prob += pulp.lpSum(float(w[i]) * y[i] for i in range(len(demand)))
    for i in range(len(demand)):
        prob += y[i] <= pulp.lpSum(x[j] for j in np.flatnonzero(cover[i]))
    prob += pulp.lpSum(x) <= k
    prob.solve(pulp.PULP_CBC_CMD(msg=False))
    return float(pulp.value(prob.objective))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--skip-national", action="store_true")
    parser.add_argument("--time-limit", type=float, default=DEFAULT_TIME_LIMIT_S)
    parser.add_argument("--json", action="store_true", help="Print JSON lines only.")
    args = parser.parse_args()

    prov = provinces()
    surin = prov.loc[prov["code"] == "32"].geometry.iloc[0]
    results = []
    for clustered in (False, True):
        for seed in range(args.seeds):
            demand, sites = surin_instance(surin, seed, clustered)
            name = f"surin-{'clustered' if clustered else 'uniform'}-s{seed}"
            res = run(name, demand, sites, 30, time_limit_s=args.time_limit)
            if seed == 0:
                res["pulp_objective"] = round(pulp_check(demand, sites, 30), 3)
            results.append(res)
    if not args.skip_national:
        for label, centres, spread in (("towns", 3000, 700.0), ("dense", 300, 300.0)):
            demand, sites = national_instance(prov, 1, centres, spread)
            for method in ("auto", "greedy"):
                results.append(run(f"national-{label}-{method}", demand, sites, 500,
                                   method=method, time_limit_s=args.time_limit))
    machine = {"python": platform.python_version(), "cpus": os.cpu_count(),
               "machine": platform.machine(), "system": platform.system()}
    if args.json:
        for r in results:
            print(json.dumps({**r, **machine}))
        return
    print(f"machine: {machine}")
    cols = ["instance", "demand", "candidates", "k", "seconds", "solver_seconds", "objective",
            "upper_bound", "gap", "method", "bound_source", "share_covered", "reduced"]
    print("| " + " | ".join(cols + ["pulp_objective"]) + " |")
    print("|" + "---|" * (len(cols) + 1))
    for r in results:
        cells = [f"{r[c]:.2e}" if c == "gap" else str(r[c]) for c in cols]
        print("| " + " | ".join(cells + [str(r.get("pulp_objective", ""))]) + " |")


if __name__ == "__main__":
    main()
