"""The geocoder's look-up caches, and forgetting them."""

from __future__ import annotations

from com.ingest.geocode.evidence import _district_matches_cached, _province_matches_cached
from com.ingest.geocode.name_index import (
    _choices_cached,
    _fuzzy_cached,
    _index_cached,
    _near_names,
    forget_prefetched,
)
from com.ingest.geocode.scoring import _free_support_cached
from com.ingest.geocode.similarity import _area_sim_cached, _is_mueang
from com.text.typos import clear_typing_caches


def clear_caches() -> None:
    """Forget every cached look-up (name searches, similarities), keeping the gazetteer.

    The caches make repeated and related addresses cheap; benchmarks clear them to measure
    distinct addresses cold.
    """
    for cached in (_choices_cached, _index_cached, _near_names, _fuzzy_cached,
                   _area_sim_cached, _is_mueang, _free_support_cached,
                   _district_matches_cached, _province_matches_cached):
        cached.cache_clear()
    forget_prefetched()
    clear_typing_caches()
