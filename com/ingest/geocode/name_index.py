"""The fuzzy name index: which gazetteer names are near a written word, and how near."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz, process

from com.ingest.geocode.names import _PROVINCE_ALIASES, _key
from com.ingest.geocode.tuning import _FUZZY_CUTOFF, _MAX_CANDIDATES, _PREFILTER_SLACK
from com.text.typos import typing_similarity

if TYPE_CHECKING:
    # Only for annotations: the Gazetteer calls into this module.
    from com.ingest.geocode.gazetteer import Gazetteer


def _choices_of(
    gaz: Gazetteer, kind: str, scope: frozenset[str], ascii_keys: bool
) -> dict[str, list[str]]:
    """Name key -> area codes of one level (``sub``, ``dist``, ``prov``) within a scope."""
    if kind == "prov":
        codes: Iterable[str] = gaz.provinces
    elif kind == "dist":
        codes = (
            [c for p in sorted(scope) for c in gaz.districts_of_province.get(p, ())]
            if scope
            else gaz.districts
        )
    elif scope:
        codes = [
            c
            for area in sorted(scope)
            for c in (
                (area,)
                if len(area) == 6
                else gaz.subs_of_district.get(area, ())
                if len(area) == 4
                else gaz.subs_of_province.get(area, ())
            )
        ]
    else:
        codes = gaz.subdistricts
    table: dict[str, list[str]] = {}
    for code in codes:
        for key in gaz.keys_of(code):
            if key.isascii() == ascii_keys:
                table.setdefault(key, []).append(code)
    if kind == "prov":
        for alias, code in _PROVINCE_ALIASES.items():
            if _key(alias).isascii() == ascii_keys and code in gaz.provinces:
                table.setdefault(_key(alias), []).append(code)
    return table


_choices_cached = lru_cache(maxsize=4096)(_choices_of)


class _NameIndex:
    """The names of one level and scope, with a character-count filter for large tables.

    ``fuzz.ratio`` is ``200 * LCS / (len(a) + len(b))`` and a common subsequence holds at
    most ``min(count_a(c), count_b(c))`` of each character ``c``, so the summed minimum counts
    bound the ratio from above. A name's counts are kept as 0/1 features "holds ``c`` at
    least ``k`` times", one row of a dense ``uint8`` matrix per feature: a query's common
    count with every name is then the sum of the rows of its own features (one numpy
    reduction over a few rows, about three times faster than concatenating posting lists
    for a ``bincount``). The bound drops nearly all of the country's 6,000 names before
    rapidfuzz sees any; what it keeps is a superset of the names at the cut-off, in table
    order, so rapidfuzz's answer over it is the answer over the whole table.
    """

    __slots__ = ("_thresholds", "features", "keys", "lengths", "matrix")

    #: Tables smaller than this go straight to rapidfuzz.
    MIN_FILTERED = 400

    def __init__(self, keys: Sequence[str]) -> None:
        import numpy as np  # deferred: slow to import, needed only to index a large table

        self.keys = list(keys)
        self.features: dict[tuple[str, int], int] = {}
        self.matrix: Any = None
        self.lengths: Any = None
        self._thresholds: dict[tuple[int, float], Any] = {}
        if len(self.keys) < self.MIN_FILTERED:
            return
        rows: list[int] = []
        cols: list[int] = []
        for i, key in enumerate(self.keys):
            seen: dict[str, int] = {}
            for ch in key:
                seen[ch] = seen.get(ch, 0) + 1
                rows.append(self.features.setdefault((ch, seen[ch]), len(self.features)))
                cols.append(i)
        self.matrix = np.zeros((len(self.features), len(self.keys)), dtype=np.uint8)
        self.matrix[rows, cols] = 1
        self.lengths = np.array([len(k) for k in self.keys], dtype=np.float64)

    def near(self, query: str, min_ratio: float) -> list[str]:
        """Return the names whose ratio with ``query`` can reach ``min_ratio``."""
        import numpy as np  # deferred, as in __init__

        if self.matrix is None:
            return self.keys
        features = self.features
        seen: dict[str, int] = {}
        ids = []
        for ch in query:
            seen[ch] = seen.get(ch, 0) + 1
            feature = features.get((ch, seen[ch]))
            if feature is not None:
                ids.append(feature)
        if not ids:
            return []
        # uint8 holds the sum of up to 255 rows (a query of 255 characters and more: wider).
        common = self.matrix[ids].sum(axis=0, dtype=np.uint8 if len(ids) < 256 else np.int32)
        keys = self.keys
        return [keys[i] for i in np.flatnonzero(common >= self._threshold(len(query), min_ratio))]

    def _threshold(self, length: int, min_ratio: float) -> Any:
        """Return the common count each name needs for ``min_ratio`` with a query of ``length``.

        ``200 * common >= min_ratio * (len(name) + length)``, slightly loosened so that
        rounding can only keep a name more, never drop one.
        """
        import numpy as np  # deferred, as in __init__

        found = self._thresholds.get((length, min_ratio))
        if found is None:
            # Counts are whole: "common >= x" is "common >= ceil(x)", compared in uint8 (a
            # need above 255 becomes 255, which only keeps a name more).
            need = np.ceil((min_ratio - 1e-6) * (self.lengths + length) / 200.0 - 1e-6)
            found = np.minimum(need, 255).astype(np.uint8)
            if len(self._thresholds) < 4096:
                self._thresholds[(length, min_ratio)] = found
        return found


@lru_cache(maxsize=4096)
def _index_cached(
    gaz: Gazetteer, kind: str, scope: frozenset[str], ascii_keys: bool
) -> _NameIndex:
    return _NameIndex(list(_choices_cached(gaz, kind, scope, ascii_keys)))


_TableKey = tuple[str, frozenset[str], bool]


def build_name_tables(gaz: Gazetteer) -> dict[_TableKey, tuple[dict[str, list[str]], _NameIndex]]:
    """Build the name tables of every single-area scope, with their indexes, for a gazetteer.

    The country, each province and each district, for each level searched there and for
    both scripts (about 2,200 tables, a tenth of a second): built with the gazetteer, so
    that no address pays for them and clearing the look-up caches keeps them. Scopes of
    several areas (an address naming several districts) are built when asked, and cached.
    """
    scopes: list[tuple[str, frozenset[str]]] = [
        ("sub", frozenset()), ("dist", frozenset()), ("prov", frozenset())
    ]
    for province in gaz.provinces:
        scopes += [("sub", frozenset({province})), ("dist", frozenset({province}))]
    scopes += [("sub", frozenset({district})) for district in gaz.districts]
    tables: dict[_TableKey, tuple[dict[str, list[str]], _NameIndex]] = {}
    for kind, scope in scopes:
        for ascii_keys in (False, True):
            table = _choices_of(gaz, kind, scope, ascii_keys)
            tables[(kind, scope, ascii_keys)] = (table, _NameIndex(list(table)))
    return tables


def _choices(
    gaz: Gazetteer, kind: str, scope: frozenset[str], ascii_keys: bool
) -> dict[str, list[str]]:
    """Return name key -> area codes of a level and scope (built with the gazetteer or cached)."""
    built = gaz.name_tables.get((kind, scope, ascii_keys))
    return built[0] if built is not None else _choices_cached(gaz, kind, scope, ascii_keys)


def _index(gaz: Gazetteer, kind: str, scope: frozenset[str], ascii_keys: bool) -> _NameIndex:
    """Return the name index of a level and scope (built with the gazetteer or cached)."""
    built = gaz.name_tables.get((kind, scope, ascii_keys))
    return built[1] if built is not None else _index_cached(gaz, kind, scope, ascii_keys)


def _fuzzy_floor(kind: str, scope: frozenset[str]) -> float:
    """Return the lowest cut-off the matcher asks of a level and scope (one search serves all)."""
    if kind == "prov":
        return _FUZZY_CUTOFF["province"]
    if not scope:
        return _FUZZY_CUTOFF["nation"]
    return _FUZZY_CUTOFF["district"] if kind == "sub" else _FUZZY_CUTOFF["province"]


@lru_cache(maxsize=65536)
def _near_names(
    gaz: Gazetteer, query: str, kind: str, scope: frozenset[str], cutoff: float
) -> tuple[tuple[str, float, float], ...]:
    """Names near ``query``: ``(name, ratio, typing similarity)``, exact from ``cutoff`` up.

    rapidfuzz finds the near names quickly (the character-count filter first for a large
    table, or one ``cdist`` for a whole batch's words, see :func:`prefetch_province_names`);
    the typing-slip similarity (never below the ratio) then re-scores them, so a swapped
    pair or a dropped tone mark counts as close. The same word is looked up at several
    cut-offs (as a province at 80, 85 and 92): one search at the lowest serves all.
    """
    near = _prefetched.pop((gaz, query, kind, scope, cutoff), None)
    if near is None:
        floor = max(50.0, cutoff - _PREFILTER_SLACK)
        names = _index(gaz, kind, scope, query.isascii()).near(query, floor)
        near = [
            (key, ratio)
            for key, ratio, _ in process.extract(
                query, names, scorer=fuzz.ratio, score_cutoff=floor, limit=_NEAR_LIMIT
            )
        ]
    return tuple(
        (key, ratio, typing_similarity(query, key, score_cutoff=cutoff, ratio=ratio))
        for key, ratio in near
    )


#: Near names kept per search, by ratio (the typing similarity re-scores them).
_NEAR_LIMIT = 3 * _MAX_CANDIDATES
#: Province searches done ahead for a batch, taken (and forgotten) by :func:`_near_names`.
#: Another thread's batch ending may drop them early: the search is then done again, the same.
_prefetched: dict[
    tuple[Gazetteer, str, str, frozenset[str], float], list[tuple[str, float]]
] = {}


def prefetch_province_names(gaz: Gazetteer, queries: Iterable[str]) -> None:
    """Search a batch's words among the province names at once, for :func:`_near_names`.

    Every labelled and unlabelled word of an address is looked up as a province, and the
    province names are few (about 90 per script), so one rapidfuzz ``cdist`` of all the
    batch's distinct words against them (in C, the names prepared once) replaces a Python
    call per word. The rows give exactly what ``process.extract`` would: the names from the
    same floor, best ratio first, ties in table order, at most the same number.
    """
    import numpy as np  # deferred, as in _NameIndex

    scope: frozenset[str] = frozenset()
    cutoff = _fuzzy_floor("prov", scope)
    floor = max(50.0, cutoff - _PREFILTER_SLACK)
    pending: dict[bool, list[str]] = {True: [], False: []}
    for query in set(queries):
        # Gazetteer.fuzzy_pairs searches no word under three characters.
        if len(query) >= 3 and (gaz, query, "prov", scope, cutoff) not in _prefetched:
            pending[query.isascii()].append(query)
    for ascii_keys, words in pending.items():
        if not words:
            continue
        names = _index(gaz, "prov", scope, ascii_keys).keys
        ratios = process.cdist(
            words, names, scorer=fuzz.ratio, score_cutoff=floor, dtype=np.float64, workers=1
        )
        for query, row in zip(words, ratios, strict=True):
            hits = np.flatnonzero(row >= floor)
            ranked = sorted(hits.tolist(), key=lambda i: (-row[i], i))[:_NEAR_LIMIT]
            _prefetched[(gaz, query, "prov", scope, cutoff)] = [
                (names[i], float(row[i])) for i in ranked
            ]


def forget_prefetched() -> None:
    """Drop the searches done ahead that no address asked for (at the end of a batch)."""
    _prefetched.clear()


@lru_cache(maxsize=65536)
def _fuzzy_cached(
    gaz: Gazetteer, query: str, kind: str, scope: frozenset[str], cutoff: float,
    alone: bool = False,
) -> tuple[tuple[str, float], ...]:
    table = _choices(gaz, kind, scope, query.isascii())
    # One search at the level's lowest cut-off serves every cut-off, unless a strict look-up
    # that nothing else shares asks for a search of its own (fewer names to re-score).
    lowest = cutoff if alone else _fuzzy_floor(kind, scope)
    if cutoff < lowest:
        lowest = cutoff
    # The names a search at ``cutoff`` itself would re-score: the same top 30 by ratio, cut
    # at its own floor (extract orders by ratio, so those are a prefix of the list).
    floor = max(50.0, cutoff - _PREFILTER_SLACK)
    found: dict[str, float] = {}
    for key, ratio, score in _near_names(gaz, query, kind, scope, lowest):
        if ratio < floor:
            break
        if score < cutoff:
            continue
        for code in table[key]:
            found[code] = max(found.get(code, 0.0), score)
    best = sorted(found.items(), key=lambda x: -x[1])[:_MAX_CANDIDATES]
    return tuple(best)
