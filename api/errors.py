"""Map `com.errors` classes to HTTP status codes and RFC 9457 problem+json bodies."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from com import errors

log = logging.getLogger("api")

STATUS = {
    errors.NotFoundError: 404,
    errors.ParseError: 422,
    errors.UploadError: 422,
    errors.ValidationError: 422,
    errors.ConflictError: 409,
    errors.PermissionDenied: 403,
    errors.DatabaseUnavailable: 503,
    errors.ConfigError: 500,
    errors.GeodataError: 500,
}


def problem(status: int, title: str, detail: str, **extra: object) -> JSONResponse:
    """Return an RFC 9457 problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail, **extra}
    headers = {"Retry-After": "5"} if status == 503 else None
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def status_for(exc: errors.ComError) -> int:
    """Return the HTTP status of a COM error (most specific class first)."""
    from api.security import Unauthenticated

    if isinstance(exc, Unauthenticated):
        return 401
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def install(app: FastAPI) -> None:
    """Register the exception handlers on ``app``."""

    @app.exception_handler(errors.ComError)
    async def _com_error(request: Request, exc: errors.ComError) -> JSONResponse:
        status = status_for(exc)
        if status >= 500:
            log.exception("server error on %s %s", request.method, request.url.path, exc_info=exc)
        return problem(status, type(exc).__name__, str(exc))
