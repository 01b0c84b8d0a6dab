"""Parameters the database or the analysis cannot use are refused at the edge (issue 11).

Item 5: each integer request below answered 500 with a traceback (PostgreSQL "smallint/integer/
bigint out of range", numpy's seed range) before the fix: query and filter values are now 400
and path ids that cannot exist are 404, both problem+json. Item 14: impossible dates (``to=0``
read as the Unix epoch, a period ending before it starts, a Buddhist-era year) gave 200 with an
all-zero ranking; they are now 400.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from ogc_data import standard_dataset
from sqlalchemy.engine import Engine

from api.main import create_app
from com.config.settings import Settings
from com.security import users

pytestmark = pytest.mark.db

HUGE = "99999999999999999999"  # beyond int8
ITEMS = "/ogc/collections/risk-points/items"
EXPORT = "/api/exports/risk-points.csv"
TILE = "/tiles/risk-points/6/50/29.pbf"

BAD_QUERIES = [
    *(
        f"{base}?{query}"
        for base in (ITEMS, EXPORT, TILE)
        for query in (
            "filter=severity = 40000",
            "filter=severity > -40000",
            "severity=70000",
            "incident_count=99999999999",
            f"source_upload_id={HUGE}",
            "filter=incident_count BETWEEN 1 AND 99999999999999999999999",
            f"filter=source_upload_id IN (1, {HUGE})",
            "filter=incident_count = 1e30",
        )
    ),
    "/ogc/collections/target-areas/items?fiscal_year_be=99999999999",
    "/ogc/collections/cctv-sites/items?filter=plan_id = 99999999999999999999",
    "/api/kpi?province=32&fy=99999999999",
    "/api/kpi?province=32&fy=2567&baseline_fy=99999999999",
    "/api/targets?province=32&fy=99999999999",
    "/api/targets?fy=99999999999",
    f"/api/hotspots?province=32&seed={HUGE}",
    f"/api/uploads?offset={HUGE}",
]
BAD_DATES = [
    f"{base}?{query}"
    for base in ("/api/exports/rankings.csv", "/api/rankings", "/api/hotspots",
                 "/api/cctv/patrols")
    for query in ("province=32&to=0", "province=32&from=1704067200",
                  "province=32&from=2024-06-01&to=2024-01-01", "province=32&to=2568-01-01")
] + ["/api/rankings?province=32&as_of=0", "/api/rankings/320101?from=2024-06-01&to=2024-01-01"]
MISSING_IDS = [
    f"/api/cctv/plans/{HUGE}",
    f"/api/cctv/plans/{HUGE}/curve.png",
    f"/api/uploads/{HUGE}",
    f"/api/uploads/{HUGE}/report.csv",
    "/api/cctv/plans/-1",
    "/api/uploads/0",
]


PASSWORD = "รหัสผ่านทดสอบ-bounds-2568"


@pytest.fixture(scope="module")
def client(engine: Engine, test_settings: Settings) -> Iterator[TestClient]:
    """An anonymous client (the OGC cases are open to anyone)."""
    standard_dataset(engine)
    with TestClient(create_app(test_settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def admin(engine: Engine, test_settings: Settings, client: TestClient) -> Iterator[TestClient]:
    """A client signed in as an administrator (upload lists need staff, plans a viewer)."""
    with engine.begin() as conn:
        users.create_user(conn, username="bounds_admin", password=PASSWORD, role="admin")
    with TestClient(create_app(test_settings), raise_server_exceptions=False) as c:
        page = c.get("/login")
        match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert match is not None
        signed_in = c.post("/login", data={"username": "bounds_admin", "password": PASSWORD,
                                           "csrf_token": match.group(1), "next": "/"},
                           follow_redirects=False)
        assert signed_in.status_code in (302, 303), signed_in.text
        yield c


def _problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.request.url, response.text[:300])
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and body["detail"]
    return body


@pytest.mark.parametrize("url", BAD_QUERIES)
def test_out_of_range_integers_are_400(url: str, client: TestClient, admin: TestClient) -> None:
    if url.startswith(("/ogc", "/tiles", "/api/exports")):
        _problem(client.get(url), 400)  # anonymous callers reached the 500 too
    _problem(admin.get(url), 400)


@pytest.mark.parametrize("url", BAD_DATES)
def test_impossible_dates_are_400(url: str, admin: TestClient) -> None:
    body = _problem(admin.get(url), 400)
    assert "from" in body["detail"] or "to" in body["detail"] or "as_of" in body["detail"]


@pytest.mark.parametrize("url", MISSING_IDS)
def test_ids_that_cannot_exist_are_404(url: str, admin: TestClient) -> None:
    _problem(admin.get(url), 404)


@pytest.mark.parametrize(
    ("query", "matched"),
    [("filter=severity <= 32767", 50), ("filter=severity > -32768", 50),
     ("filter=incident_count BETWEEN 1 AND 2147483647", 50), ("severity=5,32767", 10),
     ("filter=source_upload_id = 9223372036854775807", 0)],
)
def test_integers_at_the_bounds_still_work(query: str, matched: int, admin: TestClient) -> None:
    # standard_dataset: 50 points, severities 1-5 in turn, no upload ids.
    response = admin.get(f"{ITEMS}?{query}")
    assert response.status_code == 200, response.text
    assert response.json()["numberMatched"] == matched


def _integer_schemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    options = schema.get("anyOf", [schema])
    return [s for s in options if s.get("type") == "integer"]


def test_every_integer_parameter_is_bounded(test_settings: Settings) -> None:
    """One rule for the whole API: no integer parameter accepts what bigint cannot hold.

    The OGC ``limit`` is the one exception: Part 1 asks larger values to be capped (the
    handler caps it at 1000), not refused.
    """
    unbounded = []
    for path, operations in create_app(test_settings).openapi()["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if parameter["name"] == "limit" and path.startswith("/ogc/"):
                    continue
                for schema in _integer_schemas(parameter["schema"]):
                    low, high = schema.get("minimum"), schema.get("maximum")
                    if low is None or high is None or low < -(2**63) or high > 2**63 - 1:
                        unbounded.append(f"{method.upper()} {path} {parameter['name']}")
    assert unbounded == []
