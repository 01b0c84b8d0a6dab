"""CCTV siting (การวางตำแหน่งกล้องวงจรปิด): maximal covering location of cameras over weighted risk.

The pure core works on arrays and data frames (:func:`coverage_matrix`, :func:`solve_mclp`,
:func:`plan_sites`, :func:`allocate_patrols`); the database edge loads demand, cameras and areas,
finds each site's subdistrict and stores plans (:func:`plan_for_area`, :func:`save_plan`).

Model (Church and ReVelle's maximal covering location problem)::

    maximise   sum_i w_i y_i
    subject to y_i <= sum_{j covers i} x_j      for every demand point i
               sum_j x_j <= k   (or sum_j c_j x_j <= B)
               x_j in {0, 1},  0 <= y_i <= 1

Distances are in metres: UTM zone 47N west of 102 E, 48N east of it (chosen by the median
longitude of the demand), or geodesic on WGS84.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import shapely
import sqlalchemy as sa
from pyproj import Geod
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, linprog, milp
from sqlalchemy.engine import Connection

from com.config.severity import load_severity_model, sensitive_categories
from com.errors import NotFoundError, ValidationError
from com.geo.projection import project, transformer, utm_crs_for, utm_zone
from com.io.escape import escape_formula

DEFAULT_RADIUS_M = 200.0
MAX_RADIUS_M = 10_000.0
# Above this many non-zeros in the reduced coverage model, method="auto" uses the lazy greedy
# (HiGHS still solves 5,000 x 500 instances in well under a second; national instances with
# 10^5 demand points and 10^4 candidates may not prove optimality within a minute).
EXACT_MAX_NONZEROS = 50_000
DEFAULT_TIME_LIMIT_S = 30.0
MIP_REL_GAP = 1e-7
MAX_GRID_CANDIDATES = 2_000_000
# Projected UTM distances overstate true ones by the scale factor, at most about 1.01 for
# Thai points projected in the neighbouring zone: the geodesic mode searches the tree this
# much wider and then keeps pairs by their true distance.
_GEODESIC_SEARCH_FACTOR = 1.02
_GEOD = Geod(ellps="WGS84")
_CIRCLE_VERTICES = 64

Metric = Literal["utm", "geodesic"]
Method = Literal["auto", "exact", "greedy"]


# --- distances and coverage -------------------------------------------------------------------


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
    data = np.ones(site_idx.size, dtype=bool)
    matrix = sparse.csr_array(
        (data, (demand_idx, site_idx)), shape=(dlon.size, slon.size), dtype=bool
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


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


@dataclass
class Solution:
    """The answer of :func:`solve_mclp` on index level.

    Attributes
    ----------
    selected
        Chosen site (column) indices in greedy order of marginal gain.
    gains
        Weight each chosen site newly covers, in that order (all positive).
    objective
        Covered weight, sum of ``gains``.
    upper_bound
        A proven upper bound on the optimal covered weight.
    gap
        Relative optimality gap ``(upper_bound - objective) / upper_bound`` (HiGHS's own
        ``mip_gap`` for exact solves).
    method
        ``"exact"`` (MILP) or ``"greedy"`` (lazy greedy).
    status
        ``"optimal"``, ``"time_limit"`` (best MILP incumbent) or ``"heuristic"``.
    solver
        Human-readable solver name.
    bound_source
        Where the bound comes from: ``"milp"``, ``"lp_relaxation"``, ``"submodular"`` or
        ``"trivial"``.
    seconds
        Wall time of the solve including model reduction.
    model
        Sizes before and after reduction.
    """

    selected: np.ndarray
    gains: np.ndarray
    objective: float
    upper_bound: float
    gap: float
    method: str
    status: str
    solver: str
    bound_source: str
    seconds: float
    model: dict[str, int] = field(default_factory=dict)
    optimal_by_k: list[float] | None = None


@dataclass
class _Reduced:
    cover: sparse.csr_array  # groups x sites (float)
    weight: np.ndarray
    sites: np.ndarray  # original column index of each kept site
    cost: np.ndarray | None


def _unique_rows(matrix: sparse.csr_array) -> tuple[np.ndarray, np.ndarray]:
    """Group identical rows of a CSR matrix; return (group of each row, first row of each group)."""
    matrix.sort_indices()
    indptr, indices = matrix.indptr, matrix.indices.astype(np.int64)
    groups: dict[bytes, int] = {}
    group = np.empty(matrix.shape[0], dtype=np.int64)
    # A dictionary on the rows' index bytes: hashing is exact, and one pass over 10^5 short
    # rows takes about 0.1 s; no library groups sparse rows by content.
    for i in range(matrix.shape[0]):
        key = indices[indptr[i] : indptr[i + 1]].tobytes()
        group[i] = groups.setdefault(key, len(groups))
    _, first = np.unique(group, return_index=True)
    return group, first


def _reduce(
    cover: sparse.csr_array, weight: np.ndarray, cost: np.ndarray | None
) -> _Reduced:
    """Shrink the model without changing its optimum.

    Drop demand with no weight or no covering site, merge demand with identical coverage sets
    (adding their weights), drop sites covering nothing, keep one of identical sites (the
    cheapest), and drop sites whose coverage is a strict subset of a no-dearer site's.
    """
    rows = np.flatnonzero((weight > 0) & (np.diff(cover.indptr) > 0))
    sub = cover[rows]
    sub.sort_indices()
    group, first = _unique_rows(sub)
    w = np.bincount(group, weights=weight[rows])
    grouped = sub[first]
    sites = np.flatnonzero(np.diff(grouped.tocsc().indptr) > 0)
    site_cost = cost[sites] if cost is not None else np.ones(sites.size)
    cols = sparse.csr_array(grouped.T)[sites]  # sites x groups
    cols.sort_indices()
    if sites.size:
        # identical sites: keep the cheapest of each group (ties: the first)
        order = np.lexsort((np.arange(sites.size), site_cost))
        cols_sorted = cols[order]
        _, firstcol = _unique_rows(cols_sorted)
        keep = order[firstcol]
        sites, site_cost, cols = sites[keep], site_cost[keep], cols[keep]
    if sites.size > 1:
        size = np.diff(cols.indptr)
        overlap = (cols.astype(np.int32) @ cols.T.astype(np.int32)).tocoo()
        a, b = overlap.row, overlap.col
        dominated = (
            (overlap.data == size[a]) & (size[b] > size[a]) & (site_cost[b] <= site_cost[a])
        )
        keep = np.setdiff1d(np.arange(sites.size), np.unique(a[dominated]))
        sites, site_cost, cols = sites[keep], site_cost[keep], cols[keep]
    reduced_cover = sparse.csr_array(cols.T.astype(float))
    return _Reduced(
        cover=reduced_cover,
        weight=w,
        sites=sites,
        cost=site_cost if cost is not None else None,
    )


def _covered_weight(cover: sparse.csr_array, weight: np.ndarray, chosen: Sequence[int]) -> float:
    if len(chosen) == 0:
        return 0.0
    hit = np.asarray(cover[:, np.asarray(chosen)].sum(axis=1)).ravel() > 0
    return float(weight[hit].sum())


def _greedy_order(
    cover: sparse.csr_array, weight: np.ndarray, chosen: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """Order ``chosen`` sites by marginal gain (largest first); drop those adding nothing.

    Lazy evaluation (gains only shrink as more is covered) keeps this fast for 500 sites.
    """
    picked = np.asarray(chosen, dtype=np.int64)
    cols = sparse.csc_array(cover[:, picked])
    cols.sort_indices()
    uncovered = np.ones(cover.shape[0], dtype=bool)
    start = cols.T @ weight if picked.size else np.empty(0)
    heap = [(-float(start[p]), p, 0) for p in range(picked.size)]
    heapq.heapify(heap)
    order: list[int] = []
    gains: list[float] = []
    while heap:
        neg_gain, pos, stamp = heapq.heappop(heap)
        if -neg_gain <= 0:
            break
        rows = cols.indices[cols.indptr[pos] : cols.indptr[pos + 1]]
        if stamp == len(order):
            uncovered[rows] = False
            order.append(int(picked[pos]))
            gains.append(-neg_gain)
            continue
        gain = float(weight[rows][uncovered[rows]].sum())
        if gain > 0:
            heapq.heappush(heap, (-gain, pos, len(order)))
    return np.asarray(order, dtype=np.int64), np.asarray(gains, dtype=float)


def _fractional_knapsack(
    values: np.ndarray, costs: np.ndarray, capacity: float
) -> tuple[float, np.ndarray]:
    """Best fractional choice of items with total cost <= ``capacity``: (value, x in [0, 1])."""
    x = np.zeros(values.size)
    positive = values > 0
    free = positive & (costs <= 0)
    x[free] = 1.0
    items = np.flatnonzero(positive & ~free)
    order = items[np.argsort(-(values[items] / costs[items]), kind="stable")]
    cum = np.cumsum(costs[order])
    full = cum <= capacity
    x[order[full]] = 1.0
    nxt = int(full.sum())
    if nxt < order.size:
        spare = capacity - (cum[nxt - 1] if nxt else 0.0)
        x[order[nxt]] = max(spare, 0.0) / costs[order[nxt]]
    return float(values @ x), x


def _best_sites(
    values: np.ndarray, *, k: int | None, cost: np.ndarray | None, budget: float | None
) -> tuple[float, np.ndarray]:
    """Maximise values @ x over x in [0, 1] with sum x <= k (or cost @ x <= budget)."""
    if k is not None:
        x = np.zeros(values.size)
        top = min(k, values.size)
        if top:
            best = np.argpartition(-values, top - 1)[:top]
            x[best[values[best] > 0]] = 1.0
        return float(values @ x), x
    assert cost is not None and budget is not None
    return _fractional_knapsack(values, cost, budget)


def _submodular_bound(
    cover_t: sparse.csr_array,
    weight: np.ndarray,
    uncovered: np.ndarray,
    current: float,
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
) -> float:
    """Online bound: OPT <= f(S) + the best k (or budget-feasible) marginal gains w.r.t. S.

    Valid because coverage is monotone submodular (Nemhauser, Wolsey and Fisher 1978; the
    "online bound" of Leskovec et al. 2007), and usually far tighter than f(S) / (1 - 1/e).
    """
    gains = cover_t @ (weight * uncovered)
    return current + _best_sites(gains, k=k, cost=cost, budget=budget)[0]


def _lazy_greedy(
    cover: sparse.csr_array,
    weight: np.ndarray,
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
    bound_checkpoints: int = 25,
) -> tuple[list[int], list[float], float]:
    """Lazy greedy (CELF, Leskovec et al. 2007) with the online submodular bound.

    In budget mode sites are taken by gain per unit cost, skipping those that no longer fit,
    and the best single affordable site is kept instead when it alone covers more.
    Returns (chosen, gains, upper bound).
    """
    cover_t = sparse.csr_array(cover.T)
    cover_t.sort_indices()
    n_sites = cover_t.shape[0]
    site_cost = cost if cost is not None else np.ones(n_sites)
    uncovered = np.ones(cover.shape[0], dtype=bool)
    start = cover_t @ weight
    heap = [
        (-(start[j] / site_cost[j] if site_cost[j] > 0 else math.inf), j, 0)
        for j in range(n_sites)
        if start[j] > 0
    ]
    heapq.heapify(heap)
    chosen: list[int] = []
    gains: list[float] = []
    spent, covered = 0.0, 0.0
    limit = k if k is not None else n_sites
    bound = math.inf
    step = max(1, limit // bound_checkpoints) if k is not None else max(1, n_sites // 50)
    while heap and len(chosen) < limit:
        _, j, stamp = heapq.heappop(heap)
        if budget is not None and spent + site_cost[j] > budget + 1e-9:
            continue  # the remaining budget only shrinks: this site never fits again
        if stamp == len(chosen):
            rows = cover_t.indices[cover_t.indptr[j] : cover_t.indptr[j + 1]]
            gain = float(weight[rows][uncovered[rows]].sum())
            if gain <= 0:
                break
            uncovered[rows] = False
            chosen.append(int(j))
            gains.append(gain)
            covered += gain
            spent += float(site_cost[j])
            if len(chosen) % step == 0:
                bound = min(
                    bound,
                    _submodular_bound(
                        cover_t, weight, uncovered, covered, k=k, cost=cost, budget=budget
                    ),
                )
            continue
        rows = cover_t.indices[cover_t.indptr[j] : cover_t.indptr[j + 1]]
        gain = float(weight[rows][uncovered[rows]].sum())
        if gain > 0:
            key = gain / site_cost[j] if site_cost[j] > 0 else math.inf
            heapq.heappush(heap, (-key, j, len(chosen)))
    if budget is not None:
        affordable = np.flatnonzero(site_cost <= budget + 1e-9)
        if affordable.size:
            best = int(affordable[np.argmax(start[affordable])])
            if start[best] > covered + 1e-12:
                chosen, gains, covered = [best], [float(start[best])], float(start[best])
                uncovered[:] = True
                rows = cover_t.indices[cover_t.indptr[best] : cover_t.indptr[best + 1]]
                uncovered[rows] = False
    empty_bound = _submodular_bound(
        cover_t, weight, np.ones_like(uncovered), 0.0, k=k, cost=cost, budget=budget
    )
    final_bound = _submodular_bound(
        cover_t, weight, uncovered, covered, k=k, cost=cost, budget=budget
    )
    bound = min(bound, final_bound, empty_bound, float(weight.sum()))
    return chosen, gains, max(bound, covered)


def _lagrangian_bound(
    cover: sparse.csr_array,
    weight: np.ndarray,
    chosen: Sequence[int],
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
    iterations: int = 300,
    time_limit_s: float = 5.0,
) -> float:
    """Lagrangian bound on the MCLP, improved by projected subgradient steps.

    Relaxing ``y_i <= sum_j a_ij x_j`` with multipliers ``0 <= u_i <= w_i`` gives, for every u,
    ``OPT <= sum_i (w_i - u_i) + best k (or budget-feasible) of A^T u``. Starting from
    u = weight of demand the greedy leaves uncovered (where it equals the online submodular
    bound), Polyak steps approach the LP bound in a few seconds when HiGHS needs far longer
    on national instances. Written here because no maintained package offers Lagrangian
    bounds for covering models; the LP relaxation (HiGHS) is still tried when time allows.
    """
    started = time.perf_counter()
    cover_t = sparse.csr_array(cover.T)
    hit = np.zeros(cover.shape[0], dtype=bool)
    if len(chosen):
        hit = np.asarray(cover[:, np.asarray(chosen)].sum(axis=1)).ravel() > 0
    lower = float(weight[hit].sum())
    u = np.where(hit, 0.0, weight)
    best, theta, stall = math.inf, 1.0, 0
    for _ in range(iterations):
        value_sites, x = _best_sites(cover_t @ u, k=k, cost=cost, budget=budget)
        value = float(np.maximum(weight - u, 0.0).sum()) + value_sites
        if value < best - 1e-9 * max(value, 1.0):
            best, stall = value, 0
        else:
            stall += 1
            if stall >= 8:
                theta, stall = theta / 2, 0
        if theta < 1e-4 or time.perf_counter() - started > time_limit_s:
            break
        sel = np.flatnonzero(x)
        rows = cover_t[sel]
        grad = np.bincount(
            rows.indices, weights=np.repeat(x[sel], np.diff(rows.indptr)),
            minlength=cover.shape[0],
        ) - (u < weight)
        grad[(u <= 0) & (grad > 0)] = 0.0
        grad[(u >= weight) & (grad < 0)] = 0.0
        norm = float(grad @ grad)
        if norm == 0.0 or best - lower <= 1e-9 * max(best, 1.0):
            break
        u = np.clip(u - theta * (value - lower) / norm * grad, 0.0, weight)
    return best


@dataclass
class _Model:
    c: np.ndarray  # objective to minimise: [x (sites), y (shared groups)]
    a_cover: sparse.csr_array
    limit_row: np.ndarray
    limit: float
    n_sites: int
    sites: np.ndarray  # reduced-site index of each x


def _model(
    cover: sparse.csr_array,
    weight: np.ndarray,
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
) -> _Model:
    """Build the MILP/LP arrays.

    Demand covered by one site only gets no y variable: its weight goes straight onto that
    site's x (y_i = x_j at any optimum). With k cameras, sites that share no demand with others
    matter only if among the k heaviest of them (swapping a lighter one for a heavier one
    never loses), so the rest are left out. On sparse national instances this shrinks the
    model by an order of magnitude, more than HiGHS's presolve manages in reasonable time.
    """
    per_row = np.diff(cover.indptr)
    single = per_row == 1
    direct = np.bincount(
        cover.indices[cover.indptr[:-1][single]], weights=weight[single],
        minlength=cover.shape[1],
    )
    shared = cover[np.flatnonzero(~single)]
    shared_w = weight[~single]
    sites = np.arange(cover.shape[1])
    if k is not None:
        in_shared = np.diff(sparse.csc_array(shared).indptr) > 0
        isolated = np.flatnonzero(~in_shared)
        if isolated.size > k:
            heaviest = isolated[np.argsort(-direct[isolated], kind="stable")[:k]]
            sites = np.sort(np.concatenate([np.flatnonzero(in_shared), heaviest]))
            shared = sparse.csr_array(shared[:, sites])
            direct = direct[sites]
    n_sites, n_groups = sites.size, shared.shape[0]
    a_cover = sparse.hstack(
        [-shared.astype(float), sparse.eye_array(n_groups)], format="csr"
    )
    site_cost = cost[sites] if cost is not None else np.ones(n_sites)
    return _Model(
        c=np.concatenate([-direct, -shared_w]),
        a_cover=a_cover,
        limit_row=np.concatenate([site_cost, np.zeros(n_groups)]),
        limit=float(budget if budget is not None else k),  # type: ignore[arg-type]
        n_sites=n_sites,
        sites=sites,
    )


def _lp_bound(
    cover: sparse.csr_array,
    weight: np.ndarray,
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
    time_limit_s: float,
) -> float | None:
    """Optimal value of the LP relaxation (a bound on the MILP), or None if not solved in time."""
    if time_limit_s <= 0.05:
        return None
    m = _model(cover, weight, k=k, cost=cost, budget=budget)
    a_ub = sparse.vstack([m.a_cover, sparse.csr_array(m.limit_row[None, :])], format="csr")
    b_ub = np.concatenate([np.zeros(m.a_cover.shape[0]), [m.limit]])
    res = linprog(
        m.c, A_ub=a_ub, b_ub=b_ub, bounds=(0, 1), method="highs",
        options={"time_limit": float(time_limit_s), "presolve": True},
    )
    if res.status != 0 or res.fun is None:
        return None
    # the LP optimum is a bound up to the solver's feasibility tolerance
    return float(-res.fun) * (1 + 1e-9) + 1e-9


def _milp(
    cover: sparse.csr_array,
    weight: np.ndarray,
    *,
    k: int | None,
    cost: np.ndarray | None,
    budget: float | None,
    time_limit_s: float,
) -> tuple[list[int] | None, float, float, str]:
    """Solve the reduced MCLP with HiGHS; return (chosen, upper bound, gap, status)."""
    m = _model(cover, weight, k=k, cost=cost, budget=budget)
    n_groups = m.a_cover.shape[0]
    constraints = [
        LinearConstraint(m.a_cover, -np.inf, np.zeros(n_groups)),
        LinearConstraint(m.limit_row[None, :], -np.inf, m.limit),
    ]
    integrality = np.concatenate([np.ones(m.n_sites), np.zeros(n_groups)])
    res = milp(
        m.c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0, 1),
        options={"time_limit": float(time_limit_s), "mip_rel_gap": MIP_REL_GAP, "disp": False},
    )
    if res.x is None:
        return None, math.inf, math.inf, "no_solution"
    chosen = [int(m.sites[j]) for j in np.flatnonzero(res.x[: m.n_sites] > 0.5)]
    dual = getattr(res, "mip_dual_bound", None)
    bound = -float(dual) if dual is not None and np.isfinite(dual) else math.inf
    gap = float(getattr(res, "mip_gap", math.nan))
    status = "optimal" if res.status == 0 else "time_limit"
    return chosen, bound, max(gap, 0.0) if np.isfinite(gap) else math.inf, status


def solve_mclp(
    cover: sparse.sparray | sparse.spmatrix,
    weight: Any,
    *,
    k: int | None = None,
    cost: Any = None,
    budget: float | None = None,
    method: Method = "auto",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    exact_max_nonzeros: int = EXACT_MAX_NONZEROS,
    optimal_curve: bool = False,
) -> Solution:
    """Choose sites that cover the most demand weight: k sites, or sites within a budget.

    Parameters
    ----------
    cover
        Sparse demand x site coverage matrix (see :func:`coverage_matrix`).
    weight
        Non-negative weight of each demand point (zero for demand already covered).
    k
        Number of sites to choose (at most). Give either ``k`` or ``cost`` and ``budget``.
    cost, budget
        Cost of each site and the total budget.
    method
        ``"exact"`` (HiGHS MILP via scipy.optimize.milp), ``"greedy"`` (lazy greedy with a
        bound), or ``"auto"``: exact unless the reduced model has more than
        ``exact_max_nonzeros`` non-zeros.
    time_limit_s
        Time limit of the MILP (the LP bound of the greedy gets what the greedy leaves).
    exact_max_nonzeros
        Size threshold of ``"auto"``.
    optimal_curve
        Exact mode with ``k``: also solve for every k' = 1..k and return the optimal values.

    Returns
    -------
    Solution
        Chosen sites in order of marginal gain, objective, bound and gap.

    Raises
    ------
    ValidationError
        When neither or both of ``k`` and ``budget`` are given, or values are out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import sparse
    >>> cover = sparse.csr_array(np.array([[1, 0], [1, 1], [0, 1]], dtype=bool))
    >>> sol = solve_mclp(cover, [5.0, 1.0, 2.0], k=1)
    >>> sol.selected.tolist(), sol.objective
    ([0], 6.0)
    """
    started = time.perf_counter()
    matrix = sparse.csr_array(cover, dtype=bool)
    w = np.asarray(weight, dtype=float)
    if w.shape != (matrix.shape[0],):
        raise ValidationError(f"{w.size} weights for {matrix.shape[0]} demand points")
    if not np.all(np.isfinite(w)) or (w < 0).any():
        raise ValidationError("demand weights must be finite and not negative")
    if (k is None) == (budget is None):
        raise ValidationError("give either the number of cameras (k) or a budget, not both")
    site_cost: np.ndarray | None = None
    if k is not None and (int(k) != k or k < 1):
        raise ValidationError(f"k must be a whole number of at least 1, not {k}")
    if budget is not None:
        if not math.isfinite(budget) or budget <= 0:
            raise ValidationError(f"the budget must be a positive number, not {budget}")
        if cost is None:
            raise ValidationError("a budget needs a cost for every candidate site")
        site_cost = np.asarray(cost, dtype=float)
        if site_cost.shape != (matrix.shape[1],):
            raise ValidationError(f"{site_cost.size} costs for {matrix.shape[1]} candidate sites")
        if not np.all(np.isfinite(site_cost)) or (site_cost < 0).any():
            raise ValidationError("site costs must be finite and not negative")
    k = int(k) if k is not None else None

    red = _reduce(matrix, w, site_cost)
    n_groups, n_sites = red.cover.shape
    model = {
        "demand_points": int(matrix.shape[0]),
        "candidate_sites": int(matrix.shape[1]),
        "nonzeros": int(matrix.nnz),
        "demand_groups": int(n_groups),
        "reduced_sites": int(n_sites),
        "reduced_nonzeros": int(red.cover.nnz),
    }
    total = float(red.weight.sum())
    use_exact = method == "exact" or (method == "auto" and red.cover.nnz <= exact_max_nonzeros)

    def finish(chosen: Sequence[int], bound: float, gap: float | None, **kw: Any) -> Solution:
        local_order, gains = _greedy_order(red.cover, red.weight, chosen)
        objective = float(gains.sum())
        bound = max(min(bound, total), objective)
        if gap is None:
            gap = (bound - objective) / bound if bound > 0 else 0.0
        return Solution(
            selected=red.sites[local_order] if local_order.size else local_order,
            gains=gains,
            objective=objective,
            upper_bound=bound,
            gap=max(float(gap), 0.0),
            seconds=time.perf_counter() - started,
            model=model,
            **kw,
        )

    # Trivial cases: nothing to cover, or every useful site fits.
    fits_all = (k is not None and n_sites <= k) or (
        budget is not None and red.cost is not None and red.cost.sum() <= budget + 1e-9
    )
    if n_sites == 0 or fits_all:
        return finish(
            list(range(n_sites)), total, 0.0, method="exact", status="optimal",
            solver="trivial (every useful site fits)", bound_source="trivial",
        )

    if use_exact:
        chosen, bound, gap, status = _milp(
            red.cover, red.weight, k=k, cost=red.cost, budget=budget, time_limit_s=time_limit_s
        )
        if chosen is not None and status == "optimal":
            sol = finish(
                chosen, bound, gap, method="exact", status="optimal",
                solver="HiGHS (scipy.optimize.milp)", bound_source="milp",
            )
            if optimal_curve and k is not None:
                sol.optimal_by_k = [
                    _covered_weight(
                        red.cover, red.weight,
                        _milp(red.cover, red.weight, k=kk, cost=None, budget=None,
                              time_limit_s=time_limit_s)[0] or [],
                    )
                    for kk in range(1, sol.selected.size + 1)
                ]
            return sol
        # Time limit: improve on the incumbent with the greedy and keep the better one.
        g_chosen, _, g_bound = _lazy_greedy(
            red.cover, red.weight, k=k, cost=red.cost, budget=budget
        )
        best = chosen if chosen is not None else []
        if _covered_weight(red.cover, red.weight, g_chosen) > _covered_weight(
            red.cover, red.weight, best
        ):
            best = g_chosen
        return finish(
            best, min(bound, g_bound), None, method="exact", status="time_limit",
            solver="HiGHS (scipy.optimize.milp), time limit reached",
            bound_source="milp" if bound <= g_bound else "submodular",
        )

    g_chosen, _, g_bound = _lazy_greedy(red.cover, red.weight, k=k, cost=red.cost, budget=budget)
    bounds = {"submodular": g_bound}
    bounds["lagrangian"] = _lagrangian_bound(
        red.cover, red.weight, g_chosen, k=k, cost=red.cost, budget=budget,
        time_limit_s=max(1.0, time_limit_s / 6),
    )
    greedy_value = _covered_weight(red.cover, red.weight, g_chosen)
    remaining = time_limit_s - (time.perf_counter() - started)
    closed = min(bounds.values()) - greedy_value <= MIP_REL_GAP * max(greedy_value, 1.0)
    lp = None if closed else _lp_bound(
        red.cover, red.weight, k=k, cost=red.cost, budget=budget, time_limit_s=remaining
    )
    if lp is not None:
        bounds["lp_relaxation"] = lp
    source = min(bounds, key=bounds.__getitem__)
    return finish(
        g_chosen, bounds[source], None, method="greedy", status="heuristic",
        solver="lazy greedy (CELF)", bound_source=source,
    )


# --- plans on data frames ---------------------------------------------------------------------


def _check_frame(
    frame: pd.DataFrame, what: str, required: Sequence[str], id_column: str
) -> pd.DataFrame:
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValidationError(f"{what}: missing column(s) {', '.join(missing)}")
    out = frame.reset_index(drop=True).copy()
    for column in ("lon", "lat"):
        out[column] = pd.to_numeric(out[column], errors="coerce")
    bad = ~(out["lon"].between(-180, 180) & out["lat"].between(-90, 90))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise ValidationError(
            f"{what} row {i + 1} ({id_column} {out.at[i, id_column]}): "
            f"longitude/latitude {frame.iloc[i]['lon']!r}, {frame.iloc[i]['lat']!r} is not valid"
        )
    return out


@dataclass
class SitingPlan:
    """A CCTV plan: the chosen sites, the coverage curve and the figures behind them.

    Attributes
    ----------
    sites
        One row per chosen site in order of marginal gain: ``order``, ``site_id``, ``lon``,
        ``lat``, ``gain`` (weight it newly covers), ``cumulative_weight``, ``share_covered``
        (cumulative share of all risk), ``point_ids`` and ``categories`` (the risk points it
        newly covers and their category counts), ``categories_in_radius`` (every category
        within its radius), ``points_in_radius``, ``cost``,
        ``subdistrict_code``.
    demand
        Every demand point with ``id``, ``lon``, ``lat``, ``weight``, ``category`` and
        ``covered_by`` ("existing", the site order, or empty).
    curve
        Coverage curve k = 1..K: ``k``, ``covered_weight``, ``share_covered``,
        ``share_with_existing`` (and ``optimal_weight`` when computed).
    solution
        The solver's :class:`Solution`.
    """

    sites: pd.DataFrame
    demand: pd.DataFrame
    curve: list[dict[str, Any]]
    solution: Solution
    radius_m: float
    k: int | None
    budget: float | None
    metric: Metric
    crs: str
    total_weight: float
    existing_covered_weight: float
    candidates: int
    candidates_without_cost: int = 0
    existing_cameras: int = 0
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def covered_weight(self) -> float:
        """Weight newly covered by the proposed sites (the objective)."""
        return self.solution.objective

    @property
    def share_covered(self) -> float:
        """Share of all risk weight newly covered by the proposed sites."""
        return self.covered_weight / self.total_weight if self.total_weight > 0 else 0.0

    def summary(self) -> dict[str, Any]:
        """Return the top-level figures of the plan as a JSON-ready dictionary."""
        sol = self.solution
        spent = float(self.sites["cost"].fillna(0).sum()) if len(self.sites) else 0.0
        share_existing = (
            self.existing_covered_weight / self.total_weight if self.total_weight > 0 else 0.0
        )
        return {
            "objective": round(sol.objective, 6),
            "upper_bound": round(sol.upper_bound, 6),
            "gap": round(sol.gap, 9),
            "method": sol.method,
            "status": sol.status,
            "solver": sol.solver,
            "bound_source": sol.bound_source,
            "seconds": round(sol.seconds, 3),
            "radius_m": self.radius_m,
            "metric": self.metric,
            "crs": self.crs,
            "k": self.k,
            "budget": self.budget,
            "spent": round(spent, 2) if self.budget is not None else None,
            "sites": int(len(self.sites)),
            "total_weight": round(self.total_weight, 6),
            "covered_weight": round(self.covered_weight, 6),
            "share_covered": round(self.share_covered, 6),
            "existing_cameras": self.existing_cameras,
            "existing_covered_weight": round(self.existing_covered_weight, 6),
            "share_covered_with_existing": round(share_existing + self.share_covered, 6),
            "demand_points": int(len(self.demand)),
            "candidates": self.candidates,
            "candidates_without_cost": self.candidates_without_cost,
            "model": sol.model,
            **self.context,
        }

    def to_geojson(self) -> dict[str, Any]:
        """Return a FeatureCollection of the sites and their coverage circles.

        The top-level ``properties`` carry the objective, gap, solver, radius, k or budget,
        total and covered weight, share covered and the coverage curve.
        """
        features: list[dict[str, Any]] = []
        circles = coverage_circles(
            self.sites["lon"].to_numpy(float), self.sites["lat"].to_numpy(float),
            self.radius_m, metric=self.metric, crs=self.crs,
        )
        for row, circle in zip(self.sites.itertuples(index=False), circles, strict=True):
            props = {
                "kind": "site",
                "order": int(row.order),
                "site_id": str(row.site_id),
                "gain": round(float(row.gain), 6),
                "cumulative_weight": round(float(row.cumulative_weight), 6),
                "share_covered": round(float(row.share_covered), 6),
                "point_ids": list(row.point_ids),
                "categories": dict(row.categories),
                "categories_in_radius": list(row.categories_in_radius),
                "points_in_radius": int(row.points_in_radius),
                "cost": None if pd.isna(row.cost) else float(row.cost),
                "subdistrict_code": row.subdistrict_code,
                "subdistrict_th": getattr(row, "subdistrict_th", None),
                "site_category": None if pd.isna(row.site_category) else row.site_category,
                "radius_m": self.radius_m,
            }
            features.append(
                {
                    "type": "Feature",
                    "id": f"site-{int(row.order)}",
                    "geometry": {
                        "type": "Point",
                        "coordinates": [round(float(row.lon), 7), round(float(row.lat), 7)],
                    },
                    "properties": props,
                }
            )
            features.append(
                {
                    "type": "Feature",
                    "id": f"coverage-{int(row.order)}",
                    "geometry": shapely.geometry.mapping(circle),
                    "properties": {
                        "kind": "coverage",
                        "order": int(row.order),
                        "site_id": str(row.site_id),
                        "radius_m": self.radius_m,
                    },
                }
            )
        properties = self.summary()
        properties["curve"] = self.curve
        return json.loads(
            json.dumps(
                {"type": "FeatureCollection", "properties": properties, "features": features},
                default=_json_default,
            )
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple | set):
        return list(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


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


def plan_sites(
    demand: pd.DataFrame,
    candidates: pd.DataFrame,
    *,
    k: int | None = None,
    budget: float | None = None,
    radius_m: float = DEFAULT_RADIUS_M,
    existing: pd.DataFrame | None = None,
    metric: Metric = "utm",
    method: Method = "auto",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    exact_max_nonzeros: int = EXACT_MAX_NONZEROS,
    optimal_curve: bool = False,
) -> SitingPlan:
    """Plan CCTV sites over weighted demand points (the pure core behind ``com cctv``).

    Parameters
    ----------
    demand
        Columns ``id``, ``lon``, ``lat``, ``weight`` and optionally ``category``.
    candidates
        Columns ``site_id``, ``lon``, ``lat`` and optionally ``cost`` and
        ``subdistrict_code``. Sites without a cost are left out in budget mode.
    k, budget
        Number of cameras, or the budget (same unit as ``cost``).
    radius_m
        Camera coverage radius in metres.
    existing
        Installed cameras: ``lon``, ``lat`` and optionally ``radius_m`` (default
        ``radius_m``). The demand they cover counts as covered already and earns nothing.
    metric, method, time_limit_s, exact_max_nonzeros, optimal_curve
        See :func:`coverage_matrix` and :func:`solve_mclp`.

    Returns
    -------
    SitingPlan
        Sites in order of marginal gain, the demand with what covers it, and the curve.

    Raises
    ------
    ValidationError
        For missing columns, invalid coordinates or weights (naming the row), or bad options.
    """
    if not math.isfinite(radius_m) or not 0 < radius_m <= MAX_RADIUS_M:
        raise ValidationError(f"radius_m must be between 0 and {MAX_RADIUS_M:g} metres")
    if (k is None) == (budget is None):
        raise ValidationError("give either the number of cameras (k) or a budget, not both")
    if metric not in ("utm", "geodesic"):
        raise ValidationError(f"metric must be 'utm' or 'geodesic', not {metric!r}")
    if method not in ("auto", "exact", "greedy"):
        raise ValidationError(f"method must be 'auto', 'exact' or 'greedy', not {method!r}")
    dem = _check_frame(demand, "demand", ["id", "lon", "lat", "weight"], "id")
    dem["weight"] = pd.to_numeric(dem["weight"], errors="coerce")
    bad = ~np.isfinite(dem["weight"].to_numpy(float)) | (dem["weight"].to_numpy(float) < 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValidationError(
            f"demand row {i + 1} (id {dem.at[i, 'id']}): weight {demand.iloc[i]['weight']!r} "
            "is not a non-negative number"
        )
    if "category" not in dem.columns:
        dem["category"] = None
    cand = _check_frame(candidates, "candidate sites", ["site_id", "lon", "lat"], "site_id")
    if "cost" not in cand.columns:
        cand["cost"] = np.nan
    cand["cost"] = pd.to_numeric(cand["cost"], errors="coerce")
    without_cost = 0
    if budget is not None:
        has_cost = cand["cost"].notna().to_numpy()
        negative = (cand["cost"] < 0).to_numpy()
        if negative.any():
            i = int(np.flatnonzero(negative)[0])
            raise ValidationError(
                f"candidate site {cand.at[i, 'site_id']}: cost {cand.at[i, 'cost']} is negative"
            )
        without_cost = int((~has_cost).sum())
        cand = cand[has_cost].reset_index(drop=True)
        if cand.empty:
            raise ValidationError("no candidate site has a cost: give a cost file or a default")

    dlon, dlat = dem["lon"].to_numpy(float), dem["lat"].to_numpy(float)
    slon, slat = cand["lon"].to_numpy(float), cand["lat"].to_numpy(float)
    crs = utm_crs_for(dlon if dlon.size else slon)
    weight = dem["weight"].to_numpy(float)

    existing_mask = np.zeros(len(dem), dtype=bool)
    n_existing = 0
    if existing is not None and len(existing):
        cams = existing.reset_index(drop=True).copy()
        if "id" not in cams.columns:
            cams["id"] = np.arange(1, len(cams) + 1)
        cams = _check_frame(cams, "existing cameras", ["lon", "lat"], "id")
        radii = (
            pd.to_numeric(cams["radius_m"], errors="coerce").fillna(radius_m).to_numpy(float)
            if "radius_m" in cams.columns
            else np.full(len(cams), radius_m)
        )
        existing_mask = covered_by_cameras(
            dlon, dlat, cams["lon"], cams["lat"], radii, metric=metric, crs=crs
        )
        n_existing = len(cams)

    cover = coverage_matrix(dlon, dlat, slon, slat, radius_m=radius_m, metric=metric, crs=crs)
    solution = solve_mclp(
        cover,
        np.where(existing_mask, 0.0, weight),
        k=k,
        cost=cand["cost"].to_numpy(float) if budget is not None else None,
        budget=budget,
        method=method,
        time_limit_s=time_limit_s,
        exact_max_nonzeros=exact_max_nonzeros,
        optimal_curve=optimal_curve,
    )

    total_weight = float(weight.sum())
    existing_weight = float(weight[existing_mask].sum())
    order = solution.selected
    # Attribute each uncovered demand point to the first chosen site (in order) that covers it.
    covered_by = np.full(len(dem), -1, dtype=np.int64)
    if order.size:
        chosen_cover = sparse.csr_array(cover[:, order])
        chosen_cover.sort_indices()
        has = np.diff(chosen_cover.indptr) > 0
        covered_by[has] = chosen_cover.indices[chosen_cover.indptr[:-1][has]]
    covered_by[existing_mask] = -2
    by_site = sparse.csc_array(cover)
    by_site.sort_indices()
    points_in_radius = np.diff(by_site.indptr)

    rows = []
    cumulative = 0.0
    ids = dem["id"].to_numpy()
    categories = dem["category"].to_numpy()
    for pos, (j, gain) in enumerate(zip(order, solution.gains, strict=True)):
        mine = np.flatnonzero(covered_by == pos)
        cumulative += float(gain)
        cats = pd.Series(categories[mine]).fillna("unknown").value_counts()
        # Every category within reach, not only the newly covered ones: a site near a
        # sensitive point that an earlier site already covers still gives its place away.
        reach = by_site.indices[by_site.indptr[j]:by_site.indptr[j + 1]]
        in_radius = sorted({str(c) for c in pd.Series(categories[reach]).fillna("unknown")})
        rows.append(
            {
                "order": pos + 1,
                "site_id": cand.at[int(j), "site_id"],
                "lon": float(slon[j]),
                "lat": float(slat[j]),
                "gain": float(gain),
                "cumulative_weight": cumulative,
                "share_covered": cumulative / total_weight if total_weight > 0 else 0.0,
                "point_ids": [_plain(v) for v in ids[mine]],
                "categories": {str(c): int(n) for c, n in cats.items()},
                "categories_in_radius": in_radius,
                "points_in_radius": int(points_in_radius[j]),
                "cost": cand.at[int(j), "cost"],
                "subdistrict_code": cand.at[int(j), "subdistrict_code"]
                if "subdistrict_code" in cand.columns
                else None,
                "site_category": cand.at[int(j), "category"] if "category" in cand.columns
                else None,
            }
        )
    sites = pd.DataFrame(
        rows,
        columns=[
            "order", "site_id", "lon", "lat", "gain", "cumulative_weight", "share_covered",
            "point_ids", "categories", "categories_in_radius", "points_in_radius", "cost",
            "subdistrict_code", "site_category",
        ],
    )
    share_existing = existing_weight / total_weight if total_weight > 0 else 0.0
    curve = [
        {
            "k": int(r.order),
            "covered_weight": round(float(r.cumulative_weight), 6),
            "share_covered": round(float(r.share_covered), 6),
            "share_with_existing": round(float(r.share_covered) + share_existing, 6),
        }
        for r in sites.itertuples(index=False)
    ]
    if solution.optimal_by_k is not None:
        for point, best in zip(curve, solution.optimal_by_k, strict=False):
            point["optimal_weight"] = round(best, 6)
    demand_out = dem[["id", "lon", "lat", "weight", "category"]].copy()
    demand_out["covered_by"] = [
        "existing" if c == -2 else ("" if c < 0 else str(c + 1)) for c in covered_by
    ]
    return SitingPlan(
        sites=sites,
        demand=demand_out,
        curve=curve,
        solution=solution,
        radius_m=float(radius_m),
        k=k,
        budget=budget,
        metric=metric,
        crs=crs if metric == "utm" else "geodesic (WGS84)",
        total_weight=total_weight,
        existing_covered_weight=existing_weight,
        candidates=int(len(cand)),
        candidates_without_cost=without_cost,
        existing_cameras=n_existing,
    )


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


# --- candidate sites --------------------------------------------------------------------------


def grid_sites(
    area: shapely.Geometry,
    spacing_m: float,
    *,
    crs: str | None = None,
    max_sites: int = MAX_GRID_CANDIDATES,
    limit_note: str = "",
) -> pd.DataFrame:
    """Return a regular grid of candidate sites ``spacing_m`` apart inside ``area`` (WGS84).

    The grid is laid out in UTM metres (cell centres on multiples of the spacing plus a half),
    so the same area and spacing always give the same sites. More than ``max_sites`` sites
    (``limit_note`` says whose limit that is) is a ValidationError, raised before the grid is
    built when its bounding box alone holds twice as many.
    """
    if not math.isfinite(spacing_m) or spacing_m < 10:
        raise ValidationError(f"grid spacing must be at least 10 m, not {spacing_m}")
    if area is None or area.is_empty:
        raise ValidationError("the area for the grid is empty")
    crs = crs or utm_crs_for(shapely.get_coordinates(area)[:, 0])
    forward = transformer(crs)
    area_m = shapely.transform(
        area, lambda c: np.column_stack(forward.transform(c[:, 0], c[:, 1]))
    )
    minx, miny, maxx, maxy = area_m.bounds
    xs = np.arange(math.floor(minx / spacing_m) * spacing_m + spacing_m / 2, maxx, spacing_m)
    ys = np.arange(math.floor(miny / spacing_m) * spacing_m + spacing_m / 2, maxy, spacing_m)
    if xs.size * ys.size > max_sites * 2:
        raise ValidationError(
            f"a {spacing_m:g} m grid over this area has about {xs.size * ys.size:,} sites, "
            f"more than {max_sites:,}{limit_note}; choose a wider spacing or a district"
        )
    mesh_x, mesh_y = np.meshgrid(xs, ys)
    gx, gy = mesh_x.ravel(), mesh_y.ravel()
    shapely.prepare(area_m)
    inside = shapely.contains_xy(area_m, gx, gy)
    gx, gy = gx[inside], gy[inside]
    if gx.size > max_sites:
        raise ValidationError(
            f"a {spacing_m:g} m grid gives {gx.size:,} sites, more than {max_sites:,}"
            f"{limit_note}; choose a wider spacing"
        )
    lon, lat = transformer(crs, inverse=True).transform(gx, gy)
    return pd.DataFrame(
        {
            "site_id": [f"grid-{int(x)}-{int(y)}" for x, y in zip(gx, gy, strict=True)],
            "lon": np.asarray(lon),
            "lat": np.asarray(lat),
        }
    )


def parse_candidates(spec: str) -> tuple[str, Any]:
    """Parse a ``--candidates`` value.

    ``points`` (the risk points themselves), ``grid:SPACING_M`` (a regular grid inside the
    area), ``sites`` (uploaded candidate sites of the area), ``sites:UPLOAD_ID`` (those of
    one upload) or a file path.

    Examples
    --------
    >>> parse_candidates("grid:250")
    ('grid', 250.0)
    >>> parse_candidates("points")
    ('points', None)
    >>> parse_candidates("sites:12")
    ('sites', 12)
    """
    text = str(spec).strip()
    lower = text.lower()
    if lower in ("points", "risk_points", ""):
        return "points", None
    if lower.startswith("grid") and not Path(text).suffix:
        _, _, value = text.partition(":")
        try:
            spacing = float(value) if value else 250.0
        except ValueError as exc:
            raise ValidationError(
                f"candidates {spec!r}: write grid:SPACING in metres, e.g. grid:250"
            ) from exc
        return "grid", spacing
    if lower == "sites" or (lower.startswith("sites:") and not Path(text).suffix):
        _, _, value = text.partition(":")
        if not value:
            return "sites", None
        if not value.strip().isdigit():
            raise ValidationError(f"candidates {spec!r}: write sites:UPLOAD_ID, e.g. sites:12")
        return "sites", int(value)
    return "file", Path(text)


#: Names of a cost column (Thai first); the upload kind "sites" recognises the same names.
COST_NAMES = ("ราคา", "ค่าใช้จ่าย", "ค่าติดตั้ง", "งบประมาณ", "ต้นทุน", "ราคาติดตั้ง", "cost",
              "price", "install cost", "budget")
_SITE_ID_NAMES = ("site_id", "site", "รหัสจุด", "รหัส", "id", "ชื่อจุด", "ชื่อ", "name")


def build_site(row: Any) -> Any:
    """Build a candidate site record for the upload kind ``sites``: name, cost, attributes.

    A cost that is not an amount >= 0 ("12,000 บาท" and Thai digits are read) is left empty
    with a warning: the site stays usable with ``k`` cameras.
    """
    from com.ingest import BuiltRecord

    attributes = dict(row.extra)
    note = row.text("note")
    if note:
        attributes["note"] = note
    cost = None
    raw = row.get("cost")
    if raw is not None:
        cost = read_cost(raw)
        if cost is None:
            row.warnings.append(f"cost {raw!r} is not an amount >= 0; left empty")
            attributes["cost_raw"] = str(raw)
    return BuiltRecord(
        values={"name": row.text("name"), "cost": cost, "attributes": attributes},
        dedupe_key="",
    )


def read_cost(raw: Any) -> float | None:
    """Read an amount such as ``12000``, ``"12,000 บาท"`` or ``"๑๒,๐๐๐"``; None if invalid.

    Examples
    --------
    >>> read_cost("12,000 บาท"), read_cost("๕๐๐"), read_cost("-3"), read_cost("ฟรี")
    (12000.0, 500.0, None, None)
    """
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        value = float(raw)
    else:
        from com.text.thai import clean_text, to_arabic_digits

        text = to_arabic_digits(clean_text(str(raw))).lower()
        for unit in ("บาท", "baht", "thb", "฿"):
            text = text.replace(unit, "")
        try:
            value = float(text.replace(",", "").strip())
        except ValueError:
            return None
    return value if math.isfinite(value) and value >= 0 else None


def read_points_file(
    path: Path | str,
    *,
    kind: Literal["sites", "cameras"] = "sites",
    settings: Any = None,
    zone_hint: int | None = None,
) -> pd.DataFrame:
    """Read candidate sites or cameras from any file the import machinery reads.

    CSV (any encoding), XLSX/XLS, KML/KMZ, GeoJSON, GeoPackage or zipped Shapefile, with
    coordinates in any supported form (decimal, DMS, UTM 47/48, MGRS, Google Maps links);
    nothing is stored. Returns ``site_id``, ``name``, ``lon``, ``lat`` and ``cost`` (sites)
    or ``radius_m`` (cameras).

    Raises
    ------
    ValidationError
        Naming the first row that cannot be placed (row number, column and reason).
    """
    from com.ingest import KINDS, ImportOptions, prepare_rows
    from com.readers import read_table

    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"{kind} file {path} does not exist")
    table = read_table(path.read_bytes(), path.name, extra_fields=KINDS[kind].extra_fields)
    rows, _, _ = prepare_rows(
        table, options=ImportOptions(kind=kind), settings=settings, zone_hint=zone_hint,
        geocoder=_no_geocoder,
    )
    rejected = [r for r in rows if r.status == "rejected"]
    if rejected:
        first = rejected[0]
        column = f" ({first.column})" if first.column else ""
        more = f"; {len(rejected) - 1} more rows rejected" if len(rejected) > 1 else ""
        raise ValidationError(f"{path.name} row {first.row_number}{column}: {first.reason}{more}")
    placed = [r for r in rows if r.target == "main" and r.lon is not None and r.lat is not None]
    if not placed:
        raise ValidationError(f"{path.name}: no {kind} with coordinates")
    names = [r.record.get("name") for r in placed]
    ids = [str(n) if n else f"{path.stem}-{r.row_number}" for n, r in zip(names, placed,
                                                                             strict=True)]
    counts = pd.Series(ids).value_counts()
    ids = [f"{i}#{r.row_number}" if counts[i] > 1 else i for i, r in zip(ids, placed,
                                                                          strict=True)]
    out = pd.DataFrame(
        {
            "site_id": ids,
            "name": names,
            "lon": [float(r.lon) for r in placed],  # type: ignore[arg-type]
            "lat": [float(r.lat) for r in placed],  # type: ignore[arg-type]
        }
    )
    extra = "cost" if kind == "sites" else "radius_m"
    out[extra] = pd.to_numeric(
        pd.Series([r.record.get(extra) for r in placed], dtype=object), errors="coerce"
    )
    return out


def _no_geocoder(address: str, **_: Any) -> Any:
    # Sites and cameras need coordinates (their kinds refuse address-only rows before any
    # geocoding); this keeps prepare_rows from loading the gazetteer for nothing.
    raise ValidationError("sites and cameras need coordinates")


def read_costs(path: Path | str) -> dict[str, float]:
    """Read a cost file: a site id column (site_id/รหัส/ชื่อ) and a cost column (cost/ราคา).

    Raises
    ------
    ValidationError
        When a column is missing or a cost is not an amount >= 0 (naming the row).
    """
    from com.readers import header_key, read_table

    path = Path(path)
    if not path.is_file():
        raise ValidationError(f"cost file {path} does not exist")
    table = read_table(path.read_bytes(), path.name)
    keys = [header_key(c) for c in table.columns]

    def column(names: Sequence[str]) -> int | None:
        for name in names:
            if header_key(name) in keys:
                return keys.index(header_key(name))
        return None

    id_col, cost_col = column(_SITE_ID_NAMES), column(COST_NAMES)
    if id_col is None or cost_col is None:
        raise ValidationError(
            f"{path.name}: needs a site id column (site_id/รหัส/ชื่อ) and a cost column "
            f"(cost/ราคา/ค่าใช้จ่าย); found {', '.join(map(str, table.columns))}"
        )
    costs: dict[str, float] = {}
    for number, row in zip(table.row_numbers, table.rows, strict=True):
        cost = read_cost(row[cost_col]) if row[cost_col] not in (None, "") else None
        if cost is None:
            raise ValidationError(
                f"{path.name} row {number}: cost {row[cost_col]!r} is not an amount >= 0"
            )
        site = row[id_col]
        if isinstance(site, float) and site.is_integer():
            site = int(site)
        costs[str(site).strip()] = cost
    return costs


def apply_costs(
    candidates: pd.DataFrame, costs: Mapping[str, float] | None, default_cost: float | None
) -> pd.DataFrame:
    """Set the ``cost`` column of candidates from a site-id map and a default."""
    out = candidates.copy()
    if "cost" not in out.columns:
        out["cost"] = np.nan
    out["cost"] = pd.to_numeric(out["cost"], errors="coerce")
    if costs:
        mapped = out["site_id"].astype(str).map(costs)
        out["cost"] = mapped.where(mapped.notna(), out["cost"])
    if default_cost is not None:
        if not math.isfinite(default_cost) or default_cost < 0:
            raise ValidationError(f"the default cost must be >= 0, not {default_cost}")
        out["cost"] = out["cost"].fillna(float(default_cost))
    return out


# --- demand weights ---------------------------------------------------------------------------


def demand_weights(
    points: pd.DataFrame, *, as_of: date | None = None, severity_config: Path | None = None
) -> pd.Series:
    """Weight of each risk point from the severity model: the same weights as the ranking.

    Category weight x severity x recency x incident count (:func:`com.risk.point_weights`).
    """
    from com import risk

    model = load_severity_model(severity_config)
    return risk.point_weights(points, model, as_of=as_of or date.today()).astype(float)


# --- limits for callers below the planner role -----------------------------------------------


_NON_PLANNERS = "a viewer or read-only key"


@dataclass(frozen=True)
class PlanLimits:
    """Caps on the work a plan may ask, for callers below the planner role (issue 11).

    Planners and admins plan without them; viewers and read keys may explore, not run
    national optimisations. Each limit is a setting named in the error that refuses a plan.

    Attributes
    ----------
    max_k
        Most cameras (``COM_CCTV_MAX_K``).
    max_candidates
        Most candidate sites given inline or laid out as a grid (``COM_CCTV_MAX_CANDIDATES``).
    max_time_limit_s
        Longest solver time limit (``COM_CCTV_MAX_TIME_LIMIT_S``); the default is cut to it.
    min_radius_m
        Smallest radius around sites or cameras the caller places (inline or a grid;
        ``COM_CCTV_MIN_RADIUS_M``).

    Examples
    --------
    >>> limits = PlanLimits(max_k=100, max_candidates=20_000, max_time_limit_s=10,
    ...                     min_radius_m=50)
    >>> limits.time_limit(None)
    10.0
    >>> limits.check(k=2000, radius_m=200, candidates="points", existing="db")
    Traceback (most recent call last):
    ...
    com.errors.ValidationError: k = 2,000 cameras is more than 100, ...
    """

    max_k: int
    max_candidates: int
    max_time_limit_s: float
    min_radius_m: float

    @classmethod
    def from_settings(cls, settings: Any) -> PlanLimits:
        """Read the limits from :class:`com.config.settings.Settings` (``COM_CCTV_*``)."""
        return cls(
            max_k=int(settings.cctv_max_k),
            max_candidates=int(settings.cctv_max_candidates),
            max_time_limit_s=float(settings.cctv_max_time_limit_s),
            min_radius_m=float(settings.cctv_min_radius_m),
        )

    @property
    def candidates_note(self) -> str:
        """Where the candidate limit comes from, for the messages that refuse a grid."""
        return (
            f", the most {_NON_PLANNERS} may use (COM_CCTV_MAX_CANDIDATES)"
            f" / เสนอจุดติดตั้งได้ไม่เกิน {self.max_candidates:,} จุดสำหรับผู้ชมและคีย์อ่านอย่างเดียว"
        )

    def time_limit(self, requested: float | None) -> float:
        """Return the solver time limit to use; refuse one above ``max_time_limit_s``."""
        if requested is None:
            return float(min(DEFAULT_TIME_LIMIT_S, self.max_time_limit_s))
        if requested > self.max_time_limit_s:
            raise ValidationError(
                f"time_limit_s = {requested:g} s is more than {self.max_time_limit_s:g} s, the "
                f"longest {_NON_PLANNERS} may ask (COM_CCTV_MAX_TIME_LIMIT_S)"
                f" / กำหนดเวลาคำนวณได้ไม่เกิน {self.max_time_limit_s:g} วินาที"
            )
        return float(requested)

    def check(
        self,
        *,
        k: int | None,
        radius_m: float,
        candidates: str | pd.DataFrame,
        existing: pd.DataFrame | str | None,
    ) -> None:
        """Raise ValidationError naming the limit when a plan asks more than these allow.

        The radius limit holds when the caller places the sites (an inline list or a grid)
        or the cameras (an inline list; their own radius, else ``radius_m``).
        """
        if k is not None and k > self.max_k:
            raise ValidationError(
                f"k = {k:,} cameras is more than {self.max_k:,}, the most {_NON_PLANNERS} may "
                f"ask (COM_CCTV_MAX_K); a planner can plan more"
                f" / วางกล้องได้ไม่เกิน {self.max_k:,} ตัวต่อแผนสำหรับผู้ชมและคีย์อ่านอย่างเดียว"
            )
        placed = isinstance(candidates, pd.DataFrame)
        if placed and len(candidates) > self.max_candidates:
            raise ValidationError(
                f"{len(candidates):,} candidate sites are more than {self.max_candidates:,}"
                f"{self.candidates_note}"
            )
        if not placed:
            placed = parse_candidates(str(candidates))[0] == "grid"
        radii = [radius_m] if placed else []
        if isinstance(existing, pd.DataFrame) and len(existing):
            given = (
                pd.to_numeric(existing["radius_m"], errors="coerce").fillna(radius_m)
                if "radius_m" in existing.columns
                else pd.Series([radius_m])
            )
            radii.append(float(given.min()))
        if radii and min(radii) < self.min_radius_m:
            raise ValidationError(
                f"a radius of {min(radii):g} m is less than {self.min_radius_m:g} m, the "
                f"smallest {_NON_PLANNERS} may use around sites or cameras of their own "
                f"(COM_CCTV_MIN_RADIUS_M)"
                f" / รัศมีรอบจุดที่กำหนดเองต้องไม่น้อยกว่า {self.min_radius_m:g} เมตร"
            )


def limits_for(principal: Any, settings: Any) -> PlanLimits | None:
    """Return the caps on ``principal``'s plans: None for planners, admins and the CLI."""
    if principal is not None and principal.has_role("planner"):
        return None
    return PlanLimits.from_settings(settings)


# --- database edge ----------------------------------------------------------------------------


def _area_filter(table: Any, province: str, district: str | None) -> list[Any]:
    conditions = [table.c.province_code == province]
    if district:
        conditions.append(table.c.district_code == district)
    return conditions


def check_area(conn: Connection, *, province: str, district: str | None = None) -> None:
    """Raise NotFoundError/ValidationError unless the province (and district in it) exist."""
    from com.db.tables import District, Province

    if not conn.execute(
        sa.select(Province.code).where(Province.code == str(province))
    ).first():
        raise NotFoundError(f"province {province} does not exist")
    if district is not None:
        row = conn.execute(
            sa.select(District.province_code).where(District.code == str(district))
        ).first()
        if row is None:
            raise NotFoundError(f"district {district} does not exist")
        if row[0] != str(province):
            raise ValidationError(f"district {district} is not in province {province}")


def load_demand(
    conn: Connection,
    *,
    province: str,
    district: str | None = None,
    as_of: date | None = None,
    severity_config: Path | None = None,
    coarsen: Iterable[str] = (),
) -> pd.DataFrame:
    """Return the risk points of an area as demand: id, lon, lat, weight, category, codes.

    Points of a category in ``coarsen`` (the sensitive ones, for a caller without the
    ``sensitive`` permission) stand at their subdistrict's representative point, and those in
    no subdistrict are left out: the rule by which the OGC API, tiles, exports and the map
    serve them (:mod:`com.ogc`, :mod:`com.maps`), so a plan computed on this demand tells
    no more than those do.
    """
    from com.db.tables import RiskPoint, Subdistrict

    rp = RiskPoint.__table__
    hidden = sorted(set(coarsen))
    geom: Any = rp.c.geom
    from_: Any = rp
    conditions = _area_filter(rp, province, district)
    if hidden:
        rep = Subdistrict.__table__.alias("rep")
        is_hidden = rp.c.category.in_(hidden)
        geom = sa.case((is_hidden, rep.c.rep_point), else_=rp.c.geom)
        from_ = rp.outerjoin(rep, rep.c.code == rp.c.subdistrict_code)
        conditions.append(sa.or_(sa.not_(is_hidden), rep.c.rep_point.is_not(None)))
    query = sa.select(
        rp.c.id,
        sa.func.ST_X(geom).label("lon"),
        sa.func.ST_Y(geom).label("lat"),
        rp.c.category,
        rp.c.severity,
        rp.c.incident_count,
        rp.c.reported_on,
        rp.c.subdistrict_code,
        rp.c.district_code,
    ).select_from(from_).where(*conditions).order_by(rp.c.id)
    frame = pd.DataFrame(conn.execute(query).mappings().all(),
                         columns=["id", "lon", "lat", "category", "severity", "incident_count",
                                  "reported_on", "subdistrict_code", "district_code"])
    frame["weight"] = demand_weights(frame, as_of=as_of, severity_config=severity_config) if len(
        frame
    ) else pd.Series(dtype=float)
    return frame


def area_geometry(
    conn: Connection, *, province: str, district: str | None = None
) -> shapely.Geometry:
    """Return the WGS84 polygon of a province or district."""
    from com.db.tables import District, Province

    table = District if district else Province
    code = district if district else province
    wkb = conn.execute(
        sa.select(sa.func.ST_AsBinary(table.geom)).where(table.code == str(code))
    ).scalar()
    if wkb is None:
        raise NotFoundError(f"{'district' if district else 'province'} {code} does not exist")
    return shapely.from_wkb(bytes(wkb))


def load_cameras(
    conn: Connection, *, province: str, district: str | None = None, margin_m: float = 10_000.0
) -> pd.DataFrame:
    """Return installed cameras in or near an area (those across the border cover too)."""
    from com.db.tables import Camera, District, Province

    cam = Camera.__table__
    area = District if district else Province
    code = district if district else province
    envelope = (
        sa.select(sa.func.ST_Expand(sa.func.ST_Envelope(area.geom), margin_m / 100_000.0))
        .where(area.code == str(code))
        .scalar_subquery()
    )
    query = sa.select(
        cam.c.id, sa.func.ST_X(cam.c.geom).label("lon"), sa.func.ST_Y(cam.c.geom).label("lat"),
        cam.c.radius_m, cam.c.name,
    ).where(cam.c.geom.op("&&")(envelope)).order_by(cam.c.id)
    return pd.DataFrame(conn.execute(query).mappings().all(),
                        columns=["id", "lon", "lat", "radius_m", "name"])


def site_subdistricts(conn: Connection, lon: Sequence[float], lat: Sequence[float]) -> pd.DataFrame:
    """Return the subdistrict code and Thai name of each point (containing, else nearest 1 km)."""
    from com.db.engine import sql

    if len(lon) == 0:
        return pd.DataFrame(columns=["subdistrict_code", "subdistrict_th"])
    rows = conn.execute(
        sql("siting_site_subdistricts"),
        {"lons": [float(v) for v in lon], "lats": [float(v) for v in lat]},
    ).mappings().all()
    by_position = {int(r["i"]): r for r in rows}
    return pd.DataFrame(
        [
            {
                "subdistrict_code": by_position[i]["code"] if i in by_position else None,
                "subdistrict_th": by_position[i]["name_th"] if i in by_position else None,
            }
            for i in range(1, len(lon) + 1)
        ]
    )


def load_sites(
    conn: Connection,
    *,
    province: str,
    district: str | None = None,
    upload_id: int | None = None,
) -> pd.DataFrame:
    """Return uploaded candidate sites (kind ``sites``) of an area, or of one upload."""
    from com.db.tables_siting import candidate_sites as table

    query = sa.select(
        table.c.id, table.c.name, sa.func.ST_X(table.c.geom).label("lon"),
        sa.func.ST_Y(table.c.geom).label("lat"), table.c.cost, table.c.subdistrict_code,
    ).where(*_area_filter(table, province, district)).order_by(table.c.id)
    if upload_id is not None:
        query = query.where(table.c.source_upload_id == int(upload_id))
    frame = pd.DataFrame(conn.execute(query).mappings().all(),
                         columns=["id", "name", "lon", "lat", "cost", "subdistrict_code"])
    frame.insert(0, "site_id", [f"site-{i}" for i in frame.pop("id")])
    frame["cost"] = pd.to_numeric(frame["cost"], errors="coerce")
    return frame


def candidate_sites(
    conn: Connection,
    spec: str | pd.DataFrame,
    *,
    demand: pd.DataFrame,
    province: str,
    district: str | None = None,
    settings: Any = None,
    limits: PlanLimits | None = None,
) -> tuple[pd.DataFrame, str]:
    """Return the candidate sites for a spec (see :func:`parse_candidates`) and its label.

    A ready frame (``site_id``, ``lon``, ``lat`` and optionally ``cost``) is used as given.
    A grid holds at most ``limits.max_candidates`` sites when ``limits`` are given.
    """
    if isinstance(spec, pd.DataFrame):
        return spec, "given"
    kind, value = parse_candidates(spec)
    if kind == "points":
        sites = demand[["id", "lon", "lat", "subdistrict_code", "category"]].rename(
            columns={"id": "site_id"}
        )
        sites["site_id"] = sites["site_id"].astype(str)
        return sites, "points"
    if kind == "grid":
        area = area_geometry(conn, province=province, district=district)
        if limits is not None:
            grid = grid_sites(area, value, max_sites=limits.max_candidates,
                              limit_note=limits.candidates_note)
        else:
            grid = grid_sites(area, value)
        return grid, f"grid:{value:g}"
    if kind == "sites":
        sites = load_sites(conn, province=province, district=district, upload_id=value)
        if sites.empty:
            where = f"upload {value}" if value is not None else "this area"
            raise ValidationError(
                f"no uploaded candidate sites in {where}: import them with "
                "`com import FILE --kind sites --province CODE`"
            )
        return sites, "sites" if value is None else f"sites:{value}"
    zone = utm_zone(float(demand["lon"].median()))
    return (
        read_points_file(value, kind="sites", settings=settings, zone_hint=zone),
        f"file:{Path(value).name}",
    )


def plan_for_area(
    conn: Connection,
    *,
    province: str,
    district: str | None = None,
    k: int | None = None,
    budget: float | None = None,
    costs: Mapping[str, float] | None = None,
    default_cost: float | None = None,
    radius_m: float = DEFAULT_RADIUS_M,
    candidates: str | pd.DataFrame = "points",
    existing: pd.DataFrame | Literal["db", "none"] = "db",
    metric: Metric = "utm",
    method: Method = "auto",
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    exact_max_nonzeros: int = EXACT_MAX_NONZEROS,
    optimal_curve: bool = False,
    as_of: date | None = None,
    settings: Any = None,
    coarsen_sensitive: bool = False,
    limits: PlanLimits | None = None,
) -> SitingPlan:
    """Plan CCTV sites for a province or district from the stored risk points.

    Parameters
    ----------
    conn
        Database connection.
    province, district
        Area codes (``"32"``, ``"3210"``).
    k, budget
        Number of cameras, or a budget with ``costs`` (site id -> cost) and/or
        ``default_cost`` (or a ``cost`` column in a candidate file).
    radius_m
        Coverage radius in metres.
    candidates
        ``"points"``, ``"grid:250"``, ``"sites"``, ``"sites:UPLOAD_ID"``, a file path or a
        frame of sites (see :func:`parse_candidates`).
    existing
        ``"db"`` (cameras table), ``"none"``, or a frame of cameras (lon, lat[, radius_m]).
    metric, method, time_limit_s, exact_max_nonzeros, optimal_curve
        Passed to :func:`plan_sites` (``time_limit_s`` None: the default, within ``limits``).
    as_of
        Date the recency of risk points is measured from (default today).
    settings
        :class:`com.config.settings.Settings` (severity model override, default province).
    coarsen_sensitive
        Plan on the coarsened positions of sensitive points (:func:`load_demand`): for
        callers without the ``sensitive`` permission (:func:`plan_for_principal`), whom every
        figure of the plan (coverage, gains, the curve) must tell no more than the coarsened
        data do.
    limits
        Caps on the work asked (:class:`PlanLimits`; None: no caps).

    Returns
    -------
    SitingPlan
        The plan, with each site's subdistrict filled in from PostGIS.

    Raises
    ------
    ValidationError
        For bad options, or a request beyond ``limits`` (naming the limit).
    """
    if limits is not None:
        limits.check(k=k, radius_m=radius_m, candidates=candidates, existing=existing)
        time_limit_s = limits.time_limit(time_limit_s)
    elif time_limit_s is None:
        time_limit_s = DEFAULT_TIME_LIMIT_S
    check_area(conn, province=str(province), district=district)
    demand = load_demand(
        conn, province=str(province), district=district, as_of=as_of,
        severity_config=getattr(settings, "severity_config", None),
        coarsen=sensitive_categories(settings) if coarsen_sensitive else (),
    )
    if demand.empty:
        raise ValidationError(
            f"no risk points in {'district ' + district if district else 'province ' + province}"
        )
    sites, source = candidate_sites(
        conn, candidates, demand=demand, province=str(province), district=district,
        settings=settings, limits=limits,
    )
    if budget is not None:
        sites = apply_costs(sites, costs, default_cost)
    if isinstance(existing, str):
        cams = (
            load_cameras(conn, province=str(province), district=district,
                         margin_m=max(radius_m, 1000.0) * 2)
            if existing == "db"
            else None
        )
    else:
        cams = existing
    plan = plan_sites(
        demand, sites, k=k, budget=budget, radius_m=radius_m, existing=cams, metric=metric,
        method=method, time_limit_s=time_limit_s, exact_max_nonzeros=exact_max_nonzeros,
        optimal_curve=optimal_curve,
    )
    if len(plan.sites):
        found = site_subdistricts(conn, plan.sites["lon"].tolist(), plan.sites["lat"].tolist())
        plan.sites["subdistrict_code"] = found["subdistrict_code"].to_numpy()
        plan.sites["subdistrict_th"] = found["subdistrict_th"].to_numpy()
    plan.context = {
        "province_code": str(province),
        "district_code": district,
        "candidate_source": source,
        "as_of": (as_of or date.today()).isoformat(),
        "sensitive_exact": not coarsen_sensitive,
    }
    return plan


def plan_for_principal(
    conn: Connection,
    principal: Any,
    *,
    settings: Any,
    client: str | None = None,
    **options: Any,
) -> SitingPlan:
    """Plan as ``principal`` may, and write a ``cctv.plan.compute`` audit row.

    The one place the API and the CLI decide how a caller plans: with exact positions only
    for those who may see sensitive points exactly (otherwise on the coarsened demand, see
    :func:`plan_for_area`), within :func:`limits_for` below the planner role. Every plan
    computed is audited, saved or not (saving writes its own ``cctv.plan`` row).

    Parameters
    ----------
    conn
        Database connection of the caller's transaction (the audit row is written in it).
    principal
        The caller (:class:`com.security.access.Principal`).
    settings
        :class:`com.config.settings.Settings` (severity model, ``COM_CCTV_*`` limits).
    client
        Client address for the audit row.
    **options
        Passed to :func:`plan_for_area` (province, district, k, budget, candidates, ...).

    Returns
    -------
    SitingPlan
        The plan; show it with :func:`plan_for` (which redacts what the caller may not see).

    Raises
    ------
    ValidationError
        For bad options or a request beyond the caller's limits.
    """
    from com.security.audit import record

    exact = bool(getattr(principal, "sees_sensitive", False))
    plan = plan_for_area(
        conn, settings=settings, coarsen_sensitive=not exact,
        limits=limits_for(principal, settings), **options,
    )
    covered = plan.demand.loc[
        ~plan.demand["covered_by"].isin(["", "existing"]), "id"
    ].tolist()
    summary = plan.summary()
    record(
        conn,
        principal=principal,
        action="cctv.plan.compute",
        target=f"area:{summary.get('district_code') or summary.get('province_code')}",
        record_ids=covered[:_AUDIT_MAX_IDS],
        details={
            key: summary.get(key)
            for key in ("province_code", "district_code", "k", "budget", "radius_m",
                        "candidate_source", "candidates", "sites", "objective", "method",
                        "sensitive_exact")
        } | {"covered_points": len(covered)},
        client=client,
    )
    return plan


# An audit row lists at most this many covered point ids (``covered_points`` counts them all).
_AUDIT_MAX_IDS = 1000


def save_plan(
    conn: Connection,
    plan: SitingPlan,
    *,
    name: str,
    principal: Any,
    params: Mapping[str, Any] | None = None,
    client: str | None = None,
) -> int:
    """Store a plan in ``cctv_plans`` and write a ``cctv.plan`` audit row; return its id."""
    from com.db.tables_siting import cctv_plans
    from com.security.audit import record

    name = (name or "").strip()
    if not name:
        raise ValidationError("a saved plan needs a name")
    geojson = plan.to_geojson()
    props = geojson["properties"]
    plan_id = conn.execute(
        sa.insert(cctv_plans)
        .values(
            name=name,
            province_code=props.get("province_code"),
            district_code=props.get("district_code"),
            params=json.loads(json.dumps(dict(params or {}), default=_json_default)),
            method=plan.solution.method,
            objective=plan.solution.objective,
            gap=plan.solution.gap,
            total_weight=plan.total_weight,
            covered_weight=plan.covered_weight,
            created_by=getattr(principal, "name", None),
            result=geojson,
        )
        .returning(cctv_plans.c.id)
    ).scalar_one()
    record(
        conn,
        principal=principal,
        action="cctv.plan",
        target=f"cctv_plan:{plan_id}",
        record_ids=[plan_id],
        details={
            "name": name,
            "province_code": props.get("province_code"),
            "district_code": props.get("district_code"),
            "sites": props["sites"],
            "objective": props["objective"],
            "gap": props["gap"],
        },
        client=client,
    )
    return int(plan_id)


_PLAN_COLUMNS = (
    "id", "name", "province_code", "district_code", "params", "method", "objective", "gap",
    "total_weight", "covered_weight", "created_by", "created_at",
)


def list_plans(
    conn: Connection, *, province: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Return saved plans (without their GeoJSON), newest first."""
    from com.db.tables_siting import cctv_plans

    query = (
        sa.select(*(cctv_plans.c[c] for c in _PLAN_COLUMNS))
        .order_by(cctv_plans.c.id.desc())
        .limit(max(1, min(int(limit), 1000)))
    )
    if province:
        query = query.where(cctv_plans.c.province_code == str(province))
    return [dict(r) for r in conn.execute(query).mappings()]


def get_plan(conn: Connection, plan_id: int) -> dict[str, Any]:
    """Return one saved plan with its GeoJSON ``result``.

    Raises
    ------
    NotFoundError
        When no plan has this id.
    """
    from com.db.tables_siting import cctv_plans

    query = sa.select(cctv_plans).where(cctv_plans.c.id == int(plan_id))
    row = conn.execute(query).mappings().first()
    if row is None:
        raise NotFoundError(f"CCTV plan {plan_id} does not exist")
    return dict(row)


def site_is_sensitive(properties: Mapping[str, Any], sensitive: Iterable[str]) -> bool:
    """Return True when a plan site would give away where a sensitive point is.

    That is a site standing on a point of a sensitive category (``site_category``, the
    candidates are the risk points themselves), or one whose coverage circle holds such a
    point (``categories``: the points it newly covers; ``categories_in_radius``: every point
    within reach, stored by plans made since that property exists). The OGC ``cctv-sites``
    collection (:mod:`com.ogc.sources`) applies the same rule in SQL.
    """
    hidden = set(sensitive)
    if not hidden:
        return False
    if properties.get("site_category") in hidden:
        return True
    near = set(properties.get("categories") or {}) | set(
        properties.get("categories_in_radius") or ()
    )
    return bool(near & hidden)


def redact_plan(
    plan_geojson: Mapping[str, Any],
    sensitive: Iterable[str],
    *,
    rep_points: Mapping[str, tuple[float, float]] | None = None,
    sensitive_ids: Iterable[Any] = (),
) -> dict[str, Any]:
    """Coarsen the sites of a plan that would give away a point of a sensitive category.

    For callers without the ``sensitive`` permission. A site for which
    :func:`site_is_sensitive` holds is moved to its subdistrict's representative point
    (``rep_points``: subdistrict code -> (lon, lat), see :func:`rep_points_of`), as the
    risk points themselves are in the API, tiles and exports; a site with no known
    subdistrict is served without a geometry, never at its exact place. Such sites get
    ``coarsened: true`` and their coverage circles lose their geometry (a circle's centre is
    the site). No site keeps the ids of sensitive points (``sensitive_ids``) in its
    ``point_ids``, a count of a sensitive category in its ``categories``, or, when it stands
    on a sensitive point, that point's id as its ``site_id``; the figures are unchanged.

    Parameters
    ----------
    plan_geojson
        A plan's FeatureCollection (:meth:`SitingPlan.to_geojson` or a saved ``result``).
    sensitive
        The sensitive category keys (:func:`com.config.severity.sensitive_categories`).
    rep_points
        Representative points of the sites' subdistricts.
    sensitive_ids
        Ids of the plan's points that belong to a sensitive category (see :func:`plan_for`).

    Returns
    -------
    dict
        A redacted copy; the input is not changed.
    """
    hidden = set(sensitive)
    reps = rep_points or {}
    withheld = {str(i) for i in sensitive_ids}
    out = json.loads(json.dumps(plan_geojson))
    coarse_orders = set()
    on_sensitive_point = set()
    for feature in out.get("features", []):
        props = feature.get("properties") or {}
        if props.get("kind") != "site":
            continue
        if site_is_sensitive(props, hidden):
            rep = reps.get(str(props.get("subdistrict_code")))
            feature["geometry"] = (
                {"type": "Point", "coordinates": [rep[0], rep[1]]} if rep else None
            )
            props["coarsened"] = True
            coarse_orders.add(props.get("order"))
        if "point_ids" in props:
            props["point_ids"] = [i for i in props["point_ids"] or [] if str(i) not in withheld]
        if isinstance(props.get("categories"), dict):
            props["categories"] = {
                c: n for c, n in props["categories"].items() if c not in hidden
            }
        if props.get("site_category") in hidden:
            props["site_id"] = None
            on_sensitive_point.add(props.get("order"))
    for feature in out.get("features", []):
        props = feature.get("properties") or {}
        if props.get("kind") != "coverage":
            continue
        if props.get("order") in coarse_orders:
            feature["geometry"] = None
            props["coarsened"] = True
        if props.get("order") in on_sensitive_point:
            props["site_id"] = None
    return out


def rep_points_of(conn: Connection, codes: Iterable[Any]) -> dict[str, tuple[float, float]]:
    """Return the representative point (lon, lat) of each subdistrict code given."""
    from com.db.tables import Subdistrict

    wanted = sorted({str(c) for c in codes if c})
    if not wanted:
        return {}
    rows = conn.execute(
        sa.select(Subdistrict.code, sa.func.ST_X(Subdistrict.rep_point),
                  sa.func.ST_Y(Subdistrict.rep_point))
        .where(Subdistrict.code.in_(wanted), Subdistrict.rep_point.is_not(None))
    ).all()
    return {str(code): (float(lon), float(lat)) for code, lon, lat in rows}


def plan_for(
    conn: Connection,
    plan_geojson: Mapping[str, Any],
    principal: Any,
    *,
    severity_config: Path | str | None = None,
) -> dict[str, Any]:
    """Return a plan as ``principal`` may see it: exact, or with :func:`redact_plan` applied.

    The one place the CCTV API and the operations map decide how a plan is shown; a
    principal of unknown rights (None) gets the redacted plan.

    Parameters
    ----------
    conn
        Database connection (for the subdistricts' representative points).
    plan_geojson
        The plan's FeatureCollection.
    principal
        The viewer (:class:`com.security.access.Principal`).
    severity_config
        ``settings.severity_config`` (which categories are sensitive).

    Returns
    -------
    dict
        The plan to show.
    """
    if getattr(principal, "sees_sensitive", False):
        return dict(plan_geojson)
    sensitive = sensitive_categories(severity_config)
    features = [f.get("properties") or {} for f in plan_geojson.get("features", [])]
    codes = [props.get("subdistrict_code") for props in features]
    ids = {str(i) for props in features for i in props.get("point_ids") or []}
    return redact_plan(plan_geojson, sensitive, rep_points=rep_points_of(conn, codes),
                       sensitive_ids=ids - _ordinary_point_ids(conn, ids, sensitive))


def _ordinary_point_ids(conn: Connection, ids: Iterable[str], sensitive: Iterable[str]
                        ) -> set[str]:
    """Return those of ``ids`` that are risk points of a category not in ``sensitive``.

    Fail closed: an id that is not (or no longer) a risk point counts as sensitive.
    """
    from com.db.tables import RiskPoint

    numbers = sorted({int(i) for i in ids if str(i).isdigit() and len(str(i)) < 19})
    if not numbers:
        return set()
    rp = RiskPoint.__table__
    query = sa.select(rp.c.id).where(rp.c.id.in_(numbers))
    hidden = sorted(set(sensitive))
    if hidden:
        query = query.where(sa.func.coalesce(rp.c.category.not_in(hidden), False))
    return {str(i) for i in conn.execute(query).scalars()}


# --- outputs ----------------------------------------------------------------------------------


def write_geojson(plan: SitingPlan, path: Path | str) -> Path:
    """Write the plan's FeatureCollection to ``path`` (UTF-8, Thai readable)."""
    path = Path(path)
    path.write_text(json.dumps(plan.to_geojson(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_demand_csv(plan: SitingPlan, path: Path | str) -> Path:
    """Write every demand point (id, lon, lat, weight used, category, covered_by) as CSV.

    With this file and the sites anyone can recompute the covered weight independently.
    """
    path = Path(path)
    frame = plan.demand.copy()
    frame["lon"] = frame["lon"].round(7)
    frame["lat"] = frame["lat"].round(7)
    for column in frame.select_dtypes(include=["object", "string"]).columns:
        frame[column] = frame[column].map(escape_formula)
    frame.to_csv(path, index=False, encoding="utf-8", quoting=csv.QUOTE_MINIMAL)
    return path


_THAI_FONTS = ("Sarabun", "TH Sarabun New", "Noto Sans Thai", "Loma", "Garuda", "Umpush",
               "Kinnari", "Tlwg Typo")


@lru_cache(maxsize=1)
def _thai_font() -> str | None:
    """Return an installed font with Thai glyphs (fonts-tlwg, Sarabun, Noto), or None."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _THAI_FONTS if name in installed), None)


def curve_png(curve: Sequence[Mapping[str, Any]], *, title: str | None = None) -> bytes:
    """Render the coverage curve (k vs share of risk covered) as a PNG (matplotlib Agg).

    Labels are Thai with English when a Thai font is installed (fonts-tlwg in the image),
    English only otherwise.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    font = _thai_font()

    def label(th: str, en: str) -> str:
        return f"{th} ({en})" if font else en

    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    fig = Figure(figsize=(7, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ks = [int(p["k"]) for p in curve]
    share = [100 * float(p["share_covered"]) for p in curve]
    with_existing = [100 * float(p.get("share_with_existing", p["share_covered"])) for p in curve]
    ax.plot([0, *ks], [0, *share], marker="o", ms=3, color="#c0392b",
            label=label("กล้องที่เสนอ", "proposed cameras"))
    if any(abs(a - b) > 1e-9 for a, b in zip(with_existing, share, strict=True)):
        base = with_existing[0] - share[0]
        ax.plot([0, *ks], [base, *with_existing], ls="--", color="#2c3e50",
                label=label("รวมกล้องเดิม", "with installed cameras"))
    if curve and all("optimal_weight" in p for p in curve) and float(curve[-1]["share_covered"]):
        total = float(curve[-1]["covered_weight"]) / float(curve[-1]["share_covered"])
        ax.plot(ks, [100 * float(p["optimal_weight"]) / total for p in curve], ls=":",
                color="#27ae60", label=label("ค่าเหมาะสมที่สุดต่อ k", "optimal for each k"))
    ax.set_xlabel(label("จำนวนกล้อง", "number of cameras"), fontfamily=family)
    ax.set_ylabel(label("สัดส่วนความเสี่ยงที่ครอบคลุม %", "share of risk covered %"),
                  fontfamily=family)
    ax.set_title(title or label("เส้นโค้งการครอบคลุม", "coverage curve"), fontfamily=family)
    from matplotlib.ticker import MaxNLocator

    ax.set_ylim(0, min(100.0, max([*with_existing, 1.0]) * 1.15 + 5))
    ax.set_xlim(0, max(ks, default=1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", prop={"family": family})
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


# --- patrols and checkpoints ------------------------------------------------------------------

PATROL_COLUMNS = (
    "district_rank", "district_code", "district_th", "priority", "subdistrict_code",
    "subdistrict_th", "name_en", "risk_score", "points", "province_rank", "share_of_district",
    "note",
)
PATROL_HEADERS_TH = {
    "district_rank": "ลำดับอำเภอ",
    "district_code": "รหัสอำเภอ",
    "district_th": "อำเภอ",
    "priority": "ลำดับความสำคัญในอำเภอ",
    "subdistrict_code": "รหัสตำบล",
    "subdistrict_th": "ตำบล",
    "name_en": "ชื่อตำบลภาษาอังกฤษ",
    "risk_score": "คะแนนความเสี่ยง",
    "points": "จำนวนจุดเสี่ยง",
    "province_rank": "ลำดับในจังหวัด",
    "share_of_district": "สัดส่วนความเสี่ยงของอำเภอ (%)",
    "note": "หมายเหตุ",
}
_NO_RISK_NOTE = "ไม่มีจุดเสี่ยงในช่วงเวลานี้"


def _largest_remainder(scores: np.ndarray, capacity: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` slots over groups in proportion to ``scores`` (Hamilton's method).

    Every group with capacity gets one slot first when ``total`` allows, so every district
    gets its share; no group gets more than its capacity.
    """
    slots = np.zeros(scores.size, dtype=int)
    remaining = int(min(total, capacity.sum()))
    if remaining <= 0:
        return slots
    order = np.lexsort((np.arange(scores.size), -scores))
    for i in order:
        if remaining and capacity[i] > 0:
            slots[i], remaining = 1, remaining - 1
    while remaining > 0:
        room = capacity - slots
        weights = np.where(room > 0, np.maximum(scores, 0.0), 0.0)
        if weights.sum() <= 0:
            weights = (room > 0).astype(float)
        quota = weights / weights.sum() * remaining
        whole = np.minimum(np.floor(quota).astype(int), room)
        if whole.sum() == 0:
            frac = np.where(room > 0, quota - np.floor(quota), -1.0)
            pick = int(np.lexsort((np.arange(frac.size), -frac))[0])
            whole[pick] = 1
        slots += whole
        remaining -= int(whole.sum())
    return slots


def allocate_patrols(
    areas: pd.DataFrame,
    *,
    per_district: int | None = 3,
    total: int | None = None,
    districts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rank patrol/checkpoint areas per district so every district gets its share.

    Parameters
    ----------
    areas
        Subdistrict scores: ``subdistrict_code``, ``name_th``, ``risk_score`` and optionally
        ``name_en``, ``points``, ``rank`` (as from :func:`com.risk.rank_areas`).
    per_district
        The top N subdistricts of every district (used when ``total`` is None).
    total
        Instead: this many areas in all, shared among districts in proportion to their total
        risk (largest remainders), at least one per district while slots last.
    districts
        ``district_code`` and ``district_th`` for the names; default: codes only.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PATROL_COLUMNS`, districts by total risk, areas by score within each.

    Examples
    --------
    >>> areas = pd.DataFrame({"subdistrict_code": ["320101", "320102", "320201"],
    ...                       "name_th": ["a", "b", "c"], "risk_score": [5.0, 1.0, 0.5]})
    >>> allocate_patrols(areas, per_district=1)["subdistrict_code"].tolist()
    ['320101', '320201']
    """
    if total is None and (per_district is None or per_district < 1):
        raise ValidationError("give at least one area per district (--per-district 1 or more)")
    if total is not None and total < 1:
        raise ValidationError(f"the total number of areas must be at least 1, not {total}")
    frame = pd.DataFrame(areas).copy()
    for column in ("subdistrict_code", "name_th", "risk_score"):
        if column not in frame.columns:
            raise ValidationError(f"area scores: missing column {column}")
    frame["subdistrict_code"] = frame["subdistrict_code"].astype(str)
    frame["district_code"] = frame["subdistrict_code"].str[:4]
    frame["risk_score"] = pd.to_numeric(frame["risk_score"], errors="coerce").fillna(0.0)
    if "points" not in frame.columns:
        frame["points"] = np.nan
    if "name_en" not in frame.columns:
        frame["name_en"] = None
    frame = frame.sort_values(["risk_score", "subdistrict_code"], ascending=[False, True])
    frame["province_rank"] = np.arange(1, len(frame) + 1)
    by_district = frame.groupby("district_code", sort=False)["risk_score"].agg(["sum", "size"])
    by_district = by_district.sort_values("sum", ascending=False, kind="stable")
    by_district["district_rank"] = np.arange(1, len(by_district) + 1)
    if total is not None:
        by_district["slots"] = _largest_remainder(
            by_district["sum"].to_numpy(float), by_district["size"].to_numpy(int), int(total)
        )
    else:
        by_district["slots"] = np.minimum(by_district["size"], int(per_district))  # type: ignore[arg-type]
    frame["priority"] = frame.groupby("district_code").cumcount() + 1
    frame = frame.join(by_district[["sum", "district_rank", "slots"]], on="district_code")
    chosen = frame[frame["priority"] <= frame["slots"]].copy()
    chosen["share_of_district"] = np.where(
        chosen["sum"] > 0, 100 * chosen["risk_score"] / chosen["sum"].where(chosen["sum"] > 0, 1),
        0.0,
    ).round(1)
    chosen["note"] = np.where(chosen["risk_score"] > 0, "", _NO_RISK_NOTE)
    names = {}
    if districts is not None and len(districts):
        names = dict(zip(districts["district_code"].astype(str), districts["district_th"],
                         strict=False))
    chosen["district_th"] = chosen["district_code"].map(names)
    chosen = chosen.rename(columns={"name_th": "subdistrict_th"})
    chosen["risk_score"] = chosen["risk_score"].round(4)
    chosen = chosen.sort_values(["district_rank", "priority"]).reset_index(drop=True)
    return chosen[list(PATROL_COLUMNS)]


def patrol_plan(
    conn: Connection,
    *,
    province: str,
    per_district: int | None = 3,
    total: int | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    as_of: date | None = None,
    settings: Any = None,
) -> pd.DataFrame:
    """Patrol/checkpoint list for a province from the subdistrict risk ranking (issue 4).

    See :func:`allocate_patrols`; the scores are :func:`com.risk.rank_areas` at subdistrict
    level with the same severity model and filters.
    """
    from com import risk
    from com.db.tables import District

    check_area(conn, province=str(province))
    ranking = risk.rank_areas(
        conn, level="subdistrict", province=str(province), date_from=date_from,
        date_to=date_to, as_of=as_of, model=getattr(settings, "severity_config", None),
    )
    districts = pd.DataFrame(
        conn.execute(
            sa.select(District.code.label("district_code"), District.name_th.label("district_th"))
            .where(District.province_code == str(province))
        ).mappings().all(),
        columns=["district_code", "district_th"],
    )
    plan = allocate_patrols(
        pd.DataFrame(ranking.drop(columns="geometry", errors="ignore")),
        per_district=per_district, total=total, districts=districts,
    )
    plan.attrs.update(
        {"province_code": str(province), "as_of": str(ranking.attrs.get("as_of", as_of or "")),
         "per_district": per_district, "total": total}
    )
    return plan


def write_patrols(plan: pd.DataFrame, path: Path | str) -> Path:
    """Write a patrol list as XLSX (Thai headers, a sheet explaining it) or CSV (UTF-8 BOM).

    Text cells a spreadsheet would run as a formula get a leading apostrophe.
    """
    from com.text.thai import format_thai_date

    path = Path(path)
    suffix = path.suffix.lower()
    headers = [PATROL_HEADERS_TH[c] for c in plan.columns]

    def cell(value: Any) -> Any:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        return escape_formula(_plain(value))

    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(headers)
            for row in plan.itertuples(index=False):
                writer.writerow(["" if cell(v) is None else cell(v) for v in row])
        return path
    if suffix != ".xlsx":
        raise ValidationError(f"{path.name}: write the patrol list as .xlsx or .csv")
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "จุดตรวจ-สายตรวจ"
    sheet.append(headers)
    for c in sheet[1]:
        c.font = Font(bold=True)
    for row in plan.itertuples(index=False):
        sheet.append([cell(v) for v in row])
    for i, header in enumerate(headers, start=1):
        sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(10, len(header) + 2)
    sheet.freeze_panes = "A2"
    about = book.create_sheet("คำอธิบาย")
    attrs = plan.attrs
    rule = (
        f"{attrs['per_district']} ตำบลแรกของทุกอำเภอ" if attrs.get("total") is None
        else f"รวม {attrs['total']} ตำบล แบ่งตามสัดส่วนความเสี่ยงของอำเภอ (อย่างน้อยอำเภอละ 1)"
    )
    as_of = attrs.get("as_of")
    try:
        as_of_th = format_thai_date(date.fromisoformat(str(as_of)), month_style="full")
    except ValueError:
        as_of_th = str(as_of or "")
    for line in (
        ("รายการพื้นที่ลาดตระเวน/ตั้งจุดตรวจ", "Patrol and checkpoint list"),
        ("จังหวัด", attrs.get("province_code", "")),
        ("วิธีเลือก", rule),
        ("คะแนนความเสี่ยง", "ผลรวมของ น้ำหนักประเภท x ระดับความรุนแรง x ความใหม่ x จำนวนเหตุ "
                           "และปัจจัยแวดล้อม (แบบจำลองเดียวกับการจัดอันดับพื้นที่)"),
        ("คำนวณ ณ วันที่", as_of_th),
    ):
        about.append([escape_formula(v) for v in line])
    about.column_dimensions["A"].width = 24
    about.column_dimensions["B"].width = 90
    book.save(path)
    return path


# --- command-line runs ------------------------------------------------------------------------


def run_cctv(
    engine: Any,
    settings: Any,
    *,
    province: str,
    district: str | None = None,
    k: int | None = None,
    budget: float | None = None,
    cost_file: Path | None = None,
    default_cost: float | None = None,
    radius_m: float = DEFAULT_RADIUS_M,
    existing: Path | str | None = None,
    candidates: str = "points",
    metric: Metric = "utm",
    method: Method = "auto",
    time_limit_s: float = DEFAULT_TIME_LIMIT_S,
    optimal_curve: bool = False,
    out: Path | None = None,
    demand_out: Path | None = None,
    chart: Path | None = None,
    save: str | None = None,
    principal: Any = None,
) -> dict[str, Any]:
    """Plan sites for ``com cctv``: read the files, plan, write the outputs, optionally save.

    ``existing`` is a cameras file, ``"none"``, or None for the cameras table. Returns the
    plan's summary with the output paths (and ``plan_id`` when saved).
    """
    from com.db.engine import transaction
    from com.security.access import CLI

    costs = read_costs(cost_file) if cost_file is not None else None
    if existing is None:
        cams: pd.DataFrame | str = "db"
    elif str(existing).lower() == "none":
        cams = "none"
    else:
        cams = read_points_file(existing, kind="cameras", settings=settings)
    params = {
        "province": province, "district": district, "k": k, "budget": budget,
        "radius_m": radius_m, "candidates": candidates, "metric": metric, "method": method,
        "cost_file": cost_file.name if cost_file else None, "default_cost": default_cost,
        "existing": "cameras table" if existing is None else str(existing),
    }
    with transaction(engine) as conn:
        plan = plan_for_principal(
            conn, principal or CLI, settings=settings, province=province, district=district,
            k=k, budget=budget, costs=costs, default_cost=default_cost, radius_m=radius_m,
            candidates=candidates, existing=cams, metric=metric, method=method,
            time_limit_s=time_limit_s, optimal_curve=optimal_curve,
        )
        plan_id = (
            save_plan(conn, plan, name=save, principal=principal or CLI, params=params)
            if save
            else None
        )
    if out is not None:
        write_geojson(plan, out)
    if demand_out is not None:
        write_demand_csv(plan, demand_out)
    if chart is not None:
        Path(chart).write_bytes(curve_png(plan.curve))
    summary = plan.summary()
    summary.pop("model", None)
    return {
        **summary,
        "plan_id": plan_id,
        "out": str(out) if out else None,
        "demand_out": str(demand_out) if demand_out else None,
        "chart": str(chart) if chart else None,
        "top_sites": [
            {"order": int(r.order), "site_id": str(r.site_id), "gain": round(float(r.gain), 4),
             "share_covered": round(float(r.share_covered), 4),
             "subdistrict_code": r.subdistrict_code}
            for r in plan.sites.head(10).itertuples(index=False)
        ],
    }


def run_patrols(
    engine: Any,
    settings: Any,
    *,
    province: str,
    per_district: int | None = 3,
    total: int | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    out: Path | None = None,
) -> dict[str, Any]:
    """Build and write the patrol/checkpoint list for ``com patrols``; return a summary."""
    from com.db.engine import transaction

    with transaction(engine) as conn:
        plan = patrol_plan(conn, province=province, per_district=per_district, total=total,
                           date_from=date_from, date_to=date_to, settings=settings)
    if out is not None:
        write_patrols(plan, out)
    return {
        "province_code": province,
        "districts": int(plan["district_code"].nunique()),
        "areas": int(len(plan)),
        "out": str(out) if out else None,
        "top": [
            {k: _plain(v) for k, v in row.items()}
            for row in plan.head(10)[["district_code", "priority", "subdistrict_code",
                                      "subdistrict_th", "risk_score"]].to_dict("records")
        ],
    }
