"""Resolve the caller of a request into a `com.security.access.Principal`.

Order: a web session cookie (users, issue 6), then an API key (`X-API-Key` or
`Authorization: Bearer`, issue 7), else anonymous when the settings allow it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from com.errors import PermissionDenied
from com.security.access import ANONYMOUS, Principal


class Unauthenticated(PermissionDenied):
    """No valid credentials were presented (HTTP 401)."""


def get_principal(request: Request) -> Principal:
    """Return who is calling; raise Unauthenticated when anonymous access is off."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    principal: Principal | None = None
    for resolver in request.app.state.principal_resolvers:
        principal = resolver(request)
        if principal is not None:
            break
    if principal is None:
        if not request.app.state.settings.anonymous_access:
            raise Unauthenticated("sign in or send an API key")
        principal = ANONYMOUS
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require_role(role: str):  # type: ignore[no-untyped-def]
    """Dependency factory: the caller must have ``role`` or above."""

    def dependency(principal: PrincipalDep) -> Principal:
        if principal.kind == "anonymous":
            raise Unauthenticated("sign in to do this")
        principal.require_role(role)
        return principal

    return dependency


def require_write(principal: PrincipalDep) -> Principal:
    """Dependency: the caller may change data (staff session or write-scoped key)."""
    if principal.kind == "anonymous":
        raise Unauthenticated("sign in or send a write API key")
    if not principal.can_write():
        raise PermissionDenied(f"{principal.name} has read-only access")
    return principal
