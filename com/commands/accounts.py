"""`com audit`, `com retention`, `com users`, `com apikeys`: the accountable side of COM.

Each command parses its options and calls one library function (com.security); the shared
helpers (settings, engine, JSON output) come from :mod:`com.commands.common`.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from com.commands.common import echo_json
from com.commands.common import engine as _engine
from com.commands.common import settings as _settings

# --- audit trail and retention (issue 8) ---------------------------------------------------

audit_app = typer.Typer(help="Read the append-only audit trail.", no_args_is_help=True)
retention_app = typer.Typer(help="Delete or anonymise expired records.", no_args_is_help=True)


@audit_app.command("show")
def audit_show(
    action: Annotated[
        str | None, typer.Option(help="Action or its prefix, e.g. upload or export.csv.")
    ] = None,
    actor: Annotated[str | None, typer.Option(help="Username, key prefix or cli.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Earliest time, ISO date or date-time (e.g. 2026-01-31).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000, help="Most rows to print.")] = 100,
) -> None:
    """Print audit rows, newest first, as JSON."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from com.db.engine import transaction
    from com.errors import ValidationError
    from com.security.audit import entries

    when = None
    if since:
        try:
            when = datetime.fromisoformat(since)
        except ValueError:
            raise ValidationError(
                f"--since {since!r} is not an ISO date such as 2026-01-31"
            ) from None
        if when.tzinfo is None:  # a bare date or time means Thai time
            when = when.replace(tzinfo=ZoneInfo("Asia/Bangkok"))
    with transaction(_engine()) as conn:
        echo_json(entries(conn, action=action, actor=actor, since=when, limit=limit))


@retention_app.command("run")
def retention_run(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would change; change nothing.")
    ] = False,
) -> None:
    """Delete or anonymise risk points past their category's retention_days; audit it."""
    from com.db.engine import transaction
    from com.security.retention import load_retention_policy, run_retention

    policy = load_retention_policy(_settings().severity_config)
    with transaction(_engine()) as conn:
        report = run_retention(conn, policy=policy, dry_run=dry_run)
    echo_json(report.as_dict())


# --- user accounts (issue 6) ------------------------------------------------------------------

users_app = typer.Typer(
    help="Web user accounts (viewer, staff, planner, admin).", no_args_is_help=True
)


@users_app.command("create")
def users_create(
    username: Annotated[str, typer.Argument(help="Login name (a-z, 0-9, _ . -).")],
    role: Annotated[str, typer.Option(help="viewer, staff, planner or admin.")] = "viewer",
    province: Annotated[
        str | None, typer.Option(help="Province code the account is limited to, e.g. 32.")
    ] = None,
    display_name: Annotated[str | None, typer.Option(help="Name shown on the pages.")] = None,
    region: Annotated[str | None, typer.Option(
        help="Instead of a province: limit the account to a region, e.g. isoc-2.")] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    generate: Annotated[
        bool, typer.Option("--generate", help="Generate a password and print it once.")
    ] = False,
) -> None:
    """Create a user account; the password is prompted for unless read or generated."""
    from com.db.engine import transaction
    from com.security.users import create_user, generate_password

    if generate:
        password = generate_password()
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with transaction(_engine()) as conn:
        account = create_user(
            conn,
            username=username,
            password=password,
            role=role,
            province_code=province,
            display_name=display_name,
            region=region,
        )
    result = {
        "username": account.username,
        "role": account.role,
        "province_code": account.province_code,
        "region": account.region,
    }
    if generate:
        result["password"] = password
    echo_json(result)


@users_app.command("list")
def users_list() -> None:
    """Print the user accounts as JSON (never their password hashes)."""
    from dataclasses import asdict

    from com.db.engine import transaction
    from com.security.users import list_users

    with transaction(_engine()) as conn:
        echo_json([asdict(a) for a in list_users(conn)])


# --- API keys (issue 7) ---------------------------------------------------------------------

apikeys_app = typer.Typer(help="API keys for dashboards, GIS desktops and BI tools.",
                          no_args_is_help=True)


@apikeys_app.command("create")
def apikeys_create(
    name: Annotated[str, typer.Argument(help="Who or what uses the key.")],
    scope: Annotated[
        str, typer.Option(help="read (items, tiles, exports) or write (also uploads).")
    ] = "read",
    province: Annotated[
        str | None, typer.Option(help="Restrict the key to one province code, e.g. 32.")
    ] = None,
    sensitive: Annotated[
        bool, typer.Option("--sensitive", help="Exact coordinates of sensitive categories.")
    ] = False,
    region: Annotated[str | None, typer.Option(
        help="Instead of a province: restrict the key to a region, e.g. isoc-2.")] = None,
) -> None:
    """Create an API key and print it ONCE (only its hash is stored)."""
    from com.db.engine import transaction
    from com.security.access import CLI
    from com.security.apikeys import create_key

    with transaction(_engine()) as conn:
        created = create_key(conn, name=name, scope=scope, province_code=province,  # type: ignore[arg-type]
                             sensitive=sensitive, created_by=CLI, region=region)
    echo_json({"key": created.key, **created.info.as_dict()})
    print("store this key now: it is shown only once and cannot be recovered", file=sys.stderr)


@apikeys_app.command("list")
def apikeys_list(
    active: Annotated[bool, typer.Option("--active", help="Only keys not revoked.")] = False,
) -> None:
    """List API keys (prefix, name, scope, province, last use); never the keys themselves."""
    from com.db.engine import transaction
    from com.security.apikeys import list_keys

    with transaction(_engine()) as conn:
        echo_json([k.as_dict() for k in list_keys(conn, include_revoked=not active)])


@apikeys_app.command("revoke")
def apikeys_revoke(
    key: Annotated[str, typer.Argument(help="The key's id or 8-character prefix.")],
) -> None:
    """Revoke an API key: requests with it get 401 from now on."""
    from com.db.engine import transaction
    from com.security.access import CLI
    from com.security.apikeys import revoke_key

    with transaction(_engine()) as conn:
        echo_json(revoke_key(conn, key, revoked_by=CLI).as_dict())
