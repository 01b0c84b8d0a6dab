"""Geocoding throughput of the batch path on distinct addresses, one core, cold caches.

Run:  .venv/bin/python benchmarks/bench_geocode.py [--rows 5000] [--runs 5] [--cpu 0]

The process pins itself to one core (``--cpu``; or run it under ``taskset -c 0``). It prints
the machine, the gazetteer build (import, index and a first address, timed apart from the
runs), then in alternating runs (``--runs``, every cache cleared before each):

- ``geocode_many`` (the path uploads and ``geocode_csv`` use) over three sets of *distinct*
  addresses, so no answer comes from the batch's de-duplication of identical strings:
  ../shared/samples/geocode_dev.csv (the realistic file, 330 rows), 5,000 clean addresses
  generated from the gazetteer in the dev file's styles, and 5,000 seeded typo-heavy,
  mostly unlabelled addresses (benchmarks/typo_addresses.py);
- the anchor, a naive geocoder in rapidfuzz (C): ``process.extractOne`` of each address
  against the 7,436 ``ต. อ. จ.`` labels, on the first 300 typo-heavy addresses;

with min/median/max CPU and wall rates, the ratio to the anchor and the load average. Each
run starts from a fresh matcher: every look-up cache is cleared (``clear_caches()``), only
the gazetteer and its name tables are reused; nothing a run learns serves the next. Next to
each rate it prints the accuracy of the answers that run gave (all runs must give the same
answers), so a speed-up that changes answers shows. Then the accuracy on the dev file, the
typo-heavy and the clean sets and the second, independently written typo generator
(benchmarks/typo_addresses_kedmanee.py), the repeated-rows figures with and without the
batch's de-duplication, and ``geocode_csv`` end to end. It says whether the typing-slip
alignment ran in C (built by scripts/setup.sh) or Python (``COM_TYPING_PURE=1`` forces it).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))  # run as a script: ``benchmarks`` importable (PYTHONPATH first)

DEFAULT_FILE = (REPO / ".." / "shared" / "samples" / "geocode_dev.csv").resolve()
ANCHOR_ROWS = 300


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


def _load() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


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
    return [a for a, _ in _clean_pairs(n)]


def _clean_pairs(n: int) -> list[tuple[str, str]]:
    """The clean addresses of :func:`_distinct_clean` with their subdistrict codes."""
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
    sample = rnd.sample(subs, min(len(subs), n))
    for s in sample:
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
    return [(a, s.code) for a, s in zip(distinct, sample, strict=True)]


def _read_dev(path: Path, column: str) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as fh:
        return [(r[column], (r.get("tambon_code") or "").strip()) for r in csv.DictReader(fh)]


def _anchor(labels: Sequence[str], codes: Sequence[str]) -> Callable[[Sequence[str]], list[str]]:
    """The naive geocoder: the subdistrict whose full label is most like the whole address."""
    from rapidfuzz import fuzz, process

    def run(addresses: Sequence[str]) -> list[str]:
        out = []
        for a in addresses:
            best = process.extractOne(a, labels, scorer=fuzz.ratio)
            out.append(codes[best[2]] if best else "")
        return out

    return run


def _spread(values: list[float]) -> str:
    return (f"{min(values):,.0f} / {statistics.median(values):,.0f} / {max(values):,.0f}")


def _timed_runs(
    sets: dict[str, list[str]], anchor: Callable[[Sequence[str]], list[str]],
    anchor_set: list[str], runs: int,
) -> tuple[dict[str, list[tuple[float, float]]], list[float], dict[str, list[list[Any]]]]:
    """Alternate the sets and the anchor run by run, every cache cleared before each.

    Returns the rates, the load averages and each set's answers, run by run.
    """
    from com.ingest.geocode import clear_caches, geocode_many, get_gazetteer

    gaz = get_gazetteer()
    rates: dict[str, list[tuple[float, float]]] = {name: [] for name in [*sets, "anchor"]}
    answers: dict[str, list[list[Any]]] = {name: [] for name in sets}
    loads = [_load()]
    for _ in range(runs):
        for name, batch in sets.items():
            clear_caches()  # a fresh matcher: only the gazetteer is kept
            with Timer() as t:
                results = geocode_many(batch, gazetteer=gaz)
            rates[name].append((len(batch) / t.cpu, len(batch) / t.wall))
            answers[name].append(results)
        with Timer() as t:
            anchor(anchor_set)
        rates["anchor"].append((len(anchor_set) / t.cpu, len(anchor_set) / t.wall))
        loads.append(_load())
    return rates, loads, answers


def _scores(codes: Sequence[str], results: Sequence[Any]) -> tuple[int, int, int, int]:
    """Addresses with a code; of them correct and confident-wrong; confident without a code."""
    coded = [(c, r) for c, r in zip(codes, results, strict=True) if c]
    correct = sum(r.confident and r.tambon_code == c for c, r in coded)
    wrong = sum(r.confident and r.tambon_code != c for c, r in coded)
    uncoded = sum(r.confident for c, r in zip(codes, results, strict=True) if not c)
    return len(coded), correct, wrong, uncoded


def _answers_line(codes: Sequence[str], runs: list[list[Any]]) -> str:
    """The accuracy of the timed runs' own answers, and whether every run gave the same."""
    n, correct, wrong, _ = _scores(codes, runs[0])
    same = all(r == runs[0] for r in runs[1:])
    return (f"    its answers: correct {correct}/{n} ({correct / n:.2%}), confident-wrong "
            f"{wrong} ({wrong / n:.2%}); identical in all {len(runs)} runs: "
            f"{'yes' if same else 'NO'}")


def _print_rates(
    rates: dict[str, list[tuple[float, float]]], labels: dict[str, str],
    answers: dict[str, list[list[Any]]], codes: dict[str, list[str]],
) -> None:
    anchor_cpu = statistics.median(r[0] for r in rates["anchor"])
    print("addresses/s, min / median / max over the runs:")
    for name, runs in rates.items():
        cpu = [r[0] for r in runs]
        wall = [r[1] for r in runs]
        ratio = "" if name == "anchor" else (
            f"; x{statistics.median(cpu) / anchor_cpu:.2f} the anchor (CPU medians)"
        )
        print(f"  {labels[name]}:\n    CPU {_spread(cpu)}; wall {_spread(wall)}{ratio}")
        if name in answers:
            print(_answers_line(codes[name], answers[name]))


def _print_accuracy(
    name: str, pairs: Sequence[tuple[str, str]], anchor: Callable[[Sequence[str]], list[str]]
) -> None:
    """Correct, confident-wrong and abstained on the rows with a code; confident on the rest."""
    from com.ingest.geocode import clear_caches, geocode_many

    clear_caches()
    results = geocode_many([a for a, _ in pairs])
    n, correct, wrong, confident_uncoded = _scores([c for _, c in pairs], results)
    uncoded = len(pairs) - n
    line = (f"  {name}: {n} addresses with a code: correct {correct} ({correct / n:.2%}), "
            f"confident-wrong {wrong} ({wrong / n:.2%}), abstained {n - correct - wrong} "
            f"({(n - correct - wrong) / n:.2%})")
    if uncoded:
        line += f"; {uncoded} without a code: {confident_uncoded} confident"
    sample = [p for p in pairs if p[1]][:ANCHOR_ROWS]
    naive = anchor([a for a, _ in sample])
    hits = sum(got == c for got, (_, c) in zip(naive, sample, strict=True))
    print(f"{line}\n    anchor (always answers) on the first {len(sample)}: "
          f"{hits / len(sample):.1%} right")


def _print_repeated(dev: list[str], rows: int) -> None:
    """Rows repeating the dev file: the batch's de-duplication on and off, and geocode_csv."""
    from com.ingest.geocode import clear_caches, geocode, geocode_csv, geocode_many

    repeated = (dev * (rows // len(dev) + 1))[:rows]
    print(f"repeated rows: geocode_dev.csv repeated to {rows} rows ({len(set(dev))} distinct), "
          "caches cleared first:")
    clear_caches()
    with Timer() as t:
        geocode_many(repeated)
    print(f"  geocode_many (de-duplicates identical strings: {len(set(dev))} look-ups): "
          f"{t.rate(rows)}")
    clear_caches()
    with Timer() as t:
        for a in repeated:
            geocode(a)
    print(f"  geocode() per row (no de-duplication; word look-ups cached): {t.rate(rows)}")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.csv"
        with src.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["row", "address"])
            writer.writerows([i, a] for i, a in enumerate(repeated, start=1))
        clear_caches()
        with Timer() as t:
            geocode_csv(src, Path(tmp) / "out.csv", "address")
    print(f"  geocode_csv end to end (read, de-duplicate, geocode, write): {t.rate(rows)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=5000, help="generated addresses per set")
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--column", default="address")
    parser.add_argument("--runs", type=int, default=5, help="alternating cold-cache runs")
    parser.add_argument("--cpu", type=int, default=0, help="core to pin to (-1: do not pin)")
    args = parser.parse_args()
    if args.cpu >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"machine: {_machine()}; this process on cores {cores}; load average {_load():.1f}")

    with Timer() as t:
        from com.ingest.geocode import geocode, get_gazetteer

        gaz = get_gazetteer()
        geocode("ต.ด่าน อ.กาบเชิง จ.สุรินทร์", gazetteer=gaz)
    print(f"gazetteer build (import, index {len(gaz.subdistricts):,} subdistricts, "
          f"first address): {t.wall:.2f} s wall, not in the rates below")
    try:
        from com.text.typos import typing_backend
    except ImportError:  # a com/ from before the compiled alignment
        backend = "python (no compiled alignment in this com/)"
    else:
        backend = typing_backend()
    print(f"typing-slip alignment: {backend} (COM_TYPING_PURE=1 forces Python; "
          "scripts/setup.sh builds the C one)")

    from benchmarks.typo_addresses import generate

    dev_pairs = _read_dev(args.file, args.column)
    typo_pairs = generate(args.rows, seed=14)
    clean_pairs = _clean_pairs(args.rows)
    sets = {
        "dev": list(dict.fromkeys(a for a, _ in dev_pairs)),
        "clean": [a for a, _ in clean_pairs],
        "typo": list(dict.fromkeys(a for a, _ in typo_pairs)),
    }
    code_of = {name: dict(pairs) for name, pairs in
               [("dev", dev_pairs), ("clean", clean_pairs), ("typo", typo_pairs)]}
    set_codes = {name: [code_of[name][a] for a in batch] for name, batch in sets.items()}
    assert all(len(set(b)) == len(b) for b in sets.values()), "sets must be distinct"
    labels = {
        "dev": f"geocode_many, {args.file.name} ({len(sets['dev'])} distinct rows)",
        "clean": f"geocode_many, {len(sets['clean'])} distinct generated clean addresses",
        "typo": f"geocode_many, {len(sets['typo'])} distinct typo-heavy addresses (seed 14)",
        "anchor": f"anchor: rapidfuzz extractOne over the labels, {ANCHOR_ROWS} typo-heavy",
    }
    codes = sorted(gaz.subdistricts)
    anchor = _anchor([gaz.label(c) for c in codes], codes)
    rates, loads, answers = _timed_runs(sets, anchor, sets["typo"][:ANCHOR_ROWS], args.runs)
    print(f"{args.runs} alternating runs, each from a fresh matcher (every look-up cache "
          f"cleared before each geocode_many; only the gazetteer reused; the sets are "
          f"distinct, so the batch's de-duplication reuses no answer):")
    _print_rates(rates, labels, answers, set_codes)
    print(f"load average during the runs: {min(loads):.1f}-{max(loads):.1f}")

    print("accuracy:")
    _print_accuracy(args.file.name, dev_pairs, anchor)
    _print_accuracy(f"typo-heavy set ({args.rows}, seed 14)", typo_pairs, anchor)
    _print_accuracy(f"clean set ({len(clean_pairs)}, seed 1)", clean_pairs, anchor)
    from benchmarks.typo_addresses_kedmanee import generate as generate_kedmanee

    _print_accuracy("second typo generator (typo_addresses_kedmanee, 2000, seed 3)",
                    generate_kedmanee(2000, seed=3), anchor)
    _print_repeated([a for a, _ in dev_pairs], args.rows)
    print(f"load average at the end: {_load():.1f} (wall figures drop when the CPU is shared)")


if __name__ == "__main__":
    main()
