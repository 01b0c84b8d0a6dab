"""Import throughput: a 100,000-row Thai-header CSV through ``POST /api/uploads`` vs anchors.

Run:  .venv/bin/python benchmarks/bench_import.py [--rows 100000] [--repeat 3] [--database-url URL]

Without ``--database-url`` a throwaway database is created (PostGIS, migrations and the
boundaries of ../shared/geodata, about 10-20 s, not timed) and dropped at the end.

Three ways of loading the same CSV run alternately, ``--repeat`` times each, every one into
an emptied table (emptying is not timed):

- COM: ``POST /api/uploads`` through the in-process ASGI app (Starlette's ``TestClient``,
  no network; the multipart body is built and parsed as for a real client) with every check
  COM does: read and decode, recognise columns, parse every coordinate, category, severity
  and date, subdistrict of every point, Thailand and province checks, duplicates against
  stored points and within the file, COPY into ``risk_points`` (its indexes and the ranking
  rollup triggers of 0008_rollup included), report lines (rejected, duplicate and warned rows
  since 0011_ingest_speed), audit row, one transaction. The rollup's sums of the upload come
  after its commit (0017_rollup_pending), folded in the background: the API answers first.
  The benchmark waits for each fold outside the timed upload and prints upload + fold too.
  The points with decimal coordinates are COPYed batch by batch while the next batch is
  prepared (``_stream_points``: Python and the server at work together), the duplicate checks
  follow in the same transaction. The time of each stage is printed for the last repetition.
- geopandas: ``geopandas.read_file`` of the CSV (GDAL's CSV driver, points from the
  latitude/longitude columns) + ``to_postgis`` into a new table (with its GiST index).
- raw: ``COPY`` of the CSV into a text staging table + ``INSERT ... SELECT ST_Point`` into a
  typed table + GiST index, in one transaction: the floor any importer stands on.

Then the storing step is broken down (``EXPLAIN ANALYZE`` of inserting the stored points again,
rolled back: insert with its indexes, the upload check (a statement trigger since 0011; the
foreign key's per-row check before), the rollup trigger), and
one extra COM upload runs with the rollup triggers of risk_points disabled (not a production
path: it only tells what the triggers cost end to end). Printed: rows/s min and median for each, the
ratios of the medians, the stage breakdown, and the load average before and after.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
GEODATA = (REPO / ".." / "shared" / "geodata").resolve()
CATEGORIES = ["ยาเสพติด", "ลักลอบเข้าเมือง", "ลักลอบขนสินค้าผิดกฎหมาย", "อาชญากรรมอื่นๆ",
              "บุกรุกป่า", "อุทกภัย", "ความปลอดภัยในชีวิตและทรัพย์สิน"]
LEVELS = ["1", "2", "3", "4", "5", "ต่ำ", "ปานกลาง", "สูง", "สูงมาก"]
HEADER = ["ลำดับ", "ชื่อจุดเสี่ยง", "ประเภทปัญหา", "ระดับความรุนแรง", "ละติจูด", "ลองจิจูด",
          "วันที่รายงาน"]
#: The stages of COM's import timed separately: (module, function) pairs, when present.
STAGES = [
    ("com.ingest.uploads", "read_table"),
    ("com.ingest.uploads", "start_preparing"),
    ("com.ingest.uploads", "_insert_upload"),
    # The rows with decimal coordinates: prepared in batches, each batch COPYed into
    # risk_points while Python prepares the next (Python and the server overlap here).
    ("com.ingest.uploads", "_stream_points"),
    ("com.ingest.uploads", "copy_stage"),
    ("com.ingest.uploads", "check_places"),
    ("com.ingest.uploads", "lock_duplicate_scope"),
    ("com.ingest.uploads", "resolve_duplicates"),
    ("com.ingest.uploads", "_unstore"),
    ("com.ingest.uploads", "read_record_ids"),
    ("com.ingest.uploads", "store_records"),
    ("com.ingest.uploads", "copy_report"),
    ("com.ingest.uploads", "_finish_upload"),
]


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(int(line.split()[1]) for line in
                      Path("/proc/meminfo").read_text().splitlines()
                      if line.startswith("MemTotal"))
        mem = f", {mem_kb / 1048576:.0f} GB RAM"
    except (OSError, StopIteration):
        mem = ""
    return (f"{cpu}, {os.cpu_count()} cores{mem}, Python {platform.python_version()}, "
            f"{platform.system()}")


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def _points(engine: sa.Engine, n: int, seed: int = 7) -> list[tuple[float, float]]:
    """Random points inside Thai provinces (so every row is storable), spread nationwide."""
    import numpy as np
    import shapely

    with engine.connect() as conn:
        wkb = conn.execute(sa.text("SELECT ST_AsBinary(ST_Union(geom)) FROM provinces")).scalar()
    thailand = shapely.from_wkb(bytes(wkb))
    shapely.prepare(thailand)
    rng = np.random.default_rng(seed)
    west, south, east, north = thailand.bounds
    out: list[tuple[float, float]] = []
    while len(out) < n:
        lon = rng.uniform(west, east, n)
        lat = rng.uniform(south, north, n)
        inside = shapely.contains_xy(thailand, lon, lat)
        out += list(zip(lat[inside].round(6), lon[inside].round(6), strict=True))
    return out[:n]


def _csv(points: list[tuple[float, float]], seed: int = 7) -> bytes:
    rnd = random.Random(seed)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADER)
    for i, (lat, lon) in enumerate(points, start=1):
        day = f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/25{rnd.randint(60, 67)}"
        writer.writerow([i, f"จุดเสี่ยงที่ {i}", rnd.choice(CATEGORIES), rnd.choice(LEVELS),
                         lat, lon, day])
    return out.getvalue().encode("utf-8-sig")


def _create_database(admin_url: str) -> str:
    name = f"com_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(admin_url).set(database=name).render_as_string(hide_password=False)


def _drop_database(admin_url: str, url: str) -> None:
    name = sa.engine.make_url(url).database
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                             "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _empty_com(engine: sa.Engine) -> None:
    """Forget earlier uploads (not timed): the next upload stores every row again."""
    with engine.begin() as conn:
        # CASCADE: alerts (issue 17) refer to points; the rollup's TRUNCATE trigger empties it.
        conn.execute(sa.text("TRUNCATE risk_points CASCADE"))
        conn.execute(sa.text("DELETE FROM upload_rows"))
        conn.execute(sa.text("DELETE FROM upload_keys"))
        conn.execute(sa.text("DELETE FROM uploads"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE risk_points, upload_rows, uploads, risk_rollup"))


def _settle(engine: sa.Engine) -> None:
    """Write out what earlier runs left in shared buffers (not timed), before every run.

    With the default 128 MB of shared buffers, one run's dirty pages were otherwise written
    out by whichever run came next, COM or an anchor, and the medians moved by 10-20%.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("CHECKPOINT"))


@contextmanager
def _stage_timer(stages: dict[str, float]) -> Iterator[None]:
    """Wrap COM's stage functions (looked up where uploads.py calls them) with timers."""
    import importlib

    patched: list[tuple[object, str, Callable]] = []
    for module_name, name in STAGES:
        module = importlib.import_module(module_name)
        original = getattr(module, name, None)
        if original is None:
            continue

        def wrapper(*a, _f=original, _n=name, **k):  # type: ignore[no-untyped-def]
            t0 = time.perf_counter()
            try:
                return _f(*a, **k)
            finally:
                stages[_n] = stages.get(_n, 0.0) + time.perf_counter() - t0

        setattr(module, name, wrapper)
        patched.append((module, name, original))
    try:
        yield
    finally:
        for module, name, original in patched:
            setattr(module, name, original)


def _com(client, data: bytes, n: int, stages: dict[str, float],
         folds: list[float] | None = None) -> float:
    """One COM upload through the API; returns the seconds until the API answered.

    The upload's rollup sums are folded after its commit, in the background (0017_rollup_
    pending); the seconds from the answer until that fold is done are appended to ``folds``
    (waited for here, so the fold never overlaps the next tool's run).
    """
    with _stage_timer(stages):
        t0 = time.perf_counter()
        r = client.post("/api/uploads", files={"file": ("bench.csv", data, "text/csv")})
        seconds = time.perf_counter() - t0
        # Queued behind the upload's own fold: done when that fold is.
        client.app.state.rollup_folder.submit([]).result()
        if folds is not None:
            folds.append(time.perf_counter() - t0 - seconds)
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["stored"] + body["duplicates"] + body["rejected"] == n, body
    assert body["stored"] >= 0.99 * n, body  # a few random points fall within 50 m
    return seconds


def _geopandas(engine: sa.Engine, path: Path, n: int) -> float:
    import geopandas as gpd

    t0 = time.perf_counter()
    gdf = gpd.read_file(path, X_POSSIBLE_NAMES="ลองจิจูด", Y_POSSIBLE_NAMES="ละติจูด")
    gdf = gdf.set_crs(4326)
    gdf.to_postgis("bench_gpd", engine, if_exists="replace", index=False)
    seconds = time.perf_counter() - t0
    assert len(gdf) == n and gdf.geom_type.eq("Point").all()
    return seconds


def _raw(engine: sa.Engine, data: bytes, n: int) -> float:
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS bench_raw_stage, bench_raw"))
        conn.execute(sa.text(
            "CREATE UNLOGGED TABLE bench_raw_stage (row_no text, name text, category text, "
            "severity text, lat text, lon text, reported text)"))
        conn.execute(sa.text(
            "CREATE TABLE bench_raw (row_no integer, name text, category text, severity text, "
            "reported text, geom geometry(Point, 4326))"))
        raw = conn.connection.driver_connection
        with raw.cursor() as cur, cur.copy(
            "COPY bench_raw_stage FROM STDIN (FORMAT csv, HEADER true)"
        ) as copy:
            copy.write(data[3:])  # without the BOM
        conn.execute(sa.text(
            "INSERT INTO bench_raw SELECT row_no::integer, name, category, severity, reported, "
            "ST_SetSRID(ST_Point(lon::float8, lat::float8), 4326) FROM bench_raw_stage"))
        conn.execute(sa.text("CREATE INDEX ON bench_raw USING gist (geom)"))
        count = conn.execute(sa.text("SELECT count(*) FROM bench_raw")).scalar_one()
    seconds = time.perf_counter() - t0
    assert count == n
    return seconds


def _summary(name: str, n: int, times: list[float]) -> float:
    med = statistics.median(times)
    print(f"  {name:<34} min {n / max(times):>8,.0f}  median {n / med:>8,.0f}  max "
          f"{n / min(times):>8,.0f} rows/s   (runs: "
          + ", ".join(f"{t:.2f}" for t in times) + " s)")
    return med


def _trigger_cost(engine: sa.Engine, client, data: bytes, n: int) -> None:
    """One more COM upload with the rollup triggers off: what the triggers cost."""
    _empty_com(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE risk_points DISABLE TRIGGER USER"))
    try:
        stages: dict[str, float] = {}
        off = _com(client, data, n, stages)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE risk_points ENABLE TRIGGER USER"))
        _empty_com(engine)
    stages_on: dict[str, float] = {}
    on = _com(client, data, n, stages_on)
    # Since 0017_rollup_pending the triggers leave the upload's own rows out (its fold
    # follows the commit): what remains is their pass over the inserted rows.
    print(f"\nrollup triggers (0008_rollup, 0017): upload {on:.2f} s with, {off:.2f} s without "
          f"-> triggers cost about {on - off:.2f} s ({(on - off) / on:.0%} of the upload); "
          f"storing (streamed + staged) {_storing(stages_on):.2f} s with, "
          f"{_storing(stages):.2f} s without")


def _storing(stages: dict[str, float]) -> float:
    """Seconds of the stages that COPY the points (streamed while preparing, then staged)."""
    return stages.get("_stream_points", 0.0) + stages.get("store_records", 0.0)


def _storing_breakdown(engine: sa.Engine) -> None:
    """Where PostgreSQL spends the storing step: the stored points inserted again, rolled back.

    ``EXPLAIN ANALYZE`` of an ``INSERT ... SELECT`` of the last upload's points (the same rows,
    new ids) times the insert itself (heap and every index), the upload check (per statement
    since 0011, per row before) and the rollup trigger apart; nothing is kept.
    """
    columns = ("name, category, category_raw, severity, incident_count, reported_on, address, "
               "geom, subdistrict_code, district_code, province_code, geocode_quality, "
               "geocode_score, approximate, source_upload_id, source_row, attributes")
    with engine.connect() as conn, conn.begin() as trans:
        upload = conn.execute(sa.text("SELECT max(id) FROM uploads")).scalar_one()
        conn.execute(sa.text("SET LOCAL jit = off"))
        plan = conn.execute(sa.text(
            f"EXPLAIN (ANALYZE, COSTS off) INSERT INTO risk_points ({columns}) "
            f"SELECT {columns} FROM risk_points WHERE source_upload_id = :u"), {"u": upload}
        ).scalars().all()
        indexes = conn.execute(sa.text(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'risk_points'")).scalar_one()
        trans.rollback()
    print(f"\nstoring the last upload's points again (EXPLAIN ANALYZE, rolled back; "
          f"risk_points has {indexes} indexes):")
    for line in plan:
        if line.startswith(("Insert on", "Trigger", "Execution Time")):
            print("    " + line.replace("(actual time=", "(ms: ").replace(" rows=0 loops=1", ""))


def common_arguments(description: str) -> argparse.ArgumentParser:
    """Return a parser with the options both import benchmarks take (rows, repeats, database)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database-url", help="A migrated COM database with boundaries loaded.")
    parser.add_argument("--admin-url", default=os.environ.get(
        "COM_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    return parser


def main() -> None:
    parser = common_arguments(__doc__.splitlines()[0])
    parser.add_argument("--no-trigger-cost", action="store_true",
                        help="Skip the extra upload without the rollup triggers.")
    args = parser.parse_args()

    import geopandas  # noqa: F401  (imported before timing, as a running service would have)
    from fastapi.testclient import TestClient

    from api.main import create_app
    from com.config.settings import Settings
    from com.db.engine import make_engine
    from com.security.access import Principal

    owned = args.database_url is None
    url = args.database_url or _create_database(args.admin_url)
    try:
        settings = Settings(_env_file=None, database_url=url, default_province=None,
                            environment="development")
        engine = make_engine(settings)
    except Exception:
        if owned:
            _drop_database(args.admin_url, url)
        raise
    tmp = tempfile.TemporaryDirectory()
    try:
        if owned:
            from com.db.migrate import upgrade
            from com.geodata import load_geodata

            t = time.perf_counter()
            upgrade(engine)
            load_geodata(engine, GEODATA)
            print(f"set-up (not timed): {time.perf_counter() - t:.1f} s")
        n = args.rows
        data = _csv(_points(engine, n))
        path = Path(tmp.name) / "bench.csv"
        path.write_bytes(data)
        print(f"machine: {_machine()}")
        print(f"load average (1, 5, 15 min) before the run: {_load()}")
        print(f"file: {n:,} rows, {len(data) / 1048576:.1f} MB UTF-8 CSV with Thai headers")
        print("COM: POST /api/uploads through the in-process ASGI app (Starlette TestClient)\n")

        app = create_app(settings)
        admin = Principal(kind="user", name="bench", role="admin",
                          scopes=frozenset({"read", "write", "sensitive"}))
        app.state.principal_resolvers.append(lambda request: admin)
        times: dict[str, list[float]] = {"com": [], "geopandas": [], "raw": []}
        folds: list[float] = []
        stages: dict[str, float] = {}
        with TestClient(app) as client:
            for _ in range(args.repeat):
                _empty_com(engine)
                stages.clear()
                _settle(engine)
                times["com"].append(_com(client, data, n, stages, folds))
                _settle(engine)
                times["geopandas"].append(_geopandas(engine, path, n))
                _settle(engine)
                times["raw"].append(_raw(engine, data, n))
            print(f"rows/s over {args.repeat} alternating runs (higher is better):")
            com = _summary("COM POST /api/uploads", n, times["com"])
            gpd_s = _summary("geopandas read_file + to_postgis", n, times["geopandas"])
            raw = _summary("raw COPY + ST_Point + GiST", n, times["raw"])
            both = [t + f for t, f in zip(times["com"], folds, strict=True)]
            _summary("COM upload + its rollup fold", n, both)
            print("  (the fold runs after the upload's commit, in the background: the API "
                  "answers first;\n   readers fold what is still pending before they read) "
                  "fold seconds: " + ", ".join(f"{f:.2f}" for f in folds))
            print("\nratios of the medians (higher = COM faster):")
            print(f"  COM vs geopandas: {gpd_s / com:5.2f}x")
            print(f"  COM vs raw COPY:  {raw / com:5.2f}x")
            print(f"  COM upload + fold vs geopandas: {gpd_s / statistics.median(both):5.2f}x")
            last = times["com"][-1]
            print(f"\nCOM stages of the last run ({last:.2f} s in all):")
            for name, secs in stages.items():
                print(f"    {name:<28} {secs:6.2f} s")
            print(f"    {'rest (HTTP, hash, upload row, audit)':<28} "
                  f"{last - sum(stages.values()):6.2f} s")
            _storing_breakdown(engine)
            if not args.no_trigger_cost:
                _trigger_cost(engine, client, data, n)
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS bench_gpd, bench_raw, bench_raw_stage"))
        print(f"\nload average (1, 5, 15 min) after the run: {_load()}")
    finally:
        tmp.cleanup()
        engine.dispose()
        if owned:
            _drop_database(args.admin_url, url)


if __name__ == "__main__":
    main()
