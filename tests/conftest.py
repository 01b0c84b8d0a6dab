"""Shared fixtures: a throwaway PostGIS database per test session, loaded with the boundaries.

Under CI (CI=true) a missing database is a failure, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from dbclean import REFERENCE_TABLES, clean_data_tables  # noqa: F401 - re-exported
from sqlalchemy.engine import Connection, Engine

from com.config.settings import Settings

#: Fixtures shared by the ranking tests (``db``, ``flat_model``), in tests/riskdb.py.
pytest_plugins = ["riskdb"]

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
GEODATA_DIR = SHARED / "geodata"
SAMPLES_DIR = SHARED / "samples"
ADMIN_URL = os.environ.get(
    "COM_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _admin_engine() -> Engine:
    return sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """Create an empty database with PostGIS for this test session and drop it afterwards."""
    name = f"com_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:  # pragma: no cover - depends on the machine
        pytest.fail(f"PostgreSQL is not reachable at {ADMIN_URL}: {exc.orig}")
    url = sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    yield url
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :n AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def test_settings(database_url: str) -> Settings:
    """Settings pointing at the session database and ../shared/geodata."""
    return Settings(
        environment="test",
        database_url=database_url,
        geodata_dir=GEODATA_DIR,
        default_province="32",
        secret_key="test-secret-key-not-for-production",
        _env_file=None,
    )


@pytest.fixture(scope="session")
def migrated_engine(test_settings: Settings) -> Iterator[Engine]:
    """Engine of the session database with every migration applied (no data)."""
    from com.db.engine import make_engine
    from com.db.migrate import upgrade

    engine = make_engine(test_settings)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def engine(migrated_engine: Engine) -> Engine:
    """Engine of the session database with the boundaries of ../shared/geodata loaded."""
    from com.geodata import load_geodata

    load_geodata(migrated_engine, GEODATA_DIR)
    return migrated_engine


@pytest.fixture
def conn(engine: Engine) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    with engine.connect() as connection:
        trans = connection.begin()
        try:
            yield connection
        finally:
            trans.rollback()


@pytest.fixture
def clean_engine(engine: Engine) -> Iterator[Engine]:
    """The loaded engine for tests that commit; data tables are emptied before and after."""
    clean_data_tables(engine)
    yield engine
    clean_data_tables(engine)


@pytest.fixture(scope="session")
def geodata_dir() -> Path:
    return GEODATA_DIR


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES_DIR


@dataclass(frozen=True)
class AppRole:
    """A least-privilege role made by ``com.db.roles.grant_app_role`` and settings using it."""

    role: str
    settings: Settings


@pytest.fixture(scope="session")
def app_role_settings(engine: Engine, test_settings: Settings) -> Iterator[AppRole]:
    """Settings whose database URL connects as a LOGIN role granted like ``com_app``.

    The tables belong to the migration role (the session's superuser); the role is dropped at
    the end of the session (roles are cluster-wide).
    """
    from com.db.roles import grant_app_role

    role = f"com_app_test_{os.getpid()}"
    with engine.begin() as conn:
        grant_app_role(conn, role, login=True)
    url = sa.engine.make_url(test_settings.database_url).set(username=role, password=None)
    settings = test_settings.model_copy(
        update={"database_url": url.render_as_string(hide_password=False),
                "migration_database_url": test_settings.database_url}
    )
    yield AppRole(role=role, settings=settings)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :r"
        ), {"r": role})
        conn.execute(sa.text(f'DROP OWNED BY "{role}"'))
        conn.execute(sa.text(f'DROP ROLE "{role}"'))
