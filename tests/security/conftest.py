"""Fixtures for the security tests: the real app under uvicorn, and credentials of each kind."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from live_server import LiveServer
from sqlalchemy.engine import Engine

from com.config.settings import Settings
from com.security.access import CLI

GEODATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "geodata"


@pytest.fixture(scope="module")
def live_api(engine: Engine, test_settings: Settings, tmp_path_factory) -> Iterator[LiveServer]:
    """The app under uvicorn on the session database (default 50 MB upload limit)."""
    env = {
        "COM_DATABASE_URL": test_settings.database_url,
        "COM_ENVIRONMENT": "test",
        "COM_SECRET_KEY": test_settings.secret_key,
        "COM_GEODATA_DIR": str(GEODATA_DIR),
        "COM_DEFAULT_PROVINCE": "32",
        "COM_MAX_UPLOAD_MB": str(test_settings.max_upload_mb),
    }
    server = LiveServer(env, tmp_path_factory.mktemp("uvicorn") / "uvicorn.log")
    server.start()
    yield server
    server.stop()


def make_key(engine: Engine, *, scope: str = "write", province_code: str | None = "32") -> str:
    """Create an API key in the session database and return its secret."""
    from com.security.apikeys import create_key

    with engine.begin() as conn:
        return create_key(
            conn, name=f"security test {scope} {province_code}", scope=scope,  # type: ignore[arg-type]
            province_code=province_code, created_by=CLI,
        ).key


@pytest.fixture
def key_factory(engine: Engine):
    """``key_factory(scope=..., province_code=...)`` -> a new API key's secret."""
    return lambda **kw: make_key(engine, **kw)


@pytest.fixture
def write_key(engine: Engine) -> str:
    """A write-scoped API key for Surin (32)."""
    return make_key(engine, scope="write", province_code="32")
