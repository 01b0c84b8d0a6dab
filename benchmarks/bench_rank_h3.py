"""Benchmark: national H3 resolution-8 ranking of 1,000,000 points, COM beside geopandas + h3.

    .venv/bin/python benchmarks/bench_rank_h3.py [--points 1000000] [--runs 3] [--reuse DB]

Builds (or reuses, ``--reuse``, a database kept by ``bench_rank.py --keep``; it is brought to
the current schema, whose migration fills the stored cells) a scratch database with the
boundaries and N synthetic points over Thailand, then alternates, run by run, each in a fresh
process (so each peak memory is its own, VmHWM reset after the imports):

* COM: ``com.analysis.risk.rank_areas(level="h3:8")`` for the whole country, twice in the same
  process: ``cold`` (first call of the process: the per-cell values and the points' columns
  read from what an earlier process kept in the database) and ``warm`` (another ``as_of``: all
  of it kept in the process, the points are grouped again); once before the runs with nothing
  kept (data written by plain SQL, no upload: the first call computes and keeps); once after
  ``prepare_h3_country`` (what ``com geodata load`` keeps: every cell of the country), the
  points still written by plain SQL; then, with nothing kept again, ``prepare_h3`` (the work
  an upload or ``com geodata load`` runs after its commit, off any request, timed in a fresh
  process) before the runs, whose ``cold`` is then the first ranking after a load;
* the API: ``GET /api/rankings?level=h3:8`` national (first request, another ``as_of``, the
  same again, a GeoJSON page), in its own fresh process (:func:`step_api`);
* the anchor a user would write: COPY the points out, ``h3.latlng_to_cell`` per point,
  ``com.analysis.risk.point_weights``, ``groupby`` the cell (no polygons, names or context).

Prints min / median seconds, the ratio anchor / COM, peak resident memory and the load average
(only ratios measured together count on a shared machine). Nothing here is asserted by tests.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

import bench_rank  # noqa: E402


def step_com(url: str) -> dict:
    import sqlalchemy as sa

    from com.analysis import risk
    from com.config.severity import load_severity_model

    engine = sa.create_engine(url)
    model = load_severity_model()
    out: dict = {}
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        for name, as_of in (("cold", "2025-09-30"), ("warm", "2025-10-31")):
            bench_rank.reset_peak()
            start = time.perf_counter()
            ranked = risk.rank_areas(conn, level="h3:8", as_of=as_of, model=model)
            out[name] = time.perf_counter() - start
            out[f"{name}_peak_mb"] = bench_rank.rss_mb()
            conn.rollback()
            out.update(cells=len(ranked), points=int(ranked["points"].sum()))
            del ranked  # the next call's peak is its own (not with this answer still held)
    return out


def step_api(url: str) -> dict:
    """``GET /api/rankings?level=h3:8`` national in a fresh process (in-process ASGI client).

    ``cold``: the first request (nothing kept); ``new_as_of``: another analysis date (the
    points and per-cell values kept, the ranking and its page computed); ``warm``: the same
    request again (the kept encoded page); ``geojson``: a GeoJSON page of another date (the
    ranking plus the polygons of the page's 1,000 cells).
    """
    import sqlalchemy as sa
    from fastapi.testclient import TestClient

    from api.main import create_app
    from com.config.settings import Settings
    from com.security.access import CLI
    from com.security.apikeys import create_key

    engine = sa.create_engine(url)
    with engine.begin() as conn:  # h3:8 needs the 'sensitive' right (a key of the scratch DB)
        key = create_key(conn, name="bench h3", sensitive=True, created_by=CLI).key
    engine.dispose()
    settings = Settings(_env_file=None, database_url=url, environment="test",
                        secret_key="bench-secret-key-0123456789abcdef",
                        geodata_dir=bench_rank.GEODATA, rate_limit_per_minute=0)
    client = TestClient(create_app(settings)).__enter__()  # runs the lifespan (engine)
    out: dict = {}
    for name, params in (("cold", "as_of=2025-09-30"), ("new_as_of", "as_of=2025-10-31"),
                         ("warm", "as_of=2025-10-31"),
                         ("geojson", "as_of=2025-11-30&format=geojson")):
        bench_rank.reset_peak()
        start = time.perf_counter()
        response = client.get(f"/api/rankings?level=h3:8&{params}",
                              headers={"X-API-Key": key})
        out[name] = time.perf_counter() - start
        out[f"{name}_peak_mb"] = bench_rank.rss_mb()
        response.raise_for_status()
        body = response.json()
        out[f"{name}_total"] = body.get("total", body.get("numberMatched"))
    return out


def step_anchor(url: str) -> dict:
    import h3
    import pandas as pd
    import sqlalchemy as sa

    from com.analysis import risk
    from com.config.severity import load_severity_model

    engine = sa.create_engine(url)
    model = load_severity_model()
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT 1"))
        bench_rank.reset_peak()
        start = time.perf_counter()
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
        frame["cell"] = [h3.latlng_to_cell(a, o, 8)
                         for a, o in zip(frame["lat"].tolist(), frame["lon"].tolist(),
                                         strict=True)]
        frame["w"] = risk.point_weights(frame, model, as_of=pd.Timestamp("2025-09-30").date())
        scores = frame.groupby("cell").agg(points=("w", "size"), score=("w", "sum"))
        seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_mb": bench_rank.rss_mb(), "cells": len(scores),
            "points": int(scores["points"].sum())}


def step_after_upload(url: str) -> dict:
    """Rankings in a warm process after 1,000 points are added (as an upload adds them).

    ``no_refresh``: the first ranking after the insert (only the points added are read and
    merged); ``new_process``: the first ranking of another process then (the snapshot kept
    before the insert, plus the points added); ``refreshed``: the API's background work after
    an upload (``ranking.prepare_h3``, timed as ``refresh``) ran first. The points are removed
    at the end (which drops the snapshots: run this step last).
    """
    import sqlalchemy as sa

    from com.analysis import risk
    from com.analysis.risk.ranking import prepare_h3
    from com.config.severity import load_severity_model

    engine = sa.create_engine(url)
    model = load_severity_model()
    insert = sa.text(
        "INSERT INTO risk_points (category, severity, incident_count, geom, subdistrict_code, "
        "district_code, province_code, reported_on, h3_6, h3_7, h3_8, h3_9) "
        "SELECT category, severity, incident_count, geom, subdistrict_code, district_code, "
        "province_code, reported_on, h3_6, h3_7, h3_8, h3_9 FROM risk_points ORDER BY id "
        "LIMIT 1000 RETURNING id")
    out: dict = {}
    added: list[int] = []
    try:
        with engine.connect() as conn:
            risk.rank_areas(conn, level="h3:8", as_of="2025-09-30", model=model)
            conn.rollback()
            for name in ("no_refresh", "refreshed"):
                with engine.begin() as writer:
                    added += writer.execute(insert).scalars().all()
                if name == "no_refresh":
                    out["new_process"] = run_step("com", url)["cold"]
                if name == "refreshed":
                    start = time.perf_counter()
                    prepare_h3(engine, model)
                    out["refresh"] = time.perf_counter() - start
                start = time.perf_counter()
                risk.rank_areas(conn, level="h3:8", as_of="2025-09-30", model=model)
                out[name] = time.perf_counter() - start
                conn.rollback()
    finally:
        with engine.begin() as writer:
            writer.execute(sa.text("DELETE FROM risk_points WHERE id = ANY(:ids)"),
                           {"ids": added})
        engine.dispose()
    return out


def step_prepare(url: str, *, country: bool = False) -> dict:
    """``prepare_h3`` as an upload's background work runs it, nothing kept before; with
    ``country``, ``prepare_h3_country`` as ``com geodata load`` runs it after the load."""
    import sqlalchemy as sa

    from com.analysis.risk.ranking import prepare_h3, prepare_h3_country
    from com.config.severity import load_severity_model

    engine = sa.create_engine(url)
    model = load_severity_model()
    bench_rank.reset_peak()
    start = time.perf_counter()
    prepared = (prepare_h3_country if country else prepare_h3)(engine, model)
    out = {"seconds": time.perf_counter() - start, "peak_mb": bench_rank.rss_mb(),
           "prepared": prepared}
    engine.dispose()
    return out


def step_country(url: str) -> dict:
    return step_prepare(url, country=True)


STEPS = {"com": step_com, "api": step_api, "anchor": step_anchor,
         "after_upload": step_after_upload, "prepare": step_prepare, "country": step_country}


def run_step(name: str, url: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--step", name, "--url", url],
                          capture_output=True, text=True, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"step {name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def forget_kept(url: str) -> None:
    """Empty what COM keeps for the H3 rankings (per-cell values, snapshots of the points)."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE h3_cell_values, h3_point_snapshots"))
    engine.dispose()


def _fig(values: list[float]) -> str:
    return f"{min(values):.2f} / {statistics.median(values):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--reuse", metavar="DB", help="A database kept by bench_rank --keep.")
    parser.add_argument("--step", choices=sorted(STEPS), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(STEPS[args.step](args.url), default=str))
        return

    import sqlalchemy as sa

    from com.db.migrate import upgrade
    from com.geodata import load_geodata

    name = args.reuse or f"com_bench_rank_h3_{os.getpid()}"
    if args.reuse:
        url = sa.engine.make_url(bench_rank.ADMIN_URL).set(database=name).render_as_string(
            hide_password=False)
    else:
        url = bench_rank.create_database(name)
    try:
        engine = sa.create_engine(url)
        upgrade(engine)  # a kept database gets the stored cells (0010_h3cells fills them)
        if not args.reuse:
            load_geodata(engine, bench_rank.GEODATA)
            print("points:", bench_rank.generate_points(url, args.points), flush=True)
        engine.dispose()
        print(f"load average before: {os.getloadavg()}", flush=True)
        # Nothing kept in the database yet: the first call computes the per-cell values and
        # reads the points, and keeps both for every later process (h3_cell_values,
        # h3_point_snapshots). The runs below are then new processes on unchanged data.
        forget_kept(url)
        first = run_step("com", url)
        print(f"first call ever (nothing kept): {json.dumps(first)}", flush=True)
        # The values of every cell of the country, as `com geodata load` keeps them; then
        # the first ranking of the points (written by plain SQL: nothing else prepared).
        forget_kept(url)
        country = run_step("country", url)
        print(f"prepare_h3_country after the geodata load: {json.dumps(country)}", flush=True)
        first_sql = run_step("com", url)
        print(f"first call, points by plain SQL after the geodata load: {json.dumps(first_sql)}",
              flush=True)
        # Nothing kept again; then the work an upload (or a geodata load) runs after its
        # commit: every run below is a new process ranking after that load.
        forget_kept(url)
        prepared = run_step("prepare", url)
        print(f"prepare_h3 after the load: {json.dumps(prepared)}", flush=True)
        com: list[dict] = []
        api: list[dict] = []
        anchor: list[dict] = []
        for run in range(args.runs):
            com.append(run_step("com", url))
            anchor.append(run_step("anchor", url))
            api.append(run_step("api", url))
            print(f"run {run + 1}: COM {json.dumps(com[-1])}; anchor {json.dumps(anchor[-1])}; "
                  f"API {json.dumps(api[-1])}", flush=True)
        after = [run_step("after_upload", url) for _ in range(args.runs)]
        print(f"after an upload: {json.dumps(after)}", flush=True)
    finally:
        if not args.reuse:
            bench_rank.drop_database(name)
    print(f"\nmachine: {bench_rank.machine()}")
    cold = [r["cold"] for r in com]
    warm = [r["warm"] for r in com]
    base = [r["seconds"] for r in anchor]
    print(f"{com[0]['points']:,} points -> {com[0]['cells']:,} cells with points (anchor: "
          f"{anchor[0]['cells']:,})")
    print("| what | min / median s | anchor / this (median) | peak RSS MB (max) |")
    print("|---|---:|---:|---:|")
    for label, values, peak in (
        ("COM rank_areas h3:8, first call ever, nothing kept (boundaries loaded without "
         "`com geodata load`'s work, points by plain SQL: computes and keeps the cell values "
         "and points; one run)", [first["cold"]], first["cold_peak_mb"]),
        ("(prepare_h3_country: `com geodata load`'s work after the load, every cell of the "
         "country; one run)", [country["seconds"]], country["peak_mb"]),
        ("COM rank_areas h3:8, first call after `com geodata load`, points by plain SQL "
         "(reads the kept cell values, computes and keeps the points; one run)",
         [first_sql["cold"]], first_sql["cold_peak_mb"]),
        ("(prepare_h3 after a load: an upload's or geodata load's work after its commit, off "
         "any request; one run)", [prepared["seconds"]], prepared["peak_mb"]),
        ("COM rank_areas h3:8, cold (first call of a new process after the load)", cold,
         max(r["cold_peak_mb"] for r in com)),
        ("COM rank_areas h3:8, warm (second call, another as_of)", warm,
         max(r["warm_peak_mb"] for r in com)),
        ("COM rank_areas h3:8, warm process, first call after 1,000 points were added",
         [r["no_refresh"] for r in after], float("nan")),
        ("COM rank_areas h3:8, a new process's first call then (snapshot + points added)",
         [r["new_process"] for r in after], float("nan")),
        ("COM rank_areas h3:8, the same once the API's after-upload work ran",
         [r["refreshed"] for r in after], float("nan")),
        ("(that work itself: prepare_h3, off any request)", [r["refresh"] for r in after],
         float("nan")),
        ("geopandas + h3 per point + groupby", base, max(r["peak_mb"] for r in anchor)),
        *((f"GET /api/rankings?level=h3:8 national, {what}", [r[key] for r in api],
           max(r[f"{key}_peak_mb"] for r in api)) for key, what in (
            ("cold", "first request of the process (default page of 1,000 cells)"),
            ("new_as_of", "another as_of (ranking computed, points and cell values kept)"),
            ("warm", "the same request again (kept encoded page)"),
            ("geojson", "GeoJSON page of another as_of (+ 1,000 cell polygons)"))),
    ):
        print(f"| {label} | {_fig(values)} | "
              f"{statistics.median(base) / statistics.median(values):.2f}x | {peak:.0f} |")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
