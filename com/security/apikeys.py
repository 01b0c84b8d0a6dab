"""API keys for other dashboards, GIS desktops and BI tools: create, list, revoke, authenticate.

A key looks like ``com_1a2b3c4d_<43 url-safe characters>``. Only the public prefix
(``1a2b3c4d``) and the SHA-256 of the whole key are stored; the key is shown once, when it is
created.

Why SHA-256 and not argon2 (which COM uses for passwords): the secret part is 32 bytes from
:func:`secrets.token_urlsafe`, i.e. 256 bits of entropy. Slow, salted hashes exist to make
guessing *low-entropy* human passwords expensive; nobody can enumerate 2**256 candidates, fast
hash or not, so a stolen ``api_keys`` table reveals no usable key. A fast hash also keeps the
check per request in microseconds instead of the ~50 ms an argon2 verification costs on every
API call. The same reasoning is used by GitHub's and Stripe's token schemes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import INTERVAL
from sqlalchemy.engine import Connection

from com.config.regions import region_key, region_provinces
from com.db.tables import Province
from com.db.tables_ogc import api_keys_table
from com.errors import NotFoundError, ValidationError
from com.security import audit
from com.security.access import Principal

KEY_PREFIX = "com_"
#: ``com_<8 hex>_<secret>``; anything else is refused before touching the database.
KEY_PATTERN = re.compile(r"^com_([0-9a-f]{8})_([A-Za-z0-9_-]{40,64})$")
#: ``last_used_at`` is written at most this often per key, so busy keys do not turn every
#: request into a row update (the audit trail has one row per request anyway).
LAST_USED_RESOLUTION_S = 60

Scope = Literal["read", "write"]


@dataclass(frozen=True)
class ApiKeyInfo:
    """A stored key, without its secret."""

    id: int
    prefix: str
    name: str
    scopes: tuple[str, ...]
    province_code: str | None
    permissions: tuple[str, ...]
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    region: str | None = None

    @property
    def active(self) -> bool:
        """Return True while the key has not been revoked."""
        return self.revoked_at is None

    def as_dict(self) -> dict[str, object]:
        """Return a JSON-ready dictionary (never contains the key)."""
        return {
            "id": self.id,
            "prefix": self.prefix,
            "name": self.name,
            "scopes": list(self.scopes),
            "province_code": self.province_code,
            "region": self.region,
            "permissions": list(self.permissions),
            "created_by": self.created_by,
            "created_at": self.created_at,
            "last_used_at": self.last_used_at,
            "revoked_at": self.revoked_at,
            "active": self.active,
        }

    def principal(self) -> Principal:
        """Return the :class:`~com.security.access.Principal` acting with this key."""
        return Principal(
            kind="api_key",
            name=f"key:{self.prefix}",
            role="viewer",
            province_code=self.province_code,
            region=self.region,
            region_provinces=region_provinces(self.region),
            scopes=frozenset(self.scopes),
            permissions=frozenset(self.permissions),
            id=self.id,
        )


@dataclass(frozen=True)
class CreatedKey:
    """A new key: ``key`` is the only copy of the secret and must be shown once."""

    key: str
    info: ApiKeyInfo


def hash_key(key: str) -> str:
    """Return the hex SHA-256 of a whole key (see the module docstring for why SHA-256)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _info(row: sa.RowMapping) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row["id"],
        prefix=row["prefix"],
        name=row["name"],
        scopes=tuple(row["scopes"]),
        province_code=row["province_code"],
        permissions=tuple(row["permissions"]),
        created_by=row["created_by"],
        created_at=row["created_at"],
        last_used_at=row["last_used_at"],
        revoked_at=row["revoked_at"],
        region=row["region"],
    )


def _check_province(conn: Connection, province_code: str | None) -> str | None:
    if province_code is None:
        return None
    code = province_code.strip().upper().removeprefix("TH")
    if not re.fullmatch(r"\d{2}", code):
        raise ValidationError(f"province {province_code!r} is not a 2-digit province code")
    known = conn.execute(sa.select(Province.code).where(Province.code == code)).first()
    loaded = conn.execute(sa.select(sa.func.count()).select_from(Province)).scalar_one()
    if loaded and known is None:
        raise ValidationError(f"province {code} does not exist in the loaded boundaries")
    return code


def create_key(
    conn: Connection,
    *,
    name: str,
    scope: Scope = "read",
    province_code: str | None = None,
    sensitive: bool = False,
    created_by: Principal,
    region: str | None = None,
) -> CreatedKey:
    """Create an API key and return it with the only copy of its secret.

    Parameters
    ----------
    conn
        Connection of the caller's transaction.
    name
        What the key is for ("Region 3 dashboard").
    scope
        ``read`` (items, tiles, exports) or ``write`` (also uploads).
    province_code
        When given, the key sees and changes only this province's data.
    sensitive
        Grant the ``sensitive`` permission: exact coordinates of sensitive categories.
    created_by
        Who creates the key (audit trail).
    region
        Instead of a province: the key sees and changes only the data of this region's
        provinces (key or name, :mod:`com.config.regions`).

    Returns
    -------
    CreatedKey
        ``key`` (show it once, it cannot be recovered) and the stored record.

    Raises
    ------
    com.errors.ValidationError
        For an empty name, an unknown scope or an unknown province.

    Examples
    --------
    >>> created = create_key(conn, name="QGIS", created_by=CLI)  # doctest: +SKIP
    >>> created.key[:4]  # doctest: +SKIP
    'com_'
    """
    name = (name or "").strip()
    if not name:
        raise ValidationError("an API key needs a name saying who or what uses it")
    if scope not in ("read", "write"):
        raise ValidationError(f"scope {scope!r} is not 'read' or 'write'")
    province = _check_province(conn, province_code)
    region = region_key(region) if region else None
    if province and region:
        raise ValidationError("give a province or a region, not both")
    prefix = secrets.token_hex(4)
    key = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    scopes = ["read", "write"] if scope == "write" else ["read"]
    permissions = ["sensitive"] if sensitive else []
    row = (
        conn.execute(
            sa.insert(api_keys_table)
            .values(
                prefix=prefix,
                key_hash=hash_key(key),
                name=name,
                scopes=scopes,
                province_code=province,
                region=region,
                permissions=permissions,
                created_by=created_by.name,
            )
            .returning(*api_keys_table.c)
        )
        .mappings()
        .one()
    )
    info = _info(row)
    audit.record(
        conn,
        principal=created_by,
        action="apikey.create",
        target=f"apikey:{prefix}",
        record_ids=[info.id],
        details={"name": name, "scopes": scopes, "province_code": province, "region": region,
                 "permissions": permissions},
    )
    return CreatedKey(key=key, info=info)


def list_keys(conn: Connection, *, include_revoked: bool = True) -> list[ApiKeyInfo]:
    """Return the stored keys (never their secrets), oldest first."""
    query = sa.select(api_keys_table).order_by(api_keys_table.c.id)
    if not include_revoked:
        query = query.where(api_keys_table.c.revoked_at.is_(None))
    return [_info(r) for r in conn.execute(query).mappings()]


def revoke_key(conn: Connection, ident: str | int, *, revoked_by: Principal) -> ApiKeyInfo:
    """Revoke a key given its id, its prefix or the whole key; later requests with it get 401.

    Raises
    ------
    com.errors.NotFoundError
        When no key matches.
    """
    text = str(ident).strip()
    match = KEY_PATTERN.match(text)
    column = api_keys_table.c
    if match:
        condition = column.prefix == match.group(1)
    elif re.fullmatch(r"[0-9a-f]{8}", text) or text.isdigit():
        condition = column.prefix == text
        if text.isdigit():
            condition = sa.or_(condition, column.id == int(text))
    else:
        raise NotFoundError(f"no API key {text!r}: give its id or its 8-character prefix")
    found = conn.execute(sa.select(column.id).where(condition)).scalars().all()
    if not found:
        raise NotFoundError(f"no API key {text!r}")
    if len(found) > 1:
        raise ValidationError(f"{text!r} matches more than one API key: give the prefix")
    row = (
        conn.execute(
            sa.update(api_keys_table)
            .where(column.id == found[0])
            .values(revoked_at=sa.func.coalesce(column.revoked_at, sa.func.now()))
            .returning(*api_keys_table.c)
        )
        .mappings()
        .all()
    )
    info = _info(row[0])
    audit.record(
        conn,
        principal=revoked_by,
        action="apikey.revoke",
        target=f"apikey:{info.prefix}",
        record_ids=[info.id],
        details={"name": info.name},
    )
    return info


def authenticate(conn: Connection, key: str) -> Principal | None:
    """Return the principal of an active key, or None when the key is malformed, unknown or revoked.

    The comparison of hashes runs in constant time. ``last_used_at`` is refreshed at most once
    a minute per key.
    """
    match = KEY_PATTERN.match(key.strip())
    if not match:
        return None
    row = (
        conn.execute(sa.select(api_keys_table).where(api_keys_table.c.prefix == match.group(1)))
        .mappings()
        .first()
    )
    if row is None or not hmac.compare_digest(row["key_hash"], hash_key(key.strip())):
        return None
    if row["revoked_at"] is not None:
        return None
    column = api_keys_table.c
    conn.execute(
        sa.update(api_keys_table)
        .where(column.id == row["id"])
        .where(
            sa.or_(
                column.last_used_at.is_(None),
                column.last_used_at
                < sa.func.now() - sa.cast(f"{LAST_USED_RESOLUTION_S} seconds", INTERVAL),
            )
        )
        .values(last_used_at=sa.func.now())
    )
    return _info(row).principal()


def refusal(conn: Connection, key: str) -> tuple[str, Principal | None]:
    """Return why :func:`authenticate` refuses ``key`` and, for a real key, whose it is.

    Returns
    -------
    tuple
        ``(reason, principal)``: reason ``malformed``, ``unknown``, ``revoked`` (or
        ``active`` for a key that is not refused); the key's principal only when the whole
        key matches a stored key, else None, so a guessed prefix never names somebody else's
        key in the audit trail.
    """
    match = KEY_PATTERN.match(key.strip())
    if not match:
        return "malformed", None
    row = (
        conn.execute(sa.select(api_keys_table).where(api_keys_table.c.prefix == match.group(1)))
        .mappings()
        .first()
    )
    if row is None or not hmac.compare_digest(row["key_hash"], hash_key(key.strip())):
        return "unknown", None
    if row["revoked_at"] is not None:
        return "revoked", _info(row).principal()
    return "active", _info(row).principal()
