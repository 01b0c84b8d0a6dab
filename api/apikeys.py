"""API-key principal resolver: ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``.

Registered in ``app.state.principal_resolvers`` after the session resolver. A request that
presents a key which is malformed, unknown or revoked is refused with 401 (never served as
anonymous). Each request made with a valid key writes one ``apikey.use`` audit row naming the
route: one row per request is the simplest trail that answers "which key read what, when"
(PDPA / 2022 notification), and it costs one small INSERT next to a page of features.
"""

from __future__ import annotations

import logging

from fastapi import Request

from api.security import Unauthenticated
from com.db.engine import transaction
from com.security import apikeys, audit
from com.security.access import Principal

log = logging.getLogger("api.apikeys")


class KeyRefused(Unauthenticated):
    """A presented API key is malformed, unknown or revoked (HTTP 401, audited).

    ``reason`` and, for a revoked key, its ``principal`` go to the ``apikey.refused`` row the
    error handler writes (api/errors.py).
    """

    def __init__(self, message: str, *, reason: str, principal: Principal | None) -> None:
        super().__init__(message)
        self.reason = reason
        self.principal = principal


def presented_key(request: Request) -> str | None:
    """Return the key sent with the request, if any (X-API-Key wins over Authorization)."""
    key = request.headers.get("x-api-key")
    if key:
        return key.strip()
    authorization = request.headers.get("authorization", "")
    scheme, _, credentials = authorization.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return None


def api_key_principal(request: Request) -> Principal | None:
    """Principal resolver for API keys; None when the request carries no key.

    Raises
    ------
    api.security.Unauthenticated
        When a key is presented but is malformed, unknown or revoked.
    """
    key = presented_key(request)
    if key is None:
        return None
    route = request.scope.get("route")
    route_path = getattr(route, "path", None) or request.url.path
    client = request.client.host if request.client else None
    refused: tuple[str, Principal | None] = ("unknown", None)
    with transaction(request.app.state.engine) as conn:
        principal = apikeys.authenticate(conn, key)
        if principal is None:
            refused = apikeys.refusal(conn, key)
        else:
            audit.record(
                conn,
                principal=principal,
                action="apikey.use",
                target=f"route:{request.method} {route_path}",
                details={"path": request.url.path, "query": str(request.url.query)[:500]},
                client=client,
            )
    if principal is None:
        log.warning("refused API key from %s on %s", client, request.url.path)
        raise KeyRefused("the API key is not valid (unknown, revoked or malformed)",
                         reason=refused[0], principal=refused[1])
    return principal
