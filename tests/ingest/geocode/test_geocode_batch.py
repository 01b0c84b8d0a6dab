"""The batch path: the same answers as one address at a time, and the collector left as found."""

from __future__ import annotations

import gc

import pytest

from benchmarks.typo_addresses import generate
from com.ingest.geocode import clear_caches, geocode, geocode_many

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
