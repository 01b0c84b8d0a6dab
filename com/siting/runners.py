"""The ``com cctv`` and ``com patrols`` commands: read the files, plan, write the outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from com.db.engine import transaction
from com.security.access import CLI
from com.siting.candidates import read_costs, read_points_file
from com.siting.coverage import DEFAULT_RADIUS_M, Metric
from com.siting.mclp import DEFAULT_TIME_LIMIT_S, Method
from com.siting.output import curve_png, write_demand_csv, write_geojson
from com.siting.patrols import patrol_plan, write_patrols
from com.siting.planner import plan_for_principal
from com.siting.repository import save_plan
from com.siting.scalars import plain_scalar


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
            {k: plain_scalar(v) for k, v in row.items()}
            for row in plan.head(10)[["district_code", "priority", "subdistrict_code",
                                      "subdistrict_th", "risk_score"]].to_dict("records")
        ],
    }
