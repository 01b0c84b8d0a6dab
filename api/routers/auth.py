"""Sign-in and sign-out for the web pages, and who the current browser is."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from api.deps import EngineDep, SettingsDep
from api.errors import audit_refusal
from api.i18n import Translator, pick_lang
from api.security import PrincipalDep
from api.web import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CsrfFailed,
    check_form_csrf,
    client_address,
    render,
    safe_next,
    secure_cookies,
    web_session,
)
from com.db.engine import transaction
from com.security import users

router = APIRouter(tags=["auth"])


def _login_page(
    request: Request, *, next_url: str, error: str | None = None, status_code: int = 200
) -> Response:
    # Sign-in has no session yet, so its form is protected by a double-submit token: a random
    # value in a SameSite cookie that the form must echo.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        {"next": next_url, "login_csrf": token, "error": error},
        status_code=status_code,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
        max_age=3600,
    )
    return response


@router.get("/login", include_in_schema=False)
def login_form(request: Request, next: str | None = None) -> Response:  # noqa: A002
    """Show the sign-in form."""
    return _login_page(request, next_url=safe_next(next))


@router.post("/login", include_in_schema=False)
def login(
    request: Request,
    engine: EngineDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",  # noqa: A002
) -> Response:
    """Check the password, open a server-side session and set the session cookie."""
    t = Translator(pick_lang(request))
    target = safe_next(next)
    cookie_token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie_token or not secrets.compare_digest(cookie_token.encode(), csrf_token.encode()):
        audit_refusal(request, action="csrf.failed", status=403,
                      reason="sign-in form without the sign-in CSRF token")
        return _login_page(request, next_url=target, error=t("csrf_failed"), status_code=403)
    client = client_address(request)
    with transaction(engine) as conn:
        result = users.authenticate(conn, username=username, password=password, client=client)
        if result.ok:
            assert result.account is not None
            token, _info = users.start_session(
                conn, result.account, max_age_s=settings.session_max_age_s, client=client
            )
    if result.reason == "throttled":
        response = _login_page(
            request,
            next_url=target,
            error=t("throttled", s=result.retry_after_s),
            status_code=429,
        )
        response.headers["Retry-After"] = str(result.retry_after_s)
        return response
    if not result.ok:
        return _login_page(request, next_url=target, error=t("bad_login"), status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_max_age_s,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout", include_in_schema=False)
def logout(
    request: Request,
    engine: EngineDep,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Revoke the session (the form carries the CSRF token) and clear the cookie."""
    try:
        check_form_csrf(request, csrf_token)
    except CsrfFailed:
        if web_session(request) is not None:
            raise
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        with transaction(engine) as conn:
            users.end_session(conn, token, client=client_address(request))
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/api/session", tags=["auth"])
def current_session(request: Request, principal: PrincipalDep) -> dict:
    """Return who is calling and, for a signed-in browser, the CSRF token for writes."""
    info = web_session(request)
    return {
        "kind": principal.kind,
        "name": principal.name,
        "role": principal.role,
        "province_code": principal.province_code,
        "region": principal.region,
        "csrf_token": info.csrf_token if info else None,
        "expires_at": info.expires_at.isoformat() if info else None,
    }
