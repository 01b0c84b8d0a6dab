"""Import throughput: a 100,000-row coordinate CSV through COM's COPY path vs geopandas.

Run:  .venv/bin/python benchmarks/bench_import.py [--rows 100000] [--database-url URL]

Without ``--database-url`` a throwaway database is created (PostGIS, migrations and the
boundaries of ../shared/geodata, about 10-20 s, not timed) and dropped at the end. Printed:

- ``com import`` end to end (``import_upload`` in one transaction: read and decode the CSV,
  recognise columns, parse every coordinate, category, severity and date, COPY into the
  staging table, subdistrict of every point in PostGIS, Thailand check, duplicate checks
  against stored points and within the file, insert, per-row report, audit row), with the
  time of each stage;
- the storage step alone: the same parsed rows COPYed into a scratch table;
- geopandas ``to_postgis`` of the same rows (pandas read_csv, points_from_xy) into a
  scratch table with the same columns, in the same run, and the ratios.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import platform
import random
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
GEODATA = (REPO / ".." / "shared" / "geodata").resolve()
CATEGORIES = ["ยาเสพติด", "ลักลอบเข้าเมือง", "ลักลอบขนสินค้าผิดกฎหมาย", "อาชญากรรมอื่นๆ",
              "บุกรุกป่า", "อุทกภัย", "ความปลอดภัยในชีวิตและทรัพย์สิน"]
LEVELS = ["1", "2", "3", "4", "5", "ต่ำ", "ปานกลาง", "สูง", "สูงมาก"]


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
    writer.writerow(["ลำดับ", "ชื่อจุดเสี่ยง", "ประเภทปัญหา", "ระดับความรุนแรง", "ละติจูด",
                     "ลองจิจูด", "วันที่รายงาน"])
    for i, (lat, lon) in enumerate(points, start=1):
        day = f"{rnd.randint(1, 28):02d}/{rnd.randint(1, 12):02d}/25{rnd.randint(60, 67)}"
        writer.writerow([i, f"จุดเสี่ยงที่ {i}", rnd.choice(CATEGORIES), rnd.choice(LEVELS),
                         lat, lon, day])
    return out.getvalue().encode("utf-8-sig")


def _scratch_table(conn: sa.Connection, name: str) -> None:
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {name}"))
    conn.execute(sa.text(
        f"CREATE TABLE {name} (row_no integer, name text, category text, severity text, "
        "reported text, geom geometry(Point, 4326))"
    ))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database-url", help="A migrated COM database with boundaries loaded.")
    parser.add_argument("--admin-url", default=os.environ.get(
        "COM_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    import geopandas as gpd
    import pandas as pd

    from com.config.settings import Settings
    from com.db.engine import make_engine
    from com.ingest import store
    from com.ingest import uploads as ingest

    owned = args.database_url is None
    url = args.database_url or _create_database(args.admin_url)
    try:
        settings = Settings(_env_file=None, database_url=url, default_province=None)
        engine = make_engine(settings)
    except Exception:
        if owned:
            _drop_database(args.admin_url, url)
        raise
    try:
        if owned:
            from com.db.migrate import upgrade
            from com.geodata import load_geodata

            t = time.perf_counter()
            upgrade(engine)
            load_geodata(engine, GEODATA)
            print(f"set-up (not timed): {time.perf_counter() - t:.1f} s")
        points = _points(engine, args.rows)
        data = _csv(points)
        n = args.rows
        print(f"machine: {_machine()}")
        print("load average (1, 5, 15 min) before the run: "
              + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
        print(f"file: {n:,} rows, {len(data) / 1048576:.1f} MB UTF-8 CSV with Thai text\n")

        # 1. COM end to end, with the time of each stage.
        stages: dict[str, float] = {}
        originals = {name: getattr(ingest, name) for name in
                     ("read_table", "prepare_rows", "copy_stage", "check_places",
                      "resolve_duplicates", "store_records", "copy_report")}

        def timed(name: str):  # type: ignore[no-untyped-def]
            def wrapper(*a, **k):  # type: ignore[no-untyped-def]
                t0 = time.perf_counter()
                try:
                    return originals[name](*a, **k)
                finally:
                    stages[name] = stages.get(name, 0.0) + time.perf_counter() - t0
            return wrapper

        for name in originals:
            setattr(ingest, name, timed(name))
        try:
            t0 = time.perf_counter()
            with engine.begin() as conn:
                summary = ingest.import_upload(conn, data, "bench.csv", settings=settings)
            com_s = time.perf_counter() - t0
        finally:
            for name, fn in originals.items():
                setattr(ingest, name, fn)
        print(f"com import_upload: {n / com_s:,.0f} rows/s ({com_s:.2f} s); stored "
              f"{summary.stored:,}, duplicates {summary.duplicates:,}, rejected "
              f"{summary.rejected:,}")
        other = com_s - sum(stages.values())
        for name, secs in [*stages.items(), ("upload row, options, audit", other)]:
            print(f"    {name:<40} {secs:6.2f} s")

        # 2. The storage step alone: the parsed rows COPYed into a scratch table.
        table = ingest.read_table(data, "bench.csv")
        rows, _, _ = ingest.prepare_rows(table, options=ingest.ImportOptions(),
                                         settings=settings)
        hexes = store.geometry_hex(rows)
        with engine.begin() as conn:
            _scratch_table(conn, "bench_copy")
        t0 = time.perf_counter()
        with engine.begin() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur, cur.copy(
                "COPY bench_copy (row_no, name, category, severity, reported, geom) FROM STDIN"
            ) as copy:
                for r, g in zip(rows, hexes, strict=True):
                    rec = r.record
                    copy.write_row((r.row_number, rec["name"], rec["category"],
                                    str(rec["severity"]), rec["reported_on"], g))
        copy_s = time.perf_counter() - t0
        print(f"\nCOPY of the parsed rows into a scratch table: {n / copy_s:,.0f} rows/s "
              f"({copy_s:.2f} s)")

        # 3. geopandas: read the CSV, make points, to_postgis into the same kind of table.
        t0 = time.perf_counter()
        frame = pd.read_csv(io.BytesIO(data), encoding="utf-8-sig", dtype=str)
        gdf = gpd.GeoDataFrame(
            {"row_no": frame["ลำดับ"].astype(int), "name": frame["ชื่อจุดเสี่ยง"],
             "category": frame["ประเภทปัญหา"], "severity": frame["ระดับความรุนแรง"],
             "reported": frame["วันที่รายงาน"]},
            geometry=gpd.points_from_xy(frame["ลองจิจูด"].astype(float),
                                        frame["ละติจูด"].astype(float)),
            crs=4326,
        ).rename_geometry("geom")
        t1 = time.perf_counter()
        gdf.to_postgis("bench_gpd", engine, if_exists="replace", index=False)
        gpd_write_s = time.perf_counter() - t1
        gpd_s = time.perf_counter() - t0
        print(f"geopandas read_csv + to_postgis: {n / gpd_s:,.0f} rows/s ({gpd_s:.2f} s; "
              f"to_postgis alone {n / gpd_write_s:,.0f} rows/s, {gpd_write_s:.2f} s)")
        with engine.connect() as conn:
            counts = [conn.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar_one()
                      for t in ("bench_copy", "bench_gpd")]
        assert counts == [n, n], counts
        print("\nratios (higher = COM faster):")
        print(f"  COPY write vs to_postgis write:          {gpd_write_s / copy_s:5.1f}x")
        print(f"  COM full import vs geopandas load:        {gpd_s / com_s:5.1f}x "
              "(COM also parses, places, de-duplicates and reports every row)")
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS bench_copy, bench_gpd"))
        print("load average (1, 5, 15 min) after the run: "
              + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    finally:
        engine.dispose()
        if owned:
            _drop_database(args.admin_url, url)


if __name__ == "__main__":
    main()
