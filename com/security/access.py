"""Who is acting: users, API keys, the CLI and anonymous readers, with their rights.

The web layer resolves a session cookie or an API key into a :class:`Principal`; the library
checks rights with its methods, so the CLI, the API and the tests apply the same rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from com.config.regions import province_codes_of
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
    region
        When set (and no province), the actor sees and changes only the data of this region's
        provinces (:mod:`com.config.regions`).
    region_provinces
        The provinces of ``region``, resolved when the principal is made (empty: none, so an
        account whose region was removed from the configuration sees nothing).
    scopes
        For API keys: ``read`` and optionally ``write``.
    permissions
        Extra rights such as ``sensitive`` (exact coordinates of sensitive categories).
    """

    kind: Literal["user", "api_key", "cli", "anonymous"]
    name: str
    role: str = "viewer"
    province_code: str | None = None
    region: str | None = None
    region_provinces: frozenset[str] = field(default_factory=frozenset)
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

    @property
    def allowed_provinces(self) -> frozenset[str] | None:
        """The provinces the principal may see and change; None: every province.

        The one rule of the province restriction: a province-limited principal has its
        province, a region-limited one its region's provinces.
        """
        if self.province_code:
            return frozenset({self.province_code})
        if self.region:
            return self.region_provinces
        return None

    @property
    def extent_key(self) -> str | None:
        """What the principal's restriction is, as one hashable value for caches and audit.

        ``32`` (a province), ``region:isoc-2`` (a region) or None (unrestricted).
        """
        if self.province_code:
            return self.province_code
        return f"region:{self.region}" if self.region else None

    def require_province(self, province_code: str | None) -> None:
        """Raise PermissionDenied when a restricted principal touches another province."""
        allowed = self.allowed_provinces
        if allowed is not None and province_code not in allowed:
            where = (f"province {self.province_code}" if self.province_code
                     else f"the provinces of region {self.region} ({', '.join(sorted(allowed))})")
            raise PermissionDenied(f"{self.name} may only work with {where}")

    def require_provinces(self, province_codes: tuple[str, ...] | None) -> None:
        """Raise PermissionDenied unless every one of ``province_codes`` is allowed.

        None (every province) is allowed only to an unrestricted principal.
        """
        if self.allowed_provinces is None:
            return
        if province_codes is None:
            self.require_province(None)
            return
        for code in province_codes:
            self.require_province(code)

    def scope_extent(
        self, *, province: str | None, region: str | None, district: str | None = None,
    ) -> dict[str, str | None]:
        """Return the ``province`` and ``region`` filter a request may use.

        A restricted principal asking for nothing gets its own province or region; asking for
        more than it may see is refused. The one place a requested extent meets the
        restriction (rankings, hot spots, the map, KPI).

        Raises
        ------
        com.errors.PermissionDenied
            For a province, district or region outside the restriction.
        com.errors.ValidationError
            For an unknown region.
        """
        province = province or None
        region = region or None
        if self.allowed_provinces is None:
            return {"province": province, "region": region}
        if province is None and region is None:
            if district:
                province = district[:2]
            elif self.province_code:
                province = self.province_code
            else:
                region = self.region
        self.require_provinces(province_codes_of(province=province, region=region))
        return {"province": province, "region": region}

    @property
    def sees_sensitive(self) -> bool:
        """Return True when exact coordinates of sensitive categories may be shown."""
        return self.kind == "cli" or "sensitive" in self.permissions or self.role == "admin"


CLI = Principal(
    kind="cli", name="cli", role="admin", scopes=frozenset({"read", "write"}),
    permissions=frozenset({"sensitive"}),
)
ANONYMOUS = Principal(kind="anonymous", name="anonymous")
