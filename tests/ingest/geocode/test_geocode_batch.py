"""The batch path: the same answers as one address at a time, and the collector left as found."""

from __future__ import annotations

import gc
import random

import pytest

from benchmarks.typo_addresses import generate, typo
from com.ingest.geocode import (
    candidates,
    clear_caches,
    geocode,
    geocode_many,
    get_gazetteer,
    name_index,
    parse_address,
)

ADDRESSES = [
    "๑๒๓ หมู่ที่ ๔ ต.ด่าน อ.กาบเชิง จ.สุรินทร์",
    "ขอแตก สังขะ สุรินทร์",
    "ต.พรยะืน 40320",
    "ในเมือง เมอง สุรินทร์",
    "Nai Mueang, Mueang Surin, Surin 32000",
    "",
    None,
    "15.1234, 103.5678",
]


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        geocode_many(ADDRESSES)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_the_collector_is_restored_when_geocoding_fails() -> None:
    assert gc.isenabled()
    with pytest.raises(Exception, match="province"):
        geocode_many(ADDRESSES, province_code="99")
    assert gc.isenabled()


def test_a_batch_makes_no_reference_cycles() -> None:
    """Pausing the collector for a batch is safe only while geocoding makes no cycles."""
    pairs = generate(300, seed=3)
    batch = [a for a, _ in pairs] + ADDRESSES
    geocode_many(batch)  # one-time work (lazy imports, the gazetteer) may make cycles: not counted
    clear_caches()
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        geocode_many(batch)
        clear_caches()
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()


def test_batch_answers_equal_single_answers_in_any_order() -> None:
    """Look-up caches shared across a batch never change an answer (nor does the order)."""
    batch = [a for a, _ in generate(300, seed=5)] + ADDRESSES
    clear_caches()
    forward = geocode_many(batch)
    clear_caches()
    backward = geocode_many(batch[::-1])[::-1]
    clear_caches()
    single = []
    for a in batch:
        clear_caches()
        single.append(geocode(a))
    assert forward == backward == single


def test_batch_answers_equal_one_address_at_a_time_on_a_typo_heavy_sample() -> None:
    """What the batch shares (searches, the count filter, province names searched ahead,
    typing distances) changes no answer: 400 seeded typo-heavy addresses through
    ``geocode_many`` from cold caches equal ``geocode()`` one address at a time, in another
    order, after the caches were filled by other addresses."""
    batch = [a for a, _ in generate(400, seed=21)]
    clear_caches()
    together = geocode_many(batch)
    clear_caches()
    geocode_many([a for a, _ in generate(200, seed=22)])
    order = list(range(len(batch)))
    random.Random(23).shuffle(order)
    alone = {i: geocode(batch[i]) for i in order}
    assert together == [alone[i] for i in range(len(batch))]
    confident = sum(r.confident for r in together)
    assert 0.8 * len(batch) < confident < len(batch)  # typo-heavy: most answered, not all


def _words() -> list[str]:
    gaz = get_gazetteer()
    rnd = random.Random(7)
    names = sorted(gaz.province_keys)
    words = [typo(n, rnd) for n in names for _ in range(3)]
    words += [t.key for a, _ in generate(200, seed=9) for t in parse_address(a).tokens]
    return [*words, *names, "ab", "กข", "abc", "xyzxyz", "surinn", "bangkokk"]


def test_province_search_of_a_batch_equals_one_word_at_a_time() -> None:
    """The batch's one cdist gives each word exactly what its own search would."""
    gaz = get_gazetteer()
    words = _words()
    clear_caches()
    name_index.prefetch_province_names(gaz, words)
    ahead = dict(name_index._prefetched)
    clear_caches()
    assert name_index._prefetched == {}
    assert len(ahead) == len({w for w in words if len(w) >= 3})
    assert any(len(found) > 1 for found in ahead.values())
    for (_, word, kind, scope, cutoff), found in ahead.items():
        alone = name_index._near_names(gaz, word, kind, scope, cutoff)
        assert [(name, ratio) for name, ratio, _ in alone] == found, word


def test_no_search_done_ahead_outlives_its_batch() -> None:
    geocode_many([*ADDRESSES, "สุรินทร์ บุรีรัมย์ ศรีสะเกษ xyzw"])
    assert name_index._prefetched == {}


def test_an_empty_batch_is_empty() -> None:
    assert geocode_many([]) == []
    assert geocode_many(iter(())) == []


def test_tables_built_with_the_gazetteer_equal_those_built_when_asked() -> None:
    gaz = get_gazetteer()
    some = sorted(gaz.name_tables)[::97]
    clear_caches()
    assert len(gaz.name_tables) > 2 * (len(gaz.districts) + len(gaz.provinces))
    for kind, scope, ascii_keys in some:
        table, index = gaz.name_tables[(kind, scope, ascii_keys)]
        assert table == name_index._choices_cached(gaz, kind, scope, ascii_keys)
        assert index.keys == name_index._index_cached(gaz, kind, scope, ascii_keys).keys


def test_a_word_naming_only_a_district_or_province_gets_no_subdistrict() -> None:
    """The shortcut in _subdistrict_candidates skips only words _sub_candidates rejects."""
    gaz = get_gazetteer()
    words = [k for k in [*gaz.district_keys, *gaz.province_keys] if not k.isascii()]
    skipped = 0
    for i, key in enumerate(words):
        token = parse_address(key).tokens[0] if parse_address(key).tokens else None
        if token is None or not candidates._names_no_subdistrict(gaz, token):
            continue
        skipped += 1
        province = next(iter(gaz.district_keys.get(key, gaz.province_keys.get(key, {""}))))[:2]
        for districts, provinces in [(set(), set()), (set(), {province}), ({"3201"}, {"32"})]:
            assert candidates._sub_candidates(
                gaz, token, districts=districts, provinces=provinces, postal=None
            ) == {}, (i, key)
    assert skipped > 300


def test_a_strong_district_search_keeps_exactly_the_strong_matches() -> None:
    """The strict search of its own finds what the shared search finds from 90 up."""
    from com.ingest.geocode import evidence

    gaz = get_gazetteer()
    rnd = random.Random(11)
    districts = sorted(gaz.districts)
    words = []
    for code in rnd.sample(districts, 150):
        name = gaz.districts[code].name_th
        words += [(name, code[:2]), (typo(name, rnd), code[:2]), (typo(name, rnd), None)]
    words += [(a.split()[0], None) for a, _ in generate(100, seed=12)]
    words += [("เมอง", "32"), ("เมือง", None), ("ขอนแก่น", None)]
    clear_caches()
    strong_found = 0
    for word, province in words:
        for token in parse_address(word).tokens[:1]:
            provinces = {province} if province else None
            strong = evidence._district_matches(gaz, token, provinces, strong=True)
            full = evidence._district_matches(gaz, token, provinces)
            assert {c: s for c, s in strong.items() if s >= 90.0} == {
                c: s for c, s in full.items() if s >= 90.0
            }, word
            strong_found += bool(strong)
    assert strong_found > 100


def test_objects_frozen_by_the_caller_stay_frozen() -> None:
    """The batch moves its objects to the oldest generation only when nothing was frozen."""
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        geocode_many([a for a, _ in generate(50, seed=4)])
        assert 0 < gc.get_freeze_count() <= frozen  # none released, none added (some freed)
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_the_count_filter_keeps_every_name_rapidfuzz_would_find() -> None:
    """_NameIndex.near may keep names below the cut-off, never drop one at it; table order."""
    import numpy as np
    from rapidfuzz import fuzz, process

    gaz = get_gazetteer()
    rnd = random.Random(13)
    written = [t.key for a, _ in generate(30, seed=15) for t in parse_address(a).tokens]
    for kind, ascii_keys in [("sub", False), ("sub", True), ("dist", False)]:
        index = name_index._index(gaz, kind, frozenset(), ascii_keys)
        assert index.matrix is not None
        words = [typo(k, rnd) if not ascii_keys else k[:-1] + "x"
                 for k in rnd.sample(index.keys, 80)]
        words += written
        words = [w for w in words if w.isascii() == ascii_keys] + ["zzzz", "ก" * 40]
        ratios = process.cdist(words, index.keys, scorer=fuzz.ratio, dtype=np.float64)
        position = {k: i for i, k in enumerate(index.keys)}
        for min_ratio in (57.0, 73.0, 80.0):
            kept_total = 0
            for word, row in zip(words, ratios, strict=True):
                kept = [position[k] for k in index.near(word, min_ratio)]
                kept_total += len(kept)
                assert kept == sorted(kept)
                assert set(np.flatnonzero(row >= min_ratio).tolist()) <= set(kept), word
            assert kept_total < 0.2 * len(words) * len(index.keys)  # it does filter
