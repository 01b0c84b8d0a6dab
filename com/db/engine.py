"""Engine creation, transactions and the one place where database errors become COM errors."""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from importlib import resources
from typing import Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Connection, Engine

from com.config.settings import Settings
from com.errors import ComError, DatabaseUnavailable, NotFoundError, ServerBusy

log = logging.getLogger(__name__)


def make_engine(settings: Settings, **kwargs: object) -> Engine:
    """Create a SQLAlchemy engine for the configured PostGIS database.

    ``pool_pre_ping`` makes the pool drop connections that died with a database restart, so
    the service recovers by itself once PostgreSQL is back. The pool's size, overflow and
    timeout come from the settings (issue 11); a request that waits longer than the timeout
    for a connection gets :class:`com.errors.ServerBusy` (503), not a hang.
    """
    options: dict[str, object] = {
        "pool_pre_ping": True,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout_s,
    }
    options.update(kwargs)
    return sa.create_engine(settings.database_url, **options)


_side_engines: dict[str, Engine] = {}
_side_lock = threading.Lock()


def side_engine(engine: Engine) -> Engine:
    """Return an engine on the same database that opens a connection per use (no pool).

    For work committed beside a caller's transaction (the rollup's folds, the kept H3 cell
    values): it never waits for a connection of the caller's pool, which the caller may be
    holding all of.
    """
    key = engine.url.render_as_string(hide_password=False)
    with _side_lock:
        if key not in _side_engines:
            _side_engines[key] = sa.create_engine(engine.url, poolclass=sa.NullPool)
        return _side_engines[key]


def commit_beside(conn: Connection, statements: Sequence[tuple[sa.TextClause, Mapping[str, Any]]],
                  *, lock_timeout: str = "5s") -> str | None:
    """Run ``statements`` in a transaction of their own beside ``conn``'s, committed at once.

    For values kept for later callers (the H3 rankings' cell values and snapshots): they stay
    whatever ``conn``'s transaction does, and waiting for a lock longer than ``lock_timeout``
    gives up. Returns None when committed, else what went wrong (the caller's answer stands).
    """
    try:
        with side_engine(conn.engine).begin() as own:
            own.execute(sa.text(f"SET LOCAL lock_timeout = '{lock_timeout}'"))
            for statement, params in statements:
                own.execute(statement, dict(params))
    except sa_exc.SQLAlchemyError as exc:
        return str(exc)
    return None


def make_migration_engine(settings: Settings) -> Engine:
    """Create an engine connected as the owner of the tables (``settings.migration_url``)."""
    return sa.create_engine(settings.migration_url, pool_pre_ping=True, poolclass=sa.NullPool)


@contextmanager
def translate_db_errors() -> Iterator[None]:
    """Turn low-level database errors into :mod:`com.errors` exceptions."""
    try:
        yield
    except ComError:
        raise
    except sa_exc.TimeoutError as exc:
        # Every pooled connection stayed busy for the whole pool timeout: overload, not a bug.
        log.warning("no database connection free: %s", exc)
        raise ServerBusy("the service is busy; retry in a few seconds") from exc
    except (sa_exc.OperationalError, sa_exc.InterfaceError) as exc:
        # The driver's message names hosts and ports: log it, but tell the caller only
        # that the database is unavailable (the API turns this into 503 + Retry-After).
        log.info("database unavailable: %s", exc.orig)
        raise DatabaseUnavailable("the database is unavailable; retry in a few seconds") from exc
    except sa_exc.ProgrammingError as exc:
        msg = str(exc.orig)
        if "does not exist" in msg and ("relation" in msg or "table" in msg):
            raise NotFoundError(
                "the database has no COM schema yet: run `com db upgrade` first"
            ) from exc
        raise


@contextmanager
def transaction(engine: Engine) -> Iterator[Connection]:
    """Open one transaction; commit on success, roll back on any error."""
    with translate_db_errors(), engine.begin() as conn:
        yield conn


@functools.cache
def load_sql(name: str) -> str:
    """Return the text of ``com/db/sql/<name>.sql``."""
    return resources.files("com.db").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


def sql(name: str) -> sa.TextClause:
    """Return a bound-parameter text clause from ``com/db/sql/<name>.sql``."""
    return sa.text(load_sql(name))


_PARAMETER = re.compile(r"(?<![:\w]):(\w+)")


#: Bytes of a large value per message of :func:`fetch_sliced`.
SLICE_BYTES = 1 << 20


def fetch_sliced(
    conn: Connection, table: str, where: str, params: Mapping[str, Any], *,
    small: Sequence[str], large: Sequence[str], row: str = "t.ctid::text",
) -> list[tuple]:
    """Read the rows of ``table`` matching ``where``, large ``bytea`` columns in slices.

    Each row is the ``small`` columns' values, then the ``large`` ones' (read-only
    ``memoryview``; None for NULL), in ``conn``'s transaction (begun if it was not: the
    caller's commit or rollback ends it).

    Results come in binary, through psycopg's binary cursor: SQLAlchemy's cursors ask for
    text, and a bytea then travels hex-encoded, twice its size, and is decoded again (0.3 s
    of the 0.5 s it took to read the 35 MB of kept H3 cell values). libpq keeps its input
    buffer as large as the largest message it ever received, for the life of the connection:
    one 20 MB value read whole left 32 MiB in every pooled connection, a tenth of the API
    worker's peak in a national H3 ranking. Here each value travels in slices of :data:`SLICE_BYTES`
    (the buffer stays at 2 MiB), one row at a time (single-row mode: no result holding them
    all), put in place into one buffer of the value's size. A value stored uncompressed is
    read slice by slice from TOAST, which is as fast as reading it whole (0.05 s for 20 MB).
    ``where`` (``:name`` parameters) refers to the table as ``t``; all slices come from one
    statement, so they are of one version of each row. ``table`` may be a subquery in
    parentheses (computed once), with ``row`` an expression that tells its rows apart (a
    subquery has no ``ctid``).
    """
    numbered = ", ".join(f"({i}, t.{name})" for i, name in enumerate(large))
    shown = ", ".join(f"CASE WHEN c.k = 0 AND s.i = 0 THEN t.{name} END" for name in small)
    statement = (
        f"SELECT {row}, c.k, octet_length(c.v), s.i, "
        f"substring(c.v FROM s.i + 1 FOR {SLICE_BYTES}){', ' + shown if shown else ''} "
        f"FROM {table} AS t CROSS JOIN LATERAL (VALUES {numbered}) AS c(k, v) "
        f"CROSS JOIN LATERAL generate_series(0, greatest(coalesce(octet_length(c.v), 0) - 1, 0), "
        f"{SLICE_BYTES}) AS s(i) WHERE {where}"
    )
    query = _PARAMETER.sub(r"%(\1)s", statement.replace("%", "%%"))
    if not conn.in_transaction():
        conn.begin()  # as conn.execute would: the caller's commit or rollback ends it
    cursor = conn.connection.driver_connection.cursor(binary=True)  # type: ignore[union-attr]
    rows: dict[str, tuple[list[Any], list[bytearray | None]]] = {}
    try:
        for key, k, size, start, piece, *values in cursor.stream(query, dict(params)):
            shown_values, buffers = rows.setdefault(key, ([None] * len(small),
                                                          [None] * len(large)))
            if k == 0 and start == 0:
                shown_values[:] = values
            if piece is None:
                continue
            if buffers[k] is None:
                buffers[k] = bytearray(size)
            buffers[k][start:start + len(piece)] = piece  # type: ignore[index]
    finally:
        cursor.close()
    return [(*shown_values, *(None if b is None else memoryview(b).toreadonly()
                              for b in buffers))
            for shown_values, buffers in rows.values()]
