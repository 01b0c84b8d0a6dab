"""The MCLP solver (com.siting.mclp): exact and greedy against independent optima and bounds."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from siting_instances import (  # tests/siting/siting_instances.py
    SMALL,
    brute_force,
    brute_force_budget,
    geodesic_cover,
    instance,
    pulp_optimum,
    recount,
    utm_cover,
)

from com.siting.plan import plan_sites

# --- exact optimum ----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_objective_equals_brute_force(seed):
    demand, sites = instance(seed, 40, 12, n_centres=2, spread_m=300, bbox=SMALL)
    plan = plan_sites(demand, sites, k=3, radius_m=250, metric="geodesic")
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
    plan = plan_sites(demand, sites, budget=budget, radius_m=250, metric="geodesic")
    cover = geodesic_cover(demand, sites, 250)
    best = brute_force_budget(cover, demand["weight"].to_numpy(), sites["cost"].to_numpy(), budget)
    assert plan.covered_weight == pytest.approx(best, rel=1e-9)
    assert plan.sites["cost"].sum() <= budget
    greedy = plan_sites(demand, sites, budget=budget, radius_m=250, metric="geodesic",
                        method="greedy")
    assert greedy.sites["cost"].sum() <= budget
    assert greedy.covered_weight <= best + 1e-9 <= greedy.solution.upper_bound + 2e-9


@pytest.mark.parametrize(("seed", "metric"), [(11, "geodesic"), (12, "utm"), (13, "geodesic")])
def test_surin_size_equals_independent_pulp_model(seed, metric):
    demand, sites = instance(seed, 280, 280, n_centres=18, spread_m=250)
    plan = plan_sites(demand, sites, k=30, radius_m=200, metric=metric)
    cover = (geodesic_cover(demand, sites, 200) if metric == "geodesic"
             else utm_cover(demand, sites, 200, 32648))
    expected = pulp_optimum(cover, demand["weight"].to_numpy(), 30)
    greedy = plan_sites(demand, sites, k=30, radius_m=200, metric=metric, method="greedy")
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
    one = plan_sites(demand, sites, k=3, radius_m=250)
    two = plan_sites(twice, sites_twice, k=3, radius_m=250)
    assert two.covered_weight == pytest.approx(2 * one.covered_weight)
    assert two.solution.model["demand_groups"] <= one.solution.model["demand_groups"]
    assert two.solution.model["reduced_sites"] == one.solution.model["reduced_sites"]


# --- curve, greedy and bounds -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["exact-k", "greedy-k", "exact-budget", "greedy-budget"])
def test_curve_is_non_decreasing_and_ends_at_the_total(mode):
    demand, sites = instance(31, 280, 280, n_centres=18, spread_m=250)
    method, limit = mode.split("-")
    kwargs = {"k": 25} if limit == "k" else {"budget": 40.0}
    sites["cost"] = np.random.default_rng(1).integers(1, 4, len(sites)).astype(float)
    plan = plan_sites(demand, sites, radius_m=200, method=method, **kwargs)
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
    plan = plan_sites(demand, sites, k=12, radius_m=200, optimal_curve=True)
    optimal = [p["optimal_weight"] for p in plan.curve]
    greedy = [p["covered_weight"] for p in plan.curve]
    assert all(o >= g - 1e-6 for o, g in zip(optimal, greedy, strict=True))
    assert all(b >= a - 1e-9 for a, b in itertools.pairwise(optimal))
    assert optimal[-1] == pytest.approx(plan.covered_weight, rel=1e-6)


@pytest.mark.parametrize("seed", [51, 52, 53])
def test_greedy_fallback_reports_a_valid_bound(seed):
    demand, sites = instance(seed, 900, 500, n_centres=20, spread_m=300)
    exact = plan_sites(demand, sites, k=40, radius_m=200, method="exact")
    greedy = plan_sites(demand, sites, k=40, radius_m=200, method="greedy")
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
    plan = plan_sites(demand, sites, k=10, exact_max_nonzeros=10)
    assert plan.solution.method == "greedy"
    assert plan.solution.bound_source in {"lp_relaxation", "lagrangian", "submodular"}
    assert plan_sites(demand, sites, k=10).solution.method == "exact"


def test_time_limited_exact_solve_still_returns_a_bounded_solution():
    demand, sites = instance(71, 3000, 1500, n_centres=40, spread_m=250)
    exact = plan_sites(demand, sites, k=80, method="exact", time_limit_s=60)
    rushed = plan_sites(demand, sites, k=80, method="exact", time_limit_s=0.01)
    assert rushed.covered_weight <= exact.covered_weight + 1e-6
    assert rushed.solution.upper_bound >= exact.covered_weight - 1e-6
    assert rushed.covered_weight > 0
