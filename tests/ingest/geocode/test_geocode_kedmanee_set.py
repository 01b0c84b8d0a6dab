"""The independently written typo generator (benchmarks/typo_addresses_kedmanee.py, issue 14)."""

from __future__ import annotations

import random

from benchmarks.typo_addresses_kedmanee import _NEAR, generate, slip
from com.ingest.geocode import geocode_many
from com.text.typos import typing_distance


def test_neighbour_keys_come_from_the_layout() -> None:
    assert "ศ" in _NEAR["ส"]  # the same key shifted
    assert "ว" in _NEAR["ส"] and "า" in _NEAR["ส"]  # left and right on the row
    assert "ก" not in _NEAR["ส"]


def test_one_slip_stays_close_by_the_typing_distance() -> None:
    rnd = random.Random(1)
    for name in ["เมือง", "หนองบัว", "พระยืน", "ขอนแก่น", "ศรีสะเกษ"]:
        for _ in range(20):
            written = slip(name, rnd)
            assert typing_distance(written, name) <= 1.0, (written, name)


def test_unseen_generated_addresses_are_rarely_confidently_wrong() -> None:
    """Done means 2 on addresses the matcher was not tuned on: confident-wrong <= 0.3%."""
    pairs = generate(1000, seed=11)
    assert len({a for a, _ in pairs}) == 1000
    results = geocode_many([a for a, _ in pairs])
    answered = [(c, r) for (_, c), r in zip(pairs, results, strict=True) if r.confident]
    right = sum(r.tambon_code == c for c, r in answered)
    wrong = len(answered) - right
    assert wrong <= 3, wrong
    assert right >= 850, right
