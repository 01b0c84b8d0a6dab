"""Thai typing errors: a weighted edit distance where the usual slips of the hand cost less.

Plain edit distance treats every change alike, but Thai names typed on the Kedmanee layout go
wrong in a few typical ways: two adjacent characters swapped (``เืมอง`` for ``เมือง``), a vowel
or tone mark dropped or doubled (``เมอง``, ``เมือ่ง``), a neighbouring key or its shifted twin
hit instead (``่`` for ``้``, ``ส`` for ``ศ``). Those cost less here, so one slip of the hand
stays closer than a genuinely different name. Costs are on the scale of an indel distance
(insertion or deletion 1, substitution 2), so :func:`typing_similarity` is never below
``rapidfuzz.fuzz.ratio`` and the cut-offs tuned for it keep their meaning.
"""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz import fuzz

__all__ = ["typing_distance", "typing_similarity"]

# Kedmanee rows, unshifted then shifted, left to right from the key left of "1" (row 0), the
# key under Q (row 1), under A (row 2) and under Z (row 3). "_" marks a key with no Thai letter.
_ROWS: tuple[tuple[str, str, float], ...] = (
    ("_ๅ/-ภถุึคตจขช", "%+๑๒๓๔ู฿๕๖๗๘๙", 0.0),
    ("ๆไำพะัีรนยบลฃ", "๐\"ฎฑธํ๊ณฯญฐ,ฅ", 1.5),
    ("ฟหกดเ้่าสวง", "ฤฆฏโฌ็๋ษศซ.", 1.75),
    ("ผปแอิืทมใฝ", "()ฉฮฺ์?ฒฬฦ", 2.25),
)
#: Combining vowels and tone marks written above or below a consonant.
_MARKS = frozenset("ัิีึืุู็่้๊๋์ํฺ")
#: Vowels written before or after the consonant, also easily dropped or doubled.
_VOWELS = frozenset("เแโใไะาำๅ")
#: Letters that also write part of a vowel after a mark (เ-ือ, -ัว, เ-ีย).
_VOWEL_LETTERS = frozenset("อวย")

_INDEL = 1.0  # a letter added or left out
_SUB = 2.0  # a letter typed for another (two indels, as in the indel distance)
_MARK_INDEL = 0.5  # a vowel or tone mark added or left out
_DOUBLED = 0.3  # the same character typed twice
_SWAP = 0.6  # two adjacent characters typed in the wrong order
_NEAR_SUB = 0.9  # a neighbouring key, the same key shifted, or one mark for a related mark
_MARK_SUB = 1.0  # one vowel or tone mark for another (ิ/ี, ุ/ู, ่/้)
#: Spellings less alike than this (rapidfuzz ratio) are compared by the ratio alone.
_SLIP_FLOOR = 60.0


def _key_positions() -> dict[str, tuple[int, float]]:
    pos: dict[str, tuple[int, float]] = {}
    for row, (plain, shifted, offset) in enumerate(_ROWS):
        for col, ch in enumerate(plain):
            if ch != "_":
                pos.setdefault(ch, (row, offset + col))
        for col, ch in enumerate(shifted):
            pos.setdefault(ch, (row, offset + col))
    return pos


def _neighbours() -> frozenset[tuple[str, str]]:
    pos = _key_positions()
    unshifted = set("".join(r[0] for r in _ROWS))
    pairs: set[tuple[str, str]] = set()
    for plain, shifted, _offset in _ROWS:
        for a, b in zip(plain, shifted, strict=False):
            if a != "_":
                pairs |= {(a, b), (b, a)}  # the same key with and without shift
    for a, (ra, xa) in pos.items():
        for b, (rb, xb) in pos.items():
            if a == b or (a in unshifted) != (b in unshifted):
                continue
            if (ra == rb and abs(xa - xb) == 1.0) or (abs(ra - rb) == 1 and abs(xa - xb) <= 0.75):
                pairs.add((a, b))
    return frozenset(pairs)


_NEAR = _neighbours()
_RELATED_MARKS = (frozenset("ิีึื"), frozenset("ุู"), frozenset("่้๊๋"), frozenset("ัํ็"))


def _indel_cost(ch: str, before: str) -> float:
    if ch == before:
        return _DOUBLED
    if ch in _MARKS or ch in _VOWELS:
        return _MARK_INDEL
    if ch in _VOWEL_LETTERS and before in _MARKS:
        return _MARK_INDEL  # อ ว ย closing a vowel (เ-ือ, -ัว, เ-ีย) belong to the vowel
    return _INDEL


def _build_sub_costs() -> dict[tuple[str, str], float]:
    costs = dict.fromkeys(_NEAR, _NEAR_SUB)
    for a in _MARKS:
        for b in _MARKS:
            if a != b and (a, b) not in costs:
                related = any(a in group and b in group for group in _RELATED_MARKS)
                costs[(a, b)] = _NEAR_SUB if related else _MARK_SUB
    return costs


_SUB_COSTS = _build_sub_costs()


def _indel_costs(text: str) -> list[float]:
    return [_indel_cost(ch, text[i - 1] if i else "") for i, ch in enumerate(text)]


@lru_cache(maxsize=262144)
def typing_distance(a: str, b: str) -> float:
    """Return the weighted edit distance between two spellings, typing slips costing less.

    Optimal string alignment (each adjacent swap edits a pair once) with these costs:
    a letter added or dropped 1, a vowel or tone mark added or dropped 0.5 (also อ ว ย
    closing a vowel after a mark), a character doubled 0.3, two adjacent characters swapped
    0.6, a neighbouring Kedmanee key (or the same key shifted, or a related mark) 0.9, one
    mark for another 1, any other letter 2.

    Parameters
    ----------
    a, b : str
        Two spellings (already in matching form: no spaces or dots).

    Returns
    -------
    float
        The distance, 0 for equal strings.

    Examples
    --------
    >>> typing_distance("เืมอง", "เมือง")
    0.6
    >>> typing_distance("เมอง", "เมือง")
    0.5
    """
    if a == b:
        return 0.0
    lb = len(b)
    del_a, ins_b = _indel_costs(a), _indel_costs(b)
    subs = _SUB_COSTS
    prev2: list[float] = []
    prev = [0.0] * (lb + 1)
    for j in range(lb):
        prev[j + 1] = prev[j] + ins_b[j]
    for i, ca in enumerate(a):
        del_cost = del_a[i]
        cur = [prev[0] + del_cost] + [0.0] * lb
        left = cur[0]
        for j, cb in enumerate(b):
            best = prev[j] if ca == cb else prev[j] + subs.get((ca, cb), _SUB)
            d = prev[j + 1] + del_cost
            if d < best:
                best = d
            d = left + ins_b[j]
            if d < best:
                best = d
            if i and j and ca == b[j - 1] and a[i - 1] == cb and ca != cb:
                d = prev2[j - 1] + _SWAP
                if d < best:
                    best = d
            cur[j + 1] = left = best
        prev2, prev = prev, cur
    return round(prev[lb], 6)


def typing_similarity(a: str, b: str) -> float:
    """Return a 0-100 similarity of two spellings that forgives typing slips.

    ``100 * (1 - distance / (len(a) + len(b)))`` with :func:`typing_distance`: the scale of
    ``rapidfuzz.fuzz.ratio``, but never lower than it, and higher for slips of the hand.
    Spellings under 60 % alike by the ratio keep the ratio (slips cannot make them close).

    Examples
    --------
    >>> round(typing_similarity("พรยะืน", "พระยืน"), 1)
    95.0
    """
    if a == b:
        return 100.0
    total = len(a) + len(b)
    if total == 0:
        return 100.0
    ratio = float(fuzz.ratio(a, b))
    if ratio < _SLIP_FLOOR:
        return ratio  # too different for slips of the hand to matter; skip the slow part
    return max(ratio, 100.0 * (1.0 - typing_distance(a, b) / total))
