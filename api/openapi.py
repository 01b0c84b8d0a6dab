"""The OpenAPI document states every error answer: RFC 9457 problem+json for 4xx and 5xx.

Handlers document their own success responses (status and media type); this module adds the
error responses any operation can give, so a client (or schemathesis) finds each status code
and content type it may receive in the document:

* 400 invalid parameter, 422 unacceptable body or value (api/errors.py);
* 401 anonymous access off, or an unknown/revoked API key; 403 role, scope or province;
* 404 missing record or collection; 429 too many requests; 503 database unavailable or the
  server shedding load (with Retry-After).

FastAPI's own 422 (``HTTPValidationError`` as application/json) is replaced: the app answers
validation errors as problem+json.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

PROBLEM = "application/problem+json"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details.",
    "properties": {
        "type": {"type": "string", "default": "about:blank"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "Each invalid parameter or field (validation errors only).",
            "items": {"type": "object"},
        },
    },
    "required": ["title", "status", "detail"],
}
#: Status codes any operation may answer, with what they mean here.
COMMON_ERRORS: dict[str, str] = {
    "400": "Invalid query, path or header parameter",
    "401": "Anonymous access is off, or the API key is unknown, malformed or revoked",
    "403": "The caller's role, key scope or province does not allow this",
    "404": "No such record, collection or feature",
    "422": "The request body or a value in it cannot be accepted",
    "429": "Too many requests; retry later",
    "503": "The database is unavailable or the server is busy; retry after Retry-After",
}
#: What FastAPI adds for its own validation errors and this app never answers.
_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def problem_response(description: str) -> dict[str, Any]:
    """Return an OpenAPI response object carrying a problem+json body."""
    return {"description": description, "content": {PROBLEM: {"schema": PROBLEM_REF}}}


def document_problems(document: dict[str, Any]) -> dict[str, Any]:
    """Add the problem+json error responses to every operation of ``document`` (in place)."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for status, response in list(responses.items()):
                if status[:1] in ("4", "5"):
                    # Error answers are problem+json, whatever the route declared.
                    responses[status] = problem_response(response.get("description", ""))
            for status, description in COMMON_ERRORS.items():
                responses.setdefault(status, problem_response(description))
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    schemas["Problem"] = PROBLEM_SCHEMA
    return document


def install(app: FastAPI) -> None:
    """Make ``app.openapi()`` return the document with the error responses added."""
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document_problems(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
