"""Issue 13: rankings from the rollup agree with the exact pass over every point.

Random points (every category of the model and an unknown one, severities 1-5, counts 1-4,
dates over three years with undated and future ones, some outside every area), random filters
(dates that start, end or cut a month, as_of before, inside and after the data, categories,
minimum severity, extents, recency off). The rollup answer must equal the exact one to 1e-9,
also after deletes, updates, a truncate and a rebuild with another half-life.
"""

from __future__ import annotations

import datetime as dt
import random

import pytest
import sqlalchemy as sa

from com.analysis.risk.areas import aggregate_codes
from com.analysis.risk.filters import AreaLevel, RiskFilter
from com.analysis.risk.rollup import rebuild_rollup, rollup_usable, split_months, total_answers
from com.config.severity import load_severity_model
from com.security.privacy import area_point_totals

pytestmark = pytest.mark.db

START = dt.date(2023, 1, 1)
DAYS = 3 * 365


def _insert_random_points(conn, rng: random.Random, n: int, categories: list[str]) -> None:
    subs = conn.execute(sa.text(
        "SELECT code, district_code, province_code FROM subdistricts "
        "WHERE province_code IN ('32', '31', '33') ORDER BY code"
    )).all()
    rows = []
    for _ in range(n):
        code, district, province = rng.choice(subs)
        if rng.random() < 0.03:  # outside every area (a point the boundaries do not hold)
            code = district = province = None
        day = None if rng.random() < 0.1 else START + dt.timedelta(days=rng.randrange(DAYS))
        rows.append({
            "cat": rng.choice(categories), "sev": rng.randint(1, 5), "n": rng.randint(1, 4),
            "day": day, "s": code, "d": district, "p": province,
        })
    conn.execute(sa.text(
        "INSERT INTO risk_points (category, severity, incident_count, reported_on, geom, "
        "subdistrict_code, district_code, province_code) VALUES (:cat, :sev, :n, :day, "
        "ST_SetSRID(ST_MakePoint(103.5, 14.9), 4326), :s, :d, :p)"
    ), rows)


def _random_day(rng: random.Random) -> dt.date:
    day = START + dt.timedelta(days=rng.randrange(-60, DAYS + 60))
    shape = rng.random()
    if shape < 0.25:
        return day.replace(day=1)  # starts a month
    if shape < 0.5:
        nxt = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
        return nxt - dt.timedelta(days=1)  # ends a month
    return day


def _random_filter(rng: random.Random, categories: list[str]) -> RiskFilter:
    start = _random_day(rng) if rng.random() < 0.5 else None
    end = _random_day(rng) if rng.random() < 0.5 else None
    if start and end and start > end:
        start, end = end, start
    province = rng.choice([None, None, "32", "31"])
    district = None
    if province == "32" and rng.random() < 0.5:
        district = "3206"
    return RiskFilter(
        province=province, district=district, date_from=start, date_to=end,
        categories=tuple(rng.sample(categories, rng.randint(1, 3)))
        if rng.random() < 0.3 else None,
        min_severity=rng.choice([None, None, 2, 4]),
        as_of=_random_day(rng) if rng.random() < 0.8 else None,
        use_recency=rng.random() < 0.85,
    )


def _compare(conn, model, filt: RiskFilter, level: str) -> int:
    lvl = AreaLevel.parse(level)
    key = ["code", "category"]
    fast, exact = (
        aggregate_codes(conn, lvl, filt, model, exact=exact)
        .fillna({"code": ""}).groupby(key, as_index=False).sum()
        for exact in (False, True)
    )
    merged = fast.merge(exact, on=key, how="outer", suffixes=("_r", "_e"), indicator=True)
    assert (merged["_merge"] == "both").all(), (filt, merged[merged["_merge"] != "both"])
    assert (merged["points_r"] == merged["points_e"]).all(), filt
    assert (merged["incidents_r"] == merged["incidents_e"]).all(), filt
    assert merged["base_r"].to_numpy() == pytest.approx(merged["base_e"].to_numpy(),
                                                       rel=1e-9, abs=1e-12), filt
    return len(merged)


def test_rollup_equals_exact_on_random_filters(conn):
    model = load_severity_model()
    categories = [*model.category_keys, "not_a_category"]
    rng = random.Random(20261203)
    _insert_random_points(conn, rng, 4000, categories)
    assert rollup_usable(conn, model)
    compared = 0
    for _ in range(60):
        compared += _compare(conn, model, _random_filter(rng, categories),
                             rng.choice(["subdistrict", "district", "province"]))
    assert compared > 1000  # the filters were not all empty

    # Deletes, updates of every rolled-up column, and inserts in one more statement.
    conn.execute(sa.text("DELETE FROM risk_points WHERE id % 7 = 0"))
    conn.execute(sa.text(
        "UPDATE risk_points SET severity = 1 + (severity % 5), incident_count = incident_count + 1,"
        " reported_on = reported_on + 17, category = 'border_crossing' WHERE id % 5 = 0"
    ))
    conn.execute(sa.text(
        "UPDATE risk_points SET subdistrict_code = NULL, district_code = NULL, "
        "province_code = NULL WHERE id % 11 = 0"
    ))
    _insert_random_points(conn, rng, 500, categories)
    for _ in range(30):
        _compare(conn, model, _random_filter(rng, categories),
                 rng.choice(["subdistrict", "district", "province"]))

    # The rollup holds exactly the points' counts (no row left at zero).
    totals = conn.execute(sa.text(
        "SELECT (SELECT count(*) FROM risk_points), (SELECT sum(points) FROM risk_rollup), "
        "(SELECT count(*) FROM risk_rollup WHERE points <= 0)"
    )).one()
    assert totals[0] == totals[1] and totals[2] == 0
    assert conn.execute(sa.text(
        "SELECT sum(points), count(*) FILTER (WHERE points <= 0) FROM risk_rollup_total"
    )).one() == (totals[0], 0)
    # The small-area rule's counts come from the rollup: the same as counting the points.
    for level in ("subdistrict", "district", "province"):
        column = f"{level}_code"
        counted = dict(conn.execute(sa.text(
            f"SELECT {column}, count(*) FROM risk_points WHERE {column} IS NOT NULL "
            f"GROUP BY 1")).all())
        assert area_point_totals(conn, level=level) == counted


def test_all_time_tier_answers_the_common_ranking(conn):
    model = load_severity_model()
    categories = [*model.category_keys, "not_a_category"]
    rng = random.Random(11)
    _insert_random_points(conn, rng, 2000, categories)
    after = START + dt.timedelta(days=DAYS + 30)
    for filt in (RiskFilter(as_of=after), RiskFilter(province="32", as_of=after),
                 RiskFilter(district="3206", categories=("drugs",), as_of=after),
                 RiskFilter(as_of=START, use_recency=False)):
        assert total_answers(conn, filt)
        for level in ("subdistrict", "district", "province"):
            _compare(conn, model, filt, level)
    # Before the latest point, or with a date or severity filter: the month tier.
    assert not total_answers(conn, RiskFilter(as_of=START + dt.timedelta(days=DAYS // 2)))
    assert not total_answers(conn, RiskFilter(as_of=after, min_severity=2))
    assert not total_answers(conn, RiskFilter(as_of=after, date_from=START))
    # Deleting the latest points keeps the anchor (an upper bound) and the sums exact.
    conn.execute(sa.text("DELETE FROM risk_points WHERE reported_on > :d"),
                 {"d": START + dt.timedelta(days=DAYS - 200)})
    _insert_random_points(conn, rng, 300, categories)
    for level in ("subdistrict", "district", "province"):
        _compare(conn, model, RiskFilter(as_of=after), level)


def test_rebuild_with_another_half_life(conn):
    model = load_severity_model()
    rng = random.Random(7)
    _insert_random_points(conn, rng, 1500, list(model.category_keys))
    other = model.model_copy(update={
        "recency": model.recency.model_copy(update={"half_life_days": 90.0})})
    assert not rollup_usable(conn, other)  # a ranking with it runs the exact query
    rows = rebuild_rollup(conn, half_life_days=90.0)
    assert rows > 0 and rollup_usable(conn, other) and not rollup_usable(conn, model)
    for _ in range(20):
        _compare(conn, other, _random_filter(rng, list(model.category_keys)), "subdistrict")
    rebuild_rollup(conn, half_life_days=model.recency.half_life_days)


def test_truncate_empties_the_rollup(conn):
    model = load_severity_model()
    _insert_random_points(conn, random.Random(1), 200, list(model.category_keys))
    conn.execute(sa.text("TRUNCATE risk_points CASCADE"))
    assert conn.execute(sa.text("SELECT count(*) FROM risk_rollup")).scalar_one() == 0


@pytest.mark.parametrize(("start", "end", "as_of", "whole", "exact"), [
    # Whole months only: nothing from the points.
    ("2024-01-01", "2024-03-31", "2024-03-31", ("2024-01-01", "2024-03-01"), ()),
    # A filter cutting two months and an as_of inside a third.
    ("2024-01-15", "2024-03-10", "2024-05-20", ("2024-02-01", "2024-02-01"),
     ("2024-01-01", "2024-03-01", "2024-05-01")),
    # Within one month: no whole month.
    ("2024-02-03", "2024-02-20", "2024-02-29", ("2024-03-01", "2024-01-01"), ("2024-02-01",)),
])
def test_month_split(start, end, as_of, whole, exact):
    iso = dt.date.fromisoformat
    split = split_months(RiskFilter(date_from=iso(start), date_to=iso(end), as_of=iso(as_of)))
    assert (split.full_from, split.full_to) == (iso(whole[0]), iso(whole[1]))
    assert split.exact_months == tuple(iso(m) for m in exact)


def test_month_split_without_recency_needs_no_as_of_month():
    split = split_months(RiskFilter(as_of=dt.date(2024, 5, 20), use_recency=False))
    assert split == split_months(RiskFilter(as_of=dt.date(2024, 5, 31)))
    assert split.exact_months == ()
