"""Issue 11: per-caller rate limits on heavy endpoints (429) and pool timeouts as 503, not 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ogc_data import reset, standard_dataset

from api.main import create_app
from com.config.settings import Settings
from com.security.access import CLI
from com.security.apikeys import create_key

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def dataset(engine) -> Iterator[dict[str, Any]]:
    yield standard_dataset(engine)
    reset(engine)


@pytest.fixture
def api_key(engine, dataset) -> str:
    with engine.begin() as conn:
        return create_key(conn, name="rate test", created_by=CLI).key


def _problem(response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.headers["retry-after"].isdigit()
    assert int(response.headers["retry-after"]) >= 1
    return response.json()


def test_heavy_endpoints_are_rate_limited_per_caller(dataset, api_key, test_settings: Settings):
    settings = test_settings.model_copy(update={"rate_limit_per_minute": 1.0,
                                                "rate_limit_burst": 3})
    with TestClient(create_app(settings)) as client:
        # Anonymous callers share a bucket per address: exports and hot spots both take from it.
        assert client.get("/api/exports/risk-points.csv").status_code == 200
        assert client.get("/api/hotspots?province=32").status_code == 200
        assert client.get("/ogc/collections/risk-points/items?f=csv").status_code == 200
        body = _problem(client.get("/api/exports/risk-points.csv"), 429)
        assert body["status"] == 429 and "retry" in body["detail"]
        _problem(client.get("/api/hotspots?province=32"), 429)
        # Light reads are not limited.
        assert client.get("/ogc/collections/risk-points/items?limit=2").status_code == 200
        assert client.get("/api/rankings?province=32").status_code == 200
        # An API key is its own caller with its own bucket, from the same address.
        headers = {"X-API-Key": api_key}
        for _ in range(3):
            assert client.get("/api/exports/risk-points.csv", headers=headers).status_code == 200
        _problem(client.get("/api/exports/risk-points.csv", headers=headers), 429)
        # The CCTV planner counts too (the limit comes before the body is even validated).
        _problem(client.post("/api/cctv/plan", json={"province": "32", "k": 1},
                             headers=headers), 429)


def test_default_limits_leave_normal_use_alone(dataset, test_settings: Settings):
    with TestClient(create_app(test_settings)) as client:
        for _ in range(30):
            assert client.get("/api/exports/risk-points.csv").status_code == 200


def test_a_pool_timeout_is_503_with_retry_after_not_500(dataset, test_settings: Settings,
                                                          caplog):
    settings = test_settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0,
                                                "db_pool_timeout_s": 0.2})
    with TestClient(create_app(settings)) as client:
        engine = client.app.state.engine  # type: ignore[attr-defined]
        with caplog.at_level(logging.WARNING, logger="api"), engine.connect():
            # The only pooled connection is held: the request cannot get one.
            for path in ("/api/rankings?province=31", "/ogc/collections/risk-points/items"):
                body = _problem(client.get(path), 503)
                assert "busy" in body["detail"]
        assert not [r for r in caplog.records if r.exc_info], "503s are logged without traceback"
        assert client.get("/api/rankings?province=31").status_code == 200  # served again
