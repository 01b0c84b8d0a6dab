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


# --- the OGC-only document (issue 15) --------------------------------------------------------

#: Media type of an OpenAPI 3.0 document in JSON (OGC API - Features, Requirement /req/oas30).
OAS30_MEDIA_TYPE = "application/vnd.oai.openapi+json;version=3.0"
OAS30_VERSION = "3.0.3"
_NULL = {"type": "null"}


def to_oas30_schema(node: Any) -> Any:
    """Return a JSON Schema as written by pydantic 2 (OpenAPI 3.1) in OpenAPI 3.0's dialect.

    Handles what FastAPI and pydantic emit: ``anyOf``/``oneOf`` with ``{"type": "null"}`` and
    ``type`` lists become ``nullable``, ``const`` becomes a one-value ``enum``, a list of
    ``examples`` becomes ``example``, numeric ``exclusiveMinimum``/``exclusiveMaximum`` become
    the 3.0 boolean form. Written by hand: no maintained library on PyPI downgrades a 3.1
    document (FastAPI's ``openapi_version`` only changes the label, not the schemas).
    """
    if isinstance(node, list):
        return [to_oas30_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: to_oas30_schema(value) for key, value in node.items()}
    for key in ("anyOf", "oneOf"):
        choices = out.get(key)
        if isinstance(choices, list) and _NULL in choices:
            rest = [c for c in choices if c != _NULL]
            out["nullable"] = True
            if len(rest) == 1 and isinstance(rest[0], dict) and "$ref" not in rest[0]:
                del out[key]
                out = {**rest[0], **out}
            elif rest:
                out[key] = rest
            else:
                del out[key]
    kinds = out.get("type")
    if isinstance(kinds, list):
        if "null" in kinds:
            out["nullable"] = True
        kinds = [k for k in kinds if k != "null"]
        if len(kinds) == 1:
            out["type"] = kinds[0]
        else:
            out.pop("type")
            out["anyOf"] = [{"type": k} for k in kinds]
    if "const" in out:
        out["enum"] = [out.pop("const")]
    if isinstance(out.get("examples"), list):
        examples = out.pop("examples")
        if examples:
            out["example"] = examples[0]
    for bound, plain in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
        value = out.get(bound)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[plain] = value
            out[bound] = True
    return out


def _convert_operation(operation: dict[str, Any]) -> dict[str, Any]:
    """Convert the schemas of one operation (parameters, request body, responses)."""
    out = dict(operation)
    out["parameters"] = [
        {**p, **({"schema": to_oas30_schema(p["schema"])} if "schema" in p else {})}
        for p in operation.get("parameters", [])
    ]
    if not out["parameters"]:
        del out["parameters"]
    if "requestBody" in out:
        out["requestBody"] = _convert_content_holder(out["requestBody"])
    out["responses"] = {
        status: _convert_content_holder(response)
        for status, response in operation.get("responses", {}).items()
    }
    return out


def _convert_content_holder(holder: dict[str, Any]) -> dict[str, Any]:
    out = dict(holder)
    if "content" in holder:
        out["content"] = {
            media: {**body, "schema": to_oas30_schema(body["schema"])} if "schema" in body
            else body
            for media, body in holder["content"].items()
        }
    return out


def _refs(node: Any) -> set[str]:
    """Return the names of the component schemas ``node`` refers to."""
    found: set[str] = set()
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
            found.add(ref.rsplit("/", 1)[-1])
        for value in node.values():
            found |= _refs(value)
    elif isinstance(node, list):
        for value in node:
            found |= _refs(value)
    return found


def sub_document(
    document: dict[str, Any],
    *,
    prefix: str,
    server_url: str,
    title: str,
    parameter_schemas: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Return an OpenAPI 3.0 document of the operations of ``document`` under ``prefix``.

    Paths are made relative to ``prefix`` (``/ogc/collections`` becomes ``/collections`` and
    ``/ogc`` becomes ``/``) and ``servers`` holds ``server_url``, so a client resolves them
    against the service's own root, as OGC API clients and validators expect. Only the
    component schemas the operations use are kept.

    Parameters
    ----------
    document : dict
        The app's OpenAPI 3.1 document (left unchanged).
    prefix : str
        Path prefix of the service, e.g. ``/ogc``.
    server_url : str
        Absolute URL of the service root, ending in ``prefix``.
    title : str
        Title of the document.
    parameter_schemas : dict, optional
        Schemas to put in place of a query parameter's, by name (e.g. ``limit`` with the
        default and maximum the server applies).

    Returns
    -------
    dict
        The OpenAPI 3.0 document.
    """
    overrides = parameter_schemas or {}
    paths: dict[str, Any] = {}
    for path, operations in document.get("paths", {}).items():
        if path != prefix and not path.startswith(prefix + "/"):
            continue
        relative = path[len(prefix):] or "/"
        converted = {}
        for method, operation in operations.items():
            operation = _convert_operation(operation)
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "query" and parameter.get("name") in overrides:
                    parameter["schema"] = overrides[parameter["name"]]
            converted[method] = operation
        paths[relative] = converted
    source = document.get("components", {}).get("schemas", {})
    needed: set[str] = set()
    pending = _refs(paths)
    while pending:
        name = pending.pop()
        if name in needed or name not in source:
            continue
        needed.add(name)
        pending |= _refs(source[name])
    return {
        "openapi": OAS30_VERSION,
        "info": {**document.get("info", {}), "title": title},
        "servers": [{"url": server_url}],
        "paths": paths,
        "components": {"schemas": {n: to_oas30_schema(source[n]) for n in sorted(needed)}},
    }
