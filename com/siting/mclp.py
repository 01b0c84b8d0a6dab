"""Maximal covering location problem (MCLP) on a sparse coverage matrix: the pure solver.

No geometry and no database: rows are demand points, columns candidate sites (see
:func:`com.siting.coverage.coverage_matrix` for building the matrix from coordinates).
Church and ReVelle's model::

    maximise   sum_i w_i y_i
    subject to y_i <= sum_{j covers i} x_j      for every demand point i
               sum_j x_j <= k   (or sum_j c_j x_j <= B)
               x_j in {0, 1},  0 <= y_i <= 1

This is the one module of :mod:`com.siting` that imports scipy (HiGHS via scipy.optimize).
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy  # scipy.sparse loads at its first use (20 MB: not at every start)

from com.errors import ValidationError

if TYPE_CHECKING:
    from scipy import sparse

# Above this many non-zeros in the reduced coverage model, method="auto" uses the lazy greedy
# (HiGHS still solves 5,000 x 500 instances in well under a second; national instances with
# 10^5 demand points and 10^4 candidates may not prove optimality within a minute).
EXACT_MAX_NONZEROS = 50_000
DEFAULT_TIME_LIMIT_S = 30.0
MIP_REL_GAP = 1e-7

Method = Literal["auto", "exact", "greedy"]


def cover_from_pairs(
    demand_idx: np.ndarray, site_idx: np.ndarray, *, n_demand: int, n_sites: int
) -> sparse.csr_array:
    """Return the boolean demand x site coverage matrix of the (demand, site) pairs given.

    Examples
    --------
    >>> cover_from_pairs(np.array([0, 1]), np.array([1, 1]), n_demand=2, n_sites=2).toarray()
    array([[False,  True],
           [False,  True]])
    """
    data = np.ones(np.asarray(site_idx).size, dtype=bool)
    matrix = scipy.sparse.csr_array(
        (data, (demand_idx, site_idx)), shape=(n_demand, n_sites), dtype=bool
    )
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


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
    cols = scipy.sparse.csr_array(grouped.T)[sites]  # sites x groups
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
    reduced_cover = scipy.sparse.csr_array(cols.T.astype(float))
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
    cols = scipy.sparse.csc_array(cover[:, picked])
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
    cover_t = scipy.sparse.csr_array(cover.T)
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
    cover_t = scipy.sparse.csr_array(cover.T)
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
        in_shared = np.diff(scipy.sparse.csc_array(shared).indptr) > 0
        isolated = np.flatnonzero(~in_shared)
        if isolated.size > k:
            heaviest = isolated[np.argsort(-direct[isolated], kind="stable")[:k]]
            sites = np.sort(np.concatenate([np.flatnonzero(in_shared), heaviest]))
            shared = scipy.sparse.csr_array(shared[:, sites])
            direct = direct[sites]
    n_sites, n_groups = sites.size, shared.shape[0]
    a_cover = scipy.sparse.hstack(
        [-shared.astype(float), scipy.sparse.eye_array(n_groups)], format="csr"
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
    from scipy.optimize import linprog  # deferred: 36 MB and 0.1 s for every process (API)

    m = _model(cover, weight, k=k, cost=cost, budget=budget)
    a_ub = scipy.sparse.vstack([m.a_cover, scipy.sparse.csr_array(m.limit_row[None, :])],
                               format="csr")
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
    # Deferred: scipy.optimize costs every process that imports the planner (the API) 36 MB.
    from scipy.optimize import Bounds, LinearConstraint, milp

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
        Sparse demand x site coverage matrix (see
        :func:`com.siting.coverage.coverage_matrix`).
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
    matrix, w, site_cost, k = _checked_inputs(cover, weight, k=k, cost=cost, budget=budget)
    red = _reduce(matrix, w, site_cost)
    n_groups, n_sites = red.cover.shape
    run = _Run(
        red=red,
        started=started,
        model={
            "demand_points": int(matrix.shape[0]),
            "candidate_sites": int(matrix.shape[1]),
            "nonzeros": int(matrix.nnz),
            "demand_groups": int(n_groups),
            "reduced_sites": int(n_sites),
            "reduced_nonzeros": int(red.cover.nnz),
        },
    )
    # Trivial cases: nothing to cover, or every useful site fits.
    fits_all = (k is not None and n_sites <= k) or (
        budget is not None and red.cost is not None and red.cost.sum() <= budget + 1e-9
    )
    if n_sites == 0 or fits_all:
        return run.finish(
            list(range(n_sites)), run.total, 0.0, method="exact", status="optimal",
            solver="trivial (every useful site fits)", bound_source="trivial",
        )
    if method == "exact" or (method == "auto" and red.cover.nnz <= exact_max_nonzeros):
        return _solve_exact(run, k=k, budget=budget, time_limit_s=time_limit_s,
                            optimal_curve=optimal_curve)
    return _solve_greedy(run, k=k, budget=budget, time_limit_s=time_limit_s)


def _checked_inputs(
    cover: sparse.sparray | sparse.spmatrix,
    weight: Any,
    *,
    k: int | None,
    cost: Any,
    budget: float | None,
) -> tuple[sparse.csr_array, np.ndarray, np.ndarray | None, int | None]:
    """Return (boolean CSR cover, weights, site costs or None, k) or raise ValidationError."""
    matrix = scipy.sparse.csr_array(cover, dtype=bool)
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
    return matrix, w, site_cost, int(k) if k is not None else None


@dataclass
class _Run:
    """One solve on a reduced model: turns chosen reduced sites into a :class:`Solution`."""

    red: _Reduced
    started: float
    model: dict[str, int]

    @property
    def total(self) -> float:
        return float(self.red.weight.sum())

    def covered(self, chosen: Sequence[int]) -> float:
        return _covered_weight(self.red.cover, self.red.weight, chosen)

    def finish(self, chosen: Sequence[int], bound: float, gap: float | None, **kw: Any
               ) -> Solution:
        local_order, gains = _greedy_order(self.red.cover, self.red.weight, chosen)
        objective = float(gains.sum())
        bound = max(min(bound, self.total), objective)
        if gap is None:
            gap = (bound - objective) / bound if bound > 0 else 0.0
        return Solution(
            selected=self.red.sites[local_order] if local_order.size else local_order,
            gains=gains,
            objective=objective,
            upper_bound=bound,
            gap=max(float(gap), 0.0),
            seconds=time.perf_counter() - self.started,
            model=self.model,
            **kw,
        )


def _solve_exact(
    run: _Run, *, k: int | None, budget: float | None, time_limit_s: float,
    optimal_curve: bool,
) -> Solution:
    """Solve with HiGHS; at the time limit, keep the better of its incumbent and the greedy."""
    red = run.red
    chosen, bound, gap, status = _milp(
        red.cover, red.weight, k=k, cost=red.cost, budget=budget, time_limit_s=time_limit_s
    )
    if chosen is not None and status == "optimal":
        sol = run.finish(
            chosen, bound, gap, method="exact", status="optimal",
            solver="HiGHS (scipy.optimize.milp)", bound_source="milp",
        )
        if optimal_curve and k is not None:
            sol.optimal_by_k = [
                run.covered(
                    _milp(red.cover, red.weight, k=kk, cost=None, budget=None,
                          time_limit_s=time_limit_s)[0] or []
                )
                for kk in range(1, sol.selected.size + 1)
            ]
        return sol
    # Time limit: improve on the incumbent with the greedy and keep the better one.
    g_chosen, _, g_bound = _lazy_greedy(red.cover, red.weight, k=k, cost=red.cost, budget=budget)
    best = chosen if chosen is not None else []
    if run.covered(g_chosen) > run.covered(best):
        best = g_chosen
    return run.finish(
        best, min(bound, g_bound), None, method="exact", status="time_limit",
        solver="HiGHS (scipy.optimize.milp), time limit reached",
        bound_source="milp" if bound <= g_bound else "submodular",
    )


def _solve_greedy(
    run: _Run, *, k: int | None, budget: float | None, time_limit_s: float
) -> Solution:
    """Lazy greedy with the best of the submodular, Lagrangian and LP-relaxation bounds."""
    red = run.red
    g_chosen, _, g_bound = _lazy_greedy(red.cover, red.weight, k=k, cost=red.cost, budget=budget)
    bounds = {"submodular": g_bound}
    bounds["lagrangian"] = _lagrangian_bound(
        red.cover, red.weight, g_chosen, k=k, cost=red.cost, budget=budget,
        time_limit_s=max(1.0, time_limit_s / 6),
    )
    greedy_value = run.covered(g_chosen)
    remaining = time_limit_s - (time.perf_counter() - run.started)
    closed = min(bounds.values()) - greedy_value <= MIP_REL_GAP * max(greedy_value, 1.0)
    lp = None if closed else _lp_bound(
        red.cover, red.weight, k=k, cost=red.cost, budget=budget, time_limit_s=remaining
    )
    if lp is not None:
        bounds["lp_relaxation"] = lp
    source = min(bounds, key=bounds.__getitem__)
    return run.finish(
        g_chosen, bounds[source], None, method="greedy", status="heuristic",
        solver="lazy greedy (CELF)", bound_source=source,
    )
