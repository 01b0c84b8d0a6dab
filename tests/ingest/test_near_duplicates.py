"""Duplicates within a file: near an earlier stored row of the same key (com/ingest/duplicates.py).

The rule is checked against a brute-force reference (every earlier stored row, geodesic
distance on the WGS 84 ellipsoid) on random files whose points crowd, and crowded files that
made the former pairwise search quadratic (every pair of nearby rows listed first: 30,000
identical points were 450 million pairs) must finish and give the same answer.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from pyproj import Geod

from com.ingest.duplicates import NearIndex, crowded_rows, resolve_duplicates
from com.ingest.kinds import KINDS
from com.ingest.prepare import PreparedRow
from com.ingest.store import copy_stage

KIND = KINDS["risk_points"]
#: A point of Surin province (32), inside the loaded boundaries.
LAT, LON = 14.8820, 103.4930
_GEOD = Geod(ellps="WGS84")


def _row(n: int, lat: float, lon: float, key: str, fingerprint: object = None) -> PreparedRow:
    return PreparedRow(row_number=n, status="pending", lat=lat, lon=lon, province_code="32",
                       dedupe_key=key, fingerprint=n if fingerprint is None else fingerprint,
                       quality="exact", record={"name": f"จุด {n}"})


def _reference(rows: list[PreparedRow], distance_m: float) -> dict[int, str | None]:
    """The rule written plainly: quadratic, for small files only."""
    stored: list[PreparedRow] = []
    first: dict[object, int] = {}
    out: dict[int, str | None] = {}
    for p in rows:
        reason = None
        if p.fingerprint in first:
            reason = f"identical to row {first[p.fingerprint]}"
        else:
            near = [q.row_number for q in stored if q.dedupe_key == p.dedupe_key
                    and _GEOD.inv(q.lon, q.lat, p.lon, p.lat)[2] <= distance_m]
            if near:
                reason = f"same {KIND.dedupe_column} within {distance_m:g} m of row {min(near)}"
        if reason is None:
            stored.append(p)
            first.setdefault(p.fingerprint, p.row_number)
        out[p.row_number] = reason
    return out


def _resolve(db, rows: list[PreparedRow], distance_m: float) -> dict[int, str | None]:  # type: ignore[no-untyped-def]
    copy_stage(db, rows)
    resolve_duplicates(db, rows, KIND, distance_m)
    return {r.row_number: r.reason for r in rows}


@pytest.mark.parametrize("seed", range(4))
def test_matches_the_plain_rule_on_crowded_random_files(db, seed: int) -> None:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    distance_m = rng.choice([5.0, 25.0, 60.0])
    rows = []
    for n in range(1, 301):
        shape = rng.random()
        if shape < 0.3:  # on top of an earlier row (or exactly the same place)
            base = rows[rng.randrange(len(rows))] if rows else None
            lat = (base.lat if base else LAT) + rng.choice([0.0, rng.gauss(0, 0.0002)])
            lon = (base.lon if base else LON) + rng.choice([0.0, rng.gauss(0, 0.0002)])
        elif shape < 0.8:  # a tight cluster, a few distances across
            lat, lon = LAT + rng.gauss(0, 0.0003), LON + rng.gauss(0, 0.0003)
        else:  # spread over the district
            lat, lon = LAT + rng.uniform(-0.05, 0.05), LON + rng.uniform(-0.05, 0.05)
        fingerprint = rng.randrange(20) if rng.random() < 0.1 else None
        rows.append(_row(n, lat, lon, rng.choice(["ยาเสพติด", "ลักลอบเข้าเมือง"]),
                         fingerprint=("same", fingerprint) if fingerprint is not None else None))
    expected = _reference(rows, distance_m)
    assert sum(v is not None and " m of row " in v for v in expected.values()) > 30
    assert _resolve(db, rows, distance_m) == expected


@pytest.mark.parametrize("seed", range(3))
def test_crowded_rows_found_ahead_over_more_rows_give_the_same_answer(db, seed: int) -> None:  # type: ignore[no-untyped-def]
    """An upload finds the crowded rows of all its plain-coordinate rows ahead, in a thread.

    The index is then made with fewer rows (those stored); the answer must be the plain
    rule's, and a row crowded only by rows left out must not change it.
    """
    rng = random.Random(seed)
    distance_m = 25.0
    rows = [_row(n, LAT + rng.gauss(0, 0.0004), LON + rng.gauss(0, 0.0004),
                 rng.choice(["ยาเสพติด", "ลักลอบเข้าเมือง"])) for n in range(1, 201)]
    others = [_row(1000 + n, r.lat + 1e-6, r.lon, r.dedupe_key) for n, r in enumerate(rows[::7])]
    everything = rows + others
    mask = crowded_rows(np.array([r.lat for r in everything]),
                        np.array([r.lon for r in everything]), distance_m)
    crowded = frozenset(r.row_number for r, hit in zip(everything, mask.tolist(), strict=True)
                        if hit)
    alone = crowded_rows(np.array([r.lat for r in rows]), np.array([r.lon for r in rows]),
                         distance_m)
    # The rows beside a left-out twin are crowded only in the superset.
    assert crowded > {r.row_number for r, hit in zip(rows, alone.tolist(), strict=True) if hit}
    expected = _reference(rows, distance_m)
    assert sum(v is not None for v in expected.values()) > 20
    copy_stage(db, rows)
    resolve_duplicates(db, rows, KIND, distance_m,
                       near=NearIndex(rows, distance_m, crowded=crowded))
    assert {r.row_number: r.reason for r in rows} == expected


def test_a_row_exactly_at_the_distance_is_a_duplicate_and_just_beyond_is_not(db) -> None:  # type: ignore[no-untyped-def]
    lon_at, _, _ = _GEOD.fwd(LON, LAT, 90, 25.0)
    lon_beyond, _, _ = _GEOD.fwd(LON, LAT, 90, 25.05)
    rows = [_row(1, LAT, LON, "ยาเสพติด"), _row(2, LAT, lon_beyond, "ยาเสพติด"),
            _row(3, LAT, lon_at - 1e-9, "ยาเสพติด")]
    out = _resolve(db, rows, 25.0)
    assert out[2] is None
    assert out[3] == "same category within 25 m of row 1"


@pytest.mark.timeout(120)
def test_thirty_thousand_identical_points_finish(db) -> None:  # type: ignore[no-untyped-def]
    """Different rows (names) at one place: the first is stored, every other one is near it."""
    rows = [_row(n, LAT, LON, "ยาเสพติด") for n in range(1, 30_001)]
    out = _resolve(db, rows, 25.0)
    assert out[1] is None
    assert {out[n] for n in range(2, 30_001)} == {"same category within 25 m of row 1"}


@pytest.mark.timeout(120)
def test_a_dense_cluster_finishes_with_the_plain_answer_on_its_first_rows(db) -> None:  # type: ignore[no-untyped-def]
    """20,000 points within about 100 m, two keys: stored rows stay more than 25 m apart."""
    rng = random.Random(5)
    rows = [_row(n, LAT + rng.uniform(-0.0005, 0.0005), LON + rng.uniform(-0.0005, 0.0005),
                 rng.choice(["ยาเสพติด", "ลักลอบเข้าเมือง"])) for n in range(1, 20_001)]
    out = _resolve(db, rows, 25.0)
    stored = [r for r in rows if out[r.row_number] is None]
    assert 4 <= len(stored) < 200
    for i, a in enumerate(stored):
        for b in stored[i + 1:]:
            if a.dedupe_key == b.dedupe_key:
                assert _GEOD.inv(a.lon, a.lat, b.lon, b.lat)[2] > 25.0
    head = rows[:400]
    assert {k: out[k] for k in range(1, 401)} == _reference(head, 25.0)
