"""CCTV siting core: coverage, exact and greedy MCLP against independent answers (no database)."""

from __future__ import annotations

import itertools
import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pulp
import pytest
import shapely
from pyproj import Geod, Transformer

from com import siting
from com.errors import ValidationError
from com.geo.projection import utm_crs_for

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


def recount(plan: siting.SitingPlan, demand: pd.DataFrame, sites: pd.DataFrame,
            cover: np.ndarray) -> float:
    """Covered weight of the plan's sites, recomputed from an independent coverage matrix."""
    index = {sid: j for j, sid in enumerate(sites["site_id"])}
    cols = [index[s] for s in plan.sites["site_id"]]
    return float(demand["weight"].to_numpy()[cover[:, cols].any(axis=1)].sum()) if cols else 0.0


# --- coverage ---------------------------------------------------------------------------------


def test_utm_zone_follows_the_median_longitude():
    assert utm_crs_for([103.5, 103.6, 99.0]) == "EPSG:32648"
    assert utm_crs_for([100.5, 101.9]) == "EPSG:32647"


@pytest.mark.parametrize("metric", ["utm", "geodesic"])
def test_coverage_matrix_equals_all_pairs_distances(metric):
    demand, sites = instance(3, 300, 200, n_centres=6, spread_m=400)
    matrix = siting.coverage_matrix(demand["lon"], demand["lat"], sites["lon"], sites["lat"],
                                    radius_m=200, metric=metric).toarray()
    expected = (geodesic_cover(demand, sites, 200) if metric == "geodesic"
                else utm_cover(demand, sites, 200, 32648))
    assert matrix.shape == (300, 200)
    assert expected.sum() > 300  # overlapping circles: a real test
    np.testing.assert_array_equal(matrix, expected)


def test_cameras_cover_their_own_radius():
    demand = pd.DataFrame({"lon": [103.5, 103.5, 103.5], "lat": [14.9, 14.9018, 14.9036]})
    # about 0 m, 199 m and 398 m north of the camera
    mask = siting.covered_by_cameras(demand["lon"], demand["lat"], [103.5], [14.9], [250.0])
    assert mask.tolist() == [True, True, False]
    mask = siting.covered_by_cameras(demand["lon"], demand["lat"], [103.5], [14.9], [450.0])
    assert mask.tolist() == [True, True, True]


# --- exact optimum ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_objective_equals_brute_force(seed):
    demand, sites = instance(seed, 40, 12, n_centres=2, spread_m=300, bbox=SMALL)
    plan = siting.plan_sites(demand, sites, k=3, radius_m=250, metric="geodesic")
    cover = geodesic_cover(demand, sites, 250)
    best = brute_force(cover, demand["weight"].to_numpy(), 3)
    assert plan.solution.status == "optimal"
    assert plan.covered_weight == pytest.approx(best, rel=1e-9)
    assert recount(plan, demand, sites, cover) == pytest.approx(best, rel=1e-9)
    assert plan.solution.upper_bound >= best - 1e-6


@pytest.mark.parametrize("seed", range(4))
def test_budget_mode_equals_brute_force_and_stays_within_budget(seed):
    demand, sites = instance(seed, 40, 12, n_centres=2, spread_m=300, bbox=SMALL)
    rng = np.random.default_rng(100 + seed)
    sites["cost"] = rng.integers(1, 6, len(sites)).astype(float)
    budget = 7.0
    plan = siting.plan_sites(demand, sites, budget=budget, radius_m=250, metric="geodesic")
    cover = geodesic_cover(demand, sites, 250)
    best = brute_force_budget(cover, demand["weight"].to_numpy(), sites["cost"].to_numpy(), budget)
    assert plan.covered_weight == pytest.approx(best, rel=1e-9)
    assert plan.sites["cost"].sum() <= budget
    greedy = siting.plan_sites(demand, sites, budget=budget, radius_m=250, metric="geodesic",
                               method="greedy")
    assert greedy.sites["cost"].sum() <= budget
    assert greedy.covered_weight <= best + 1e-9 <= greedy.solution.upper_bound + 2e-9


@pytest.mark.parametrize(("seed", "metric"), [(11, "geodesic"), (12, "utm"), (13, "geodesic")])
def test_surin_size_equals_independent_pulp_model(seed, metric):
    demand, sites = instance(seed, 280, 280, n_centres=18, spread_m=250)
    plan = siting.plan_sites(demand, sites, k=30, radius_m=200, metric=metric)
    cover = (geodesic_cover(demand, sites, 200) if metric == "geodesic"
             else utm_cover(demand, sites, 200, 32648))
    expected = pulp_optimum(cover, demand["weight"].to_numpy(), 30)
    greedy = siting.plan_sites(demand, sites, k=30, radius_m=200, metric=metric, method="greedy")
    assert plan.solution.method == "exact" and plan.solution.status == "optimal"
    assert plan.covered_weight == pytest.approx(expected, rel=1e-6)
    assert recount(plan, demand, sites, cover) == pytest.approx(expected, rel=1e-6)
    assert len(plan.sites) <= 30
    # the instance is not trivial: the covering sets overlap
    assert cover.sum(axis=1).max() > 3
    assert greedy.covered_weight <= expected + 1e-6


def test_merged_and_dominated_inputs_keep_the_optimum():
    demand, sites = instance(5, 60, 10, n_centres=2, spread_m=300, bbox=SMALL)
    twice = pd.concat([demand, demand.assign(id=demand["id"] + 1000)], ignore_index=True)
    sites_twice = pd.concat([sites, sites.assign(site_id=sites["site_id"] + "b")],
                            ignore_index=True)
    one = siting.plan_sites(demand, sites, k=3, radius_m=250)
    two = siting.plan_sites(twice, sites_twice, k=3, radius_m=250)
    assert two.covered_weight == pytest.approx(2 * one.covered_weight)
    assert two.solution.model["demand_groups"] <= one.solution.model["demand_groups"]
    assert two.solution.model["reduced_sites"] == one.solution.model["reduced_sites"]


# --- existing cameras -------------------------------------------------------------------------


def test_site_already_covered_by_a_camera_is_never_proposed():
    rng = np.random.default_rng(7)
    centres = [(103.50, 14.90), (103.60, 14.95), (103.70, 14.85), (103.55, 15.05)]
    rows, sites = [], []
    for c, (lon, lat) in enumerate(centres):
        for i in range(10):
            rows.append({"id": c * 100 + i, "lon": lon + rng.normal(0, 0.0004),
                         "lat": lat + rng.normal(0, 0.0004), "weight": 5.0 if c == 0 else 1.0})
        sites.append({"site_id": f"centre-{c}", "lon": lon, "lat": lat})
        sites.append({"site_id": f"near-{c}", "lon": lon + 0.0003, "lat": lat})
    demand, candidates = pd.DataFrame(rows), pd.DataFrame(sites)
    camera = pd.DataFrame({"lon": [centres[0][0]], "lat": [centres[0][1]], "radius_m": [400.0]})
    plan = siting.plan_sites(demand, candidates, k=6, radius_m=200, existing=camera)
    chosen = set(plan.sites["site_id"])
    # the heaviest cluster is already watched: neither of its sites is proposed
    assert not chosen & {"centre-0", "near-0"}
    assert plan.existing_covered_weight == pytest.approx(50.0)
    assert (plan.sites["gain"] > 0).all()
    assert (plan.demand.loc[plan.demand["id"] < 100, "covered_by"] == "existing").all()
    without = siting.plan_sites(demand, candidates, k=1, radius_m=200)
    assert without.sites["site_id"].iloc[0] in {"centre-0", "near-0"}


@pytest.mark.parametrize("method", ["exact", "greedy"])
def test_random_cameras_no_site_adds_only_covered_demand(method):
    demand, sites = instance(21, 280, 280, n_centres=18, spread_m=250)
    rng = np.random.default_rng(3)
    cams = demand.sample(40, random_state=4)[["lon", "lat"]].reset_index(drop=True)
    cams["radius_m"] = rng.uniform(150, 300, len(cams))
    plan = siting.plan_sites(demand, sites, k=60, radius_m=200, existing=cams, method=method)
    covered = siting.covered_by_cameras(demand["lon"], demand["lat"], cams["lon"], cams["lat"],
                                        cams["radius_m"])
    cover = utm_cover(demand, sites, 200, 32648)
    index = {sid: j for j, sid in enumerate(sites["site_id"])}
    for sid in plan.sites["site_id"]:
        assert (cover[:, index[sid]] & ~covered).any(), f"{sid} covers only watched demand"
    assert plan.existing_covered_weight == pytest.approx(demand["weight"][covered].sum())
    assert plan.covered_weight == pytest.approx(
        demand["weight"].to_numpy()[
            cover[:, [index[s] for s in plan.sites["site_id"]]].any(axis=1) & ~covered
        ].sum()
    )


def test_plan_stops_when_everything_coverable_is_covered():
    demand, sites = instance(2, 30, 30, n_centres=2, spread_m=100)
    plan = siting.plan_sites(demand, sites, k=25, radius_m=300)
    cover = utm_cover(demand, sites, 300, 32648)
    coverable = demand["weight"].to_numpy()[cover.any(axis=1)].sum()
    assert plan.covered_weight == pytest.approx(coverable)
    assert len(plan.sites) < 25
    assert (plan.sites["gain"] > 0).all()


# --- curve, greedy and bounds -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["exact-k", "greedy-k", "exact-budget", "greedy-budget"])
def test_curve_is_non_decreasing_and_ends_at_the_total(mode):
    demand, sites = instance(31, 280, 280, n_centres=18, spread_m=250)
    method, limit = mode.split("-")
    kwargs = {"k": 25} if limit == "k" else {"budget": 40.0}
    sites["cost"] = np.random.default_rng(1).integers(1, 4, len(sites)).astype(float)
    plan = siting.plan_sites(demand, sites, radius_m=200, method=method, **kwargs)
    values = [p["covered_weight"] for p in plan.curve]
    shares = [p["share_covered"] for p in plan.curve]
    assert len(values) == len(plan.sites) > 5
    assert all(b >= a for a, b in itertools.pairwise(values))
    assert all(b >= a for a, b in itertools.pairwise(shares))
    assert values[-1] == pytest.approx(plan.covered_weight, abs=1e-5)
    assert shares[-1] == pytest.approx(plan.share_covered, abs=1e-6)
    gains = plan.sites["gain"].to_numpy()
    assert (np.diff(gains) <= 1e-9).all()  # greedy order of marginal gain
    assert [p["k"] for p in plan.curve] == list(range(1, len(values) + 1))


def test_optimal_curve_dominates_the_greedy_order():
    demand, sites = instance(41, 200, 120, n_centres=10, spread_m=250)
    plan = siting.plan_sites(demand, sites, k=12, radius_m=200, optimal_curve=True)
    optimal = [p["optimal_weight"] for p in plan.curve]
    greedy = [p["covered_weight"] for p in plan.curve]
    assert all(o >= g - 1e-6 for o, g in zip(optimal, greedy, strict=True))
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(optimal))
    assert optimal[-1] == pytest.approx(plan.covered_weight, rel=1e-6)


@pytest.mark.parametrize("seed", [51, 52, 53])
def test_greedy_fallback_reports_a_valid_bound(seed):
    demand, sites = instance(seed, 900, 500, n_centres=20, spread_m=300)
    exact = siting.plan_sites(demand, sites, k=40, radius_m=200, method="exact")
    greedy = siting.plan_sites(demand, sites, k=40, radius_m=200, method="greedy")
    optimum = exact.covered_weight
    assert exact.solution.status == "optimal"
    assert greedy.solution.method == "greedy"
    assert greedy.covered_weight <= optimum + 1e-6
    assert greedy.solution.upper_bound >= optimum - 1e-6
    assert greedy.solution.upper_bound >= greedy.covered_weight
    assert greedy.solution.gap == pytest.approx(
        (greedy.solution.upper_bound - greedy.covered_weight) / greedy.solution.upper_bound
    )
    assert greedy.covered_weight >= (1 - 1 / np.e) * optimum


def test_auto_uses_greedy_above_the_size_threshold():
    demand, sites = instance(61, 400, 200, n_centres=12, spread_m=250)
    plan = siting.plan_sites(demand, sites, k=10, exact_max_nonzeros=10)
    assert plan.solution.method == "greedy"
    assert plan.solution.bound_source in {"lp_relaxation", "lagrangian", "submodular"}
    assert siting.plan_sites(demand, sites, k=10).solution.method == "exact"


def test_time_limited_exact_solve_still_returns_a_bounded_solution():
    demand, sites = instance(71, 3000, 1500, n_centres=40, spread_m=250)
    exact = siting.plan_sites(demand, sites, k=80, method="exact", time_limit_s=60)
    rushed = siting.plan_sites(demand, sites, k=80, method="exact", time_limit_s=0.01)
    assert rushed.covered_weight <= exact.covered_weight + 1e-6
    assert rushed.solution.upper_bound >= exact.covered_weight - 1e-6
    assert rushed.covered_weight > 0


# --- output -----------------------------------------------------------------------------------


def test_geojson_has_sites_circles_and_top_level_figures():
    demand, sites = instance(81, 120, 60, n_centres=6, spread_m=250)
    plan = siting.plan_sites(demand, sites, k=5, radius_m=200)
    fc = json.loads(json.dumps(plan.to_geojson()))
    props = fc["properties"]
    for key in ("objective", "gap", "solver", "radius_m", "k", "budget", "total_weight",
                "covered_weight", "share_covered", "curve"):
        assert key in props
    assert props["objective"] == pytest.approx(plan.covered_weight, abs=1e-5)
    assert props["total_weight"] == pytest.approx(demand["weight"].sum())
    kinds = [f["properties"]["kind"] for f in fc["features"]]
    assert kinds.count("site") == kinds.count("coverage") == len(plan.sites) == 5
    site = fc["features"][0]
    circle = shapely.geometry.shape(fc["features"][1]["geometry"])
    lon, lat = site["geometry"]["coordinates"]
    ring = np.asarray(circle.exterior.coords)
    _, _, dist = GEOD.inv(np.full(len(ring), lon), np.full(len(ring), lat), ring[:, 0], ring[:, 1])
    assert np.allclose(dist, 200, atol=1.0)
    ids = set(site["properties"]["point_ids"])
    assert ids and ids <= set(demand["id"])
    newly = demand[demand["id"].isin(ids)]
    assert newly["weight"].sum() == pytest.approx(site["properties"]["gain"])
    assert sum(site["properties"]["categories"].values()) == len(ids)


def test_every_demand_point_is_listed_with_what_covers_it(tmp_path):
    demand, sites = instance(82, 100, 50, n_centres=5, spread_m=250)
    plan = siting.plan_sites(demand, sites, k=4)
    path = siting.write_demand_csv(plan, tmp_path / "demand.csv")
    back = pd.read_csv(path, keep_default_na=False)
    assert list(back.columns[:4]) == ["id", "lon", "lat", "weight"]
    assert len(back) == len(demand)
    covered = back[back["covered_by"] != ""]
    assert covered["weight"].sum() == pytest.approx(plan.covered_weight, rel=1e-9)


def test_curve_png_is_a_png():
    demand, sites = instance(83, 150, 80, n_centres=6, spread_m=250)
    plan = siting.plan_sites(demand, sites, k=8)
    png = siting.curve_png(plan.curve)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


# --- inputs -----------------------------------------------------------------------------------


def test_grid_sites_lie_inside_the_area_on_a_metric_grid():
    area = shapely.box(103.50, 14.90, 103.52, 14.92)  # about 2.15 km x 2.2 km
    grid = siting.grid_sites(area, 250)
    assert 60 <= len(grid) <= 90
    assert shapely.contains_xy(area, grid["lon"], grid["lat"]).all()
    tr = Transformer.from_crs(4326, 32648, always_xy=True)
    x, y = tr.transform(grid["lon"].to_numpy(), grid["lat"].to_numpy())
    for v in (np.asarray(x), np.asarray(y)):
        steps = (v - 125) / 250  # cell centres at multiples of the spacing plus a half
        assert np.allclose(steps, np.round(steps), atol=1e-5)
    assert grid["site_id"].is_unique
    with pytest.raises(ValidationError, match="spacing"):
        siting.grid_sites(area, 1)


def test_parse_candidates():
    assert siting.parse_candidates("points") == ("points", None)
    assert siting.parse_candidates("grid:500") == ("grid", 500.0)
    assert siting.parse_candidates("poles.csv")[0] == "file"
    assert siting.parse_candidates("sites") == ("sites", None)
    assert siting.parse_candidates("sites:7") == ("sites", 7)
    assert siting.parse_candidates("grid_poles.csv")[0] == "file"
    with pytest.raises(ValidationError, match="grid:SPACING"):
        siting.parse_candidates("grid:abc")


def test_site_and_cost_files_with_thai_headers(tmp_path):
    sites_csv = tmp_path / "poles.csv"
    sites_csv.write_text(
        "ชื่อจุด,ละติจูด,ลองจิจูด,ราคา\nP1,14.88,103.49,\"12,000 บาท\"\nP2,14.89,103.50,\n"
        "P3,\"14°53'24\"\"N\",\"103°30'36\"\"E\",๕๐๐\n",
        encoding="utf-8-sig",
    )
    table = siting.read_points_file(sites_csv)
    assert table["site_id"].tolist() == ["P1", "P2", "P3"]
    assert table["lon"].tolist()[:2] == [103.49, 103.50]
    assert table["lat"].iloc[2] == pytest.approx(14.89)
    assert table["cost"].iloc[0] == 12000 and np.isnan(table["cost"].iloc[1])
    assert table["cost"].iloc[2] == 500
    costs_csv = tmp_path / "costs.csv"
    costs_csv.write_text("site_id,cost\nP2,9000\n", encoding="utf-8")
    with_costs = siting.apply_costs(table, siting.read_costs(costs_csv), None)
    assert with_costs["cost"].tolist() == [12000.0, 9000.0, 500.0]
    geo = tmp_path / "poles.geojson"
    geo.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "เสา 1", "cost": 5},
         "geometry": {"type": "Point", "coordinates": [103.5, 14.9]}}]}), encoding="utf-8")
    g = siting.read_points_file(geo)
    assert g.iloc[0]["site_id"] == "เสา 1" and g.iloc[0]["cost"] == 5
    cams = tmp_path / "cams.csv"
    cams.write_text("ชื่อกล้อง,lat,lon,รัศมี\nC1,14.9,103.5,150\nC2,14.91,103.5,\n",
                    encoding="utf-8")
    c = siting.read_points_file(cams, kind="cameras")
    assert c["radius_m"].iloc[0] == 150 and np.isnan(c["radius_m"].iloc[1])
    bad = tmp_path / "bad.csv"
    bad.write_text("name,lat,lon\nA,14.9,103.5\nB,สิบสี่,103.5\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="row 2"):
        siting.read_points_file(bad)
    bad_cost = tmp_path / "bad_cost.csv"
    bad_cost.write_text("site_id,cost\nA,5\nB,-5\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="row 2"):
        siting.read_costs(bad_cost)


def test_bad_input_names_the_row_and_problem():
    demand, sites = instance(91, 20, 10, n_centres=2, spread_m=200)
    broken = demand.copy()
    broken.loc[4, "weight"] = -1
    with pytest.raises(ValidationError, match=r"demand row 5 \(id 5\)"):
        siting.plan_sites(broken, sites, k=2)
    broken = demand.copy()
    broken.loc[2, "lat"] = 120.0
    with pytest.raises(ValidationError, match="demand row 3"):
        siting.plan_sites(broken, sites, k=2)
    with pytest.raises(ValidationError, match="either"):
        siting.plan_sites(demand, sites, k=2, budget=10)
    with pytest.raises(ValidationError, match="either"):
        siting.plan_sites(demand, sites)
    with pytest.raises(ValidationError, match="radius_m"):
        siting.plan_sites(demand, sites, k=2, radius_m=0)
    with pytest.raises(ValidationError, match="cost"):
        siting.plan_sites(demand, sites, budget=10)
    with pytest.raises(ValidationError, match="k must be"):
        siting.plan_sites(demand, sites, k=0)
    with pytest.raises(ValidationError, match="missing column"):
        siting.plan_sites(demand.drop(columns="weight"), sites, k=2)


def test_budget_mode_leaves_out_sites_without_a_cost():
    demand, sites = instance(92, 60, 20, n_centres=3, spread_m=200)
    sites["cost"] = [1.0] * 10 + [np.nan] * 10
    plan = siting.plan_sites(demand, sites, budget=3)
    assert plan.candidates_without_cost == 10
    assert set(plan.sites["site_id"]) <= set(sites["site_id"][:10])


def test_demand_weights_follow_the_severity_model():
    as_of = date(2025, 6, 30)
    points = pd.DataFrame({
        "category": ["drugs", "other_crime", "flood"],
        "severity": [4, 3, 5],
        "incident_count": [3, 1, 2],
        "reported_on": [as_of - timedelta(days=365), None, as_of],
    })
    weights = siting.demand_weights(points, as_of=as_of)
    # drugs 2.0 x 4 x half (one half-life) x 3; other crime 1.0 x 3 x undated 0.5 x 1;
    # flood 0.8 x 5 x 1 x 2
    assert weights.tolist() == pytest.approx([12.0, 1.5, 8.0])
