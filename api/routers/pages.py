"""The web pages: operations map (home), upload, upload history, target list, CCTV planner, users.

Handlers are thin: parse, call ``com``, render a Jinja2 template. Pages that change data do it
through the JSON API with ``fetch``/XHR and the ``X-CSRF-Token`` header (see api/web.py).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from api.deps import EngineDep, SettingsDep
from api.i18n import Translator
from api.pages_deps import AdminPage, FormCsrf, MapPage, OpenPage, StaffPage, error_page
from api.web import client_address, render
from com import boundaries
from com.analysis import risk
from com.analysis.kpi.progress import list_progress
from com.analysis.risk import HOTSPOT_LABELS
from com.config.regions import regions_in_force
from com.db.engine import transaction
from com.errors import ComError, ValidationError
from com.ingest import list_uploads
from com.maps import assets
from com.maps.data import MapFilters, load_map_data
from com.maps.mapdata import MapData
from com.maps.style import category_names
from com.security import audit, users
from com.security.access import ROLES, Principal
from com.siting.coverage import DEFAULT_RADIUS_M
from com.siting.repository import load_cameras
from com.text.thai import fiscal_year_be

router = APIRouter(include_in_schema=False)

#: Fields of an upload a column can be mapped to (keys of com.ingest.readers.FIELD_ALIASES).
UPLOAD_FIELDS: dict[str, tuple[str, str]] = {
    "lat": ("ละติจูด", "latitude"),
    "lon": ("ลองจิจูด", "longitude"),
    "location": ("พิกัดในช่องเดียว / ลิงก์ Google Maps", "location in one cell / map link"),
    "easting": ("UTM ตะวันออก (E)", "UTM easting"),
    "northing": ("UTM เหนือ (N)", "UTM northing"),
    "zone": ("โซน UTM", "UTM zone"),
    "mgrs": ("MGRS", "MGRS"),
    "address": ("ที่อยู่", "address"),
    "village": ("หมู่บ้าน", "village"),
    "moo": ("หมู่ที่", "moo"),
    "subdistrict": ("ตำบล", "subdistrict"),
    "district": ("อำเภอ", "district"),
    "province": ("จังหวัด", "province"),
    "postcode": ("รหัสไปรษณีย์", "postcode"),
    "name": ("ชื่อจุด", "name"),
    "category": ("ประเภทปัญหา", "category"),
    "severity": ("ระดับความรุนแรง", "severity"),
    "date": ("วันที่รายงาน", "date reported"),
    "count": ("จำนวนครั้ง", "incident count"),
    "note": ("หมายเหตุ", "note"),
    "row_id": ("ลำดับ", "row id"),
    "ignore": ("ไม่นำเข้า", "ignore"),
}


def _audit_map_read(
    conn: sa.Connection, request: Request, principal: Principal, filters: MapFilters,
    data: MapData, page: str,
) -> None:
    """Issue 8: a signed-in view of the map or target list is a read of the risk points.

    One row per page view (a deliberate act, unlike the dozens of tiles behind a pan), naming
    the points drawn. Anonymous views are served coarsened, small-area-suppressed data and
    cannot be tied to anyone.
    """
    if principal.kind == "anonymous":
        return
    ids = [int(i) for i in data.points["id"]] if "id" in data.points else []
    audit.record(
        conn,
        principal=principal,
        action="map.read",
        target=f"page:{page}",
        record_ids=ids[:10_000],
        details={"filters": filters.query_items(), "points": len(ids),
                 "sensitive_exact": principal.sees_sensitive},
        client=client_address(request),
    )


@router.get("/")
def home(request: Request, page: MapPage, settings: SettingsDep, engine: EngineDep) -> Response:
    """Show the operations map with its filters (all kept in the URL)."""
    principal, lang, filters = page.principal, page.lang, page.filters
    allowed = principal.allowed_provinces
    if allowed is not None and not set(filters.province_codes or {None}) <= allowed:
        t = Translator(lang)  # the refusal in the page's language (issue 15)
        return error_page(
            request,
            t("err_other_province", name=principal.name,
              province=", ".join(sorted(allowed)) or principal.region),
            principal,
            status=403,
        )
    names = category_names(settings.severity_config)
    parts: dict[str, str] | None = None
    n_points = 0
    synthetic = False
    t = Translator(lang)
    with transaction(engine) as conn:
        districts = boundaries.list_districts(conn, province_code=filters.province_code)
        # Issue 16: villages and custom layers with areas in the province are area levels too.
        area_levels = [("subdistrict", t("level_subdistrict"))] + [
            (lvl, t("level_village") if lvl == "village" else lvl.removeprefix("layer:"))
            for lvl in risk.layer_levels(conn, province=filters.province_code)]
        if filters.province_codes:
            try:
                data = load_map_data(
                    conn,
                    filters,
                    principal=principal,
                    small_area_k=settings.small_area_k,
                    severity_config=settings.severity_config,
                )
            except ValidationError as exc:
                return error_page(request, str(exc), principal)
            _audit_map_read(conn, request, principal, filters, data, "/")
            # folium only for the map pages (about 30 MB a worker that never draws one).
            from com.maps.alerts import add_live_alerts
            from com.maps.build import build_map

            m = build_map(
                data, names=names, basemap=settings.basemap, metric=filters.metric, lang=lang
            )
            if principal.kind != "anonymous":  # issue 17: new alerts without a reload
                add_live_alerts(lang=lang, m=m)
            parts = assets.render_parts(m)
            n_points = len(data.points)
            synthetic = data.synthetic
    share_query = urlencode(filters.query_items() + ([("lang", "en")] if lang == "en" else []))
    return render(
        request,
        "map.html",
        {
            "filters": filters,
            "provinces": page.provinces,
            "regions": regions_in_force().as_list(),
            "districts": districts,
            "area_levels": area_levels,
            "categories": [(k, v.get(lang) or v["th"]) for k, v in names.items()],
            "map_parts": parts,
            "n_points": n_points,
            "synthetic": synthetic,
            "share_url": str(request.base_url).rstrip("/") + "/?" + share_query,
        },
        principal=principal,
    )


@router.get("/upload")
def upload_page(request: Request, page: StaffPage) -> Response:
    """Upload a list of risk points (staff and above, within their province)."""
    principal = page.principal
    provinces = page.provinces
    allowed = principal.allowed_provinces
    if allowed is not None:
        provinces = [p for p in provinces if p["code"] in allowed]
    fields = [
        [key, f"{label[0] if page.lang == 'th' else label[1]} ({key})"]
        for key, label in UPLOAD_FIELDS.items()
    ]
    return render(
        request, "upload.html", {"provinces": provinces, "fields": fields}, principal=principal
    )


@router.get("/uploads")
def upload_history_page(request: Request, page: StaffPage, engine: EngineDep) -> Response:
    """Past uploads with their counts and reports (staff: their province only)."""
    with transaction(engine) as conn:
        rows = list_uploads(conn, principal=page.principal, limit=500)
    for row in rows:  # the page formats dates itself (Thai era, local time)
        if row["uploaded_at"]:
            row["uploaded_at"] = dt.datetime.fromisoformat(row["uploaded_at"])
    return render(request, "history.html", {"uploads": rows}, principal=page.principal)


@router.get("/targets")
def targets_page(
    request: Request, page: MapPage, settings: SettingsDep, engine: EngineDep
) -> Response:
    """List the ranked subdistricts with their explanation; planners declare a target list."""
    principal, filters = page.principal, page.filters
    names = category_names(settings.severity_config)
    rows: list[dict[str, Any]] = []
    progress: list[dict[str, Any]] = []
    if filters.province_codes:
        with transaction(engine) as conn:
            try:
                data = load_map_data(
                    conn,
                    filters,
                    principal=principal,
                    small_area_k=settings.small_area_k,
                    severity_config=settings.severity_config,
                )
            except ValidationError as exc:
                return error_page(request, str(exc), principal)
            _audit_map_read(conn, request, principal, filters, data, "/targets")
            if filters.province_code:  # plan progress is kept per province's target lists
                progress = list_progress(conn, province=filters.province_code)
        frame = data.areas.drop(columns="geometry")
        rows = frame.to_dict("records")
        rows.sort(key=lambda r: (r.get("rank") is None, r.get("rank") or 0, r["code"]))
        for row in rows:  # the Gi* class in the page's language, not its key (issue 15)
            cls = row.get("hotspot_class")
            label = HOTSPOT_LABELS.get(cls, (cls, cls)) if isinstance(cls, str) else None
            row["hotspot_label"] = label and label[0 if page.lang == "th" else 1]
    return render(
        request,
        "targets.html",
        {
            "filters": filters,
            "provinces": page.provinces,
            "rows": rows,
            "progress": progress,
            "categories": [(k, v.get(page.lang) or v["th"]) for k, v in names.items()],
            "fiscal_year": fiscal_year_be(dt.date.today()) + 1,
            "query": urlencode(filters.query_items()),
        },
        principal=principal,
    )


#: Words of the siting API's refusals (api/routers/cctv.py, com.siting) -> catalogue keys: the
#: CCTV page shows the refusal in its own language (issue 15), the API's English in a tooltip.
CCTV_ERRORS: dict[str, str] = {
    "give either": "err_k_or_budget",
    "COM_CCTV_MAX_K": "err_max_k",
    "COM_CCTV_MIN_RADIUS_M": "err_min_radius",
    "COM_CCTV_MAX_TIME_LIMIT_S": "err_time_limit",
    "needs a cost": "err_costs",
    "has a cost": "err_costs",
    "needs a name": "err_plan_name",
    "no uploaded candidate sites": "err_no_sites",
}
#: Fields of the CCTV form (PlanRequest) named in a refusal -> catalogue keys.
CCTV_FIELDS = {"k": "k_cameras", "budget": "budget", "radius_m": "radius_m",
               "district": "district", "province": "province"}
#: HTTP statuses the CCTV page explains (0: no answer from the server).
ERROR_STATUSES = (0, 400, 401, 403, 404, 409, 413, 422, 429, 500, 503)


def cctv_errors(t: Translator) -> dict[str, Any]:
    """Return the CCTV page's error texts in the page's language (see CCTV_ERRORS)."""
    return {
        "messages": {words: t(key) for words, key in CCTV_ERRORS.items()},
        "fields": {field: t(key) for field, key in CCTV_FIELDS.items()},
        "invalid_field": t("err_invalid_field"),
        "status": {**{str(s): t(f"err_status_{s}") for s in ERROR_STATUSES},
                   "other": t("err_status_other")},
    }


@router.get("/cctv")
def cctv_page(request: Request, page: OpenPage, engine: EngineDep) -> Response:
    """Plan CCTV sites: the form calls the siting API and draws the result."""
    code = page.default_province
    with transaction(engine) as conn:
        districts = boundaries.list_districts(conn, province_code=code, with_geometry=True)
        cameras = load_cameras(conn, province=code, margin_m=0) if code else None
    outlines = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": d.pop("geometry"), "properties": {"code": d["code"]}}
            for d in districts
        ],
    }
    province = next((p for p in page.provinces if p["code"] == code), None)
    name_key = "name_th" if page.lang == "th" else "name_en"
    return render(
        request,
        "cctv.html",
        {
            "province_code": code,
            # The area by its name, not "จังหวัด 32" (issue 15).
            "province_name": (province or {}).get(name_key) or code or "",
            "provinces": page.provinces,
            "districts": districts,
            "outlines": outlines,
            "cameras": [] if cameras is None else [
                {"lon": round(float(c.lon), 6), "lat": round(float(c.lat), 6),
                 "name": c.name or ""}
                for c in cameras.itertuples(index=False)
            ],
            "errors": cctv_errors(Translator(page.lang)),
            # One default radius for the page, the API and `com cctv` (issue 15).
            "default_radius_m": DEFAULT_RADIUS_M,
            "vendor": assets.VENDOR_PREFIX,
        },
        principal=page.principal,
    )


@router.get("/admin/users")
def users_page(request: Request, page: AdminPage, engine: EngineDep) -> Response:
    """List and create user accounts (admin)."""
    with transaction(engine) as conn:
        accounts = users.list_users(conn)
    return render(
        request,
        "users.html",
        {"accounts": accounts, "roles": ROLES, "provinces": page.provinces},
        principal=page.principal,
    )


@router.post("/admin/users")
def users_create(
    request: Request,
    _csrf: FormCsrf,
    page: AdminPage,
    engine: EngineDep,
    username: Annotated[str, Form(max_length=64)],
    role: Annotated[str, Form(max_length=20)],
    province_code: Annotated[str, Form(max_length=2)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create an account with a generated password, shown once on the next page."""
    principal = page.principal
    new_password = users.generate_password()
    password: str | None = new_password
    message = None
    try:
        with transaction(engine) as conn:
            account = users.create_user(
                conn,
                username=username,
                password=new_password,
                role=role,
                province_code=province_code or None,
                display_name=display_name or None,
            )
            audit.record(
                conn,
                principal=principal,
                action="user.create",
                target=f"user:{account.username}",
                details={"role": role, "province_code": province_code or None},
                client=client_address(request),
            )
    except ComError as exc:
        message = str(exc)
        password = None
    # The new password is shown once, in this response only (never in a URL or a log).
    with transaction(engine) as conn:
        accounts = users.list_users(conn)
    return render(
        request,
        "users.html",
        {
            "accounts": accounts,
            "roles": ROLES,
            "provinces": page.provinces,
            "message": message,
            "new_user": username if password else None,
            "new_password": password,
        },
        status_code=200 if password else 422,
        principal=principal,
    )
