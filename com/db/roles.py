"""The database role the app connects as: data rights only, and an append-only audit trail."""

from __future__ import annotations

import re

from psycopg import sql
from sqlalchemy.engine import Connection

from com.errors import ValidationError

#: Role names accepted (PostgreSQL identifiers, lower case, no quoting surprises).
ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")

#: Tables the app may read but never write.
READ_ONLY_TABLES = frozenset({"alembic_version"})
#: Tables the app may read and append to, never change: the audit trail.
APPEND_ONLY_TABLES = frozenset({"audit_log"})


def grant_app_role(
    conn: Connection, name: str, *, login: bool = False, password: str | None = None
) -> dict[str, object]:
    """Create or update the role the app connects as, with only the rights it needs.

    Run as the owner of the tables (the migration role) after every ``com db upgrade``. The
    role gets ``CONNECT`` and ``TEMPORARY`` (uploads stage rows in a temporary table) on the
    database, ``USAGE`` on the schema, ``SELECT, INSERT, UPDATE, DELETE`` on the data tables
    the owner owns, ``USAGE`` on their sequences, only ``SELECT`` on ``alembic_version`` and
    only ``SELECT, INSERT`` on ``audit_log``: no ``UPDATE``, ``DELETE`` or ``TRUNCATE`` of the
    audit trail, no DDL. Rights granted earlier are revoked first, so a rerun leaves exactly
    these. Default privileges give tables of later migrations the same data rights.

    Parameters
    ----------
    conn
        A connection of the owner role, in the caller's transaction.
    name
        Role name (``com_app``).
    login
        Whether the role may log in (False: NOLOGIN, for a group that login roles join).
    password
        Password of a LOGIN role; None leaves the existing one unchanged.

    Returns
    -------
    dict
        ``role``, ``login``, ``tables`` (data tables granted), ``append_only``, ``read_only``.

    Raises
    ------
    com.errors.ValidationError
        For a name that is not a plain lower-case identifier, or the owner's own name.
    """
    if not ROLE_NAME.fullmatch(name):
        raise ValidationError(f"role name {name!r}: use lower-case letters, digits and _")
    owner = conn.exec_driver_sql("SELECT current_user").scalar_one()
    if name == owner:
        raise ValidationError(f"{name} owns the tables: the app role must be another role")
    role = sql.Identifier(name)
    statements = _role_statements(conn, name, login=login, password=password)
    tables = _owned_relations(conn, sequences=False)
    sequences = _owned_relations(conn, sequences=True)
    statements += _object_grants(role, tables=tables, sequences=sequences)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    for statement in statements:
        cursor.execute(statement)
    return {
        "role": name,
        "login": login,
        "tables": [t for t in tables if t not in APPEND_ONLY_TABLES | READ_ONLY_TABLES],
        "append_only": sorted(APPEND_ONLY_TABLES & set(tables)),
        "read_only": sorted(READ_ONLY_TABLES & set(tables)),
    }


def _role_statements(
    conn: Connection, name: str, *, login: bool, password: str | None
) -> list[sql.Composable]:
    """Return the statements creating the role, setting its options and database rights."""
    role = sql.Identifier(name)
    statements: list[sql.Composable] = []
    exists = conn.exec_driver_sql(
        "SELECT 1 FROM pg_roles WHERE rolname = %(n)s", {"n": name}
    ).first()
    if exists is None:
        statements.append(sql.SQL("CREATE ROLE {}").format(role))
    options: sql.Composable = sql.SQL("LOGIN" if login else "NOLOGIN")
    if login and password:
        options = sql.SQL("LOGIN PASSWORD {}").format(sql.Literal(password))
    statements.append(sql.SQL("ALTER ROLE {} WITH NOSUPERUSER NOCREATEDB NOCREATEROLE {}")
                      .format(role, options))
    statements += [
        sql.SQL("GRANT CONNECT, TEMPORARY ON DATABASE {} TO {}").format(
            sql.Identifier(conn.exec_driver_sql("SELECT current_database()").scalar_one()),
            role),
        sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role),
    ]
    return statements


def _owned_relations(conn: Connection, *, sequences: bool) -> list[str]:
    """Return the names of the public tables and views (or sequences) the current user owns."""
    kinds = "c.relkind = 'S' " if sequences else "c.relkind IN ('r', 'p', 'v', 'm') "
    query = (
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND " + kinds
        + "AND pg_get_userbyid(c.relowner) = current_user ORDER BY c.relname"
    )
    return [str(r) for r in conn.exec_driver_sql(query).scalars()]


def _object_grants(
    role: sql.Identifier, *, tables: list[str], sequences: list[str]
) -> list[sql.Composable]:
    """Return the statements resetting the rights on tables and sequences, and the defaults."""
    statements: list[sql.Composable] = []
    for table in tables:
        target = sql.Identifier("public", table)
        statements.append(sql.SQL("REVOKE ALL ON {} FROM {}").format(target, role))
        rights = (
            "SELECT, INSERT" if table in APPEND_ONLY_TABLES
            else "SELECT" if table in READ_ONLY_TABLES
            else "SELECT, INSERT, UPDATE, DELETE"
        )
        statements.append(sql.SQL(f"GRANT {rights} ON {{}} TO {{}}").format(target, role))
    for sequence in sequences:
        target = sql.Identifier("public", sequence)
        statements.append(sql.SQL("REVOKE ALL ON SEQUENCE {} FROM {}").format(target, role))
        statements.append(sql.SQL("GRANT USAGE ON SEQUENCE {} TO {}").format(target, role))
    statements += [
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public "
                "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {}").format(role),
        sql.SQL("ALTER DEFAULT PRIVILEGES IN SCHEMA public "
                "GRANT USAGE ON SEQUENCES TO {}").format(role),
    ]
    return statements

