"""How alike a written word and an area name are, typing slips and "เมือง" forgiven."""

from __future__ import annotations

from functools import lru_cache

from rapidfuzz import fuzz

from com.ingest.geocode.gazetteer import Gazetteer, _known
from com.ingest.geocode.names import _BANGKOK, _MUEANG, _MUEANG_SLIP
from com.text.typos import typing_distance, typing_similarity


def _stretch(similarity: float) -> float:
    """Widen the gap between exact and fuzzy matches: 100 stays 100, 90 becomes 80."""
    return similarity if similarity >= 100.0 else max(0.0, 100.0 - 2.0 * (100.0 - similarity))


def _area_sim(gaz: Gazetteer, key: str, code: str, *, level: str) -> float:
    """Similarity 0-100 of a written name and a district or province (fuzzy ones stretched)."""
    if key in gaz.keys_of(code):
        return 100.0
    return _area_sim_cached(gaz, key, code, level)


@lru_cache(maxsize=131072)
def _area_sim_cached(gaz: Gazetteer, key: str, code: str, level: str) -> float:
    keys = gaz.keys_of(code)
    if key in keys:
        return 100.0
    if level == "prov":
        if code in gaz.province_keys.get(key, ()):
            return 100.0
    elif _is_mueang(gaz, key):
        if code.endswith("01") and not code.startswith(_BANGKOK):
            return 100.0
        if any(k.startswith(("เมือง", "mueang")) for k in keys):
            return 70.0  # "อ.เมือง" written for เมืองจันทร์ and the like: plausible, not exact
        return 0.0
    ascii_key = key.isascii()
    # A word that is exactly another area's name is that area, not a slip for this one: only
    # the plain ratio then ("ระยอง" is not a mistyped "ระนอง").
    exact_elsewhere = key in (gaz.province_keys if level == "prov" else gaz.district_keys)
    best = 0.0
    for k in keys:
        if k.isascii() == ascii_key:
            # Only a better name matters: the best so far is the cut-off of the next one.
            sim = (fuzz.ratio(key, k) if exact_elsewhere
                   else typing_similarity(key, k, score_cutoff=best))
            if sim > best:
                best = sim
    return _stretch(best)


@lru_cache(maxsize=65536)
def _is_mueang(gaz: Gazetteer, key: str) -> bool:
    """Tell whether a word is "เมือง" (the capital district), typing slips forgiven."""
    if key in _MUEANG:
        return True
    if key.isascii() or len(key) < 3 or _known(gaz, key):
        return False
    return typing_distance(key, "เมือง", _MUEANG_SLIP) <= _MUEANG_SLIP
