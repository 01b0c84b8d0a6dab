"""The printable meeting brief (issue 18): a thin handler over com.brief."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.deps import EngineDep, SettingsDep
from api.params import CalendarDate, FiscalYear, RegionParam
from api.security import PrincipalDep
from com.brief import BRIEF_FORMATS, assemble_brief, render_brief
from com.brief.assemble import TOP_N_MAX
from com.brief.output import audit_brief
from com.db.engine import transaction
from com.errors import ValidationError

router = APIRouter(tags=["briefs"])


@router.get(
    "/api/briefs",
    summary="The meeting brief of a province or a region (PDF or DOCX)",
    responses={200: {"description": "The brief", "content": {m: {} for m in
                                                              BRIEF_FORMATS.values()}}},
)
def brief(
    request: Request, engine: EngineDep, settings: SettingsDep, principal: PrincipalDep,
    fy: FiscalYear,
    province: Annotated[str | None, Query(description="Province code, e.g. 32")] = None,
    format: Annotated[Literal["pdf", "docx"], Query()] = "pdf",  # noqa: A002
    top: Annotated[int, Query(ge=1, le=TOP_N_MAX, description="Rows of the ranked table")] = 10,
    since: Annotated[CalendarDate, Query(description="Start of 'since the last meeting'")] = None,
    region: RegionParam = None,
) -> Response:
    """Return the printable Thai brief: KPI, maps, ranking, CCTV plan, changes since.

    Access as for /api/kpi (a province-restricted user gets their province only, a
    region-limited one its region's provinces; with ``region`` and no province, every province
    of the region and its summary); sensitive positions are coarsened and informant details
    left out unless the caller may see them. Writes an export.<format> audit row.
    """
    if region or (not province and principal.region):
        extent = principal.scope_extent(province=province, region=region)
        region = extent["region"] if not extent["province"] else None
        province = extent["province"]
    if not region:
        province = province or principal.province_code or settings.default_province
        if province is None:
            raise ValidationError("ระบุจังหวัด / give the province (e.g. ?province=32)")
        if principal.allowed_provinces is not None:
            principal.require_province(province)
    with transaction(engine) as conn:
        made = assemble_brief(
            conn, provinces=[province] if province else [], region=region,
            regions_config=settings.regions_config, fiscal_year_be=fy, principal=principal,
            severity_config=settings.severity_config, small_area_k=settings.small_area_k,
            since=since, top=top)
        data = render_brief(made, format)
        audit_brief(conn, made, format, principal=principal, size=len(data),
                    client=request.client.host if request.client else None)
    name = made.region.key if made.region else province
    return Response(data, media_type=BRIEF_FORMATS[format], headers={
        "Content-Disposition": f'attachment; filename="brief-{name}-{fy}.{format}"'})
