"""The web pages' shared preamble as one dependency: viewer, language, provinces, filters."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import Response

from api.deps import EngineDep, SettingsDep
from api.i18n import Translator, pick_lang
from api.web import check_form_csrf, page_principal, render, require_page_role
from com import boundaries
from com.config.settings import Settings
from com.db.engine import transaction
from com.errors import ValidationError
from com.maps.data import MapFilters
from com.security.access import Principal


class PageExit(Exception):
    """Ends a page before its handler with a ready response (sign-in redirect, 403, error page)."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def install(app: FastAPI) -> None:
    """Answer a :class:`PageExit` raised by a page dependency with its response."""

    async def _page_exit(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, PageExit)
        return exc.response

    app.add_exception_handler(PageExit, _page_exit)


@dataclass(frozen=True)
class Page:
    """What every page handler starts from.

    ``default_province`` is the viewer's own province, else the configured default, else the
    province with the most points. ``filters`` are the map filters of the URL with the
    default province filled in (empty filters on pages without a map).
    """

    principal: Principal
    lang: str
    provinces: list[dict[str, Any]]
    default_province: str | None
    filters: MapFilters = dataclasses.field(default_factory=MapFilters)


def error_page(request: Request, message: str, principal: Principal, status: int = 422) -> Response:
    """Return the error page with ``message``."""
    t = Translator(pick_lang(request))
    return render(
        request,
        "error.html",
        {"title": t("error_title"), "message": message},
        status_code=status,
        principal=principal,
    )


def default_province(
    principal: Principal, settings: Settings, provinces: list[dict[str, Any]]
) -> str | None:
    """Return the province a page shows when its URL names none."""
    if principal.province_code:
        return principal.province_code
    allowed = principal.allowed_provinces
    if allowed is not None:  # limited to a region: the default if it is one of its own
        if settings.default_province in allowed:
            return settings.default_province
        return min(allowed) if allowed else None
    if settings.default_province:
        return settings.default_province
    with_points = [p for p in provinces if p["points"]]
    return max(with_points, key=lambda p: p["points"])["code"] if with_points else None


def _page(
    request: Request, engine: Any, settings: Settings, principal: Principal | Response,
    filters: MapFilters | None = None,
) -> Page:
    if isinstance(principal, Response):
        raise PageExit(principal)
    with transaction(engine) as conn:
        provinces = boundaries.list_provinces(conn)
    default = default_province(principal, settings, provinces)
    if filters is None:
        filters = MapFilters()
    elif not filters.province_code and not filters.region:
        # A region-limited viewer opens on their region, others on the default province.
        filters = (dataclasses.replace(filters, region=principal.region) if principal.region
                   else dataclasses.replace(filters, province_code=default))
    return Page(principal, pick_lang(request), provinces, default, filters)


def open_page(request: Request, engine: EngineDep, settings: SettingsDep) -> Page:
    """Dependency of a page anyone may see (anonymous viewers get coarsened data)."""
    return _page(request, engine, settings, page_principal(request))


def map_page(request: Request, engine: EngineDep, settings: SettingsDep) -> Page:
    """Dependency of a page with the map filters in its URL (an error page when they are bad)."""
    principal = page_principal(request)
    if isinstance(principal, Response):
        raise PageExit(principal)
    params: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        params.setdefault(key, []).append(value)
    try:
        filters = MapFilters.from_query(params)
    except ValidationError as exc:
        raise PageExit(error_page(request, str(exc), principal)) from None
    return _page(request, engine, settings, principal, filters)


def role_page(role: str) -> Callable[..., Page]:
    """Dependency of a page for ``role`` and above (others: sign-in redirect or 403 page)."""

    def dependency(request: Request, engine: EngineDep, settings: SettingsDep) -> Page:
        return _page(request, engine, settings, require_page_role(request, role))

    return dependency


def form_csrf(
    request: Request, csrf_token: Annotated[str, Form(max_length=200)] = ""
) -> None:
    """Dependency of a form post: the session's CSRF token (checked before the viewer's role)."""
    check_form_csrf(request, csrf_token)


OpenPage = Annotated[Page, Depends(open_page)]
MapPage = Annotated[Page, Depends(map_page)]
StaffPage = Annotated[Page, Depends(role_page("staff"))]
AdminPage = Annotated[Page, Depends(role_page("admin"))]
FormCsrf = Annotated[None, Depends(form_csrf)]
