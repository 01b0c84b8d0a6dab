"""Shared fixtures: a throwaway PostGIS database per test session, loaded with the boundaries.

Under CI (CI=true) a missing database is a failure, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from com.settings import Settings

REPO = Path(__file__).resolve().parents[1]
SHARED = (REPO / ".." / "shared").resolve()
GEODATA_DIR = SHARED / "geodata"
SAMPLES_DIR = SHARED / "samples"
ADMIN_URL = os.environ.get(
    "COM_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
# Tables filled by `com geodata load`; every other table is emptied after tests that write.
REFERENCE_TABLES = {
    "provinces",
    "districts",
    "subdistricts",
    "subdistrict_parts",
    "border_crossings",
    "alembic_version",
    "spatial_ref_sys",
}


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


def _clean(engine: Engine) -> None:
    with engine.begin() as c:
        tables = c.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        data_tables = [t for t in tables if t not in REFERENCE_TABLES and t != "context_layers"]
        # TRUNCATE ... CASCADE also empties context_layers (it references uploads): keep the
        # reference features loaded from geodata and put them back afterwards.
        c.execute(
            sa.text(
                "CREATE TEMP TABLE keep_context ON COMMIT DROP AS "
                "SELECT * FROM context_layers WHERE source_upload_id IS NULL"
            )
        )
        if data_tables:
            c.execute(
                sa.text(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in data_tables) + " RESTART IDENTITY CASCADE"
                )
            )
        c.execute(sa.text("DELETE FROM context_layers WHERE source_upload_id IS NOT NULL"))
        c.execute(
            sa.text(
                "INSERT INTO context_layers SELECT * FROM keep_context ON CONFLICT DO NOTHING"
            )
        )
        c.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('context_layers', 'id'), "
                "(SELECT coalesce(max(id), 0) + 1 FROM context_layers), false)"
            )
        )


@pytest.fixture
def clean_engine(engine: Engine) -> Iterator[Engine]:
    """The loaded engine for tests that commit; data tables are emptied before and after."""
    _clean(engine)
    yield engine
    _clean(engine)


@pytest.fixture(scope="session")
def geodata_dir() -> Path:
    return GEODATA_DIR


@pytest.fixture(scope="session")
def samples_dir() -> Path:
    return SAMPLES_DIR
