"""Benchmark the data API: OGC API items and vector tiles over loopback, and tipg beside it.

What it does (everything on 127.0.0.1, bounded in requests and seconds):

1. creates a throwaway database ``com_bench_api`` (PostGIS, migrations, the HDX boundaries of
   ``COM_GEODATA_DIR`` or ../shared/geodata) with 100,000 synthetic risk points spread over
   every subdistrict of Thailand (``--keep-db`` keeps it for the next run);
2. starts COM (``uvicorn api.main:create_app --factory``, one worker) in a subprocess;
3. measures items requests per second and latency (p50, p95) at 1, 10 and 50 concurrent
   clients (an asyncio + httpx load generator in this process) for the first page of 100
   features and for pages of 100 inside random 0.5-degree boxes; once more with an API key
   (one audit row per request);
4. measures vector tiles per second at zoom 8 to 14 (10 clients, tiles that hold points);
5. if tipg (PyPI) can be installed (``--tipg auto``: the current interpreter, else a venv in
   the temp directory), serves the same table with tipg and measures it the same way.

``--tiles-only`` runs the comparison of issue 13 instead: COM and tipg (one worker each) both
running, vector tiles over Surin at z10, z12 and z14 with 1 and 10 clients, the two servers
taking turns ``--repeats`` times per row (each run bounded by ``--tile-seconds`` and
``--requests``); it prints tiles/s min/median of both, p50/p95, the ratios and the load
average (about 3-4 minutes with the defaults). ``--write-results`` then replaces the
"## Vector tiles vs tipg" section of benchmarks/RESULTS.md.

Figures are printed as Markdown; ``--write-results`` also replaces the "## API" section of
benchmarks/RESULTS.md. The load generator shares the 2 cores with the servers, so figures
are lower than a separate client machine would see.

    .venv/bin/python benchmarks/bench_api.py [--points 100000] [--seconds 12] [--tipg auto|off]
    .venv/bin/python benchmarks/bench_api.py --tiles-only [--repeats 5] [--tile-seconds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import math
import os
import platform
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from com.config.settings import Settings  # noqa: E402
from com.security.access import CLI  # noqa: E402

ADMIN_URL = os.environ.get(
    "COM_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
DB_NAME = "com_bench_api"
RESULTS = REPO / "benchmarks" / "RESULTS.md"


# --- database --------------------------------------------------------------------------------


def database_url(name: str = DB_NAME) -> str:
    return sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def prepare_database(points: int, *, keep: bool) -> str:
    """Create (or reuse) the benchmark database with ``points`` risk points; return its URL."""
    from com.db.engine import make_engine
    from com.db.migrate import upgrade
    from com.geodata import load_geodata

    url = database_url()
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": DB_NAME}).scalar()
    if exists and keep:
        engine = sa.create_engine(url)
        try:
            with engine.connect() as conn:
                have = conn.execute(sa.text("SELECT count(*) FROM risk_points")).scalar_one()
            if have == points:
                print(f"reusing {DB_NAME} with {have:,} points")
                return url
        except sa.exc.DBAPIError:
            pass
        finally:
            engine.dispose()
    with admin.connect() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": DB_NAME})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}"'))
        conn.execute(sa.text(f'CREATE DATABASE "{DB_NAME}"'))
    admin.dispose()
    settings = Settings(environment="test", database_url=url, secret_key="bench-api-secret",
                        _env_file=None)
    engine = make_engine(settings)
    started = time.perf_counter()
    upgrade(engine)
    geodata = Path(os.environ.get("COM_GEODATA_DIR", REPO.parent / "shared" / "geodata"))
    load_geodata(engine, geodata)
    with engine.begin() as conn:
        n_areas = conn.execute(sa.text("SELECT count(*) FROM subdistricts")).scalar_one()
        per_area = math.ceil(points / n_areas)
        # Points inside every subdistrict (ST_GeneratePoints), random category, severity and
        # date; then trimmed to exactly `points`.
        conn.execute(sa.text(
            """
            INSERT INTO risk_points (name, category, severity, reported_on, geom,
                                     subdistrict_code, district_code, province_code, synthetic)
            SELECT 'จุดทดสอบ ' || s.code || '-' || d.path[1],
                   (ARRAY['drugs','smuggling','illegal_entry','other_crime','flood'])
                       [1 + floor(random() * 5)::int],
                   1 + floor(random() * 5)::int,
                   DATE '2023-10-01' + floor(random() * 700)::int,
                   d.geom, s.code, s.district_code, s.province_code, true
            FROM subdistricts s,
                 LATERAL ST_Dump(ST_GeneratePoints(s.geom, :n, hashtext(s.code) & 2147483647 | 1)) d
            """
        ), {"n": per_area})
        conn.execute(sa.text("DELETE FROM risk_points WHERE id > :p"), {"p": points})
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE risk_points"))
    engine.dispose()
    print(f"built {DB_NAME}: {points:,} points in {time.perf_counter() - started:.1f} s")
    return url


def make_api_key(url: str) -> str:
    from com.security.apikeys import create_key

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        key = create_key(conn, name="benchmark", created_by=CLI).key
    engine.dispose()
    return key


def sample_points(url: str, n: int, seed: int,
                  province: str | None = None) -> list[tuple[float, float]]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT setseed(:s)"), {"s": (seed % 1000) / 1000})
        rows = conn.execute(sa.text(
            "SELECT ST_X(geom), ST_Y(geom) FROM risk_points "
            "WHERE category <> 'drugs' AND (CAST(:p AS text) IS NULL OR province_code = :p) "
            "ORDER BY random() LIMIT :n"), {"n": n, "p": province}).all()
    engine.dispose()
    return [(float(x), float(y)) for x, y in rows]


# --- servers ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    name: str
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_server(name: str, argv: list[str], env: dict[str, str], probe: str,
                 port: int) -> Server:
    log = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
    process = subprocess.Popen(argv, cwd=REPO, env={**os.environ, **env},
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            if httpx.get(base + probe, timeout=5).status_code == 200:
                return Server(name, base, process, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    process.kill()
    raise RuntimeError(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")


def start_com(url: str) -> Server:
    port = free_port()
    env = {"COM_DATABASE_URL": url, "COM_ENVIRONMENT": "test",
           "COM_SECRET_KEY": "bench-api-secret", "PYTHONPATH": str(REPO)}
    argv = [sys.executable, "-m", "uvicorn", "api.main:create_app", "--factory", "--host",
            "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    return start_server("com", argv, env, "/ogc/collections/risk-points", port)


def tipg_python(mode: str) -> str | None:
    """Return a Python that has tipg, installing it into a temp venv when ``mode`` is auto."""
    if mode == "off":
        return None
    if mode not in ("auto",):
        return mode
    check = [sys.executable, "-c", "import tipg"]
    if subprocess.run(check, capture_output=True).returncode == 0:
        return sys.executable
    venv = Path(tempfile.gettempdir()) / "com-bench-tipg-venv"
    python = venv / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", "import tipg, uvicorn"],
                                          capture_output=True).returncode == 0:
        return str(python)
    print("installing tipg into", venv)
    try:
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True,
                       timeout=120)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "tipg", "uvicorn"],
                       check=True, timeout=600)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        print(f"tipg could not be installed ({exc}); skipping it")
        shutil.rmtree(venv, ignore_errors=True)
        return None
    return str(python)


def start_tipg(python: str, url: str) -> Server:
    port = free_port()
    plain = sa.engine.make_url(url).set(drivername="postgresql").render_as_string(
        hide_password=False)
    env = {"DATABASE_URL": plain, "TIPG_DB_SCHEMAS": '["public"]',
           "TIPG_DB_TABLES": '["public.risk_points"]', "TIPG_DEBUG": "false"}
    argv = [python, "-m", "uvicorn", "tipg.main:app", "--host", "127.0.0.1", "--port",
            str(port), "--log-level", "warning", "--no-access-log"]
    return start_server("tipg", argv, env, "/collections/public.risk_points", port)


# --- load generator --------------------------------------------------------------------------


@dataclass
class Result:
    label: str
    clients: int
    requests: int
    errors: int
    seconds: float
    latencies_ms: list[float]
    bytes_total: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        data = sorted(self.latencies_ms)
        if not data:
            return float("nan")
        return data[min(len(data) - 1, int(round(q * (len(data) - 1))))]


async def _load(urls: Callable[[], str], clients: int, max_requests: int, seconds: float,
                headers: dict[str, str]) -> tuple[int, int, float, list[float], int]:
    latencies: list[float] = []
    failures: dict[str, int] = {}
    errors = 0
    sent = 0
    size = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(limits=limits, timeout=60, headers=headers) as client:

        async def worker() -> None:
            nonlocal errors, sent, size
            while sent < max_requests and time.perf_counter() < deadline:
                sent += 1
                url = urls()
                t0 = time.perf_counter()
                try:
                    r = await client.get(url)
                    ok = r.status_code == 200
                    size += len(r.content)
                    if not ok:
                        failures[str(r.status_code)] = failures.get(str(r.status_code), 0) + 1
                except httpx.HTTPError as exc:
                    ok = False
                    failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                latencies.append((time.perf_counter() - t0) * 1000)
                errors += 0 if ok else 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    if failures:
        print(f"    failures: {failures}")
    return len(latencies), errors, elapsed, latencies, size


def run_load(label: str, urls: Callable[[], str], clients: int, *, max_requests: int,
             seconds: float, headers: dict[str, str] | None = None,
             quiet: bool = False) -> Result:
    n, errors, elapsed, latencies, size = asyncio.run(
        _load(urls, clients, max_requests, seconds, headers or {}))
    result = Result(label, clients, n, errors, elapsed, latencies, size)
    if not quiet:
        print(f"  {label:<44} c={clients:<3} {result.rps:7.1f} req/s  p50 {result.pct(.5):7.1f} ms"
              f"  p95 {result.pct(.95):7.1f} ms  errors {errors}  load {os.getloadavg()[0]:.2f}",
              flush=True)
    return result


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def cycle(items: list[str]) -> Callable[[], str]:
    iterator: Iterator[str] = itertools.cycle(items)
    return lambda: next(iterator)


# --- scenarios -------------------------------------------------------------------------------


def items_urls(base: str, collection_path: str, points: list[tuple[float, float]],
               rng: random.Random) -> tuple[list[str], list[str]]:
    first = [f"{base}{collection_path}/items?limit=100"]
    boxes = []
    for lon, lat in rng.sample(points, min(len(points), 500)):
        boxes.append(f"{base}{collection_path}/items?limit=100&bbox="
                     f"{lon - 0.25:.4f},{lat - 0.25:.4f},{lon + 0.25:.4f},{lat + 0.25:.4f}")
    return first, boxes


def bench_server(server: Server, collection_path: str, tile_url: Callable[[int, int, int], str],
                 points: list[tuple[float, float]], args: argparse.Namespace,
                 key: str | None) -> dict[str, list[Result]]:
    rng = random.Random(args.seed)
    first, boxes = items_urls(server.base, collection_path, points, rng)
    out: dict[str, list[Result]] = {"items": [], "tiles": []}
    print(f"{server.name}: items")
    run_load("warm-up", cycle(first + boxes[:20]), 4, max_requests=40, seconds=10)
    for clients in (1, 10, 50):
        budget = args.requests * max(1, clients // 5)
        out["items"].append(run_load("first page, limit=100", cycle(first), clients,
                                     max_requests=budget, seconds=args.seconds))
        out["items"].append(run_load("0.5° bbox, limit=100", cycle(boxes), clients,
                                     max_requests=budget, seconds=args.seconds))
    if key:
        out["items"].append(run_load("first page, limit=100, API key (audited)",
                                     cycle(first), 10, max_requests=args.requests * 2,
                                     seconds=args.seconds, headers={"X-API-Key": key}))
    print(f"{server.name}: tiles")
    for z in range(8, 15):
        tiles = sorted({tile_of(lon, lat, z) for lon, lat in points})
        rng.shuffle(tiles)
        urls = [tile_url(z, x, y) for x, y in tiles[:400]]
        result = run_load(f"z{z} tiles", cycle(urls), 10, max_requests=args.requests,
                          seconds=args.seconds)
        result.label = f"z{z}"
        out["tiles"].append(result)
    return out


# --- vector tiles, COM and tipg alternately -------------------------------------------------

#: Surin (province code 32): issue 13 compares the tiles of a provincial map view.
SURIN = "32"
TILE_ZOOMS = (10, 12, 14)
TILE_CLIENTS = (1, 10)


@dataclass
class TileRun:
    """The repetitions of one server at one zoom and client count."""

    server: str
    z: int
    clients: int
    results: list[Result]
    load: list[float]

    @property
    def rates(self) -> list[float]:
        return sorted(r.rps for r in self.results)

    def median_rate(self) -> float:
        return statistics.median(self.rates)

    def pooled(self, q: float) -> float:
        merged = Result("", self.clients, 0, 0, 0.0,
                        [x for r in self.results for x in r.latencies_ms], 0)
        return merged.pct(q)


def surin_tile_urls(points: list[tuple[float, float]], z: int, rng: random.Random,
                    limit: int = 300) -> list[tuple[int, int]]:
    """Return up to ``limit`` distinct tiles at zoom ``z`` that hold Surin points, shuffled."""
    tiles = sorted({tile_of(lon, lat, z) for lon, lat in points})
    rng.shuffle(tiles)
    return tiles[:limit]


def bench_tiles_alternating(
    servers: list[tuple[Server, Callable[[int, int, int], str]]],
    points: list[tuple[float, float]], args: argparse.Namespace,
) -> list[TileRun]:
    """Measure each server's tiles at z10/12/14 and 1/10 clients, taking turns.

    For each zoom and client count the servers run one after the other, ``--repeats``
    times, so a change in the machine's load hits both alike; every run is bounded by
    ``--tile-seconds`` and ``--requests``.
    """
    runs: list[TileRun] = []
    for z in TILE_ZOOMS:
        tiles = surin_tile_urls(points, z, random.Random(args.seed + z))
        for clients in TILE_CLIENTS:
            cell = {server.name: TileRun(server.name, z, clients, [], [])
                    for server, _ in servers}
            for server, tile_url in servers:  # warm both: connections, plans, statements
                run_load(f"{server.name} z{z} warm-up", cycle([tile_url(z, x, y)
                                                              for x, y in tiles]),
                         clients, max_requests=60, seconds=3, quiet=True)
            for rep in range(args.repeats):
                order = servers if rep % 2 == 0 else servers[::-1]
                for server, tile_url in order:
                    urls = [tile_url(z, x, y) for x, y in tiles]
                    result = run_load(f"{server.name} z{z} rep {rep + 1}", cycle(urls),
                                      clients, max_requests=args.requests,
                                      seconds=args.tile_seconds)
                    cell[server.name].results.append(result)
                    cell[server.name].load.append(os.getloadavg()[0])
            runs.extend(cell.values())
    return runs


def paired_ratio(com: TileRun, tipg: TileRun) -> float:
    """Return the median over repetitions of COM's tiles/s over tipg's in the same round."""
    return statistics.median(c.rps / t.rps for c, t in zip(com.results, tipg.results,
                                                           strict=True) if t.rps)


def tiles_report(runs: list[TileRun], args: argparse.Namespace, n_points: int) -> str:
    """Return the Markdown table of :func:`bench_tiles_alternating` with COM/tipg ratios."""
    lines = [
        "## Vector tiles vs tipg",
        "",
        f"`benchmarks/bench_api.py --tiles-only --points {args.points} --repeats "
        f"{args.repeats} --tile-seconds {args.tile_seconds}` on {time.strftime('%Y-%m-%d %H:%M')}"
        f". Machine: {machine()}. {n_points:,} synthetic risk points over Thailand; tiles "
        "that hold points of Surin (up to 300 per zoom, the same list for both servers); "
        "anonymous requests (COM coarsens sensitive points and applies the small-area rule); "
        "one uvicorn worker each; loopback load generator (httpx, gzip accepted) on the same "
        "2 cores. COM and tipg take turns, "
        f"{args.repeats} runs each per row.",
        "",
        "| zoom | clients | COM tiles/s min / median | tipg tiles/s min / median | ratio "
        "(medians) | ratio (paired runs) | COM p50 / p95 ms | tipg p50 / p95 ms | p95 ratio "
        "| load avg |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    by_key = {(r.server, r.z, r.clients): r for r in runs}
    for z in TILE_ZOOMS:
        for clients in TILE_CLIENTS:
            com, tipg = by_key.get(("com", z, clients)), by_key.get(("tipg", z, clients))
            if com is None:
                continue
            load = com.load + (tipg.load if tipg else [])
            row = (f"| z{z} | {clients} | {com.rates[0]:.1f} / {com.median_rate():.1f} | ")
            if tipg is not None:
                row += (f"{tipg.rates[0]:.1f} / {tipg.median_rate():.1f} | "
                        f"**{com.median_rate() / tipg.median_rate():.2f}x** | "
                        f"{paired_ratio(com, tipg):.2f}x | "
                        f"{com.pooled(.5):.1f} / {com.pooled(.95):.1f} | "
                        f"{tipg.pooled(.5):.1f} / {tipg.pooled(.95):.1f} | "
                        f"{com.pooled(.95) / tipg.pooled(.95):.2f} | ")
            else:
                row += f"- | - | - | {com.pooled(.5):.1f} / {com.pooled(.95):.1f} | - | - | "
            row += f"{min(load):.1f}-{max(load):.1f} |"
            lines.append(row)
    lines += [
        "",
        "Ratio: COM's median tiles/s over tipg's (>= 1.0 means COM serves at least as many); "
        "paired runs: the median of the ratios of each COM run and the tipg run next to it "
        "in time (the two saw the same load from other jobs); "
        "p95 ratio: COM's p95 over tipg's, latencies of all runs pooled (<= 1.0 means not "
        "worse). Load average: the 1-minute figure after each run.",
        "",
    ]
    return "\n".join(lines)


# --- report ----------------------------------------------------------------------------------


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        mem = f", {kb / 1024 / 1024:.0f} GB RAM"
    except (OSError, AttributeError):
        pass
    return f"{os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}, " \
           f"Python {platform.python_version()}"


def report(results: dict[str, dict[str, list[Result]]], args: argparse.Namespace,
           pg_version: str) -> str:
    lines = [
        "## API",
        "",
        f"`benchmarks/bench_api.py --points {args.points} --seconds {args.seconds} "
        f"--requests {args.requests}` on {time.strftime('%Y-%m-%d')}. Machine: {machine()}; "
        f"{pg_version}. Everything on loopback: PostgreSQL, the server under test (uvicorn, "
        "one worker) and the asyncio/httpx load generator share the 2 cores, and other jobs "
        "were running, so single runs vary by tens of percent. "
        f"{args.points:,} synthetic risk points over every subdistrict of Thailand "
        "(about 14 per subdistrict). Anonymous requests unless stated (COM then applies the "
        "sensitive-point coarsening and the small-area suppression, k = 5, in SQL).",
        "",
        "### Items (OGC API - Features, pages of 100 GeoJSON features)",
        "",
        "| server | request | clients | req/s | p50 ms | p95 ms | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, res in results.items():
        for r in res["items"]:
            lines.append(f"| {name} | {r.label} | {r.clients} | {r.rps:.1f} | {r.pct(.5):.1f} | "
                         f"{r.pct(.95):.1f} | {r.errors} |")
    lines += [
        "",
        "### Vector tiles (10 clients, tiles that hold points)",
        "",
        "| server | zoom | tiles/s | p50 ms | p95 ms | mean KB | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, res in results.items():
        for r in res["tiles"]:
            mean_kb = r.bytes_total / max(1, r.requests) / 1024
            lines.append(f"| {name} | {r.label} | {r.rps:.1f} | {r.pct(.5):.1f} | "
                         f"{r.pct(.95):.1f} | {mean_kb:.1f} | {r.errors} |")
    lines += [
        "",
        "Notes: COM aggregates points on a 64 x 64 grid per tile below zoom 10 (cluster "
        "features with point_count) and serves raw points from zoom 10; tipg serves raw "
        "points at every zoom (up to its 10,000-feature cap), hence its 8x larger z8 tiles. "
        "COM's numberMatched: exact for filtered selections, the public-area totals for "
        "anonymous callers, a 30 s cached count for unfiltered tables over 50,000 rows; "
        "later pages carry it in their cursor. An API-key request also authenticates the "
        "key and writes its `apikey.use` audit row (one more transaction). The tile "
        "comparison with tipg over Surin (alternating runs) is `--tiles-only`.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace the section of RESULTS.md that ``text`` heads (its first line), or append it."""
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else \
        "# Benchmark results\n\nFigures printed by the scripts in benchmarks/.\n\n"
    heading = text.splitlines()[0]
    pattern = re.compile(rf"^{re.escape(heading)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text.rstrip() + "\n\n", current)
    else:
        updated = current.rstrip() + "\n\n" + text.rstrip() + "\n"
    RESULTS.write_text(updated, encoding="utf-8")
    print(f"wrote the {heading!r} section of {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=12.0,
                        help="Time limit of each measurement.")
    parser.add_argument("--requests", type=int, default=400,
                        help="Request limit of each measurement (x clients/5 for items).")
    parser.add_argument("--tipg", default="auto", help="auto, off, or a Python with tipg.")
    parser.add_argument("--keep-db", action="store_true", help="Reuse/keep the database.")
    parser.add_argument("--seed", type=int, default=2568)
    parser.add_argument("--write-results", action="store_true")
    parser.add_argument("--tiles-only", action="store_true",
                        help="Only the tile comparison with tipg (z10/12/14 over Surin).")
    parser.add_argument("--repeats", type=int, default=5,
                        help="Runs of each server per zoom and client count (tiles).")
    parser.add_argument("--tile-seconds", type=float, default=3.0,
                        help="Time limit of each tile run of the comparison.")
    args = parser.parse_args()
    if args.tiles_only:
        tiles_main(args)
        return

    url = prepare_database(args.points, keep=args.keep_db)
    key = make_api_key(url)
    points = sample_points(url, 3000, args.seed)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        pg_version = "PostgreSQL " + conn.execute(sa.text("SHOW server_version")).scalar_one() \
            + ", PostGIS " + conn.execute(sa.text("SELECT postgis_lib_version()")).scalar_one()
    engine.dispose()
    results: dict[str, dict[str, list[Result]]] = {}
    servers: list[Server] = []
    try:
        com = start_com(url)
        servers.append(com)
        results["COM"] = bench_server(
            com, "/ogc/collections/risk-points",
            lambda z, x, y: f"{com.base}/tiles/risk-points/{z}/{x}/{y}.pbf", points, args, key)
        com.stop()
        python = tipg_python(args.tipg)
        if python:
            tipg = start_tipg(python, url)
            servers.append(tipg)
            results["tipg"] = bench_server(
                tipg, "/collections/public.risk_points",
                lambda z, x, y: f"{tipg.base}/collections/public.risk_points/tiles/"
                                f"WebMercatorQuad/{z}/{x}/{y}", points, args, None)
            tipg.stop()
    finally:
        for server in servers:
            if server.process.poll() is None:
                server.stop()
        if not args.keep_db:
            drop_database()
    text = report(results, args, pg_version)
    print()
    print(text)
    if args.write_results:
        write_section(text)


def start_pair(url: str, tipg_mode: str) -> list[tuple[Server, Callable[[int, int, int], str]]]:
    """Start COM and (when it can be had) tipg, each with one worker; return them with URLs."""
    pair: list[tuple[Server, Callable[[int, int, int], str]]] = []
    com = start_com(url)
    pair.append((com, lambda z, x, y: f"{com.base}/tiles/risk-points/{z}/{x}/{y}.pbf"))
    python = tipg_python(tipg_mode)
    if python:
        tipg = start_tipg(python, url)
        pair.append((tipg, lambda z, x, y: f"{tipg.base}/collections/public.risk_points/tiles/"
                                           f"WebMercatorQuad/{z}/{x}/{y}"))
    return pair


def drop_database() -> None:
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
            {"n": DB_NAME})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DB_NAME}"'))
    admin.dispose()


def tiles_main(args: argparse.Namespace) -> None:
    """Run only the alternating tile comparison (issue 13) and print its table."""
    url = prepare_database(args.points, keep=args.keep_db)
    points = sample_points(url, 3000, args.seed, province=SURIN)
    pair: list[tuple[Server, Callable[[int, int, int], str]]] = []
    try:
        pair = start_pair(url, args.tipg)
        runs = bench_tiles_alternating(pair, points, args)
    finally:
        for server, _ in pair:
            if server.process.poll() is None:
                server.stop()
        if not args.keep_db:
            drop_database()
    text = tiles_report(runs, args, args.points)
    print()
    print(text)
    if args.write_results:
        write_section(text)


if __name__ == "__main__":
    main()
