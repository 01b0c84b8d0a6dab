"""The parts of an import that issue 13's set-based import changed, measured apart, old vs new.

Run:  .venv/bin/python benchmarks/bench_import_parts.py [--rows 100000] [--repeat 3]

Parts are less noisy than a whole upload on a shared machine. For the same 100,000 points
and rows of ``bench_import.py``'s CSV, alternating old and new ``--repeat`` times:

- prepare: :func:`com.ingest.prepare.prepare_rows` row by row (the column-wise path switched
  off) vs column by column; CPU seconds of this process.
- place: the subdistrict of every point by the SQL join of ``ingest_place.sql`` (stage
  COPY, GiST index, join part by part) vs :func:`com.ingest.placing.subdistricts_at` (STRtree
  over the cached parts); wall seconds; the answers are compared too.
- rollup month: the rollup trigger's grouping by month with ``extract(day ...)`` (numeric)
  vs ``date_part('day', ...)`` (0016_ingest_set); ``EXPLAIN ANALYZE`` milliseconds.

Without ``--database-url`` a throwaway database is created and dropped (as bench_import.py).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

_MONTH = {
    "extract": "(reported_on - (extract(day FROM reported_on)::integer - 1))",
    "date_part": "(reported_on - (date_part('day', reported_on)::integer - 1))",
}
_GROUP = """
EXPLAIN (ANALYZE, COSTS off, TIMING off)
SELECT province_code, district_code, subdistrict_code, category, severity, {month},
       sum(1), sum(incident_count), sum(severity * incident_count::float8),
       sum(severity * incident_count::float8 * power(2.0, (reported_on - {month}) / 365.0::float8))
FROM bench_parts_points GROUP BY 1, 2, 3, 4, 5, 6 ORDER BY 1, 2, 3, 4, 5, 6
"""


def _med(values: list[float]) -> str:
    return f"median {statistics.median(values):6.3f}  min {min(values):6.3f}"


def _prepare(table, column_wise: bool) -> tuple[float, list]:  # type: ignore[no-untyped-def]
    import com.ingest.prepare as prepare
    from com.ingest.options import ImportOptions

    saved = prepare._prepare_columns
    if not column_wise:
        prepare._prepare_columns = lambda table, ctx: {}  # type: ignore[assignment]
    try:
        t = time.process_time()
        rows, _, _ = prepare.prepare_rows(table, options=ImportOptions())
        return time.process_time() - t, rows
    finally:
        prepare._prepare_columns = saved


def _sql_place(engine: sa.Engine, lon, lat) -> tuple[float, list]:  # type: ignore[no-untyped-def]
    from com.db.engine import sql
    from com.ingest.store import BOUNDARY_TOLERANCE_M, copy_rows

    with engine.connect() as conn, conn.begin() as trans:
        conn.execute(sa.text("SET LOCAL jit = off"))
        t = time.perf_counter()
        conn.execute(sql("ingest_stage"))
        copy_rows(conn, "ingest_stage", ("row_number", "status", "target", "quality", "lat",
                                         "lon", "geom"), (
            (i, "pending", "main", "coordinates", y, x, f"SRID=4326;POINT({x!r} {y!r})")
            for i, (x, y) in enumerate(zip(lon.tolist(), lat.tolist(), strict=True))))
        conn.execute(sa.text("CREATE INDEX ON ingest_stage USING gist (geom)"))
        conn.execute(sa.text("ANALYZE ingest_stage"))
        conn.execute(sql("ingest_place"), {"max_m": BOUNDARY_TOLERANCE_M, "max_deg": 0.0105})
        found = dict(conn.execute(sa.text(
            "SELECT row_number, subdistrict_code FROM ingest_stage WHERE nearest_m IS NULL"
        )).tuples().all())
        seconds = time.perf_counter() - t
        trans.rollback()
    return seconds, [found.get(i) for i in range(len(lon))]


def _memory_place(engine: sa.Engine, lon, lat) -> tuple[float, list]:  # type: ignore[no-untyped-def]
    from com.ingest.placing import part_index, subdistricts_at

    with engine.connect() as conn:
        t = time.perf_counter()
        sub, _, _ = subdistricts_at(part_index(conn), lon, lat)
        return time.perf_counter() - t, sub.tolist()


def _group_ms(engine: sa.Engine, month: str) -> float:
    with engine.connect() as conn, conn.begin():
        conn.execute(sa.text("SET LOCAL jit = off"))
        conn.execute(sa.text("SET LOCAL work_mem = '64MB'"))
        plan = conn.execute(sa.text(_GROUP.format(month=_MONTH[month]))).scalars().all()
    return next(float(line.split(":")[1].split()[0]) for line in plan
                if line.startswith("Execution Time"))


def main() -> None:
    import bench_import as bench
    import numpy as np

    from com.config.settings import Settings
    from com.db.engine import make_engine
    from com.ingest.readers import ReadLimits, read_table

    args = bench.common_arguments(__doc__.splitlines()[0]).parse_args()
    owned = args.database_url is None
    url = args.database_url or bench._create_database(args.admin_url)
    engine = make_engine(Settings(_env_file=None, database_url=url, default_province=None,
                                  environment="development"))
    try:
        if owned:
            from com.db.migrate import upgrade
            from com.geodata import load_geodata

            upgrade(engine)
            load_geodata(engine, bench.GEODATA)
        points = bench._points(engine, args.rows)
        lat = np.array([p[0] for p in points])
        lon = np.array([p[1] for p in points])
        table = read_table(bench._csv(points), "bench.csv", limits=ReadLimits())
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS bench_parts_points"))
            conn.execute(sa.text(
                "CREATE TABLE bench_parts_points AS SELECT 'p' || (i % 77)::text AS "
                "province_code, 'd' || (i % 900)::text AS district_code, "
                "'s' || (i % 7000)::text AS subdistrict_code, 'c' || (i % 7)::text AS category, "
                "(1 + i % 5)::smallint AS severity, 1 AS incident_count, "
                "date '2020-01-01' + (i * 7919 % 2500) AS reported_on "
                "FROM generate_series(1, :n) i"), {"n": args.rows})
            conn.execute(sa.text("ANALYZE bench_parts_points"))
        print(f"machine: {bench._machine()}")
        print(f"load average before: {bench._load()}; {args.rows:,} rows/points, "
              f"{args.repeat} alternating repetitions")
        _memory_place(engine, lon[:10], lat[:10])  # the process cache, as a running service has
        _prepare(table, True)  # warm the parsers' caches of both paths alike
        times: dict[str, list[float]] = {k: [] for k in (
            "prepare row by row", "prepare column-wise", "place SQL join", "place in memory",
            "month extract", "month date_part")}
        for _ in range(args.repeat):
            old_s, old_rows = _prepare(table, False)
            new_s, new_rows = _prepare(table, True)
            times["prepare row by row"].append(old_s)
            times["prepare column-wise"].append(new_s)
            assert [(r.record, r.warnings, r.status) for r in old_rows] == \
                [(r.record, r.warnings, r.status) for r in new_rows]
            sql_s, sql_codes = _sql_place(engine, lon, lat)
            mem_s, mem_codes = _memory_place(engine, lon, lat)
            times["place SQL join"].append(sql_s)
            times["place in memory"].append(mem_s)
            assert sql_codes == mem_codes
            times["month extract"].append(_group_ms(engine, "extract") / 1000)
            times["month date_part"].append(_group_ms(engine, "date_part") / 1000)
        print("seconds (prepare: CPU; place: wall; month: EXPLAIN ANALYZE):")
        for name, values in times.items():
            print(f"  {name:<22} {_med(values)}   runs: "
                  + ", ".join(f"{v:.3f}" for v in values))
        for old, new in (("prepare row by row", "prepare column-wise"),
                         ("place SQL join", "place in memory"),
                         ("month extract", "month date_part")):
            ratio = statistics.median(times[old]) / statistics.median(times[new])
            print(f"  {old} / {new}: {ratio:.1f}x")
        print(f"load average after: {bench._load()}")
        with engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS bench_parts_points"))
    finally:
        engine.dispose()
        if owned:
            bench._drop_database(args.admin_url, url)


if __name__ == "__main__":
    main()
