"""Map `com.errors` classes to HTTP status codes and RFC 9457 problem+json bodies."""

from __future__ import annotations

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from com import errors
from com.db.engine import transaction
from com.ingest.readers import FileTooLarge, UnsupportedFileType
from com.security import audit
from com.security.access import ANONYMOUS, Principal

log = logging.getLogger("api")

STATUS = {
    errors.InvalidQuery: 400,  # OGC API - Features: invalid query parameters are 400
    FileTooLarge: 413,
    UnsupportedFileType: 415,
    errors.NotFoundError: 404,
    errors.ParseError: 422,
    errors.UploadError: 422,
    errors.ValidationError: 422,
    errors.ConflictError: 409,
    errors.PermissionDenied: 403,
    errors.DatabaseUnavailable: 503,
    errors.ServerBusy: 503,  # issue 11: overload is a retry-later, never a 500
    errors.ConfigError: 500,
    errors.GeodataError: 500,
}


def problem(status: int, title: str, detail: str, **extra: object) -> JSONResponse:
    """Return an RFC 9457 problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def status_for(exc: errors.ComError) -> int:
    """Return the HTTP status of a COM error (most specific class first)."""
    from api.security import Unauthenticated

    if isinstance(exc, Unauthenticated):
        return 401
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def is_upload(request: Request) -> bool:
    """Return True for a request that sends an upload (its failures are audited)."""
    return request.method == "POST" and request.url.path.rstrip("/") == "/api/uploads"


def refusal_action(request: Request, status: int, exc: Exception | None = None) -> str | None:
    """Return the audit action of a refused request, or None when it is not audited.

    Every 401 and 403 on any route (denied reads and writes, bad or revoked API keys, CSRF
    failures) and every failed upload are audited; other 4xx (a typo in a filter) are not.
    """
    from api.apikeys import KeyRefused
    from api.web import CsrfFailed

    if isinstance(exc, KeyRefused):
        return "apikey.refused"
    if isinstance(exc, CsrfFailed):
        return "csrf.failed"
    if is_upload(request) and 400 <= status < 500:
        return "upload.failed"
    if status == 401:
        return "access.unauthenticated"
    if status == 403:
        return "access.denied"
    return None


def audit_refusal(
    request: Request, *, action: str, status: int, reason: str,
    principal: Principal | None = None, kind: str = "",
) -> None:
    """Write the audit row of a refused request in a transaction of its own.

    Never raises: the caller is already answering 4xx, and a failing audit write (the
    database is down, the role may not insert) must not turn it into a 5xx; it is logged.
    :class:`com.security.audit.RefusalLimiter` keeps a flood of one client down to a row a minute
    per action, path, status and ``kind`` (a short class of reason, e.g. ``revoked``).
    """
    try:
        who = principal or getattr(request.state, "principal", None) or ANONYMOUS
        client = request.client.host if request.client else None
        path = request.url.path
        limiter: audit.RefusalLimiter = request.app.state.refusal_limiter
        repeats = limiter.admit(
            (action, who.kind, who.name, client or "", path, str(status), kind)
        )
        if repeats is None:
            return
        with transaction(request.app.state.engine) as conn:
            audit.record_refusal(
                conn, principal=who, action=action, method=request.method, path=path,
                status=status, reason=reason, client=client, repeats=repeats,
            )
    except Exception:  # noqa: BLE001 - auditing a refusal must never fail the response
        log.warning("could not audit a refused request on %s", request.url.path,
                    exc_info=True)


async def _audit(request: Request, status: int, exc: Exception | None, reason: str) -> None:
    action = refusal_action(request, status, exc)
    if action is None:
        return
    principal = getattr(exc, "principal", None) if exc is not None else None
    kind = ""
    if action == "apikey.refused":
        kind = str(getattr(exc, "reason", "refused"))
        reason = f"{kind} API key"
    await run_in_threadpool(
        audit_refusal, request, action=action, status=status, reason=reason,
        principal=principal if isinstance(principal, Principal) else None, kind=kind,
    )


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""
    app.state.refusal_limiter = audit.RefusalLimiter()

    @app.exception_handler(errors.ComError)
    async def _com_error(request: Request, exc: errors.ComError) -> JSONResponse:
        status = status_for(exc)
        if status == 503:  # expected under overload or a database restart: no traceback
            log.warning("503 on %s %s: %s", request.method, request.url.path, exc)
        elif status >= 500:
            log.exception("server error on %s %s", request.method, request.url.path, exc_info=exc)
        else:
            await _audit(request, status, exc, str(exc))
        # An error may carry structured members for the page (the columns of an upload).
        extra = getattr(exc, "problem_extra", None) or {}
        return problem(status, type(exc).__name__, str(exc), **extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # FastAPI's own validation, as problem+json: query, path and header mistakes are 400
        # (OGC API - Features asks 400 for invalid parameters), body mistakes 422.
        problems = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", ""))}
            for e in exc.errors()
        ]
        status = 422 if any(p["loc"][:1] == ["body"] for p in problems) else 400
        detail = "; ".join(f"{'.'.join(p['loc'])}: {p['msg']}" for p in problems[:10])
        await _audit(request, status, exc, detail or "invalid request")
        return problem(
            status, HTTPStatus(status).phrase, detail or "invalid request", errors=problems[:50]
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # Starlette's own 404 (no route), 405 (wrong method) ... as problem+json.
        title = HTTPStatus(exc.status_code).phrase
        detail = (
            exc.detail
            if isinstance(exc.detail, str) and exc.detail != title
            else (f"nothing at {request.url.path}" if exc.status_code == 404 else title)
        )
        await _audit(request, exc.status_code, exc, detail)
        response = problem(exc.status_code, title, detail)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(sa_exc.TimeoutError)
    async def _pool_timeout(request: Request, exc: sa_exc.TimeoutError) -> JSONResponse:
        # A connection-pool timeout outside com.db.engine.translate_db_errors: still overload.
        log.warning("503 on %s %s: no database connection free", request.method,
                    request.url.path)
        return problem(503, "Service Unavailable", "the service is busy; retry in a few seconds")

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("server error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(500, "Internal Server Error", "unexpected server error; it was logged")
