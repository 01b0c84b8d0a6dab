"""Seeded generator of typo-heavy, mostly unlabelled Thai addresses, and their scoring.

Names come from the reference subdistricts (``tha_adm3.geojson``, HDX COD-AB fields), postal
codes from ``geothai`` (the reference data has none). Each address misspells its subdistrict
with one or two Thai typing slips (adjacent swap, dropped or doubled vowel/tone mark,
neighbouring Kedmanee key, dropped letter), often misspells the district and sometimes the
province, writes a capital district as a misspelt "เมือง", and usually drops the ต./อ./จ.
labels. A misspelling that is itself a gazetteer name is thrown away (its truth is unknowable).

Run:  .venv/bin/python benchmarks/typo_addresses.py [--n 2000] [--seed 14] [--out file.csv]
prints accuracy and confident-wrong of ``com.ingest.geocode`` on the set.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_MARKS = "ัิีึืุู็่้๊๋์"
_VOWELS = "เแโใไะาำ"
# Kedmanee neighbours of common letters (same row, or the same key shifted).
_ROWS = ("ๅ/-ภถุึคตจขช", "ๆไำพะัีรนยบลฃ", "ฟหกดเ้่าสวง", "ผปแอิืทมใฝ")
_SHIFT = {"ส": "ศ", "ศ": "ส", "ว": "ซ", "ซ": "ว", "ท": "ฒ", "อ": "ฮ", "ด": "โ", "ร": "ณ",
          "น": "ฯ", "ย": "ญ", "บ": "ฐ", "พ": "ฑ", "ะ": "ธ", "า": "ษ", "ก": "ฏ", "่": "๋",
          "้": "็", "ี": "๊", "ั": "ํ", "ล": ",", "ม": "ฒ"}


def _geodata_dir() -> Path:
    return Path(os.environ.get("COM_GEODATA_DIR", str(REPO.parent / "shared" / "geodata")))


@dataclass(frozen=True)
class Place:
    code: str
    sub: str
    district: str
    province: str
    postcodes: tuple[str, ...]


def load_places() -> list[Place]:
    """Subdistricts of the reference data that the gazetteer also knows (with postcodes)."""
    import geothai

    postal = {
        s.code: tuple(s.postal_codes)
        for p in geothai.provinces()
        for d in geothai.districts(p.code)
        for s in geothai.subdistricts(d.code)
    }
    data = json.loads((_geodata_dir() / "tha_adm3.geojson").read_text(encoding="utf-8"))
    places = []
    for f in data["features"]:
        p = f["properties"]
        code = p["ADM3_PCODE"].removeprefix("TH")
        if code in postal:
            places.append(Place(code, p["ADM3_TH"], p["ADM2_TH"], p["ADM1_TH"], postal[code]))
    places.sort(key=lambda x: x.code)
    return places


def _neighbour(ch: str, rnd: random.Random) -> str | None:
    options = [_SHIFT[ch]] if ch in _SHIFT else []
    for row in _ROWS:
        i = row.find(ch)
        if i >= 0:
            options += [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
    options = [o for o in options if o not in "/-,ๅ"]
    return rnd.choice(options) if options else None


def typo(name: str, rnd: random.Random) -> str:
    """Apply one Thai typing slip to a name (never to its first character)."""
    chars = list(name)
    for _ in range(10):
        op = rnd.randrange(5)
        i = rnd.randrange(1, len(chars)) if len(chars) > 1 else 0
        if op == 0 and i + 1 < len(chars) and chars[i] != chars[i + 1]:
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif op == 1:
            marks = [j for j, c in enumerate(chars) if c in _MARKS + _VOWELS and j > 0]
            if not marks:
                continue
            del chars[rnd.choice(marks)]
        elif op == 2:
            marks = [j for j, c in enumerate(chars) if c in _MARKS]
            if not marks:
                continue
            j = rnd.choice(marks)
            chars.insert(j, chars[j])
        elif op == 3:
            near = _neighbour(chars[i], rnd)
            if near is None:
                continue
            chars[i] = near
        elif len(chars) > 4:
            del chars[i]
        else:
            continue
        break
    return "".join(chars)


def _misspell(name: str, errors: int, rnd: random.Random) -> str:
    for _ in range(errors):
        name = typo(name, rnd)
    return name


def _known_names() -> set[str]:
    from com.ingest.geocode import get_gazetteer

    gaz = get_gazetteer()
    return set(gaz.sub_keys) | set(gaz.district_keys) | set(gaz.province_keys)


def generate(n: int = 2000, seed: int = 14) -> list[tuple[str, str]]:
    """Return ``n`` (address, subdistrict code) pairs, the same for the same seed."""
    from com.ingest.geocode.names import _key

    rnd = random.Random(seed)
    places = load_places()
    known = _known_names()
    shapes: list[Callable[[str, str, str, Place], str]] = [
        lambda s, d, p, x: f"{s} {d} {p}",
        lambda s, d, p, x: f"{s} {d} {p}",
        lambda s, d, p, x: f"{s} {d} {p} {x.postcodes[0]}",
        lambda s, d, p, x: f"{rnd.randint(1, 300)} หมู่ {rnd.randint(1, 20)} {s} {d} {p}",
        lambda s, d, p, x: f"ต.{s} อ.{d} จ.{p}",
        lambda s, d, p, x: f"ต.{s} {d} {p}",
        lambda s, d, p, x: f"{s} อ.{d} จ.{p}",
        lambda s, d, p, x: f"ต.{s} {x.postcodes[0]}",
        lambda s, d, p, x: f"{s} {x.postcodes[0]}",
        lambda s, d, p, x: f"{s} {d} {x.postcodes[0]}",
    ]
    out: list[tuple[str, str]] = []
    while len(out) < n:
        place = rnd.choice(places)
        if place.code.startswith("10"):
            continue  # Bangkok writes แขวง/เขต; the rural forms below do not apply
        sub = _misspell(place.sub, 1 if rnd.random() < 0.6 else 2, rnd)
        if _key(sub) in known or sub == place.sub:
            continue
        district = place.district
        if district.startswith("เมือง") and rnd.random() < 0.5:
            district = "เมือง"
        r = rnd.random()
        district = _misspell(district, 0 if r < 0.45 else (1 if r < 0.9 else 2), rnd)
        if district != place.district and _key(district) in known and district != "เมือง":
            continue
        province = _misspell(place.province, 1 if rnd.random() < 0.25 else 0, rnd)
        if province != place.province and _key(province) in known:
            continue
        out.append((rnd.choice(shapes)(sub, district, province, place), place.code))
    return out


@dataclass
class Scores:
    total: int
    correct: int
    confident_wrong: int
    wrong_examples: list[str]

    @property
    def accuracy(self) -> float:
        return self.correct / self.total

    @property
    def confident_wrong_rate(self) -> float:
        return self.confident_wrong / self.total


def score(pairs: list[tuple[str, str]]) -> Scores:
    """Geocode every address: confident and right, confident and wrong, or abstained."""
    from com.ingest.geocode import geocode_many

    results = geocode_many(a for a, _ in pairs)
    correct = wrong = 0
    examples = []
    for (address, code), r in zip(pairs, results, strict=True):
        if r.confident and r.tambon_code == code:
            correct += 1
        elif r.confident:
            wrong += 1
            examples.append(f"{address} -> {r.tambon_code} (want {code})")
    return Scores(len(pairs), correct, wrong, examples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--show", type=int, default=20, help="confident-wrong examples shown")
    args = parser.parse_args()
    pairs = generate(args.n, args.seed)
    if args.out:
        with args.out.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["address", "tambon_code"])
            writer.writerows(pairs)
    s = score(pairs)
    print(f"{s.total} addresses (seed {args.seed}): accuracy {s.accuracy:.1%} "
          f"({s.correct}), confident-wrong {s.confident_wrong_rate:.2%} ({s.confident_wrong})")
    for line in s.wrong_examples[: args.show]:
        print("  ", line)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
