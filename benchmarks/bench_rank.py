"""Benchmark: rank 1,000,000 synthetic points over all 7,425 subdistricts, and Gi* nationally.

    .venv/bin/python benchmarks/bench_rank.py [--points 1000000] [--keep]

Creates a scratch database (``com_bench_rank_<pid>``), migrates it, loads the boundaries from
COM_GEODATA_DIR (default ../shared/geodata), generates the points uniformly over Thailand with
their subdistrict, district and province codes assigned once (as the upload does), COPYs them
in, then times in fresh processes (so each peak memory is its own):

* ``com.analysis.risk.rank_areas`` at subdistrict level and at H3 resolution 8 (whole country);
* the geopandas baseline: read the points, ``sjoin`` them to the subdistricts, weight them with
  ``com.analysis.risk.point_weights`` and ``groupby`` the codes;
* Gi* (``com.analysis.risk.gi_star``, 999 permutations) on the 7,425 subdistrict scores.

Peak memory: the process's peak resident set (``VmHWM``, reset after the imports and the
connection), reported as the peak and as the rise over the resident set at the reset; the
PostgreSQL server's memory is not included. The database is dropped at
the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

ADMIN_URL = os.environ.get("COM_BENCH_ADMIN_URL",
                           "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
GEODATA = Path(os.environ.get("COM_GEODATA_DIR", REPO.parent / "shared" / "geodata"))


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak() -> float:
    """Reset the peak-RSS counter to the current RSS (Linux clear_refs 5); return the RSS.

    ru_maxrss is useless in a child: Linux carries the parent's peak across fork and exec.
    """
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")
    return _status_mb("VmRSS")


def rss_mb() -> float:
    """Peak resident set of this process since the last reset_peak (VmHWM)."""
    return _status_mb("VmHWM")


# --------------------------------------------------------------------------- steps (children)


def step_rank(url: str, level: str, province: str | None = None) -> dict:
    import sqlalchemy as sa

    from com.analysis import risk
    from com.config.severity import load_severity_model

    engine = sa.create_engine(url)
    model = load_severity_model()
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        before = reset_peak()
        start = time.perf_counter()
        ranked = risk.rank_areas(conn, level=level, province=province, as_of="2025-09-30",
                                 model=model)
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": rss_mb(), "rise_mb": rss_mb() - before,
            "areas": len(ranked),
            "points": int(ranked["points"].sum()), "top": ranked.iloc[0, 0]}


def step_baseline(url: str) -> dict:
    import geopandas as gpd
    import pandas as pd
    import sqlalchemy as sa

    from com.analysis import risk
    from com.config.severity import load_severity_model

    engine = sa.create_engine(url)
    model = load_severity_model()
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        before = reset_peak()
        start = time.perf_counter()
        subs = gpd.read_postgis("SELECT code, geom FROM subdistricts", conn, geom_col="geom")
        raw = conn.connection.driver_connection
        buffer = io.BytesIO()
        with raw.cursor().copy(
            "COPY (SELECT ST_X(geom), ST_Y(geom), category, severity, incident_count, "
            "reported_on FROM risk_points) TO STDOUT WITH (FORMAT csv)"
        ) as copy:
            for chunk in copy:
                buffer.write(chunk)
        buffer.seek(0)
        frame = pd.read_csv(buffer, header=None, names=["lon", "lat", "category", "severity",
                                                         "incident_count", "reported_on"])
        points = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame.lon, frame.lat),
                                  crs=4326)
        read = time.perf_counter() - start
        start = time.perf_counter()
        joined = gpd.sjoin(points, subs, how="inner", predicate="within")
        joined["w"] = risk.point_weights(joined, model, as_of=pd.Timestamp("2025-09-30").date())
        scores = joined.groupby("code")["w"].sum()
        join = time.perf_counter() - start
    return {"read_seconds": read, "sjoin_groupby_seconds": join, "seconds": read + join,
            "peak_mb": rss_mb(), "rise_mb": rss_mb() - before, "areas_with_points": len(scores)}


def step_gi(url: str) -> dict:
    import sqlalchemy as sa

    from com.analysis import risk

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        ranked = risk.rank_areas(conn, as_of="2025-09-30")
    risk.warm_up()  # imports libpysal and esda (seconds) outside the timing
    before = reset_peak()
    start = time.perf_counter()
    w = risk.spatial_weights(ranked, "subdistrict")
    weights = time.perf_counter() - start
    runs = []
    for _ in range(2):
        start = time.perf_counter()
        out = risk.gi_star(ranked, w=w, permutations=999)
        runs.append(time.perf_counter() - start)
    return {"weights_seconds": weights, "first_seconds": runs[0], "seconds": runs[1],
            "peak_mb": rss_mb(), "rise_mb": rss_mb() - before, "areas": len(out),
            "islands": len(w.islands),
            "hot": int(out["hotspot_class"].str.startswith("hot").sum())}


STEPS = {
    "rank_subdistrict": lambda url: step_rank(url, "subdistrict"),
    "rank_h3_8": lambda url: step_rank(url, "h3:8"),
    "rank_h3_8_surin": lambda url: step_rank(url, "h3:8", province="32"),
    "baseline": step_baseline,
    "gi": step_gi,
}


# --------------------------------------------------------------------------- setup (parent)


def create_database(name: str) -> str:
    import sqlalchemy as sa

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                          "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
        c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def generate_points(url: str, n: int, seed: int = 1) -> dict:
    """Uniform points over Thailand, each with the codes of the subdistrict it falls in."""
    import geopandas as gpd
    import numpy as np
    import shapely
    import sqlalchemy as sa

    from com.config.severity import load_severity_model

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        subs = gpd.read_postgis(
            "SELECT code, district_code, province_code, geom FROM subdistricts ORDER BY code",
            conn, geom_col="geom")
    tree = shapely.STRtree(subs.geometry.values)
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = subs.total_bounds
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    idx: list[np.ndarray] = []
    have = 0
    start = time.perf_counter()
    while have < n:
        lon = rng.uniform(x0, x1, 2_000_000)
        lat = rng.uniform(y0, y1, 2_000_000)
        pts, polys = tree.query(shapely.points(lon, lat), predicate="within")
        pts, first = np.unique(pts, return_index=True)
        lons.append(lon[pts])
        lats.append(lat[pts])
        idx.append(polys[first])
        have += len(pts)
    lon = np.concatenate(lons)[:n]
    lat = np.concatenate(lats)[:n]
    area = np.concatenate(idx)[:n]
    assign = time.perf_counter() - start
    model = load_severity_model()
    keys = list(model.categories)
    category = rng.choice(keys, n)
    severity = rng.integers(1, 6, n)
    count = rng.integers(1, 4, n)
    day0 = np.datetime64("2022-10-01")
    days = (day0 + rng.integers(0, 3 * 365, n).astype("timedelta64[D]")).astype(str)
    codes = subs["code"].to_numpy()[area]
    districts = subs["district_code"].to_numpy()[area]
    provinces = subs["province_code"].to_numpy()[area]
    start = time.perf_counter()
    # Six decimals, written exactly (repr), so the H3 cells stored with each point (as an
    # upload stores them, com.geo.h3) are those of the stored coordinates.
    lon, lat = np.round(lon, 6), np.round(lat, 6)
    cells = [c.tolist() for c in _stored_cells(lat, lon).values()]
    lon, lat = lon.tolist(), lat.tolist()  # Python floats: numpy 2's repr is np.float64(...)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor().copy(
            "COPY risk_points (category, severity, incident_count, reported_on, geom, "
            "subdistrict_code, district_code, province_code, synthetic, "
            "h3_6, h3_7, h3_8, h3_9) FROM STDIN"
        ) as copy:
            for i in range(n):
                copy.write_row((category[i], int(severity[i]), int(count[i]), days[i],
                                f"SRID=4326;POINT({lon[i]!r} {lat[i]!r})", codes[i],
                                districts[i], provinces[i], True,
                                cells[0][i], cells[1][i], cells[2][i], cells[3][i]))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE risk_points"))
    copy_seconds = time.perf_counter() - start
    engine.dispose()
    return {"points": n, "assign_codes_seconds": assign, "copy_analyze_seconds": copy_seconds}


def _stored_cells(lat, lon):  # type: ignore[no-untyped-def]
    from com.geo.h3 import stored_cells

    return stored_cells(lat, lon)


def run_step(name: str, url: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--step", name, "--url", url],
                          capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(x.split()[1]) for x in Path("/proc/meminfo").read_text().splitlines()
                   if x.startswith("MemTotal"))
        memory = f"{mem / 1024 / 1024:.0f} GB"
    except (OSError, StopIteration):
        memory = "? GB"
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores ({cpu}), {memory} RAM, {platform.system()} "
            f"{platform.release()}; load average at the end {load}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--keep", action="store_true", help="Keep the scratch database.")
    parser.add_argument("--reuse", metavar="DB",
                        help="Time against a database kept by --keep (no setup, not dropped).")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(STEPS[args.step](args.url), default=str))
        return

    import sqlalchemy as sa

    from com.db.migrate import upgrade
    from com.geodata import load_geodata

    name = args.reuse or f"com_bench_rank_{os.getpid()}"
    steps = ("rank_subdistrict", "baseline", "rank_h3_8", "rank_h3_8_surin", "gi")
    results = {}
    if args.reuse:
        url = sa.engine.make_url(ADMIN_URL).set(database=name).render_as_string(
            hide_password=False)
    else:
        url = create_database(name)
    try:
        if not args.reuse:
            engine = sa.create_engine(url)
            start = time.perf_counter()
            upgrade(engine)
            load_geodata(engine, GEODATA)
            engine.dispose()
            print(f"schema + boundaries: {time.perf_counter() - start:.1f} s", flush=True)
            setup = generate_points(url, args.points)
            print(f"points: {json.dumps(setup)}", flush=True)
        for step in steps:
            results[step] = run_step(step, url)
            print(f"{step}: {json.dumps(results[step])}", flush=True)
    finally:
        if not args.keep and not args.reuse:
            drop_database(name)
    sub, base, h3, h3s, gi = (results[k] for k in steps)
    n_points = sub["points"]
    print()
    print(f"Machine: {machine()}")
    print("| what | seconds | peak RSS MB (rise) |\n|---|---:|---:|")
    print(f"| rank_areas, subdistrict, {n_points:,} points -> {sub['areas']:,} areas | "
          f"{sub['seconds']:.2f} | {sub['peak_mb']:.0f} ({sub['rise_mb']:.0f}) |")
    print(f"| geopandas baseline: read points | {base['read_seconds']:.2f} | |")
    print(f"| geopandas baseline: sjoin + weights + groupby | "
          f"{base['sjoin_groupby_seconds']:.2f} | |")
    print(f"| geopandas baseline: total | {base['seconds']:.2f} | "
          f"{base['peak_mb']:.0f} ({base['rise_mb']:.0f}) |")
    print(f"| rank_areas, h3:8 -> {h3['areas']:,} cells | {h3['seconds']:.2f} | "
          f"{h3['peak_mb']:.0f} ({h3['rise_mb']:.0f}) |")
    print(f"| rank_areas, h3:8, Surin only ({h3s['points']:,} points) -> {h3s['areas']:,} cells"
          f" | {h3s['seconds']:.2f} | {h3s['peak_mb']:.0f} ({h3s['rise_mb']:.0f}) |")
    print(f"| Gi* queen weights, 7,425 subdistricts | {gi['weights_seconds']:.2f} | |")
    print(f"| Gi* 999 permutations, 7,425 areas (first / second run) | "
          f"{gi['first_seconds']:.2f} / {gi['seconds']:.2f} | "
          f"{gi['peak_mb']:.0f} ({gi['rise_mb']:.0f}) |")
    verdict = "meets" if sub["seconds"] < 10 and sub["seconds"] <= base["seconds"] else "MISSES"
    print(f"\nSubdistrict ranking {verdict} the target (< 10 s and not slower than the baseline).")


if __name__ == "__main__":
    main()
