"""Benchmark: the ranking answer at 1,000,000 points, COM's API beside geopandas (issue 13).

    .venv/bin/python benchmarks/bench_rank_api.py [--points 1000000] [--runs 5] [--reuse DB]

Builds (or reuses, ``--reuse``, a database kept by ``bench_rank.py --keep``) a scratch database
with the boundaries and N synthetic points over Thailand, then in ONE process, alternating run
by run:

* ``GET /api/rankings`` through the app (in-process ASGI client, the real routers, privacy and
  JSON), cold: national (7,425 subdistricts) and Surin (province=32), each with a different
  ``as_of`` every run so no answer is reused (the ranking is computed and encoded);
* the same warm (issue 13: the encoded answer is kept per process): national default page
  (``limit`` 1000), national full list (``limit=10000``, 7,425 areas), Surin, and a
  revalidation answered 304 (``If-None-Match``);
* ``com.analysis.risk.rank_areas`` in process (the library call behind it), national;
* the anchor a user would write: geopandas ``read_postgis``/COPY of the points, ``sjoin`` to the
  subdistricts, the same weights, ``groupby`` (bench_rank.step_baseline).

Prints min / median of each, the ratio to the anchor and the load average (only ratios measured
together count on a shared machine). Nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_rank  # noqa: E402


def _ms(values: list[float]) -> str:
    return f"{min(values) * 1000:9.1f} / {statistics.median(values) * 1000:9.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--reuse", metavar="DB", help="A database kept by bench_rank --keep.")
    args = parser.parse_args()

    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from api.main import create_app
    from com.analysis import risk
    from com.config.settings import Settings
    from com.db.migrate import upgrade
    from com.geodata import load_geodata

    name = args.reuse or f"com_bench_rank_api_{os.getpid()}"
    if args.reuse:
        url = sa.engine.make_url(bench_rank.ADMIN_URL).set(database=name).render_as_string(
            hide_password=False)
    else:
        url = bench_rank.create_database(name)
    try:
        engine = sa.create_engine(url)
        upgrade(engine)  # brings a kept database to the current schema (the rollup)
        if not args.reuse:
            load_geodata(engine, bench_rank.GEODATA)
            print("points:", bench_rank.generate_points(url, args.points), flush=True)
        settings = Settings(_env_file=None, database_url=url, environment="test",
                            secret_key="bench-secret-key-0123456789abcdef",
                            geodata_dir=bench_rank.GEODATA, rate_limit_per_minute=0)
        client = TestClient(create_app(settings)).__enter__()  # runs the lifespan (engine)
        with engine.connect() as conn:
            n = conn.execute(sa.text("SELECT count(*) FROM risk_points")).scalar_one()
        print(f"machine: {bench_rank.machine()}")
        print(f"{n:,} points; load average before: {os.getloadavg()}", flush=True)

        def api(params: str, headers: dict[str, str] | None = None) -> float:
            start = time.perf_counter()
            response = client.get(f"/api/rankings?{params}", headers=headers or {})
            elapsed = time.perf_counter() - start
            if response.status_code != 304:
                response.raise_for_status()
            return elapsed

        def etag(params: str) -> str:
            return client.get(f"/api/rankings?{params}").headers["etag"]

        def library(as_of: str) -> float:
            with engine.connect() as conn:
                start = time.perf_counter()
                risk.rank_areas(conn, as_of=as_of)
                return time.perf_counter() - start

        api("as_of=2025-09-30")  # warm: process caches of boundaries and context distances
        api("province=32&as_of=2025-09-30")
        api("as_of=2025-09-30&limit=10000")
        national_etag = etag("as_of=2025-09-30")
        times: dict[str, list[float]] = {k: [] for k in (
            "api_national_cold", "api_surin_cold", "api_national_warm_page",
            "api_national_warm_full", "api_surin_warm", "api_national_304",
            "library_national", "geopandas")}
        for run in range(args.runs):
            as_of = (dt.date(2025, 9, 30) + dt.timedelta(days=31 * (run + 1))).isoformat()
            cold = (dt.date(2024, 9, 30) + dt.timedelta(days=31 * (run + 1))).isoformat()
            times["geopandas"].append(bench_rank.step_baseline(url)["seconds"])
            times["library_national"].append(library(as_of))
            times["api_national_cold"].append(api(f"as_of={cold}"))
            times["api_surin_cold"].append(api(f"province=32&as_of={cold}"))
            times["api_national_warm_page"].append(api("as_of=2025-09-30"))
            times["api_national_warm_full"].append(api("as_of=2025-09-30&limit=10000"))
            times["api_surin_warm"].append(api("province=32&as_of=2025-09-30"))
            times["api_national_304"].append(api("as_of=2025-09-30",
                                                 {"If-None-Match": national_etag}))
            print(f"run {run + 1}: " + ", ".join(f"{k} {v[-1] * 1000:.0f} ms"
                                                  for k, v in times.items()), flush=True)
        print(f"\nload average after: {os.getloadavg()}")
        anchor = statistics.median(times["geopandas"])
        print("| what | min / median ms | anchor / this (median) |\n|---|---:|---:|")
        for key, values in times.items():
            print(f"| {key} | {_ms(values)} | {anchor / statistics.median(values):.1f}x |")
    finally:
        if not args.reuse:
            bench_rank.drop_database(name)


if __name__ == "__main__":
    main()
