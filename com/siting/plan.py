"""A CCTV plan on data frames: demand, candidate sites and installed cameras to chosen sites."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import shapely

from com.errors import ValidationError
from com.geo.projection import utm_crs_for
from com.siting.coverage import (
    DEFAULT_RADIUS_M,
    MAX_RADIUS_M,
    Metric,
    coverage_circles,
    coverage_matrix,
    covered_by_cameras,
)
from com.siting.mclp import (
    DEFAULT_TIME_LIMIT_S,
    EXACT_MAX_NONZEROS,
    Method,
    Solution,
    solve_mclp,
)
from com.siting.scalars import json_default, plain_scalar

SITE_COLUMNS = (
    "order", "site_id", "lon", "lat", "gain", "cumulative_weight", "share_covered",
    "point_ids", "categories", "categories_in_radius", "points_in_radius", "cost",
    "subdistrict_code", "site_category",
)


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
                default=json_default,
            )
        )


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
        See :func:`com.siting.coverage.coverage_matrix` and :func:`com.siting.mclp.solve_mclp`.

    Returns
    -------
    SitingPlan
        Sites in order of marginal gain, the demand with what covers it, and the curve.

    Raises
    ------
    ValidationError
        For missing columns, invalid coordinates or weights (naming the row), or bad options.
    """
    _check_options(k=k, budget=budget, radius_m=radius_m, metric=metric, method=method)
    dem = _checked_demand(demand)
    cand, without_cost = _checked_candidates(candidates, budgeted=budget is not None)
    dlon, dlat = dem["lon"].to_numpy(float), dem["lat"].to_numpy(float)
    slon, slat = cand["lon"].to_numpy(float), cand["lat"].to_numpy(float)
    crs = utm_crs_for(dlon if dlon.size else slon)
    weight = dem["weight"].to_numpy(float)
    existing_mask, n_existing = _existing_mask(
        dlon, dlat, existing, radius_m=radius_m, metric=metric, crs=crs
    )
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
    covered_by = _first_cover(cover, solution.selected, existing_mask)
    sites = _site_rows(dem, cand, cover, solution, covered_by, total_weight)
    demand_out = dem[["id", "lon", "lat", "weight", "category"]].copy()
    demand_out["covered_by"] = [
        "existing" if c == -2 else ("" if c < 0 else str(c + 1)) for c in covered_by
    ]
    return SitingPlan(
        sites=sites,
        demand=demand_out,
        curve=_curve(sites, solution, existing_weight / total_weight if total_weight > 0 else 0.0),
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


def _check_options(
    *, k: int | None, budget: float | None, radius_m: float, metric: str, method: str
) -> None:
    if not math.isfinite(radius_m) or not 0 < radius_m <= MAX_RADIUS_M:
        raise ValidationError(f"radius_m must be between 0 and {MAX_RADIUS_M:g} metres")
    if (k is None) == (budget is None):
        raise ValidationError("give either the number of cameras (k) or a budget, not both")
    if metric not in ("utm", "geodesic"):
        raise ValidationError(f"metric must be 'utm' or 'geodesic', not {metric!r}")
    if method not in ("auto", "exact", "greedy"):
        raise ValidationError(f"method must be 'auto', 'exact' or 'greedy', not {method!r}")


def _checked_demand(demand: pd.DataFrame) -> pd.DataFrame:
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
    return dem


def _checked_candidates(candidates: pd.DataFrame, *, budgeted: bool) -> tuple[pd.DataFrame, int]:
    """Return the usable candidates and how many were left out for want of a cost."""
    cand = _check_frame(candidates, "candidate sites", ["site_id", "lon", "lat"], "site_id")
    if "cost" not in cand.columns:
        cand["cost"] = np.nan
    cand["cost"] = pd.to_numeric(cand["cost"], errors="coerce")
    if not budgeted:
        return cand, 0
    has_cost = cand["cost"].notna().to_numpy()
    negative = (cand["cost"] < 0).to_numpy()
    if negative.any():
        i = int(np.flatnonzero(negative)[0])
        raise ValidationError(
            f"candidate site {cand.at[i, 'site_id']}: cost {cand.at[i, 'cost']} is negative"
        )
    cand = cand[has_cost].reset_index(drop=True)
    if cand.empty:
        raise ValidationError("no candidate site has a cost: give a cost file or a default")
    return cand, int((~has_cost).sum())


def _existing_mask(
    dlon: np.ndarray, dlat: np.ndarray, existing: pd.DataFrame | None, *, radius_m: float,
    metric: Metric, crs: str,
) -> tuple[np.ndarray, int]:
    """Return which demand installed cameras cover already, and how many cameras there are."""
    if existing is None or not len(existing):
        return np.zeros(dlon.size, dtype=bool), 0
    cams = existing.reset_index(drop=True).copy()
    if "id" not in cams.columns:
        cams["id"] = np.arange(1, len(cams) + 1)
    cams = _check_frame(cams, "existing cameras", ["lon", "lat"], "id")
    radii = (
        pd.to_numeric(cams["radius_m"], errors="coerce").fillna(radius_m).to_numpy(float)
        if "radius_m" in cams.columns
        else np.full(len(cams), radius_m)
    )
    mask = covered_by_cameras(dlon, dlat, cams["lon"], cams["lat"], radii, metric=metric, crs=crs)
    return mask, len(cams)


def _first_cover(cover: Any, order: np.ndarray, existing_mask: np.ndarray) -> np.ndarray:
    """Position in ``order`` of the first chosen site covering each point (-1 none, -2 camera)."""
    covered_by = np.full(cover.shape[0], -1, dtype=np.int64)
    if order.size:
        chosen_cover = cover[:, order].tocsr()
        chosen_cover.sort_indices()
        has = np.diff(chosen_cover.indptr) > 0
        covered_by[has] = chosen_cover.indices[chosen_cover.indptr[:-1][has]]
    covered_by[existing_mask] = -2
    return covered_by


def _site_rows(
    dem: pd.DataFrame, cand: pd.DataFrame, cover: Any, solution: Solution,
    covered_by: np.ndarray, total_weight: float,
) -> pd.DataFrame:
    """One row per chosen site (:data:`SITE_COLUMNS`) in order of marginal gain."""
    by_site = cover.tocsc()
    by_site.sort_indices()
    points_in_radius = np.diff(by_site.indptr)
    rows = []
    cumulative = 0.0
    ids = dem["id"].to_numpy()
    categories = dem["category"].to_numpy()
    for pos, (j, gain) in enumerate(zip(solution.selected, solution.gains, strict=True)):
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
                "lon": float(cand.at[int(j), "lon"]),
                "lat": float(cand.at[int(j), "lat"]),
                "gain": float(gain),
                "cumulative_weight": cumulative,
                "share_covered": cumulative / total_weight if total_weight > 0 else 0.0,
                "point_ids": [plain_scalar(v) for v in ids[mine]],
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
    return pd.DataFrame(rows, columns=list(SITE_COLUMNS))


def _curve(sites: pd.DataFrame, solution: Solution, share_existing: float) -> list[dict[str, Any]]:
    """Return the coverage curve k = 1..K (with the optimal value of each k when computed)."""
    curve: list[dict[str, Any]] = [
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
    return curve
