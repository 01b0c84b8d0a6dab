"""Misspelt, unlabelled addresses (issue 14, items 2-4) and the Thai typing-slip distance."""

from __future__ import annotations

import random

import geothai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz import fuzz

from benchmarks.typo_addresses import generate, score, typo
from com.ingest.geocode import geocode, get_gazetteer
from com.text.typos import clear_typing_caches, typing_distance, typing_similarity

# --------------------------------------------------------------------------- the distance


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("เมอง", "เมือง"),  # dropped vowel mark
        ("เืมอง", "เมือง"),  # swapped adjacent characters
        ("เมืงอ", "เมือง"),  # swapped adjacent characters
        ("เมือ่ง", "เมือง"),  # an extra tone mark
        ("พรยะืน", "พระยืน"),  # swapped
        ("ศรีสะเกษ", "สรีสะเกษ"),  # the same key shifted
    ],
)
def test_typing_slips_cost_less_than_other_edits(written: str, meant: str) -> None:
    assert typing_distance(written, meant) < 1.0
    assert typing_similarity(written, meant) > fuzz.ratio(written, meant) or written == meant


def test_a_different_letter_costs_a_full_substitution() -> None:
    assert typing_distance("กขค", "กฮค") == 2.0  # ข and ฮ are far apart on the keyboard


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=12), st.text(max_size=12))
def test_similarity_is_bounded_and_never_below_the_ratio(a: str, b: str) -> None:
    s = typing_similarity(a, b)
    assert 0.0 <= s <= 100.0
    assert s >= fuzz.ratio(a, b) - 1e-9
    assert (s == 100.0) == (a == b)


# --------------------------------------------------------------------------- issue shapes


@pytest.mark.parametrize(
    ("address", "meant", "district_named"),
    [
        ("ขอแตก สังขะ สุรินทร์", "321002", "321001"),  # ขอนแตก, not ต.สังขะ
        ("วังแง ชนบท ขอนแก่น", "401803", "401801"),  # วังแสง, not ต.ชนบท
    ],
)
def test_a_word_used_as_the_district_is_not_also_the_subdistrict(
    address: str, meant: str, district_named: str
) -> None:
    r = geocode(address)
    assert r.tambon_code != district_named
    assert not r.confident or r.tambon_code == meant


@pytest.mark.parametrize("mueang", ["เมือง", "เมอง", "เืมอง", "เมืง", "เมืงอ", "เือง"])
@pytest.mark.parametrize("form", ["ต.ในเมือง อ.{m} จ.สุรินทร์", "ในเมือง {m} สุรินทร์"])
def test_misspelt_mueang_keeps_the_district(mueang: str, form: str) -> None:
    r = geocode(form.format(m=mueang))
    assert (r.tambon_code, r.confident) == ("320101", True)


def test_misspelt_subdistrict_with_only_a_postcode() -> None:
    r = geocode("ต.พรยะืน 40320")
    assert (r.tambon_code, r.confident) == ("400301", True)


def test_typos_in_both_subdistrict_and_district() -> None:
    r = geocode("ต.ขอแตก อ.สังขา จ.สุรินทร์")
    assert (r.tambon_code, r.confident) == ("321002", True)


def _capital_subdistricts() -> list[tuple[str, str, str]]:
    out = []
    for p in geothai.provinces():
        if p.code == "10":
            continue
        code = p.code + "01"
        subs = geothai.subdistricts(code)
        names = [s.name_th for s in subs]
        for s in subs:
            if names.count(s.name_th) == 1:
                out.append((s.code, s.name_th, p.name_th))
    return out


_CAPITAL = _capital_subdistricts()


@settings(max_examples=60, deadline=None)
@given(place=st.sampled_from(_CAPITAL), seed=st.integers(0, 10_000))
def test_any_single_slip_in_mueang_keeps_the_district(place: tuple[str, str, str],
                                                      seed: int) -> None:
    code, sub, province = place
    slip = typo("เมือง", random.Random(seed))
    r = geocode(f"ต.{sub} อ.{slip} จ.{province}")
    assert r.amphoe_code == code[:4]
    assert not r.confident or r.tambon_code == code


# --------------------------------------------------------------------------- generated set


def test_generated_typo_heavy_addresses_are_rarely_confidently_wrong() -> None:
    """Done means 2: confident-wrong <= 0.3% on 2,000 seeded typo-heavy unlabelled addresses."""
    get_gazetteer()
    pairs = generate(2000, seed=14)
    assert len({a for a, _ in pairs}) > 1900  # variety, not one address repeated
    s = score(pairs)
    print(f"\ntypo-heavy set: accuracy {s.accuracy:.1%}, confident-wrong "
          f"{s.confident_wrong_rate:.2%} ({s.confident_wrong})")
    assert s.confident_wrong_rate <= 0.003, s.wrong_examples
    assert s.accuracy >= 0.85


# --------------------------------------------------------------------------- the fast path


def _reference_distance(a: str, b: str) -> float:
    """The full alignment, no trimming or bounds (the definition the fast path must keep)."""
    from com.text.typos import _SUB, _SUB_COSTS, _SWAP, _indel_cost

    del_a = [_indel_cost(ch, a[i - 1] if i else "") for i, ch in enumerate(a)]
    ins_b = [_indel_cost(ch, b[j - 1] if j else "") for j, ch in enumerate(b)]
    rows = [[0.0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for j in range(len(b)):
        rows[0][j + 1] = rows[0][j] + ins_b[j]
    for i in range(1, len(a) + 1):
        rows[i][0] = rows[i - 1][0] + del_a[i - 1]
        for j in range(1, len(b) + 1):
            ca, cb = a[i - 1], b[j - 1]
            best = min(
                rows[i - 1][j - 1] + (0.0 if ca == cb else _SUB_COSTS.get((ca, cb), _SUB)),
                rows[i - 1][j] + del_a[i - 1],
                rows[i][j - 1] + ins_b[j - 1],
            )
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb and ca != cb:
                best = min(best, rows[i - 2][j - 2] + _SWAP)
            rows[i][j] = best
    return round(rows[-1][-1], 6)


_THAI_SMALL = st.text(alphabet="กขคเมือง่้ัอวยาะ", max_size=9)


@settings(max_examples=400, deadline=None)
@given(_THAI_SMALL, _THAI_SMALL, st.sampled_from([None, 0.5, 1.0, 2.0, 3.5]))
def test_fast_distance_equals_the_full_alignment(a: str, b: str, limit: float | None) -> None:
    exact = _reference_distance(a, b)
    fast = typing_distance(a, b, limit)
    if limit is None or exact <= limit:
        assert fast == pytest.approx(exact)
    else:
        assert fast > limit


def test_fast_distance_on_generated_slips() -> None:
    rnd = random.Random(5)
    names = [s.name_th for p in geothai.provinces() for d in geothai.districts(p.code)
             for s in geothai.subdistricts(d.code)]
    for _ in range(3000):
        a = rnd.choice(names)
        b = typo(typo(a, rnd), rnd) if rnd.random() < 0.5 else rnd.choice(names)
        assert typing_distance(a, b) == pytest.approx(_reference_distance(a, b))


@settings(max_examples=200, deadline=None)
@given(_THAI_SMALL, _THAI_SMALL, st.floats(min_value=0, max_value=100))
def test_similarity_with_a_cutoff_is_exact_above_it(a: str, b: str, cutoff: float) -> None:
    full = typing_similarity(a, b)
    cut = typing_similarity(a, b, score_cutoff=cutoff)
    if full >= cutoff:
        assert cut == pytest.approx(full)
    else:
        assert cut < cutoff


@pytest.mark.parametrize(("a", "b"), [("เืมอง", "เมือง"), ("หนองบัว", "หนองบวั"), ("ขอนแก่น", "ขอแตก")])
def test_a_distance_is_the_same_whichever_bound_came_first(a: str, b: str) -> None:
    """Exact distances are remembered by pair: a later call under a bound gets the exact one."""
    exact = _reference_distance(a, b)
    clear_typing_caches()
    bounded = typing_distance(a, b, 0.1)
    assert bounded > 0.1
    assert typing_distance(a, b) == pytest.approx(exact)
    assert typing_distance(a, b, 0.1) == pytest.approx(exact)  # exact, and above the bound
    assert typing_distance(a, b, 50.0) == pytest.approx(exact)
    clear_typing_caches()
    assert typing_distance(a, b, 50.0) == pytest.approx(exact)
    assert typing_distance(a, b) == pytest.approx(exact)
