"""Load test (issue 11, item 3): 50 concurrent readers against a cold server shed load politely.

A fresh uvicorn process (:mod:`live_server`, so every cache is cold) serves a database holding a
few thousand risk points; 50 client threads on loopback hit a mix of the map page, rankings,
hot spots, OGC items, vector tiles and exports for about 25 s. Overload may be answered with
503 + Retry-After (problem+json); it must never be a 500, a reset connection or a traceback in
the server's log. The test is bounded in count and time (each client stops at the deadline; the
client timeout caps the last request) and asserts on status codes and log content only.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from datetime import date, timedelta

import httpx
import pytest
import sqlalchemy as sa
from live_server import LiveServer
from ogc_data import insert_seeded_points

pytestmark = [pytest.mark.db, pytest.mark.slow, pytest.mark.timeout(300)]

CLIENTS = 50
DURATION_S = 25.0
CLIENT_TIMEOUT_S = 60.0
POINTS = 4000

#: The mix: the map page, area rankings (province and whole country), hot spots, OGC items
#: (the subdistricts collection carries the ranking), tiles at several zooms and exports.
PATHS = [
    "/",
    "/?province=32",
    "/api/rankings?province=32",
    "/api/rankings",
    "/api/rankings?level=district",
    "/api/rankings?province=32&level=h3:7",
    "/api/hotspots?province=32",
    "/api/hotspots?province=31",
    "/api/hotspots",
    "/api/hotspots?level=district",
    "/ogc/collections/risk-points/items?limit=100",
    "/ogc/collections/subdistricts/items?limit=50",
    "/ogc/collections/districts/items?limit=20",
    "/tiles/risk-points/8/201/117.pbf",
    "/tiles/risk-points/12/3225/1876.pbf",
    "/tiles/risk-points/6/50/29.pbf",
    "/api/exports/risk-points.csv",
    "/api/exports/rankings.csv?province=32",
    "/api/exports/rankings.xlsx",
]


def _load_points(engine: sa.Engine, n: int) -> None:
    """Commit ``n`` points over the subdistricts of Surin and its neighbours."""
    rng = random.Random(11)
    with engine.begin() as conn:
        codes = list(conn.execute(sa.text(
            "SELECT code FROM subdistricts WHERE province_code IN ('32', '31', '33', '34') "
            "ORDER BY code")).scalars())
        rows = [
            {
                "subdistrict_code": rng.choice(codes),
                "category": rng.choice(["drugs", "smuggling", "illegal_entry", "other_crime"]),
                "severity": rng.randint(1, 5),
                "reported_on": str(date(2023, 10, 1) + timedelta(days=rng.randint(0, 700))),
                "seed": i + 1,
            }
            for i in range(n)
        ]
        insert_seeded_points(conn, rows)


def test_fifty_cold_readers_get_no_500_and_no_traceback(clean_engine, database_url, geodata_dir,
                                                         tmp_path):
    _load_points(clean_engine, POINTS)
    env = {
        "COM_DATABASE_URL": database_url,
        "COM_ENVIRONMENT": "test",
        "COM_SECRET_KEY": "overload-test-secret",
        "COM_GEODATA_DIR": str(geodata_dir),
        "COM_DEFAULT_PROVINCE": "32",
    }
    statuses: Counter[str] = Counter()
    bad: list[str] = []
    durations: list[float] = []
    lock = threading.Lock()
    server = LiveServer(env, tmp_path / "uvicorn.log")
    server.start()  # a fresh process: every cache (rankings, counts, extents) is cold
    try:
        deadline = time.monotonic() + DURATION_S

        def reader(index: int) -> None:
            rng = random.Random(index)
            with httpx.Client(base_url=server.base_url, timeout=CLIENT_TIMEOUT_S) as client:
                while time.monotonic() < deadline:
                    path = rng.choice(PATHS)
                    started = time.monotonic()
                    try:
                        response = client.get(path)
                    except httpx.HTTPError as exc:
                        label = f"error {type(exc).__name__}"
                        problem = f"{path}: {exc!r}"
                    else:
                        label = str(response.status_code)
                        problem = None
                        if response.status_code >= 500 and not (
                            response.status_code == 503
                            and response.headers.get("retry-after", "").isdigit()
                            and response.headers.get("content-type", "").startswith(
                                "application/problem+json")
                        ):
                            problem = f"{path}: {response.status_code} {response.text[:200]}"
                    with lock:
                        durations.append(time.monotonic() - started)
                        statuses[label] += 1
                        if problem:
                            bad.append(problem)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DURATION_S + CLIENT_TIMEOUT_S + 30)
        assert not any(t.is_alive() for t in threads)
        # The server is still serving once the storm is over.
        after = httpx.get(f"{server.base_url}/api/rankings?province=32", timeout=60)
    finally:
        server.stop()
    log = server.log_path.read_text(errors="replace")
    durations.sort()
    p50 = durations[len(durations) // 2] if durations else float("nan")
    print(f"\noverload test: {CLIENTS} clients x {DURATION_S:.0f} s: "
          f"{dict(sorted(statuses.items()))}; p50 {p50:.1f} s, max {durations[-1]:.1f} s")
    assert statuses["200"] > 0, statuses
    assert bad == [], f"{len(bad)} impolite answers, e.g. {bad[:5]}; statuses {dict(statuses)}"
    assert "Traceback" not in log, log[-4000:]
    assert after.status_code == 200, after.text[:300]
