"""The compiled typing-slip alignment (com/text/typing_align.c) equals the Python one."""

from __future__ import annotations

import math
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import geothai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import Postfix, Prefix

from benchmarks.typo_addresses import typo
from com.text.typos import _CONTEXT, _py_distance, build_typing_align, load_typing_align


@pytest.fixture(scope="module")
def c_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("gcc") is None:
        pytest.skip("no C compiler: the pure-Python alignment is used")
    return build_typing_align(tmp_path_factory.mktemp("typing") / "_typing_align.so")


@pytest.fixture(scope="module")
def c_align(c_library: Path) -> Callable[..., float]:
    align = load_typing_align(c_library)
    assert align is not None
    return align


@pytest.fixture(scope="module")
def c_trimmed(c_library: Path) -> Callable[..., float]:
    align = load_typing_align(c_library, trimmed=True)
    assert align is not None
    return align


def _both(align: Callable[..., float], a: str, b: str, limit: float) -> tuple[float, float]:
    head = Prefix.similarity(a, b)
    tail = Postfix.similarity(a[head:], b[head:])
    head, tail = max(0, head - _CONTEXT), max(0, tail - _CONTEXT)
    return round(align(a, len(a), b, len(b), head, tail, limit), 6), _py_distance(
        a, b, head, tail, limit
    )


def _trimmed(align: Callable[..., float], a: str, b: str, limit: float) -> float:
    return round(align(a, len(a), b, len(b), _CONTEXT, limit), 6)


_THAI = st.text(alphabet="กขคงสศเแมือวยาะำ่้๊ัิีุู็์ x", max_size=14)
_LIMITS = st.sampled_from([math.inf, 0.0, 0.3, 0.5, 0.9, 1.0, 1.5, 2.0, 3.5, 8.0])


@settings(max_examples=1500, deadline=None)
@given(_THAI, _THAI, _LIMITS)
def test_c_alignment_equals_the_python_one(
    c_align: Callable[..., float], c_trimmed: Callable[..., float], a: str, b: str, limit: float
) -> None:
    fast, reference = _both(c_align, a, b, limit)
    assert fast == reference  # the same value, bounds included, not only close
    assert _trimmed(c_trimmed, a, b, limit) == reference  # the head and tail found in C


def test_c_alignment_on_generated_slips(
    c_align: Callable[..., float], c_trimmed: Callable[..., float]
) -> None:
    rnd = random.Random(8)
    names = [s.name_th for p in geothai.provinces() for d in geothai.districts(p.code)
             for s in geothai.subdistricts(d.code)]
    for _ in range(3000):
        a = rnd.choice(names)
        b = typo(typo(a, rnd), rnd) if rnd.random() < 0.7 else rnd.choice(names)
        for limit in (math.inf, 1.0, 2.5):
            fast, reference = _both(c_align, a, b, limit)
            assert fast == reference, (a, b, limit)
            assert _trimmed(c_trimmed, a, b, limit) == reference, (a, b, limit)


def test_a_middle_too_long_for_the_c_stack_is_left_to_python(
    c_align: Callable[..., float],
) -> None:
    a, b = "ก" * 300, "ข" * 300
    assert c_align(a, len(a), b, len(b), 0, 0, math.inf) == -1.0


def test_pure_python_when_asked_or_not_built(
    c_library: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COM_TYPING_PURE", "1")
    assert load_typing_align(c_library) is None
    monkeypatch.delenv("COM_TYPING_PURE")
    assert load_typing_align(c_library) is not None
    assert load_typing_align(tmp_path / "missing.so") is None
