"""Plans for an area from the stored risk points, as a caller may make them (audited)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any, Literal

import pandas as pd
from sqlalchemy.engine import Connection

from com.config.severity import sensitive_categories
from com.errors import ValidationError
from com.geo.projection import utm_zone
from com.security.audit import record
from com.siting.candidates import apply_costs, grid_sites, parse_candidates, read_points_file
from com.siting.coverage import DEFAULT_RADIUS_M, Metric
from com.siting.limits import PlanLimits, limits_for
from com.siting.mclp import DEFAULT_TIME_LIMIT_S, EXACT_MAX_NONZEROS, Method
from com.siting.plan import SitingPlan, plan_sites
from com.siting.repository import (
    area_geometry,
    check_area,
    load_cameras,
    load_demand,
    load_sites,
    site_subdistricts,
)

# An audit row lists at most this many covered point ids (``covered_points`` counts them all).
_AUDIT_MAX_IDS = 1000


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
    severity_config = getattr(settings, "severity_config", None)
    demand = load_demand(
        conn, province=str(province), district=district, as_of=as_of,
        severity_config=severity_config,
        coarsen=sensitive_categories(severity_config) if coarsen_sensitive else (),
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
    plan = plan_sites(
        demand, sites, k=k, budget=budget, radius_m=radius_m,
        existing=_existing_cameras(conn, existing, province=str(province), district=district,
                                   radius_m=radius_m),
        metric=metric,
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


def _existing_cameras(
    conn: Connection, existing: pd.DataFrame | Literal["db", "none"], *, province: str,
    district: str | None, radius_m: float,
) -> pd.DataFrame | None:
    """Return the installed cameras to plan around: the table's, none, or those given."""
    if not isinstance(existing, str):
        return existing
    if existing != "db":
        return None
    # Cameras across the border cover too: twice the radius (at least 2 km) around the area.
    return load_cameras(conn, province=province, district=district,
                        margin_m=max(radius_m, 1000.0) * 2)


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
