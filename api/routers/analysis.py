"""Rankings, hot spots, target lists and KPIs (issue 4): thin handlers over com.analysis."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field
from sqlalchemy.engine import Connection

from api import answers, overload
from api.deps import EngineDep, SettingsDep
from api.params import (
    AsOf,
    DateFrom,
    DateTo,
    FiscalYear,
    OptionalFiscalYear,
    RegionParam,
    Seed,
    check_period,
)
from api.security import PrincipalDep, require_role
from com.analysis import kpi, risk
from com.config.settings import Settings
from com.config.severity import SeverityModel, load_severity_model
from com.db.engine import transaction
from com.security import privacy
from com.security.access import Principal

router = APIRouter(tags=["analysis"])

GEOJSON = "application/geo+json"
#: format=json (default) or format=geojson.
AREAS_RESPONSES: dict[int | str, dict[str, Any]] = {200: {
    "description": "The areas as JSON, or as GeoJSON with format=geojson",
    "content": {"application/json": {}, GEOJSON: {}},
}}


#: The query parameters of the area routes, one declaration each (AreaQuery, RankingQuery).
LevelParam = Annotated[str, Query(
    max_length=80, description="subdistrict, district, province, h3:N, village or layer:NAME")]
ProvinceParam = Annotated[str | None, Query(description="Province code, e.g. 32")]
DistrictParam = Annotated[str | None, Query(description="District code, e.g. 3206")]
CategoryParam = Annotated[
    list[str] | None, Query(description="Category key or alias (repeatable)")]
MinSeverityParam = Annotated[int | None, Query(ge=1, le=5)]
FormatParam = Annotated[Literal["json", "geojson"], Query()]


class AreaQuery:
    """Query parameters shared by the ranking and hot spot routes."""

    def __init__(
        self,
        level: LevelParam = "subdistrict",
        province: ProvinceParam = None,
        district: DistrictParam = None,
        region: RegionParam = None,
        date_from: DateFrom = None,
        date_to: DateTo = None,
        category: CategoryParam = None,
        min_severity: MinSeverityParam = None,
        as_of: AsOf = None,
        format: FormatParam = "json",  # noqa: A002
        limit: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
    ) -> None:
        check_period(date_from, date_to)
        self.level = level
        self.province = province
        self.district = district
        self.region = region
        self.date_from = date_from
        self.date_to = date_to
        self.categories = category
        self.min_severity = min_severity
        self.as_of = as_of
        self.format = format
        self.limit = limit

    def filters(self, principal: Principal) -> dict[str, Any]:
        """Return the keyword filters of com.analysis.risk, limited to the caller's provinces."""
        risk.check_level_for(self.level, sees_sensitive=principal.sees_sensitive)
        extent = principal.scope_extent(province=self.province, region=self.region,
                                        district=self.district)
        return {
            "level": self.level, **extent, "district": self.district,
            "date_from": self.date_from, "date_to": self.date_to,
            "categories": self.categories, "min_severity": self.min_severity,
            "as_of": self.as_of,
        }


AreaQueryDep = Annotated[AreaQuery, Depends()]

#: Level of a target list: subdistrict, district, village or layer:NAME (issue 16).
_TARGET_LEVEL = r"^(subdistrict|district|village|layer:[0-9A-Za-z_\-\u0e00-\u0e7f]{1,60})$"
TargetLevel = Annotated[str, Query(
    max_length=80, pattern=_TARGET_LEVEL,
    description="subdistrict, district, village or layer:NAME")]


def _model(settings: Settings) -> SeverityModel:
    return load_severity_model(settings.severity_config)


def public_ranking(
    conn: Connection, frame: Any, principal: Principal, settings: Settings
) -> Any:
    """Return ``frame`` as ``principal`` may see it: small areas hidden for public callers.

    Public callers never see the figures of areas with 1 to k-1 points in all
    (re-identification); the shown areas are ranked again without gaps, hidden ones last.
    """
    if not privacy.applies_to(principal):
        return frame
    level = str(frame.attrs.get("level", "subdistrict"))
    code_column = risk.AreaLevel.parse(level).code_column
    hidden = _hidden_areas(conn, settings, level)
    return privacy.suppress_areas(frame, hidden, code_column=code_column)


def _hidden_areas(conn: Connection, settings: Settings, level: str) -> frozenset[str]:
    # The one small-area rule; H3 totals come from the analysis (privacy is a leaf package).
    totals = risk.h3_point_totals(conn, level) if level.startswith("h3") else None
    if level == "village" or level.startswith("layer:"):  # issue 16: areas of a layer
        totals = risk.layer_point_totals(conn, level)
    return privacy.hidden_areas(conn, k=settings.small_area_k, level=level, totals=totals)


def _areas_response(frame: Any, query: AreaQuery) -> Any:
    if query.limit is not None:
        attrs = dict(frame.attrs)
        frame = frame.head(query.limit)
        frame.attrs.update(attrs)
    if query.format == "geojson":
        return JSONResponse(risk.areas_to_geojson(frame), media_type=GEOJSON)
    return Response(risk.areas_to_json(frame, **dict(frame.attrs)),
                    media_type="application/json")


def _flight_key(name: str, filters: dict[str, Any], *extra: Any) -> tuple[Any, ...]:
    """Return what identifies a ranking computation (its filters; the frame is per filter)."""
    items = tuple(
        (k, tuple(v) if isinstance(v, list) else v) for k, v in sorted(filters.items())
    )
    return (name, items, *extra)


class RankingQuery(AreaQuery):
    """The ranking's parameters: those of :class:`AreaQuery`, a page of them (issue 13)."""

    def __init__(
        self,
        level: LevelParam = "subdistrict",
        province: ProvinceParam = None,
        district: DistrictParam = None,
        region: RegionParam = None,
        date_from: DateFrom = None,
        date_to: DateTo = None,
        category: CategoryParam = None,
        min_severity: MinSeverityParam = None,
        as_of: AsOf = None,
        format: FormatParam = "json",  # noqa: A002
        limit: Annotated[int, Query(ge=1, le=answers.MAX_LIMIT, description=(
            "Areas per page; the answer's `next` gives the next page"))] = answers.DEFAULT_LIMIT,
        offset: Annotated[int, Query(ge=0, le=answers.MAX_LIMIT, description=(
            "Areas skipped (rank order)"))] = 0,
    ) -> None:
        super().__init__(level=level, province=province, district=district, region=region,
                         date_from=date_from, date_to=date_to, category=category,
                         min_severity=min_severity, as_of=as_of, format=format, limit=limit)
        self.limit: int = limit
        self.offset = offset


RankingQueryDep = Annotated[RankingQuery, Depends()]


@router.get("/api/rankings", responses=AREAS_RESPONSES)
def rankings(
    request: Request, query: RankingQueryDep, engine: EngineDep, settings: SettingsDep,
    principal: PrincipalDep,
) -> Response:
    """Rank areas by risk score, a page at a time (``total`` and the ``next`` page's address).

    Every area of the extent, also those without points (H3: the cells with points).
    """
    filters = query.filters(principal)
    model = _model(settings)
    public = privacy.applies_to(principal)
    key = None
    # H3 too (issue 13): its cells follow the same data version (the points' rollup).
    with transaction(engine) as conn:
        version = answers.data_version(conn)
    if version is not None:
        # Everything that changes the bytes (answers.py): never shared across rights.
        key = (_flight_key("rankings", filters), query.format, query.limit, query.offset,
               str(request.url), model.model_dump_json(), public, principal.sees_sensitive,
               settings.small_area_k, answers.analysis_date(query.as_of), version)
        found = answers.answer_cache(request).get(key)
        if found is None and answers.etag_matches(request.headers.get("if-none-match"),
                                                  answers.etag_of_key(key)):
            return answers.not_modified(answers.etag_of_key(key), public=public)

    def make(etag: str | None) -> answers.Encoded:
        def compute() -> Any:
            with transaction(engine) as conn:
                return risk.rank_areas(conn, model=model, **filters)

        # Issue 11: concurrent requests for one ranking share one computation (single flight).
        frame = overload.shared(request, _flight_key("rankings", filters), compute)
        with transaction(engine) as conn:
            frame = public_ranking(conn, frame, principal, settings)
        total = len(frame)
        return answers.encode(
            answers.page_of(frame, query.limit, query.offset), fmt=query.format, total=total,
            limit=query.limit, offset=query.offset,
            next_page=answers.next_url(request, total, query.limit, query.offset), etag=etag,
        )

    return answers.respond(request, answers.cached_answer(request, key, make), public=public)


@router.get("/api/rankings/{code}")
def explain(
    code: str, query: AreaQueryDep, engine: EngineDep, settings: SettingsDep,
    principal: PrincipalDep, top: Annotated[int, Query(ge=1, le=100)] = 10,
    level: Annotated[str | None, Query(max_length=80, description=(
        "The area's level when its code does not say it (layer:NAME)"))] = None,
) -> dict[str, Any]:
    """Explain one area's score: categories, context factors, heaviest points."""
    area_level = risk.check_level_for(level or code, sees_sensitive=principal.sees_sensitive)
    allowed = principal.allowed_provinces
    if allowed is not None and area_level.kind == "h3":
        # A cell has no province in its code (its hex digits are not one): a limited caller
        # sees the cell's points of their own provinces only.
        if not allowed:
            principal.require_province(code[:2])
    elif allowed is not None and code[:2].isdigit():
        principal.require_province(code[:2])
    if principal.province_code and area_level.kind == "layer":
        # A custom layer's areas are ranked across the country: not for a province's account.
        principal.require_province("")
    with transaction(engine) as conn:
        hidden = (_hidden_areas(conn, settings, str(area_level))
                  if privacy.applies_to(principal) else frozenset())
        result = risk.explain_area(
            conn, code, date_from=query.date_from, date_to=query.date_to,
            categories=query.categories, min_severity=query.min_severity, as_of=query.as_of,
            model=_model(settings), top=top, exact_coordinates=principal.sees_sensitive,
            hidden=hidden, level=area_level,
            provinces=allowed if area_level.kind == "h3" else None,
        )
    if result.code in hidden:
        return {"level": result.level, "code": result.code, "name_th": result.name_th,
                "name_en": result.name_en, "suppressed": True}
    return result.as_dict()


@router.get("/api/hotspots", responses=AREAS_RESPONSES)
def hotspots(
    request: Request, query: AreaQueryDep, engine: EngineDep, settings: SettingsDep,
    principal: PrincipalDep,
    permutations: Annotated[int | None, Query(ge=0, le=9999)] = None,
    seed: Seed = None,
) -> Any:
    """Getis-Ord Gi* hot and cold spots of the area scores."""
    filters = query.filters(principal)

    def compute() -> Any:
        with transaction(engine) as conn:
            return risk.hotspots(conn, model=_model(settings), permutations=permutations,
                                 seed=seed, **filters)

    frame = overload.shared(request, _flight_key("hotspots", filters, permutations, seed),
                            compute)
    with transaction(engine) as conn:
        frame = public_ranking(conn, frame, principal, settings)
    return _areas_response(frame, query)


@router.get("/api/targets")
def targets(
    engine: EngineDep, principal: PrincipalDep,
    province: Annotated[str | None, Query()] = None,
    fy: OptionalFiscalYear = None,
    level: TargetLevel = "subdistrict",
) -> Any:
    """List declared target lists; with province and fy, return that list and its areas."""
    province = province or principal.province_code
    if principal.allowed_provinces is not None:
        principal.require_province(province)
    with transaction(engine) as conn:
        if province is not None and fy is not None:
            return kpi.get_target_list(conn, province=province, fiscal_year_be=fy, level=level)
        return {"lists": kpi.list_target_lists(conn, province=province, fiscal_year_be=fy)}


class DeclareTargets(BaseModel):
    """Body of POST /api/targets: top N or chosen codes."""

    province: str = Field(pattern=r"^\d{2}$")
    fiscal_year_be: int = Field(ge=kpi.FISCAL_YEAR_BE_MIN, le=kpi.FISCAL_YEAR_BE_MAX)
    level: str = Field(default="subdistrict", max_length=80, pattern=_TARGET_LEVEL)
    top: int | None = Field(default=None, ge=1, le=10_000)
    codes: list[str] | None = None
    replace: bool = False


@router.post("/api/targets", status_code=201)
def declare(
    body: DeclareTargets, request: Request, engine: EngineDep, settings: SettingsDep,
    principal: Annotated[Principal, Depends(require_role("planner"))],
) -> dict[str, Any]:
    """Declare a target list (planner role; audited as targets.declare)."""
    client = request.client.host if request.client else None
    with transaction(engine) as conn:
        return kpi.declare_targets(
            conn, province=body.province, fiscal_year_be=body.fiscal_year_be,
            principal=principal, top=body.top, codes=body.codes, level=body.level,
            model=_model(settings), replace=body.replace, client=client,
        )


@router.get("/api/kpi")
def kpi_report(
    engine: EngineDep, settings: SettingsDep, principal: PrincipalDep,
    fy: FiscalYear,
    province: Annotated[str | None, Query()] = None,
    level: TargetLevel = "subdistrict",
    baseline_fy: OptionalFiscalYear = None,
    region: RegionParam = None,
) -> dict[str, Any]:
    """Report the KPIs of a fiscal year against its declared target list(s).

    With ``region`` (and no province): every province of the region and the region's totals.
    """
    if region or (not province and principal.region):
        extent = principal.scope_extent(province=province, region=region)
        if extent["region"] and not extent["province"]:
            with transaction(engine) as conn:
                return kpi.region_kpi_report(
                    conn, region=extent["region"], fiscal_year_be=fy, level=level,
                    model=_model(settings), baseline_fy=baseline_fy,
                    regions_config=settings.regions_config)
        province = extent["province"]
    province = province or principal.province_code or settings.default_province
    if principal.allowed_provinces is not None:
        principal.require_province(province)
    if province is None:
        from com.errors import ValidationError

        raise ValidationError("give the province (e.g. ?province=32)")
    with transaction(engine) as conn:
        return kpi.kpi_report(conn, province=province, fiscal_year_be=fy, level=level,
                              model=_model(settings), baseline_fy=baseline_fy)
