"""Web map benchmark: page weight and time to interactive in headless Chromium; 10,000 points.

Creates a throwaway database (PostGIS, migrations, the boundaries of ../shared/geodata and the
synthetic Surin demo), serves the app with uvicorn on a free loopback port and opens the map
in Debian's headless Chromium. Prints figures; asserts nothing.

    .venv/bin/python benchmarks/bench_map.py [--runs 3] [--points 10000]

Figures:
- transfer: bytes received over the network for the whole page (CDP Network.loadingFinished
  encodedDataLength: the HTML, Leaflet, plugins, CSS, images), with gzip as served;
- time to interactive: navigation start to the load event (all scripts are synchronous, so
  the map, its layers and controls exist then), and to the first moment the boundaries,
  clusters and layer control are in the DOM;
- frame timing: requestAnimationFrame intervals while the page pans and zooms the map by
  script for a few seconds (median, 95th percentile, worst, share of frames over 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import numpy as np
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # dbclean, which browserkit imports
sys.path.insert(0, str(REPO / "tests" / "browser"))
sys.path.insert(0, str(REPO))

from browserkit import LiveServer, make_driver, quit_driver  # noqa: E402

from com.config.settings import Settings  # noqa: E402

ADMIN_URL = os.environ.get(
    "COM_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
GEODATA = Path(os.environ.get("COM_GEODATA_DIR", REPO.parent / "shared" / "geodata"))

READY_JS = """
return document.querySelectorAll('.leaflet-overlay-pane path').length > 100 &&
       document.querySelectorAll('.marker-cluster, .com-point').length > 0 &&
       !!document.querySelector('.leaflet-control-layers');
"""

FRAMES_JS = """
var done = arguments[arguments.length - 1];
var name = Object.keys(window).find(function (k) { return /^map_[0-9a-f]+$/.test(k); });
var map = window[name];
var times = [], start = performance.now(), step = 0;
var zooms = [10, 11, 12, 11, 10, 9, 10];
function frame(now) {
  times.push(now);
  if (now - start < 4000) {
    if (step % 20 === 0) map.setZoom(zooms[(step / 20) % zooms.length], {animate: true});
    else map.panBy([(step % 40 < 20 ? 25 : -25), (step % 30 < 15 ? 12 : -12)], {animate: false});
    step++;
    requestAnimationFrame(frame);
  } else {
    var gaps = [];
    for (var i = 1; i < times.length; i++) gaps.push(times[i] - times[i - 1]);
    done(gaps);
  }
}
requestAnimationFrame(frame);
"""


def make_database() -> tuple[str, str]:
    name = f"com_bench_map_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    url = sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    return name, url


def drop_database(name: str) -> None:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n "
                "AND pid <> pg_backend_pid()"
            ),
            {"n": name},
        )
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def add_points(engine: sa.Engine, n: int, seed: int = 7) -> None:
    """Add ``n`` synthetic points around Surin's subdistrict centres (flagged synthetic)."""
    rng = np.random.default_rng(seed)
    with engine.begin() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT code, district_code, ST_X(rep_point) AS x, ST_Y(rep_point) AS y "
                "FROM subdistricts WHERE province_code = '32'"
            )
        ).all()
        picks = rng.integers(0, len(rows), n)
        cats = ["drugs", "illegal_entry", "smuggling", "life_property", "other_crime", "flood"]
        values = []
        for i, k in enumerate(picks):
            code, district, x, y = rows[k]
            values.append(
                {
                    "name": f"[ข้อมูลสมมติ] จุดทดสอบ {i}",
                    "category": cats[i % len(cats)],
                    "severity": int(rng.integers(1, 6)),
                    "lon": x + rng.normal(0, 0.01),
                    "lat": y + rng.normal(0, 0.01),
                    "sub": code,
                    "dist": district,
                    "day": f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}",
                }
            )
        conn.execute(
            sa.text(
                "INSERT INTO risk_points (name, category, severity, reported_on, geom, "
                "subdistrict_code, district_code, province_code, synthetic) VALUES (:name, "
                ":category, :severity, CAST(:day AS date), "
                "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), :sub, :dist, '32', true)"
            ),
            values,
        )


def measure_page(server: LiveServer, path: str, runs: int) -> dict[str, object]:
    results = []
    for _ in range(runs):
        driver = make_driver()
        try:
            driver.get_log("performance")
            t0 = time.perf_counter()
            driver.get(server.url + path)
            while not driver.execute_script(READY_JS):
                time.sleep(0.02)
            ready_wall = time.perf_counter() - t0
            nav = driver.execute_script(
                "var n = performance.getEntriesByType('navigation')[0];"
                "return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd, "
                "html: n.encodedBodySize};"
            )
            # Only network requests count: Chromium's own chrome:// start-tab pages do not.
            sizes: dict[str, int] = {}
            urls = {}
            for entry in driver.get_log("performance"):
                msg = json.loads(entry["message"])["message"]
                if msg["method"] == "Network.requestWillBeSent":
                    urls[msg["params"]["requestId"]] = msg["params"]["request"]["url"]
                if msg["method"] == "Network.loadingFinished":
                    sizes[msg["params"]["requestId"]] = msg["params"]["encodedDataLength"]
            urls = {k: u for k, u in urls.items() if u.startswith(("http:", "https:"))}
            transfer = sum(sizes.get(k, 0) for k in urls)
            hosts = {u.split("/")[2] for u in urls.values()}
            gaps = driver.execute_async_script(FRAMES_JS)
            results.append(
                {
                    "transfer": transfer,
                    "requests": len(urls),
                    "hosts": sorted(hosts),
                    "load_ms": nav["load"],
                    "dcl_ms": nav["dcl"],
                    "ready_wall_s": ready_wall,
                    "gaps": gaps,
                }
            )
        finally:
            quit_driver(driver)
    gaps = sorted(g for r in results for g in r["gaps"])  # type: ignore[union-attr]
    return {
        "transfer_kb": statistics.median(r["transfer"] for r in results) / 1024,  # type: ignore[misc]
        "requests": results[0]["requests"],
        "hosts": results[0]["hosts"],
        "dcl_ms": statistics.median(r["dcl_ms"] for r in results),  # type: ignore[misc]
        "load_ms": statistics.median(r["load_ms"] for r in results),  # type: ignore[misc]
        "ready_s": statistics.median(r["ready_wall_s"] for r in results),  # type: ignore[misc]
        "frame_median_ms": gaps[len(gaps) // 2],
        "frame_p95_ms": gaps[int(len(gaps) * 0.95)],
        "frame_max_ms": gaps[-1],
        "frames_over_50ms": sum(g > 50 for g in gaps) / len(gaps),
        "frames": len(gaps),
    }


def report(label: str, figures: dict[str, object]) -> None:
    print(
        f"{label}: transfer {figures['transfer_kb']:.0f} KB in {figures['requests']} requests "
        f"to {', '.join(figures['hosts'])}; DOMContentLoaded {figures['dcl_ms']:.0f} ms, "  # type: ignore[arg-type]
        f"load (interactive) {figures['load_ms']:.0f} ms, layers in DOM after "
        f"{figures['ready_s']:.2f} s (wall, incl. driver); frames while panning/zooming: "
        f"median {figures['frame_median_ms']:.1f} ms, p95 {figures['frame_p95_ms']:.1f} ms, "
        f"max {figures['frame_max_ms']:.0f} ms, {100 * figures['frames_over_50ms']:.1f}% "  # type: ignore[operator]
        f"over 50 ms ({figures['frames']} frames)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--points", type=int, default=10_000)
    args = parser.parse_args()

    from com.db.engine import make_engine
    from com.db.migrate import upgrade
    from com.demo import load_demo_data
    from com.geodata import load_geodata

    name, url = make_database()
    try:
        settings = Settings(
            environment="test",
            database_url=url,
            geodata_dir=GEODATA,
            default_province="32",
            # Show every point to the anonymous page (no small-area suppression) so the page
            # carries all 280 demo points, as a signed-in user sees it.
            small_area_k=1,
            _env_file=None,
        )
        engine = make_engine(settings)
        upgrade(engine)
        load_geodata(engine, GEODATA)
        load_demo_data(engine, settings)
        with engine.connect() as conn:
            n = conn.execute(sa.text("SELECT count(*) FROM risk_points")).scalar()
        with LiveServer(settings) as server:
            import httpx

            httpx.get(server.url + "/", timeout=60)  # warm up (numba in Gi*, first queries)
            t = time.perf_counter()
            page = httpx.get(server.url + "/", timeout=60)
            print(
                f"server render of / ({n} points): {time.perf_counter() - t:.2f} s, "
                f"{len(page.content) / 1024:.0f} KB uncompressed HTML"
            )
            report(f"Surin demo ({n} points, all shown)", measure_page(server, "/", args.runs))
            add_points(engine, args.points)
            with engine.connect() as conn:
                n = conn.execute(sa.text("SELECT count(*) FROM risk_points")).scalar()
            httpx.get(server.url + "/", timeout=120)
            t = time.perf_counter()
            page = httpx.get(server.url + "/", timeout=120)
            print(
                f"server render of / ({n} points): {time.perf_counter() - t:.2f} s, "
                f"{len(page.content) / 1024:.0f} KB uncompressed HTML"
            )
            report(f"{n} points", measure_page(server, "/", args.runs))
        engine.dispose()
    finally:
        drop_database(name)


if __name__ == "__main__":
    main()
