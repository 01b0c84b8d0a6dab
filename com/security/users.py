"""User accounts of the web pages: argon2 passwords, roles, server-side sessions, login limits.

Sessions live in the database (table ``web_sessions``) so that signing out, expiry and
revoking a user take effect at once on every worker; the browser holds only a random token whose
sha256 is the row's key.
"""

from __future__ import annotations

import hashlib
import math
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.engine import Connection, Engine

from com.config.regions import region_key, region_provinces
from com.db.engine import transaction
from com.db.tables import Province
from com.db.tables_web import LoginAttempt, User, WebSession
from com.errors import ComError, ConflictError, NotFoundError, ValidationError
from com.security import audit
from com.security.access import ROLES, Principal

users_table: sa.Table = User.__table__  # type: ignore[assignment]
sessions_table: sa.Table = WebSession.__table__  # type: ignore[assignment]
attempts_table: sa.Table = LoginAttempt.__table__  # type: ignore[assignment]

# argon2id with the library's defaults (RFC 9106 "low memory" profile: 64 MiB, 3 passes).
_hasher = PasswordHasher()
# Verified against when the username does not exist, so both cases cost the same time.
_DUMMY_HASH = _hasher.hash("not-a-real-password")

USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{2,63}$")
MIN_PASSWORD_LENGTH = 10
# Login throttle (issue 11). Per username and client address: a few free failures, then an
# exponential back-off (30 s, 60 s, 120 s, ... at most 15 minutes) counted from the last failure.
# Per username from every address: past a ceiling in the window the name is under attack, and
# any address that has failed for it gets one free failure only. An address that has not failed
# for the name is never refused, so nobody can lock the owner (or an admin) out by failing on
# purpose from other addresses.
FREE_FAILURES_PER_CLIENT = 5
BACKOFF_FIRST_S = 30
BACKOFF_MAX_S = 15 * 60
FAILURE_MEMORY = timedelta(days=1)  # failures older than this are forgotten (purge_expired)
MAX_FAILURES_PER_USERNAME = 20
FAILURE_WINDOW = timedelta(minutes=15)
FREE_FAILURES_UNDER_ATTACK = 1

DEMO_ACCOUNTS = (
    ("demo_viewer", "viewer", None, "ผู้ชมตัวอย่าง (demo viewer)"),
    ("demo_staff", "staff", "32", "เจ้าหน้าที่ตัวอย่าง จ.สุรินทร์ (demo staff)"),
)


class TooManyLoginAttempts(ComError):
    """Sign-in refused for a while after repeated failures (HTTP 429)."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Account:
    """A user account without its password hash."""

    id: int
    username: str
    role: str
    province_code: str | None
    display_name: str | None
    active: bool
    created_at: datetime
    last_login_at: datetime | None
    region: str | None = None

    def principal(self) -> Principal:
        """Return the :class:`~com.security.access.Principal` acting for this user."""
        return Principal(
            kind="user",
            name=self.username,
            role=self.role,
            province_code=self.province_code,
            region=self.region,
            region_provinces=region_provinces(self.region),
            scopes=frozenset({"read", "write"}) if self.role != "viewer" else frozenset({"read"}),
            id=self.id,
        )


@dataclass(frozen=True)
class LoginResult:
    """What a sign-in attempt gave: the account when it succeeded, else why not."""

    account: Account | None
    reason: str | None = None
    retry_after_s: int = 0

    @property
    def ok(self) -> bool:
        """Return True when the password was right and the account is active."""
        return self.account is not None


@dataclass(frozen=True)
class SessionInfo:
    """A live web session: its user, CSRF token and expiry."""

    account: Account
    csrf_token: str
    expires_at: datetime


def _now() -> datetime:
    return datetime.now(UTC)


def _account(row: sa.RowMapping) -> Account:
    return Account(
        id=row["id"],
        username=row["username"],
        role=row["role"],
        province_code=row["province_code"],
        display_name=row["display_name"],
        active=row["active"],
        created_at=row["created_at"],
        last_login_at=row["last_login_at"],
        region=row["region"],
    )


_ACCOUNT_COLUMNS = [c for c in users_table.c if c.name != "password_hash"]


def normalise_username(username: str) -> str:
    """Return ``username`` trimmed and lower-cased (user names are case-insensitive)."""
    return username.strip().lower()


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Return True when ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def generate_password() -> str:
    """Return a new random password (16 URL-safe characters, about 96 bits)."""
    return secrets.token_urlsafe(12)


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValidationError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")


def _check_role_province(
    conn: Connection, role: str, province_code: str | None, region: str | None = None
) -> None:
    if role not in ROLES:
        raise ValidationError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    if province_code and region:
        raise ValidationError("give a province or a region, not both")
    if role == "staff" and not (province_code or region):
        raise ValidationError(
            "a staff account needs a province or a region (--province 32 or --region isoc-2)"
        )
    if province_code is not None:
        found = conn.execute(
            sa.select(Province.__table__.c.code).where(Province.__table__.c.code == province_code)
        ).scalar()
        if found is None:
            raise ValidationError(
                f"unknown province code {province_code!r} (load boundaries first, "
                "codes look like 32 for Surin)"
            )


def create_user(
    conn: Connection,
    *,
    username: str,
    password: str,
    role: str = "viewer",
    province_code: str | None = None,
    display_name: str | None = None,
    region: str | None = None,
) -> Account:
    """Create a user account in the caller's transaction.

    Parameters
    ----------
    conn
        Connection of the caller's transaction.
    username
        3-64 characters ``a-z 0-9 _ . -``; stored lower-case.
    password
        At least :data:`MIN_PASSWORD_LENGTH` characters; only its argon2id hash is stored.
    role
        ``viewer``, ``staff``, ``planner`` or ``admin``.
    province_code
        Restricts the account to one province; ``staff`` need it or a region.
    display_name
        Name shown on the pages.
    region
        Restricts the account to a region's provinces (key or name, :mod:`com.config.regions`)
        instead of one province.

    Returns
    -------
    Account
        The new account.

    Raises
    ------
    ValidationError
        Bad username, short password, unknown role or province.
    ConflictError
        The username is taken.

    Examples
    --------
    >>> create_user(conn, username="somchai", password="correct horse", role="staff",
    ...             province_code="32")  # doctest: +SKIP
    """
    name = normalise_username(username)
    if not USERNAME_PATTERN.match(name):
        raise ValidationError(
            f"bad username {username!r}: use 3-64 letters a-z, digits, '_', '.' or '-'"
        )
    _check_password(password)
    region = region_key(region) if region else None
    _check_role_province(conn, role, province_code, region)
    exists = conn.execute(
        sa.select(users_table.c.id).where(users_table.c.username == name)
    ).scalar()
    if exists is not None:
        raise ConflictError(f"user {name!r} already exists")
    row = (
        conn.execute(
            sa.insert(users_table)
            .values(
                username=name,
                password_hash=hash_password(password),
                role=role,
                province_code=province_code,
                region=region,
                display_name=display_name,
            )
            .returning(*_ACCOUNT_COLUMNS)
        )
        .mappings()
        .one()
    )
    return _account(row)


def get_user(conn: Connection, username: str) -> Account:
    """Return the account named ``username``.

    Raises
    ------
    NotFoundError
        No such user.
    """
    row = (
        conn.execute(
            sa.select(*_ACCOUNT_COLUMNS).where(
                users_table.c.username == normalise_username(username)
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        raise NotFoundError(f"no user named {username!r}")
    return _account(row)


def list_users(conn: Connection) -> list[Account]:
    """Return every account, by username."""
    rows = conn.execute(sa.select(*_ACCOUNT_COLUMNS).order_by(users_table.c.username)).mappings()
    return [_account(r) for r in rows]


def update_user(
    conn: Connection,
    username: str,
    *,
    role: str | None = None,
    province_code: str | None = None,
    active: bool | None = None,
    password: str | None = None,
) -> Account:
    """Change an account's role, province, active flag or password.

    Any change revokes the account's open sessions, so it applies at the next request.

    Raises
    ------
    NotFoundError
        No such user.
    ValidationError
        Unknown role or province, short password.
    """
    account = get_user(conn, username)
    values: dict[str, object] = {}
    new_role = role or account.role
    new_province = province_code if province_code is not None else account.province_code
    # A new province replaces the account's region (an account has one or the other).
    new_region = None if province_code is not None else account.region
    if role is not None or province_code is not None:
        _check_role_province(conn, new_role, new_province, new_region)
        values.update(role=new_role, province_code=new_province, region=new_region)
    if active is not None:
        values["active"] = active
    if password is not None:
        _check_password(password)
        values["password_hash"] = hash_password(password)
    if values:
        conn.execute(sa.update(users_table).where(users_table.c.id == account.id).values(**values))
        revoke_sessions(conn, user_id=account.id)
    return get_user(conn, username)


def backoff_s(failures: int, *, free: int = FREE_FAILURES_PER_CLIENT) -> int:
    """Return the wait after ``failures`` consecutive failures from one address, in seconds.

    Examples
    --------
    >>> [backoff_s(n) for n in (4, 5, 6, 7, 20)]
    [0, 30, 60, 120, 900]
    """
    if failures < free:
        return 0
    doublings = min(failures - free, 16)  # past the cap anyway; keeps the power small
    return min(BACKOFF_FIRST_S * 2**doublings, BACKOFF_MAX_S)


def check_login_allowed(conn: Connection, *, username: str, client: str, now: datetime) -> int:
    """Return 0 when a sign-in may be tried now, else the seconds to wait.

    The wait depends on this address's failures for ``username`` since its last success (see
    :func:`backoff_s`), and is counted from the latest of them; an address without failures
    may always try, whatever other addresses did.
    """
    last_ok = conn.execute(
        sa.select(sa.func.max(attempts_table.c.at)).where(
            attempts_table.c.username == username,
            attempts_table.c.client == client,
            attempts_table.c.succeeded.is_(True),
        )
    ).scalar()
    since = now - FAILURE_MEMORY
    if last_ok is not None and last_ok > since:
        since = last_ok
    failures, last_failure = conn.execute(
        sa.select(sa.func.count(), sa.func.max(attempts_table.c.at)).where(
            attempts_table.c.username == username,
            attempts_table.c.client == client,
            attempts_table.c.at >= since,
            attempts_table.c.succeeded.is_(False),
        )
    ).one()
    if not failures or last_failure is None:
        return 0
    recent_for_name = conn.execute(
        sa.select(sa.func.count()).where(
            attempts_table.c.username == username,
            attempts_table.c.at >= now - FAILURE_WINDOW,
            attempts_table.c.succeeded.is_(False),
        )
    ).scalar_one()
    under_attack = recent_for_name >= MAX_FAILURES_PER_USERNAME
    free = FREE_FAILURES_UNDER_ATTACK if under_attack else FREE_FAILURES_PER_CLIENT
    remaining = (last_failure - now).total_seconds() + backoff_s(int(failures), free=free)
    return math.ceil(remaining) if remaining > 0 else 0


def authenticate(
    conn: Connection,
    *,
    username: str,
    password: str,
    client: str = "",
    now: datetime | None = None,
) -> LoginResult:
    """Check a username and password, record the attempt and write an audit row.

    The caller commits the transaction whatever the result, so failures are counted.

    Parameters
    ----------
    conn
        Connection of the caller's transaction.
    username, password
        What the person typed.
    client
        Client address (IP), used by the rate limit and the audit trail.
    now
        Clock for tests.

    Returns
    -------
    LoginResult
        ``account`` on success; else ``reason`` ``throttled`` (with ``retry_after_s``),
        ``bad_credentials`` or ``inactive``.
    """
    now = now or _now()
    name = normalise_username(username)[:64]
    wait = check_login_allowed(conn, username=name, client=client, now=now)
    who = Principal(kind="anonymous", name=name or "?")
    if wait:
        audit.record(
            conn,
            principal=who,
            action="login.throttled",
            target=f"user:{name}",
            client=client,
            details={"retry_after_s": wait},
        )
        return LoginResult(None, "throttled", wait)
    row = (
        conn.execute(sa.select(users_table).where(users_table.c.username == name))
        .mappings()
        .first()
    )
    password_ok = verify_password(row["password_hash"] if row else _DUMMY_HASH, password)
    ok = row is not None and password_ok and bool(row["active"])
    conn.execute(
        sa.insert(attempts_table).values(username=name, client=client, at=now, succeeded=ok)
    )
    if not ok:
        reason = "inactive" if row and password_ok else "bad_credentials"
        audit.record(
            conn,
            principal=who,
            action="login.failure",
            target=f"user:{name}",
            client=client,
            details={"reason": reason},
        )
        return LoginResult(None, reason)
    assert row is not None
    conn.execute(
        sa.update(users_table).where(users_table.c.id == row["id"]).values(last_login_at=now)
    )
    account = get_user(conn, name)
    audit.record(
        conn,
        principal=account.principal(),
        action="login.success",
        target=f"user:{name}",
        client=client,
    )
    return LoginResult(account)


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start_session(
    conn: Connection,
    account: Account,
    *,
    max_age_s: int,
    client: str | None = None,
    now: datetime | None = None,
) -> tuple[str, SessionInfo]:
    """Open a server-side session for ``account``.

    Returns
    -------
    tuple of (str, SessionInfo)
        The cookie token (shown to the browser only; the database keeps its sha256) and the
        session with its CSRF token.
    """
    now = now or _now()
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = now + timedelta(seconds=max_age_s)
    conn.execute(
        sa.insert(sessions_table).values(
            id=_token_id(token),
            user_id=account.id,
            created_at=now,
            expires_at=expires,
            csrf_token=csrf,
            client=client,
        )
    )
    return token, SessionInfo(account, csrf, expires)


def resolve_session(
    conn: Connection, token: str, *, now: datetime | None = None
) -> SessionInfo | None:
    """Return the live session of a cookie token, or None when unknown, expired or revoked."""
    if not token or len(token) > 200:
        return None
    now = now or _now()
    row = (
        conn.execute(
            sa.select(*_ACCOUNT_COLUMNS, sessions_table.c.csrf_token, sessions_table.c.expires_at)
            .join(sessions_table, sessions_table.c.user_id == users_table.c.id)
            .where(
                sessions_table.c.id == _token_id(token),
                sessions_table.c.revoked.is_(False),
                sessions_table.c.expires_at > now,
                users_table.c.active.is_(True),
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return SessionInfo(_account(row), row["csrf_token"], row["expires_at"])


def end_session(conn: Connection, token: str, *, client: str | None = None) -> bool:
    """Revoke the session of ``token`` and audit the sign-out; return False if none was live."""
    info = resolve_session(conn, token)
    if info is None:
        return False
    conn.execute(
        sa.update(sessions_table)
        .where(sessions_table.c.id == _token_id(token))
        .values(revoked=True)
    )
    audit.record(
        conn,
        principal=info.account.principal(),
        action="logout",
        target=f"user:{info.account.username}",
        client=client,
    )
    return True


def revoke_sessions(conn: Connection, *, user_id: int) -> int:
    """Revoke every open session of a user; return how many there were."""
    result = conn.execute(
        sa.update(sessions_table)
        .where(sessions_table.c.user_id == user_id, sessions_table.c.revoked.is_(False))
        .values(revoked=True)
    )
    return result.rowcount or 0


def purge_expired(conn: Connection, *, now: datetime | None = None) -> int:
    """Delete expired or revoked sessions and login attempts older than a day."""
    now = now or _now()
    gone = conn.execute(
        sa.delete(sessions_table).where(
            sa.or_(sessions_table.c.expires_at <= now, sessions_table.c.revoked.is_(True))
        )
    ).rowcount
    conn.execute(sa.delete(attempts_table).where(attempts_table.c.at < now - timedelta(days=1)))
    return gone or 0


def demo_accounts(conn: Connection, settings: object = None) -> dict[str, str]:
    """Create (or reset) the demo viewer and the demo staff account of Surin (32).

    A :data:`com.demo.after_load_hooks` hook: it runs in the demo's transaction, and the demo
    prints what it returns. New random passwords are set every time, since only hashes are
    stored.

    Parameters
    ----------
    conn
        Connection of the caller's transaction (boundaries loaded).
    settings
        Unused; part of the hook signature.

    Returns
    -------
    dict of str to str
        Username to its new password.
    """
    passwords: dict[str, str] = {}
    for username, role, province, display in DEMO_ACCOUNTS:
        password = generate_password()
        try:
            get_user(conn, username)
        except NotFoundError:
            create_user(
                conn,
                username=username,
                password=password,
                role=role,
                province_code=province,
                display_name=display,
            )
        else:
            update_user(
                conn,
                username,
                role=role,
                province_code=province,
                active=True,
                password=password,
            )
        passwords[username] = password
    return passwords


def ensure_demo_users(engine: Engine) -> dict[str, str]:
    """Run :func:`demo_accounts` in its own transaction and return the new passwords."""
    with transaction(engine) as conn:
        return demo_accounts(conn)
