"""A second, independently written generator of typo-heavy Thai addresses (issue 14).

``benchmarks/typo_addresses.py`` is the set the geocoder was tuned on; this one checks it on
addresses made another way, so that a speed-up (or a tuning) that only fits the first set
shows. Its error model is its own:

- a neighbouring key on the Kedmanee layout, from the key's position on the whole keyboard
  (left/right on the row, up/down one row, and the same key with or without shift);
- a vowel or tone mark dropped, or typed twice;
- two adjacent characters typed in the wrong order;
- labels (ต./อ./จ.) left out, spelled out (ตำบล, อำเภอ, จังหวัด), written without the dot or as
  other short forms (ต, อ, จว.), with spaces left out or doubled around them;
- house numbers, หมู่/ม. and ถนน/ซอย parts, postcodes sometimes, Thai digits sometimes.

Names come from ``geothai`` (the gazetteer's own source), not the reference boundaries the
first generator reads. A misspelt name that is exactly another gazetteer name, or that a
slip made identical to the real one, is drawn again: its truth could not be known.

Run:  .venv/bin/python benchmarks/typo_addresses_kedmanee.py [--n 2000] [--seed 3]
prints accuracy, confident-wrong and abstentions of ``com.ingest.geocode`` on the set.
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.append(str(REPO))

# Kedmanee: (unshifted, shifted) rows; index = column. The keyboard is staggered, so a key's
# neighbours one row up or down are the keys at the same column and the column after (up)
# or before (down), as on a physical board.
_LAYOUT = (
    ("ๅ/-ภถุึคตจขช", "+๑๒๓๔ู฿๕๖๗๘๙"),
    ("ๆไำพะัีรนยบลฃ", "๐\"ฎฑธํ๊ณฯญฐ,ฅ"),
    ("ฟหกดเ้่าสวง", "ฤฆฏโฌ็๋ษศซ."),
    ("ผปแอิืทมใฝ", "()ฉฮฺ์?ฒฬฦ"),
)
_MARKS = set("ัิีึืุู็่้๊๋์")
_VOWELS = set("ะาำเแโใไ")


def _keyboard() -> dict[str, list[str]]:
    """Each Thai character -> the characters a finger may hit instead."""
    where: dict[str, tuple[int, int, int]] = {}
    for row, (plain, shifted) in enumerate(_LAYOUT):
        for col, ch in enumerate(plain):
            where.setdefault(ch, (row, col, 0))
        for col, ch in enumerate(shifted):
            where.setdefault(ch, (row, col, 1))
    grid = {(r, c, s): ch for ch, (r, c, s) in where.items()}
    near: dict[str, list[str]] = {}
    for ch, (r, c, s) in where.items():
        spots = [(r, c - 1, s), (r, c + 1, s), (r, c, 1 - s),
                 (r - 1, c, s), (r - 1, c + 1, s), (r + 1, c, s), (r + 1, c - 1, s)]
        found = [grid[p] for p in spots if p in grid]
        near[ch] = [x for x in found if "\u0e01" <= x <= "\u0e5b"]
    return near


_NEAR = _keyboard()


def slip(name: str, rnd: random.Random) -> str:
    """One typing slip in a name (the name itself when none applies where tried)."""
    chars = list(name)
    kind = rnd.choice(("neighbour", "neighbour", "drop_mark", "double_mark", "swap", "swap"))
    if kind == "neighbour":
        spots = [i for i, ch in enumerate(chars) if _NEAR.get(ch)]
        if spots:
            i = rnd.choice(spots)
            chars[i] = rnd.choice(_NEAR[chars[i]])
    elif kind in ("drop_mark", "double_mark"):
        spots = [i for i, ch in enumerate(chars) if ch in _MARKS or ch in _VOWELS]
        if spots:
            i = rnd.choice(spots)
            if kind == "drop_mark":
                del chars[i]
            else:
                chars.insert(i, chars[i])
    else:
        spots = [i for i in range(len(chars) - 1) if chars[i] != chars[i + 1]]
        if spots:
            i = rnd.choice(spots)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    return "".join(chars)


def _gazetteer_rows() -> tuple[list[tuple[str, str, str, str, tuple[str, ...]]], set[str]]:
    """(code, subdistrict, district, province, postcodes) of every subdistrict; all names."""
    import geothai

    rows = []
    names: set[str] = set()
    for p in geothai.provinces():
        names.add(p.name_th)
        for d in geothai.districts(p.code):
            names.add(d.name_th)
            for s in geothai.subdistricts(d.code):
                names.add(s.name_th)
                rows.append((s.code, s.name_th, d.name_th, p.name_th, tuple(s.postal_codes)))
    return rows, names


def _thai_digits(text: str) -> str:
    return text.translate(str.maketrans("0123456789", "๐๑๒๓๔๕๖๗๘๙"))


def _label(rnd: random.Random, level: str, bangkok: bool) -> str:
    """The label before a name: left out half the time, else one of its written forms."""
    if rnd.random() < 0.5:
        return ""
    forms = {
        "sub": ["แขวง", "แขวง "] if bangkok else ["ต.", "ต. ", "ตำบล", "ตำบล ", "ต"],
        "dist": ["เขต", "เขต "] if bangkok else ["อ.", "อ. ", "อำเภอ", "อำเภอ ", "อ"],
        "prov": ["จ.", "จ. ", "จังหวัด", "จังหวัด ", "จว."],
    }[level]
    return rnd.choice(forms)


def generate(n: int = 2000, seed: int = 3) -> list[tuple[str, str]]:
    """Return ``n`` seeded ``(address, subdistrict code)`` pairs with typing slips."""
    rnd = random.Random(seed)
    rows, names = _gazetteer_rows()
    # Subdistrict names repeated inside one district cannot be told apart by any geocoder.
    per_district: dict[tuple[str, str], int] = {}
    for code, sub, *_ in rows:
        per_district[(code[:4], sub)] = per_district.get((code[:4], sub), 0) + 1
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(out) < n:
        code, sub, district, province, postcodes = rnd.choice(rows)
        if per_district[(code[:4], sub)] > 1:
            continue
        written_sub = sub
        for _ in range(1 if rnd.random() < 0.6 else 2):
            written_sub = slip(written_sub, rnd)
        if written_sub == sub or written_sub in names:
            continue
        written_district = district
        if rnd.random() < 0.4:
            written_district = slip(district, rnd)
            if written_district != district and written_district in names:
                continue
        written_province = province
        if rnd.random() < 0.2:
            written_province = slip(province, rnd)
            if written_province != province and written_province in names:
                continue
        bangkok = code.startswith("10")
        parts = []
        if rnd.random() < 0.6:
            house = f"{rnd.randint(1, 999)}"
            if rnd.random() < 0.3:
                house += f"/{rnd.randint(1, 99)}"
            parts.append(house)
            if not bangkok and rnd.random() < 0.6:
                parts.append(rnd.choice(["หมู่ ", "ม.", "หมู่ที่ ", "ม. "]) + str(rnd.randint(1, 20)))
            if rnd.random() < 0.2:
                parts.append(rnd.choice(["ถนน", "ถ.", "ซอย", "ซ."]) + rnd.choice(
                    ["สุขุมวิท", "มิตรภาพ", "เพชรเกษม", "ประชาราษฎร์", "ร่วมใจ", "5", "12"]))
        parts.append(_label(rnd, "sub", bangkok) + written_sub)
        parts.append(_label(rnd, "dist", bangkok) + written_district)
        if rnd.random() < 0.9:
            parts.append(_label(rnd, "prov", bangkok) + written_province)
        if postcodes and rnd.random() < 0.35:
            parts.append(postcodes[0])
        glue = rnd.choice([" ", " ", " ", "  ", ", "])
        address = glue.join(parts)
        if rnd.random() < 0.15:
            address = address.replace(" ", "", 1)  # one space left out
        if rnd.random() < 0.15:
            address = _thai_digits(address)
        if rnd.random() < 0.1:
            address = "  " + address + " "
        if address in seen:
            continue
        seen.add(address)
        out.append((address, code))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--show", type=int, default=10, help="confident-wrong examples shown")
    args = parser.parse_args()
    from com.ingest.geocode import geocode_many

    pairs = generate(args.n, args.seed)
    results = geocode_many([a for a, _ in pairs])
    correct = wrong = 0
    examples = []
    for (address, code), r in zip(pairs, results, strict=True):
        if r.confident and r.tambon_code == code:
            correct += 1
        elif r.confident:
            wrong += 1
            examples.append(f"{address} -> {r.tambon_code} (want {code})")
    n = len(pairs)
    print(f"{n} addresses (Kedmanee generator, seed {args.seed}): correct {correct} "
          f"({correct / n:.1%}), confident-wrong {wrong} ({wrong / n:.2%}), abstained "
          f"{n - correct - wrong} ({(n - correct - wrong) / n:.1%})")
    for line in examples[: args.show]:
        print("  ", line)


if __name__ == "__main__":
    main()
