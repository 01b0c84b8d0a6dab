"""H3 rankings grouped in numpy from the points kept in the process (issue 13, done-item 3)."""

from __future__ import annotations

import datetime as dt

import h3.api.basic_int as h3int
import numpy as np
import pandas as pd
import pytest
import shapely
import sqlalchemy as sa
from riskdb import insert_points

from com.analysis import risk
from com.analysis.risk import cellstore, h3columns
from com.analysis.risk import ranking as risk_ranking
from com.config.severity import load_severity_model

DAY = dt.date(2025, 3, 1)


def _insert(conn, n: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    """n points near random subdistricts, some undated, one stored category outside the model."""
    rng = np.random.default_rng(seed)
    subs = pd.DataFrame(conn.execute(sa.text(
        "SELECT code, district_code, province_code, ST_X(rep_point) AS lon, "
        "ST_Y(rep_point) AS lat FROM subdistricts WHERE province_code IN ('32', '31', '10') "
        "ORDER BY code")).mappings().all())
    pick = subs.iloc[rng.integers(0, len(subs), n)].reset_index(drop=True)
    days = [None if u < 0.1 else DAY - dt.timedelta(days=int(d))
            for u, d in zip(rng.random(n), rng.integers(-30, 900, n), strict=True)]
    insert_points(
        conn, cat=rng.choice(["drugs", "smuggling", "flood", "ufo", "unknown"], n).tolist(),
        sev=rng.integers(1, 6, n).tolist(), cnt=rng.integers(1, 4, n).tolist(), day=days,
        lon=(pick["lon"] + rng.normal(0, 0.02, n)).tolist(),
        lat=(pick["lat"] + rng.normal(0, 0.02, n)).tolist(), code=pick["code"].tolist(),
        district=pick["district_code"].tolist(), province=pick["province_code"].tolist())


def _random_filter(rng: np.random.Generator) -> dict:
    start = DAY - dt.timedelta(days=int(rng.integers(100, 900)))
    end = start + dt.timedelta(days=int(rng.integers(10, 600)))
    choice = {
        "province": rng.choice([None, "32", "31"]),
        "date_from": start if rng.random() < 0.4 else None,
        "date_to": end if rng.random() < 0.4 else None,
        "categories": (list(rng.choice(["drugs", "smuggling", "flood", "unknown"],
                                       int(rng.integers(1, 4)), replace=False))
                       if rng.random() < 0.4 else None),
        "min_severity": int(rng.integers(1, 6)) if rng.random() < 0.4 else None,
        "as_of": DAY + dt.timedelta(days=int(rng.integers(-60, 60))),
        "use_recency": bool(rng.random() < 0.8),
    }
    if choice["province"] is None:
        del choice["province"]
    return choice


def _exact(monkeypatch, conn, **kwargs):  # type: ignore[no-untyped-def]
    """The ranking from the per-point SQL aggregation (the numpy path switched off)."""
    with monkeypatch.context() as patch:
        patch.setattr(h3columns, "usable", lambda points, bbox: False)
        return risk.rank_areas(conn, **kwargs)


@pytest.mark.parametrize("res", [7, 8])
def test_numpy_grouping_equals_the_exact_per_point_query_on_random_filters(
    db, monkeypatch, res
):
    _insert(db, 600, seed=res)
    model = load_severity_model()  # with its context factors
    rng = np.random.default_rng(100 + res)
    for _ in range(12):
        kwargs = {"level": f"h3:{res}", "model": model, **_random_filter(rng)}
        got = risk.rank_areas(db, **kwargs).set_index("h3_cell")
        want = _exact(monkeypatch, db, **kwargs).set_index("h3_cell")
        assert sorted(got.index) == sorted(want.index), kwargs
        want = want.loc[got.index]
        assert (got["points"] == want["points"]).all()
        numeric = [c for c in got.columns if c.startswith(("cat_", "ctx_"))
                   or c in ("risk_score", "risk_per_km2")]
        np.testing.assert_allclose(got[numeric].to_numpy(float), want[numeric].to_numpy(float),
                                   rtol=1e-9, atol=1e-12, err_msg=str(kwargs))
        assert (got[["name_th", "name_en"]] == want[["name_th", "name_en"]]).all().all()


def test_details_and_empty_cells_equal_the_exact_query(db, monkeypatch):
    _insert(db, 200, seed=3)
    model = load_severity_model()
    kwargs = {"level": "h3:7", "province": "32", "as_of": DAY, "model": model,
              "with_details": True, "empty_cells": True}
    got = risk.rank_areas(db, **kwargs)
    want = _exact(monkeypatch, db, **kwargs)
    assert (got["points"] == 0).any()  # the cells without points are there
    assert list(got.columns) == list(want.columns)
    assert list(got["h3_cell"]) == list(want["h3_cell"])  # the same order (rank, then cell)
    numeric = want.select_dtypes("number").columns
    np.testing.assert_allclose(got[numeric].to_numpy(float), want[numeric].to_numpy(float),
                               rtol=1e-9, atol=1e-12)
    assert got.geometry.notna().all()


def test_a_large_ranking_makes_its_polygons_on_demand(db, flat_model, monkeypatch):
    _insert(db, 150, seed=4)
    monkeypatch.setattr(risk_ranking, "EAGER_POLYGONS", 10)
    ranked = risk.rank_areas(db, level="h3:8", as_of=DAY, model=flat_model)
    assert len(ranked) > 10 and ranked.geometry.isna().all()
    page = ranked.iloc[:5]
    document = risk.areas_to_geojson(page)
    for feature, code in zip(document["features"], page["h3_cell"], strict=True):
        ring = np.array(feature["geometry"]["coordinates"][0])[:, ::-1]  # lon,lat -> lat,lng
        expected = np.array(h3int.cell_to_boundary(h3int.str_to_int(code)))
        np.testing.assert_allclose(ring[:-1], expected, atol=1e-9)
    filled = risk.with_polygons(ranked)
    assert filled.geometry.notna().all() and ranked.geometry.isna().all()  # not in place
    cells = [h3int.str_to_int(c) for c in ranked["h3_cell"]]
    assert np.allclose(shapely.area(filled.geometry.to_numpy()),
                       [shapely.Polygon([p[::-1] for p in h3int.cell_to_boundary(c)]).area
                        for c in cells], rtol=1e-9)


def test_the_kept_columns_follow_a_committed_write(clean_engine, flat_model):
    h3columns.clear()
    with clean_engine.begin() as conn:
        _insert(conn, 50, seed=6)
        risk.rank_areas(conn, level="h3:8", as_of=DAY, model=flat_model)  # fills the cells
    assert not h3columns._kept  # that transaction wrote: nothing kept
    with clean_engine.connect() as conn:
        first = risk.rank_areas(conn, level="h3:8", as_of=DAY, model=flat_model)
        again = risk.rank_areas(conn, level="h3:8", as_of=DAY, model=flat_model)
    assert len(h3columns._kept) == 1  # read once, then kept
    pd.testing.assert_frame_equal(pd.DataFrame(first), pd.DataFrame(again))
    with clean_engine.begin() as conn:
        _insert(conn, 1, seed=7)
        risk.h3_point_totals(conn, "h3:8")  # fills the new point's cells
    with clean_engine.connect() as conn:
        after = risk.rank_areas(conn, level="h3:8", as_of=DAY, model=flat_model)
    assert after["points"].sum() == first["points"].sum() + 1
    with clean_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM risk_points WHERE id = (SELECT min(id) "
                             "FROM risk_points)"))
        # A transaction that has written reads its own columns and keeps none.
        mid = risk.rank_areas(conn, level="h3:8", as_of=DAY, model=flat_model)
        assert mid["points"].sum() == first["points"].sum()
    with clean_engine.connect() as conn:
        last = risk.rank_areas(conn, level="h3:8", as_of=DAY, model=flat_model)
    assert last["points"].sum() == first["points"].sum()


def test_point_totals_for_privacy_equal_the_exact_counts(db):
    _insert(db, 300, seed=8)
    totals = risk.h3_point_totals(db, "h3:8")
    cells = db.execute(sa.text(
        "SELECT h3_8, count(*) FROM risk_points GROUP BY h3_8")).all()
    assert totals == {h3int.int_to_str(c): n for c, n in cells}


def test_a_filter_without_points_gives_an_empty_ranking_in_a_fresh_process(db, monkeypatch):
    from com.analysis.risk import h3cells

    _insert(db, 20, seed=9)
    monkeypatch.setattr(h3cells, "SHAPES", h3cells.CellMemo())  # nothing known yet
    monkeypatch.setattr("com.analysis.risk.areas.SHAPES", h3cells.SHAPES)
    monkeypatch.setattr("com.analysis.risk.ranking.SHAPES", h3cells.SHAPES)
    ranked = risk.rank_areas(db, level="h3:8", date_from=DAY + dt.timedelta(days=1),
                             as_of=DAY, model=load_severity_model())
    assert ranked.empty and "h3_cell" in ranked.columns


def test_names_and_distances_made_in_chunks_equal_those_made_at_once(db, monkeypatch):
    """names_at and context_distances take the cells a chunk at a time (their peak memory)."""
    from com.analysis.risk import areas as risk_areas
    from com.analysis.risk import context as risk_context
    from com.analysis.risk import reference

    _insert(db, 300, seed=11)
    kwargs = {"level": "h3:8", "as_of": DAY, "model": load_severity_model(),
              "with_details": True}
    monkeypatch.setattr(cellstore, "ENABLED", False)  # nothing read back from the database
    reference.clear()  # the names and distances are computed, not taken from the memo
    whole = risk.rank_areas(db, **kwargs)
    reference.clear()
    monkeypatch.setattr(risk_areas, "NAME_STEP", 7)
    monkeypatch.setattr(risk_context, "POINT_STEP", 7)
    chunked = risk.rank_areas(db, **kwargs)
    assert len(whole) > 3 * 7  # several chunks
    assert (whole["name_th"] != "").sum() > 7
    assert whole[[c for c in whole.columns if c.startswith("dist_")]].notna().any().any()
    pd.testing.assert_frame_equal(pd.DataFrame(chunked.drop(columns="geometry")),
                                  pd.DataFrame(whole.drop(columns="geometry")))
