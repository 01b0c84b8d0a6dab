"""Who is acting: users, API keys, the CLI and anonymous readers, with their rights.

The web layer resolves a session cookie or an API key into a :class:`Principal`; the library
checks rights with its methods, so the CLI, the API and the tests apply the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from com.errors import PermissionDenied

ROLES = ("viewer", "staff", "planner", "admin")
# Each role includes the rights of the roles before it in this order, except that staff
# uploads only within their own province.
ROLE_RANK = {role: i for i, role in enumerate(ROLES)}


@dataclass(frozen=True)
class Principal:
    """The actor behind a request or command.

    Attributes
    ----------
    kind
        ``user`` (web session), ``api_key``, ``cli`` (local operator) or ``anonymous``.
    name
        Username, key prefix, ``cli`` or ``anonymous``; written to the audit trail.
    role
        ``viewer``, ``staff``, ``planner`` or ``admin``.
    province_code
        When set, the actor sees and changes only this province's data.
    scopes
        For API keys: ``read`` and optionally ``write``.
    permissions
        Extra rights such as ``sensitive`` (exact coordinates of sensitive categories).
    """

    kind: Literal["user", "api_key", "cli", "anonymous"]
    name: str
    role: str = "viewer"
    province_code: str | None = None
    scopes: frozenset[str] = field(default_factory=lambda: frozenset({"read"}))
    permissions: frozenset[str] = field(default_factory=frozenset)
    id: int | None = None

    def has_role(self, role: str) -> bool:
        """Return True when the principal's role is ``role`` or above."""
        return ROLE_RANK.get(self.role, -1) >= ROLE_RANK[role]

    def require_role(self, role: str) -> None:
        """Raise PermissionDenied unless the principal has ``role`` or above."""
        if not self.has_role(role):
            raise PermissionDenied(f"{self.name} needs the {role} role for this")

    def can_write(self) -> bool:
        """Return True for principals allowed to change data (staff sessions, write keys)."""
        if self.kind == "api_key":
            return "write" in self.scopes
        return self.kind == "cli" or self.has_role("staff")

    def require_province(self, province_code: str | None) -> None:
        """Raise PermissionDenied when a province-restricted principal touches another one."""
        if self.province_code and province_code != self.province_code:
            raise PermissionDenied(
                f"{self.name} may only work with province {self.province_code}"
            )

    @property
    def sees_sensitive(self) -> bool:
        """Return True when exact coordinates of sensitive categories may be shown."""
        return self.kind == "cli" or "sensitive" in self.permissions or self.role == "admin"


CLI = Principal(
    kind="cli", name="cli", role="admin", scopes=frozenset({"read", "write"}),
    permissions=frozenset({"sensitive"}),
)
ANONYMOUS = Principal(kind="anonymous", name="anonymous")
