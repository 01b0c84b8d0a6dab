"""Web-page plumbing shared by the auth and pages routers: sessions, CSRF, templates.

A signed-in browser holds the ``com_session`` cookie (random token, HttpOnly, SameSite=Lax,
Secure outside development and test). :func:`session_principal` is registered in
``app.state.principal_resolvers`` so every API route sees the same user; writes made with the
cookie must carry the session's CSRF token in the ``X-CSRF-Token`` header (HTML forms send it
as the ``csrf_token`` field and are checked by their handlers with :func:`check_form_csrf`).
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.headers import csp_nonce, nonce_scripts
from api.i18n import LANG_COOKIE, Translator, pick_lang
from api.security import Unauthenticated, get_principal
from com.db.engine import transaction
from com.errors import PermissionDenied
from com.maps import assets
from com.security import users
from com.security.access import Principal

SESSION_COOKIE = "com_session"
LOGIN_CSRF_COOKIE = "com_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
# Issue 11: folium's page header has inline scripts; they run only with the response's nonce.
templates.env.filters["with_nonce"] = nonce_scripts
_MISSING = object()


class CsrfFailed(PermissionDenied):
    """A cookie-authenticated write without the session's CSRF token (HTTP 403)."""


def client_address(request: Request) -> str:
    """Return the client's address (api.proxy resolved it, honouring trusted proxies only)."""
    return request.client.host if request.client else ""


def secure_cookies(request: Request) -> bool:
    """Return True when cookies must be Secure (every environment but development and test)."""
    return request.app.state.settings.environment not in ("development", "test")


def web_session(request: Request) -> users.SessionInfo | None:
    """Return the live session of the request's cookie (looked up once per request)."""
    cached = getattr(request.state, "web_session", _MISSING)
    if cached is not _MISSING:
        return cached  # type: ignore[return-value]
    token = request.cookies.get(SESSION_COOKIE)
    info = None
    if token:
        with transaction(request.app.state.engine) as conn:
            info = users.resolve_session(conn, token)
    request.state.web_session = info
    return info


def session_principal(request: Request) -> Principal | None:
    """Principal resolver: the signed-in user of the session cookie, or None.

    Raises
    ------
    CsrfFailed
        For a write (POST, PUT, PATCH, DELETE) with the cookie but without the session's
        token in the ``X-CSRF-Token`` header.
    """
    if request.headers.get("x-api-key") or request.headers.get("authorization"):
        return None  # an explicit API key speaks for the request, not a browser cookie
    info = web_session(request)
    if info is None:
        return None
    if request.method in UNSAFE_METHODS and not getattr(request.state, "form_csrf_ok", False):
        sent = request.headers.get(CSRF_HEADER, "")
        if not secrets.compare_digest(sent.encode(), info.csrf_token.encode()):
            raise CsrfFailed(f"missing or wrong {CSRF_HEADER} header for a signed-in write")
    return info.account.principal()


def check_form_csrf(request: Request, sent: str | None) -> users.SessionInfo:
    """Return the session when the form's ``csrf_token`` matches it.

    Raises
    ------
    CsrfFailed
        No session, or the token is missing or wrong.
    """
    info = web_session(request)
    if (
        info is None
        or not sent
        or not secrets.compare_digest(sent.encode(), info.csrf_token.encode())
    ):
        raise CsrfFailed("missing or wrong CSRF token in the form")
    request.state.form_csrf_ok = True  # the session resolver need not ask for the header
    return info


def page_principal(request: Request) -> Principal | RedirectResponse:
    """Return the page's viewer, or a redirect to the sign-in page when one is needed."""
    try:
        return get_principal(request)
    except Unauthenticated:
        return login_redirect(request)


def login_redirect(request: Request) -> RedirectResponse:
    """Redirect to the sign-in page, coming back to this page afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)


def safe_next(target: str | None) -> str:
    """Return ``target`` when it is a path on this site, else ``/`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def render(
    request: Request,
    name: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    principal: Principal | None = None,
) -> HTMLResponse:
    """Render a page template with the language, the viewer and the CSRF token."""
    lang = pick_lang(request)
    info = web_session(request)
    if principal is None:
        try:
            principal = get_principal(request)
        except PermissionDenied:
            principal = None
    t = Translator(lang)
    other_lang = "en" if lang == "th" else "th"
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    query.append(("lang", other_lang))
    switch_url = request.url.path + "?" + "&".join(f"{quote(k)}={quote(v)}" for k, v in query)
    values = {
        "request": request,
        "t": t,
        "lang": lang,
        "principal": principal,
        "account": info.account if info else None,
        "csrf_token": info.csrf_token if info else "",
        "lang_switch_url": switch_url,
        "assets_missing": bool(assets.missing_files()),
        "path": request.url.path,
        "csp_nonce": csp_nonce(request),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, name, values, status_code=status_code)
    if request.query_params.get("lang") in ("th", "en"):
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 86400,
            samesite="lax",
            httponly=True,
            secure=secure_cookies(request),
        )
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def forbidden_page(request: Request, principal: Principal, role: str) -> Response:
    """Return the 403 page for a signed-in user without ``role``."""
    t = Translator(pick_lang(request))
    return render(
        request,
        "error.html",
        {
            "title": t("forbidden_title"),
            "message": t("forbidden", role=t(f"role_{role}")),
        },
        status_code=403,
        principal=principal,
    )


def require_page_role(request: Request, role: str) -> Principal | Response:
    """Return the viewer when they have ``role``, else a sign-in redirect or a 403 page."""
    principal = page_principal(request)
    if isinstance(principal, Response):
        return principal
    if principal.kind == "anonymous":
        return login_redirect(request)
    if not principal.has_role(role):
        return forbidden_page(request, principal, role)
    return principal
