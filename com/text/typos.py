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

import ctypes
import math
import os
import subprocess
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz
from rapidfuzz.distance import Indel, Postfix, Prefix

__all__ = [
    "build_typing_align",
    "clear_typing_caches",
    "typing_backend",
    "typing_distance",
    "typing_similarity",
]

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


#: The cheapest edit per indel unit (a doubled character 0.3; a swap, two indels, 0.6): the
#: weighted distance is never below this times the plain indel distance.
_CHEAPEST_PER_INDEL = min(_DOUBLED, _SWAP / 2, _MARK_INDEL, _NEAR_SUB / 2, _INDEL)
#: Substitution costs by the written character: one dict look-up per cell, no tuple built.
_SUB_BY_CHAR: dict[str, dict[str, float]] = {}
for (_a, _b), _cost in _SUB_COSTS.items():
    _SUB_BY_CHAR.setdefault(_a, {})[_b] = _cost
_NO_SUBS: dict[str, float] = {}
#: Common head and tail characters left in the aligned middle: a swap or a doubling next to
#: the cut can make an alignment that does not match the whole common head cheaper (checked
#: against the full alignment on 140,000 pairs in tests/ingest/geocode/test_geocode_typos.py).
_CONTEXT = 3


#: The indel cost of the marks and vowels that cost less whatever precedes them.
_MARK_COSTS = dict.fromkeys(_MARKS | _VOWELS, _MARK_INDEL)


@lru_cache(maxsize=65536)
def _indel_costs(text: str) -> tuple[float, ...]:
    # _indel_cost of each character, inlined (one dict look-up per character).
    costs: list[float] = []
    before = ""
    for ch in text:
        if ch == before:
            cost = _DOUBLED
        else:
            cost = _MARK_COSTS.get(ch, 0.0)
            if not cost:
                cost = _MARK_INDEL if ch in _VOWEL_LETTERS and before in _MARKS else _INDEL
        costs.append(cost)
        before = ch
    return tuple(costs)


def typing_distance(a: str, b: str, max_distance: float | None = None) -> float:
    """Return the weighted edit distance between two spellings, typing slips costing less.

    Optimal string alignment (each adjacent swap edits a pair once) with these costs:
    a letter added or dropped 1, a vowel or tone mark added or dropped 0.5 (also อ ว ย
    closing a vowel after a mark), a character doubled 0.3, two adjacent characters swapped
    0.6, a neighbouring Kedmanee key (or the same key shifted, or a related mark) 0.9, one
    mark for another 1, any other letter 2.

    The work is bounded first: rapidfuzz's indel distance (in C) times the cheapest cost
    per indel is a lower bound, the common head and tail are aligned without the loop, and
    with ``max_distance`` the loop stops as soon as every open alignment already costs more.
    The quadratic loop runs in C (``typing_align.c``) when scripts/setup.sh has built it,
    else in Python (:func:`typing_backend` tells which); both give the same values.

    Parameters
    ----------
    a, b : str
        Two spellings (already in matching form: no spaces or dots).
    max_distance : float, optional
        Only distances up to this matter: a larger one is returned as some value above it
        (not necessarily the exact distance).

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
    exact = _exact.get((a, b))
    if exact is not None:
        return exact  # also right under any bound: an exact distance is "some value above"
    limit = math.inf if max_distance is None else float(max_distance)
    distance = _distance(a, b, limit)
    if distance <= limit:
        # Only a distance above the bound may be a bound: this one is exact, and serves
        # later calls for the pair under any other bound (a name is searched at several).
        if len(_exact) >= _EXACT_MAX:
            _exact.clear()
        _exact[(a, b)] = distance
    return distance


#: Exact distances computed so far, by pair, whatever bound they were asked under.
_exact: dict[tuple[str, str], float] = {}
_EXACT_MAX = 262144


@lru_cache(maxsize=262144)
def _distance(a: str, b: str, limit: float) -> float:
    if limit != math.inf:
        floor = _CHEAPEST_PER_INDEL * Indel.distance(a, b)
        if floor > limit + 1e-9:
            return floor
    if _C_DISTANCE is not None:
        found = _C_DISTANCE(a, len(a), b, len(b), _CONTEXT, limit)
        if found >= 0.0:
            return round(found, 6)
    # A slip touches one or two places: the common head and tail are matched, and the
    # quadratic loop runs only over the differing middle (with a little context, above).
    # (rapidfuzz's Prefix and Postfix find the common head and tail in C.)
    head = Prefix.similarity(a, b)
    tail = Postfix.similarity(a[head:], b[head:])
    head = max(0, head - _CONTEXT)
    tail = max(0, tail - _CONTEXT)
    return _py_distance(a, b, head, tail, limit)


def _py_distance(a: str, b: str, head: int, tail: int, limit: float) -> float:
    """:func:`_distance` after the bound and the head and tail, in Python (the reference)."""
    del_a, ins_b = _indel_costs(a), _indel_costs(b)
    if head or tail:
        a, b = a[head:len(a) - tail], b[head:len(b) - tail]
        del_a, ins_b = del_a[head:len(del_a) - tail], ins_b[head:len(ins_b) - tail]
    return _align(a, b, del_a, ins_b, limit)


def _align(a: str, b: str, del_a: tuple[float, ...], ins_b: tuple[float, ...],
           limit: float) -> float:
    """Optimal string alignment of ``a`` and ``b`` with per-position indel costs.

    Stops early, returning a lower bound above ``limit``, once two consecutive rows hold
    only costs above it (costs never fall again: a later cell extends one of those rows).
    The inner loops walk zipped sequences (no indexing) as they are the hot spot of
    geocoding; a row where no adjacent swap can apply (``b`` does not hold the row's
    character followed by the one before it in ``a``, the usual case) takes a loop without
    the swap test, computing the same costs.
    """
    lb = len(b)
    prev = [0.0] * (lb + 1)
    total = 0.0
    for j in range(lb):
        total += ins_b[j]
        prev[j + 1] = total
    older = prev  # the row before ``prev`` (only read for swaps, from the second row on)
    prev_min = 0.0
    a_before = ""
    for i, ca in enumerate(a):
        del_cost = del_a[i]
        subs = _SUB_BY_CHAR.get(ca, _NO_SUBS)
        left = prev[0] + del_cost
        cur = [left]
        row_min = left
        if a_before and ca != a_before and ca + a_before in b:
            row_min = _swap_row(ca, a_before, b, ins_b, prev, older, cur, subs, del_cost)
        else:
            for cb, ins, diag, up in zip(b, ins_b, prev, prev[1:], strict=False):
                best = diag if ca == cb else diag + subs.get(cb, _SUB)
                d = up + del_cost
                if d < best:
                    best = d
                d = left + ins
                if d < best:
                    best = d
                cur.append(best)
                left = best
                if best < row_min:
                    row_min = best
        if row_min > limit and prev_min > limit:
            return round(min(row_min, prev_min), 6)
        older, prev, prev_min, a_before = prev, cur, row_min, ca
    return round(prev[lb], 6)


def _swap_row(ca: str, a_before: str, b: str, ins_b: tuple[float, ...], prev: list[float],
              older: list[float], cur: list[float], subs: dict[str, float],
              del_cost: float) -> float:
    """Fill one row of :func:`_align` where an adjacent swap may apply; return its minimum."""
    lb = len(b)
    b_before = ("", *b[:-1])
    # older[j - 1] for column j: the cell two rows up and two columns left of the swap's end.
    older_shifted = [math.inf, *older[: lb - 1]]
    left = cur[0]
    row_min = left
    for cb, ins, diag, up, bb, p2 in zip(b, ins_b, prev, prev[1:], b_before, older_shifted,
                                         strict=False):
        best = diag if ca == cb else diag + subs.get(cb, _SUB)
        d = up + del_cost
        if d < best:
            best = d
        d = left + ins
        if d < best:
            best = d
        if cb == a_before and ca == bb and ca != cb:
            d = p2 + _SWAP
            if d < best:
                best = d
        cur.append(best)
        left = best
        if best < row_min:
            row_min = best
    return row_min


# --------------------------------------------------------------------------- the C alignment

#: The compiled alignment (``typing_align.c`` beside this file), built by scripts/setup.sh.
_C_LIBRARY = Path(__file__).with_name("_typing_align.so")
_C_SOURCE = Path(__file__).with_name("typing_align.c")
_ALPHABET = 0x1000  # character tables cover code points below this (Thai is U+0E00-U+0E7F)


def build_typing_align(target: Path = _C_LIBRARY, compiler: str = "gcc") -> Path:
    """Compile ``typing_align.c`` into a shared library (scripts/setup.sh calls this).

    The library is optional: without it :func:`typing_distance` runs the same alignment in
    Python, several times slower.

    Parameters
    ----------
    target : Path, optional
        Where to write it; by default beside this module, where the import looks.
    compiler : str, optional
        The C compiler (gcc, or a compatible ``cc``).

    Returns
    -------
    Path
        ``target``.

    Raises
    ------
    OSError, subprocess.CalledProcessError
        When there is no compiler or the compilation fails.
    """
    subprocess.run(
        [compiler, "-O2", "-shared", "-fPIC", "-o", str(target), str(_C_SOURCE)],
        check=True, capture_output=True,
    )
    return target


def _c_tables() -> tuple[Any, ...]:
    """Return the character classes, substitution table and costs the C alignment reads."""
    cls = (ctypes.c_ubyte * _ALPHABET)()
    for ch in _MARKS | _VOWELS:
        cls[ord(ch)] |= 1
    for ch in _MARKS:
        cls[ord(ch)] |= 2
    for ch in _VOWEL_LETTERS:
        cls[ord(ch)] |= 4
    alphabet = sorted({ch for pair in _SUB_COSTS for ch in pair})
    ids = (ctypes.c_ushort * _ALPHABET)()
    for n, ch in enumerate(alphabet, start=1):
        ids[ord(ch)] = n
    nsub = len(alphabet) + 1
    sub = (ctypes.c_double * (nsub * nsub))(*([_SUB] * (nsub * nsub)))
    for (a, b), cost in _SUB_COSTS.items():
        sub[ids[ord(a)] * nsub + ids[ord(b)]] = cost
    costs = (ctypes.c_double * 3)(_DOUBLED, _MARK_INDEL, _INDEL)
    return cls, ids, sub, nsub, costs


def load_typing_align(
    path: Path = _C_LIBRARY, *, trimmed: bool = False
) -> Callable[..., float] | None:
    """Load the compiled alignment; None when it is not built (or ``COM_TYPING_PURE`` is set).

    The returned function takes ``(a, len(a), b, len(b), head, tail, limit)`` and returns
    what :func:`_py_distance` returns, unrounded, or -1 for a middle over 256 characters.
    With ``trimmed`` it takes ``(a, len(a), b, len(b), context, limit)`` and finds the common
    head and tail itself (as :func:`_distance` does before :func:`_py_distance`).

    Parameters
    ----------
    path : Path, optional
        The library (by default the one scripts/setup.sh builds beside this module).
    trimmed : bool, optional
        Return the entry point that trims the common head and tail itself.

    Returns
    -------
    callable or None
        The C function, or None (then the Python alignment is used).
    """
    if os.environ.get("COM_TYPING_PURE") or not path.exists():
        return None
    assert all(ord(ch) < _ALPHABET for pair in _SUB_COSTS for ch in pair)
    try:
        lib = ctypes.CDLL(str(path))
        # (A library built from an older typing_align.c may lack a function: Python then.)
        init, align = lib.typing_align_init, (
            lib.typing_distance_trimmed if trimmed else lib.typing_align
        )
    except (OSError, AttributeError):
        return None
    tables = _c_tables()
    cls, ids, sub, nsub, costs = tables
    init.restype = None
    init(cls, ids, sub, ctypes.c_int(nsub), costs, ctypes.c_double(_SUB), ctypes.c_double(_SWAP))
    ints = [ctypes.c_int] if trimmed else [ctypes.c_int, ctypes.c_int]
    align.argtypes = [ctypes.c_wchar_p, ctypes.c_int, ctypes.c_wchar_p, ctypes.c_int, *ints,
                      ctypes.c_double]
    align.restype = ctypes.c_double
    _C_TABLES.append(tables)  # the C code keeps pointers into them: keep them alive
    return align  # type: ignore[no-any-return]


_C_TABLES: list[tuple[Any, ...]] = []


_C_DISTANCE = load_typing_align(trimmed=True)


def typing_backend() -> str:
    """Return ``"c"`` when the compiled alignment is in use, else ``"python"``."""
    return "c" if _C_DISTANCE is not None else "python"


def clear_typing_caches() -> None:
    """Forget the cached distances (benchmarks measure distinct spellings cold)."""
    _distance.cache_clear()
    _indel_costs.cache_clear()
    _exact.clear()


def typing_similarity(
    a: str, b: str, score_cutoff: float = 0.0, *, ratio: float | None = None
) -> float:
    """Return a 0-100 similarity of two spellings that forgives typing slips.

    ``100 * (1 - distance / (len(a) + len(b)))`` with :func:`typing_distance`: the scale of
    ``rapidfuzz.fuzz.ratio``, but never lower than it, and higher for slips of the hand.
    Spellings under 60 % alike by the ratio keep the ratio (slips cannot make them close).

    Parameters
    ----------
    a, b : str
        Two spellings in matching form.
    score_cutoff : float, optional
        Only similarities from this up matter: below it the ratio is returned (as
        rapidfuzz's scorers do, the answer is exact only at or above the cut-off), which
        spares the slow alignment of names that cannot reach it.
    ratio : float, optional
        ``rapidfuzz.fuzz.ratio(a, b)`` when the caller has it already (a search just
        computed it), so it is not computed twice.

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
    ratio = float(fuzz.ratio(a, b)) if ratio is None else ratio
    if ratio < _SLIP_FLOOR:
        return ratio  # too different for slips of the hand to matter; skip the slow part
    limit = None
    if score_cutoff > ratio:
        limit = (1.0 - score_cutoff / 100.0) * total
        if (a, b) not in _exact:
            # The ratio gives the indel distance: the bound of _distance without computing
            # it again (a search just computed the ratio), and the same value it returns.
            floor = _CHEAPEST_PER_INDEL * round(total * (1.0 - ratio / 100.0))
            if floor > limit + 1e-9:
                return max(ratio, 100.0 * (1.0 - floor / total))
    distance = typing_distance(a, b, limit)
    return max(ratio, 100.0 * (1.0 - distance / total))
