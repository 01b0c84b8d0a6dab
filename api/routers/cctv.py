"""CCTV siting plans and patrol lists (issue 5): thin handlers over com.siting."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field, model_validator

from api.deps import EngineDep, SettingsDep
from api.params import DateFrom, DateTo, check_period, record_id
from api.security import require_role
from com.db.engine import transaction
from com.errors import ValidationError
from com.security import audit
from com.security.access import Principal
from com.siting.candidates import parse_candidates
from com.siting.coverage import DEFAULT_RADIUS_M, MAX_RADIUS_M
from com.siting.mclp import DEFAULT_TIME_LIMIT_S
from com.siting.output import curve_png
from com.siting.patrols import patrol_plan, write_patrols
from com.siting.planner import plan_for_principal
from com.siting.redaction import plan_for
from com.siting.repository import get_plan, list_plans, save_plan

router = APIRouter(tags=["cctv"])

GEOJSON = "application/geo+json"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_PLAN = {"content": {GEOJSON: {"schema": {"type": "object"}}}}
Viewer = Annotated[Principal, Depends(require_role("viewer"))]
PlanId = Annotated[int, Depends(record_id("plan_id", "CCTV plan"))]


class SiteIn(BaseModel):
    """A feasible camera site given inline."""

    site_id: str = Field(min_length=1, max_length=200)
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    cost: float | None = Field(default=None, ge=0)


class CameraIn(BaseModel):
    """An installed camera given inline."""

    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    radius_m: float | None = Field(default=None, gt=0, le=10_000)


class PlanRequest(BaseModel):
    """Body of POST /api/cctv/plan: give ``k`` or ``budget`` (with costs)."""

    province: str = Field(pattern=r"^\d{2}$", examples=["32"])
    district: str | None = Field(default=None, pattern=r"^\d{4}$", examples=["3210"])
    k: int | None = Field(default=None, ge=1, le=5_000)
    budget: float | None = Field(default=None, gt=0)
    costs: dict[str, float] | None = Field(
        default=None, description="Site id -> cost (budget mode)."
    )
    default_cost: float | None = Field(default=None, ge=0)
    radius_m: float = Field(default=DEFAULT_RADIUS_M, gt=0, le=MAX_RADIUS_M)
    candidates: str | list[SiteIn] = Field(
        default="points",
        description="points, grid:SPACING_M, sites, sites:UPLOAD_ID, or a list of sites.",
        max_length=50_000,
    )
    existing: Literal["db", "none"] | list[CameraIn] = Field(
        default="db", description="db (the cameras table), none, or a list of cameras.",
        max_length=50_000,
    )
    metric: Literal["utm", "geodesic"] = "utm"
    method: Literal["auto", "exact", "greedy"] = "auto"
    time_limit_s: float | None = Field(
        default=None, gt=0, le=120,
        description=f"Solver time limit in seconds (default {DEFAULT_TIME_LIMIT_S:g}; "
        "viewers and read keys: at most COM_CCTV_MAX_TIME_LIMIT_S).",
    )
    as_of: dt.date | None = None
    save: bool = False
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def _one_limit(self) -> PlanRequest:
        if (self.k is None) == (self.budget is None):
            raise ValueError("give either k (number of cameras) or budget, not both")
        if self.save and not (self.name or "").strip():
            raise ValueError("a saved plan needs a name")
        if any(c < 0 for c in (self.costs or {}).values()):
            raise ValueError("costs must be >= 0")
        return self


def _candidates(value: str | list[SiteIn]) -> str | pd.DataFrame:
    if isinstance(value, list):
        if not value:
            raise ValidationError("the list of candidate sites is empty")
        return pd.DataFrame([s.model_dump() for s in value])
    kind, _ = parse_candidates(value)
    if kind == "file":
        raise ValidationError(
            f"candidates {value!r}: use points, grid:SPACING_M, sites, sites:UPLOAD_ID or a "
            "list of sites (files are uploaded with POST /api/uploads, kind=sites)"
        )
    return value


def _shown(conn: Any, fc: dict[str, Any], principal: Principal, settings: Any) -> dict[str, Any]:
    # The same rule as the map and the OGC cctv-sites collection (plan_for).
    return plan_for(conn, fc, principal, severity_config=settings.severity_config)


@router.post(
    "/api/cctv/plan", response_class=JSONResponse,
    responses={200: {"description": "The proposed sites (not saved)", **_PLAN},
               201: {"description": "The proposed sites, saved (save=true)", **_PLAN}},
)
def plan(
    body: PlanRequest, request: Request, engine: EngineDep, settings: SettingsDep,
    principal: Viewer,
) -> JSONResponse:
    """Propose camera sites covering the most weighted risk; GeoJSON of sites and circles.

    Top-level ``properties`` hold the objective, gap, solver, radius, k or budget, total and
    covered weight, share covered and the coverage curve. ``save=true`` stores the plan
    (planner role; audited as ``cctv.plan``). Every plan computed is audited
    (``cctv.plan.compute``); callers without the sensitive right are planned on the
    coarsened positions of sensitive points (``sensitive_exact: false``), and those below
    the planner role within the ``COM_CCTV_*`` limits.
    """
    principal.require_province(body.province)
    if body.save:
        principal.require_role("planner")
    existing = (
        body.existing
        if isinstance(body.existing, str)
        else pd.DataFrame([c.model_dump() for c in body.existing], columns=["lon", "lat",
                                                                             "radius_m"])
    )
    client = request.client.host if request.client else None
    with transaction(engine) as conn:
        result = plan_for_principal(
            conn, principal, settings=settings, client=client, province=body.province,
            district=body.district, k=body.k, budget=body.budget, costs=body.costs,
            default_cost=body.default_cost, radius_m=body.radius_m,
            candidates=_candidates(body.candidates), existing=existing, metric=body.metric,
            method=body.method, time_limit_s=body.time_limit_s, as_of=body.as_of,
        )
        fc = result.to_geojson()
        if body.save:
            params = body.model_dump(mode="json", exclude={"save", "name"})
            if not isinstance(body.candidates, str):
                params["candidates"] = f"{len(body.candidates)} sites given"
            if not isinstance(body.existing, str):
                params["existing"] = f"{len(body.existing)} cameras given"
            plan_id = save_plan(conn, result, name=body.name or "", principal=principal,
                                       params=params, client=client)
            fc["properties"]["plan_id"] = plan_id
        shown = _shown(conn, fc, principal, settings)
    return JSONResponse(shown, media_type=GEOJSON, status_code=201 if body.save else 200)


@router.get("/api/cctv/plans")
def plans(
    engine: EngineDep, principal: Viewer,
    province: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """List saved plans (newest first), without their GeoJSON."""
    province = province or principal.province_code
    if principal.allowed_provinces is not None:
        principal.require_province(province)
    with transaction(engine) as conn:
        rows = list_plans(conn, province=province, limit=limit)
    return {"plans": [
        {**r, "created_at": r["created_at"].isoformat() if r.get("created_at") else None}
        for r in rows
    ]}


def _stored(engine: Any, plan_id: int, principal: Principal) -> dict[str, Any]:
    with transaction(engine) as conn:
        row = get_plan(conn, plan_id)
    principal.require_province(row["province_code"])
    return row


@router.get(
    "/api/cctv/plans/{plan_id}", response_class=JSONResponse,
    responses={200: {"description": "The saved plan", **_PLAN}},
)
def plan_by_id(
    plan_id: PlanId, request: Request, engine: EngineDep, settings: SettingsDep,
    principal: Viewer,
) -> JSONResponse:
    """Return a saved plan's GeoJSON, with its name, author and date in the properties.

    A caller with the sensitive right gets the exact sites and the risk points they cover;
    that read is audited as ``cctv.plan.read_sensitive`` (PDPA: who saw exact sensitive
    locations), as the OGC items of sensitive points are.
    """
    row = _stored(engine, plan_id, principal)
    fc = dict(row["result"])
    fc["properties"] = {
        **fc.get("properties", {}),
        "plan_id": row["id"], "name": row["name"], "created_by": row["created_by"],
        "created_at": row["created_at"].isoformat(), "params": row["params"],
    }
    with transaction(engine) as conn:
        shown = _shown(conn, fc, principal, settings)
        if principal.sees_sensitive:
            covered = sorted({str(i) for f in shown.get("features", [])
                              for i in (f.get("properties") or {}).get("point_ids") or []})
            audit.record(
                conn, principal=principal, action="cctv.plan.read_sensitive",
                target=f"cctv_plan:{row['id']}", record_ids=covered,
                details={"path": request.url.path, "province": row["province_code"]},
                client=request.client.host if request.client else None,
            )
    return JSONResponse(shown, media_type=GEOJSON)


@router.get(
    "/api/cctv/plans/{plan_id}/curve.png", response_class=Response,
    responses={200: {"description": "The coverage curve", "content": {"image/png": {}}}},
)
def plan_curve(plan_id: PlanId, engine: EngineDep, principal: Viewer) -> Response:
    """Draw the coverage curve of a saved plan (cameras vs share of risk covered) as a PNG."""
    row = _stored(engine, plan_id, principal)
    curve = row["result"].get("properties", {}).get("curve", [])
    png = curve_png(curve, title=f"{row['name']} ({row['province_code']})")
    return Response(png, media_type="image/png")


@router.get(
    "/api/cctv/patrols",
    responses={200: {"description": "JSON, or a spreadsheet with format=xlsx",
                     "content": {"application/json": {}, XLSX: {}}}},
)
def patrols(
    engine: EngineDep, settings: SettingsDep, principal: Viewer,
    province: Annotated[str | None, Query(pattern=r"^\d{2}$")] = None,
    per_district: Annotated[int, Query(ge=1, le=100)] = 3,
    total: Annotated[int | None, Query(ge=1, le=10_000)] = None,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    format: Annotated[Literal["json", "xlsx"], Query()] = "json",  # noqa: A002
) -> Any:
    """Ranked patrol/checkpoint areas per district (JSON, or XLSX with Thai headers)."""
    check_period(date_from, date_to)
    province = province or principal.province_code or settings.default_province
    if province is None:
        raise ValidationError("give the province (e.g. ?province=32)")
    principal.require_province(province)
    with transaction(engine) as conn:
        table = patrol_plan(conn, province=province, per_district=per_district,
                                   total=total, date_from=date_from, date_to=date_to,
                                   settings=settings)
    if format == "xlsx":
        import tempfile
        from pathlib import Path

        with tempfile.TemporaryDirectory() as tmp:
            path = write_patrols(table, Path(tmp) / "patrols.xlsx")
            data = path.read_bytes()
        return Response(data, media_type=XLSX, headers={
            "Content-Disposition": f'attachment; filename="patrols_{province}.xlsx"'})
    records = json.loads(table.to_json(orient="records", force_ascii=False))
    return {"province_code": province, "areas": len(records), "patrols": records}
