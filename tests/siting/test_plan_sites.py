"""Plans on data frames (com.siting.plan): cameras, outputs and input checks (no database)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import shapely
from siting_instances import (  # tests/siting/siting_instances.py
    GEOD,
    instance,
    utm_cover,
)

from com.errors import ValidationError
from com.siting.coverage import covered_by_cameras
from com.siting.output import curve_png, write_demand_csv
from com.siting.plan import plan_sites
from com.siting.repository import demand_weights

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
    plan = plan_sites(demand, candidates, k=6, radius_m=200, existing=camera)
    chosen = set(plan.sites["site_id"])
    # the heaviest cluster is already watched: neither of its sites is proposed
    assert not chosen & {"centre-0", "near-0"}
    assert plan.existing_covered_weight == pytest.approx(50.0)
    assert (plan.sites["gain"] > 0).all()
    assert (plan.demand.loc[plan.demand["id"] < 100, "covered_by"] == "existing").all()
    without = plan_sites(demand, candidates, k=1, radius_m=200)
    assert without.sites["site_id"].iloc[0] in {"centre-0", "near-0"}


@pytest.mark.parametrize("method", ["exact", "greedy"])
def test_random_cameras_no_site_adds_only_covered_demand(method):
    demand, sites = instance(21, 280, 280, n_centres=18, spread_m=250)
    rng = np.random.default_rng(3)
    cams = demand.sample(40, random_state=4)[["lon", "lat"]].reset_index(drop=True)
    cams["radius_m"] = rng.uniform(150, 300, len(cams))
    plan = plan_sites(demand, sites, k=60, radius_m=200, existing=cams, method=method)
    covered = covered_by_cameras(demand["lon"], demand["lat"], cams["lon"], cams["lat"],
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
    plan = plan_sites(demand, sites, k=25, radius_m=300)
    cover = utm_cover(demand, sites, 300, 32648)
    coverable = demand["weight"].to_numpy()[cover.any(axis=1)].sum()
    assert plan.covered_weight == pytest.approx(coverable)
    assert len(plan.sites) < 25
    assert (plan.sites["gain"] > 0).all()


# --- output -----------------------------------------------------------------------------------


def test_geojson_has_sites_circles_and_top_level_figures():
    demand, sites = instance(81, 120, 60, n_centres=6, spread_m=250)
    plan = plan_sites(demand, sites, k=5, radius_m=200)
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
    plan = plan_sites(demand, sites, k=4)
    path = write_demand_csv(plan, tmp_path / "demand.csv")
    back = pd.read_csv(path, keep_default_na=False)
    assert list(back.columns[:4]) == ["id", "lon", "lat", "weight"]
    assert len(back) == len(demand)
    covered = back[back["covered_by"] != ""]
    assert covered["weight"].sum() == pytest.approx(plan.covered_weight, rel=1e-9)


def test_curve_png_is_a_png():
    demand, sites = instance(83, 150, 80, n_centres=6, spread_m=250)
    plan = plan_sites(demand, sites, k=8)
    png = curve_png(plan.curve)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5000


def test_bad_input_names_the_row_and_problem():
    demand, sites = instance(91, 20, 10, n_centres=2, spread_m=200)
    broken = demand.copy()
    broken.loc[4, "weight"] = -1
    with pytest.raises(ValidationError, match=r"demand row 5 \(id 5\)"):
        plan_sites(broken, sites, k=2)
    broken = demand.copy()
    broken.loc[2, "lat"] = 120.0
    with pytest.raises(ValidationError, match="demand row 3"):
        plan_sites(broken, sites, k=2)
    with pytest.raises(ValidationError, match="either"):
        plan_sites(demand, sites, k=2, budget=10)
    with pytest.raises(ValidationError, match="either"):
        plan_sites(demand, sites)
    with pytest.raises(ValidationError, match="radius_m"):
        plan_sites(demand, sites, k=2, radius_m=0)
    with pytest.raises(ValidationError, match="cost"):
        plan_sites(demand, sites, budget=10)
    with pytest.raises(ValidationError, match="k must be"):
        plan_sites(demand, sites, k=0)
    with pytest.raises(ValidationError, match="missing column"):
        plan_sites(demand.drop(columns="weight"), sites, k=2)


def test_budget_mode_leaves_out_sites_without_a_cost():
    demand, sites = instance(92, 60, 20, n_centres=3, spread_m=200)
    sites["cost"] = [1.0] * 10 + [np.nan] * 10
    plan = plan_sites(demand, sites, budget=3)
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
    weights = demand_weights(points, as_of=as_of)
    # drugs 2.0 x 4 x half (one half-life) x 3; other crime 1.0 x 3 x undated 0.5 x 1;
    # flood 0.8 x 5 x 1 x 2
    assert weights.tolist() == pytest.approx([12.0, 1.5, 8.0])
