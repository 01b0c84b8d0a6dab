"""Geocoding throughput: addresses per second on the dev file repeated to about 5,000 rows.

Run:  .venv/bin/python benchmarks/bench_geocode.py [--rows 5000] [--file PATH]

Prints the machine, the gazetteer build time, and these figures:
- ``geocode`` one address at a time over the repeated file (fuzzy look-ups are cached, so
  repeats of a misspelt name are cheap, as in a real upload),
- ``geocode_many`` with every cache cleared over 5,000 *distinct* addresses generated from the
  gazetteer in the dev file's styles, and over 5,000 distinct typo-heavy addresses
  (benchmarks/typo_addresses.py), in alternating runs (``--runs``): median and best CPU and
  wall rates, with the load average (the target: 5,000 typo-heavy addresses/s on one core),
- ``geocode_many`` (repeated addresses looked up once, as the CSV command does),
- ``geocode_csv`` end to end (read, geocode, write).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_FILE = (REPO / ".." / "shared" / "samples" / "geocode_dev.csv").resolve()


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()}"


class Timer:
    """Wall-clock and CPU time of a block (CPU time is steadier on a shared machine)."""

    def __enter__(self) -> Timer:
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc: object) -> None:
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu

    def rate(self, n: int) -> str:
        return (
            f"{n / self.wall:,.0f} addresses/s wall ({self.wall:.2f} s), "
            f"{n / self.cpu:,.0f} addresses/s CPU"
        )


def _distinct_clean(n: int) -> list[str]:
    """Distinct addresses generated from the gazetteer in the dev file's styles (no typos)."""
    import random

    import geothai

    from com.text.thai import to_thai_digits

    rnd = random.Random(1)
    subs = [
        s
        for p in geothai.provinces()
        for d in geothai.districts(p.code)
        for s in geothai.subdistricts(d.code)
    ]
    distinct: list[str] = []
    for s in rnd.sample(subs, min(len(subs), n)):
        d, p = geothai.district(s.district_code), geothai.province(s.province_code)
        assert d is not None and p is not None
        style = rnd.randrange(5)
        if style == 0:
            house = f"{rnd.randint(1, 300)} หมู่ {rnd.randint(1, 20)}"
            distinct.append(
                f"{house} ต.{s.name_th} อ.{d.name_th} จ.{p.name_th} {s.postal_codes[0]}"
            )
        elif style == 1:
            distinct.append(
                to_thai_digits(f"{rnd.randint(1, 300)} หมู่ที่ {rnd.randint(1, 20)} ")
                + f"ต.{s.name_th} อ.{d.name_th} {p.name_th}"
            )
        elif style == 2:
            distinct.append(f"ตำบล {s.name_th} อำเภอ {d.name_th} จังหวัด {p.name_th}")
        elif style == 3:
            distinct.append(f"{s.name_en}, {d.name_en}, {p.name_en} {s.postal_codes[0]}")
        else:
            distinct.append(f"{s.name_th} {d.name_th} {p.name_th}")
    return distinct


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--column", default="address")
    parser.add_argument("--runs", type=int, default=5, help="alternating cold-cache runs")
    args = parser.parse_args()

    with args.file.open(encoding="utf-8-sig", newline="") as fh:
        base = [row[args.column] for row in csv.DictReader(fh)]
    addresses = (base * (args.rows // len(base) + 1))[: args.rows]
    print(f"machine: {_machine()}")
    print(f"input: {args.file.name}, {len(base)} distinct rows repeated to {len(addresses)}")

    t0 = time.perf_counter()
    from com.ingest.geocode import clear_caches, geocode, geocode_csv, geocode_many, get_gazetteer

    gaz = get_gazetteer()
    build_s = time.perf_counter() - t0
    print(
        f"gazetteer build (import + index {len(gaz.subdistricts):,} subdistricts): {build_s:.2f} s"
    )

    geocode(base[0], gazetteer=gaz)  # warm-up
    with Timer() as t:
        results = [geocode(a, gazetteer=gaz) for a in addresses]
    confident = sum(r.confident for r in results)
    print(f"geocode, one at a time: {t.rate(len(addresses))}; {confident} confident")

    distinct = _distinct_clean(args.rows)
    from benchmarks.typo_addresses import generate

    typo_set = [a for a, _ in generate(args.rows, seed=14)]
    # Alternating runs, every cache cleared before each: the clean and the typo-heavy sets
    # take turns so that a burst of load from other jobs hits both alike.
    loads = [os.getloadavg()[0]] if hasattr(os, "getloadavg") else []
    rates: dict[str, list[tuple[float, float]]] = {"clean": [], "typo": []}
    for _ in range(args.runs):
        for name, batch in (("clean", distinct), ("typo", typo_set)):
            clear_caches()
            with Timer() as t:
                geocode_many(batch, gazetteer=gaz)
            rates[name].append((len(batch) / t.cpu, len(batch) / t.wall))
        if hasattr(os, "getloadavg"):
            loads.append(os.getloadavg()[0])
    for name, label in (("clean", "distinct generated (clean) addresses"),
                        ("typo", "distinct typo-heavy addresses")):
        cpu = sorted(r[0] for r in rates[name])
        wall = sorted(r[1] for r in rates[name])
        print(f"geocode_many, {args.rows} {label}, cold caches, {args.runs} alternating runs:")
        print(f"    CPU {statistics.median(cpu):,.0f} addresses/s median, {cpu[-1]:,.0f} best, "
              f"{cpu[0]:,.0f} worst; wall {statistics.median(wall):,.0f} median, "
              f"{wall[-1]:,.0f} best")
    if loads:
        print(f"load average during the alternating runs: {min(loads):.1f}-{max(loads):.1f}")

    with Timer() as t:
        geocode_many(addresses, gazetteer=gaz)
    print(f"geocode_many (repeats looked up once): {t.rate(len(addresses))}")

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        with src.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["row", "address"])
            writer.writerows([i, a] for i, a in enumerate(addresses, start=1))
        with Timer() as t:
            geocode_csv(src, Path(tmp) / "out.csv", "address", gazetteer=gaz)
    print(f"geocode_csv end to end: {t.rate(len(addresses))}")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"load average during the run: {load:.1f} (wall figures drop when the CPU is shared)")


if __name__ == "__main__":
    main()
