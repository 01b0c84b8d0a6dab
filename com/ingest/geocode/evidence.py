"""What an address says about its province and district: the evidence that scopes the search."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from com.ingest.geocode.gazetteer import Gazetteer
from com.ingest.geocode.names import _BANGKOK
from com.ingest.geocode.parsing import ParsedAddress, _Token
from com.ingest.geocode.similarity import _is_mueang, _stretch
from com.ingest.geocode.tuning import _EVIDENCE_MIN, _FREE_PROVINCE_MIN, _FUZZY_CUTOFF


@dataclass(frozen=True, slots=True)
class _Evidence:
    """The provinces and districts an address names, with how well (0-100).

    Attributes
    ----------
    prov_scores : dict
        Province code -> similarity of the labelled province (จ.).
    free_prov : dict
        Token index -> the provinces an unlabelled word names (province code -> similarity).
    scope_provinces : set
        The provinces to search in: the labelled province, else the postal code's, else the
        context province (when no unlabelled word names one); empty = the whole country.
    dist_scores : dict
        District code -> similarity of the labelled district (อ.).
    scope_districts : set
        The districts the labelled district names well enough to search in.
    """

    prov_scores: dict[str, float]
    free_prov: dict[int, Mapping[str, float]]
    scope_provinces: set[str]
    dist_scores: dict[str, float]
    scope_districts: set[str]


def _gather_evidence(gaz: Gazetteer, parsed: ParsedAddress, context: str | None) -> _Evidence:
    """Read the province, then the district, evidence of a parsed address."""
    prov_scores, free_prov, scope_provinces = _province_evidence(gaz, parsed, context)
    dist_scores, scope_districts = _district_evidence(gaz, parsed.of("dist"), scope_provinces)
    return _Evidence(prov_scores, free_prov, scope_provinces, dist_scores, scope_districts)


def _province_evidence(
    gaz: Gazetteer, parsed: ParsedAddress, context: str | None
) -> tuple[dict[str, float], dict[int, Mapping[str, float]], set[str]]:
    """Read the labelled province, else free words naming one; and the provinces in scope."""
    prov_scores: dict[str, float] = {}
    for t in parsed.of("prov"):
        for code, s in _province_matches(gaz, t, fuzzy_cutoff=_FUZZY_CUTOFF["province"]).items():
            prov_scores[code] = max(prov_scores.get(code, 0.0), s)
    free_prov: dict[int, Mapping[str, float]] = {}
    for t in parsed.of("free"):
        m = _province_matches(gaz, t, fuzzy_cutoff=_FREE_PROVINCE_MIN)
        if m:
            free_prov[t.index] = m
    postal_provinces = gaz.postal_provinces.get(parsed.postal_code or "", set())

    scope_provinces: set[str] = set()
    if prov_scores:
        scope_provinces = {c for c, s in prov_scores.items() if s >= _EVIDENCE_MIN}
    elif postal_provinces:
        scope_provinces = set(postal_provinces)
    elif context and not free_prov:
        scope_provinces = {context}
    return prov_scores, free_prov, scope_provinces


def _district_evidence(
    gaz: Gazetteer, dist_l: list[_Token], scope_provinces: set[str]
) -> tuple[dict[str, float], set[str]]:
    """District evidence from the labelled district, and the districts in scope."""
    dist_scores: dict[str, float] = {}
    for t in dist_l:
        m = _district_matches(gaz, t, scope_provinces or None)
        if not m and scope_provinces:
            m = _district_matches(gaz, t, None)
        for code, s in m.items():
            dist_scores[code] = max(dist_scores.get(code, 0.0), s)
    scope_districts = {c for c, s in dist_scores.items() if s >= _EVIDENCE_MIN}
    return dist_scores, scope_districts


def _district_matches(
    gaz: Gazetteer, token: _Token, provinces: set[str] | None, *, strong: bool = False
) -> Mapping[str, float]:
    """Districts a word may name (code -> similarity 0-100, fuzzy ones stretched).

    With ``strong`` only those from :data:`_STRONG_DISTRICT` (the rest are not searched for).
    """
    return _district_matches_cached(
        gaz, token.key, frozenset(provinces) if provinces is not None else None, strong
    )


@lru_cache(maxsize=65536)
def _district_matches_cached(
    gaz: Gazetteer, key: str, provinces: frozenset[str] | None, strong: bool = False
) -> Mapping[str, float]:
    # Read-only (shared by every address that writes the word): a mapping proxy.
    return MappingProxyType(_district_matches_of(gaz, key, provinces, strong))


#: A district named this well (stretched similarity) by a word beside another; see
#: candidates._districts_named_beside.
_STRONG_DISTRICT = 90.0


def _district_matches_of(
    gaz: Gazetteer, key: str, provinces: frozenset[str] | None, strong: bool = False
) -> dict[str, float]:
    found: dict[str, float] = {}
    if _is_mueang(gaz, key):
        for code in gaz.districts:
            capital = code.endswith("01") and not code.startswith(_BANGKOK)
            if capital and (provinces is None or code[:2] in provinces):
                found[code] = 100.0
        return found
    for code in gaz.district_keys.get(key, ()):
        if provinces is None or code[:2] in provinces:
            found[code] = 100.0
    if found:
        return found
    scope = frozenset(provinces or ())
    cutoff = _FUZZY_CUTOFF["province" if scope else "nation"]
    if strong:
        # The raw similarity that _stretch takes to _STRONG_DISTRICT; a search of its own,
        # as the words searched this way are rarely searched as districts otherwise.
        cutoff = max(cutoff, 100.0 - (100.0 - _STRONG_DISTRICT) / 2.0)
    for code, score in gaz.fuzzy_pairs(key, "dist", scope, cutoff, alone=strong):
        found[code] = max(found.get(code, 0.0), _stretch(score))
    return found


def _province_matches(
    gaz: Gazetteer, token: _Token, *, fuzzy_cutoff: float
) -> Mapping[str, float]:
    return _province_matches_cached(gaz, token.key, fuzzy_cutoff)


@lru_cache(maxsize=65536)
def _province_matches_cached(gaz: Gazetteer, key: str, fuzzy_cutoff: float) -> Mapping[str, float]:
    found = dict.fromkeys(gaz.province_keys.get(key, ()), 100.0)
    if not found:
        for code, score in gaz.fuzzy_pairs(key, "prov", frozenset(), fuzzy_cutoff):
            found[code] = max(found.get(code, 0.0), _stretch(score))
    return MappingProxyType(found)
