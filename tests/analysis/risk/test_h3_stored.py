"""H3 cells stored with every risk point (0010_h3cells) and the H3 rankings made from them."""

from __future__ import annotations

import csv
import datetime as dt
import io

import h3.api.basic_int as h3int
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from riskdb import insert_points

from com.analysis import risk
from com.analysis.risk import areas as risk_areas
from com.errors import ValidationError
from com.geo.h3 import STORED_RESOLUTIONS, latlng_to_cells, stored_cells
from com.ingest import ImportOptions, import_upload

DAY = dt.date(2025, 3, 1)
COLUMNS = ", ".join(f"h3_{r}" for r in STORED_RESOLUTIONS)


def test_vectorised_cells_equal_h3_per_point_on_random_points():
    rng = np.random.default_rng(13)
    lat = np.concatenate([rng.uniform(5.6, 20.5, 20_000), rng.uniform(-89.9, 89.9, 5_000)])
    lon = np.concatenate([rng.uniform(97.3, 105.7, 20_000), rng.uniform(-179.9, 179.9, 5_000)])
    for res in (0, *STORED_RESOLUTIONS, 15):
        expected = [h3int.latlng_to_cell(a, o, res) for a, o in zip(lat, lon, strict=True)]
        assert latlng_to_cells(lat, lon, res).tolist() == expected
    cells = stored_cells(lat[:10], lon[:10])
    assert list(cells) == ["h3_6", "h3_7", "h3_8", "h3_9"]


def _stored(conn) -> pd.DataFrame:
    return pd.DataFrame(conn.execute(sa.text(
        f"SELECT ST_Y(geom) AS lat, ST_X(geom) AS lon, {COLUMNS} FROM risk_points"
    )).mappings().all())


def _assert_cells_are_h3s(frame: pd.DataFrame) -> None:
    assert len(frame)
    for res in STORED_RESOLUTIONS:
        expected = [h3int.latlng_to_cell(a, o, res)
                    for a, o in zip(frame["lat"], frame["lon"], strict=True)]
        assert frame[f"h3_{res}"].tolist() == expected


def test_an_upload_stores_the_cells_of_each_point(db, test_settings):
    rng = np.random.default_rng(3)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["ชื่อ", "ประเภท", "ระดับ", "lat", "lon", "ที่อยู่"])
    for i in range(40):
        writer.writerow([f"p{i}", "ยาเสพติด", "3", f"{rng.uniform(14.6, 15.2):.6f}",
                         f"{rng.uniform(103.3, 103.9):.6f}", ""])
    writer.writerow(["by address", "ยาเสพติด", "3", "", "", "ต.ทมอ อ.ปราสาท จ.สุรินทร์"])
    summary = import_upload(db, out.getvalue().encode(), "h3.csv",
                            options=ImportOptions(province_code="32"), settings=test_settings)
    assert summary.stored >= 30  # a few random points fall outside Surin and are rejected
    stored = _stored(db)
    assert len(stored) == summary.stored
    _assert_cells_are_h3s(stored)


def test_the_demo_stores_the_cells(clean_engine, test_settings):
    from com.demo import load_demo_data

    load_demo_data(clean_engine, test_settings)
    with clean_engine.connect() as conn:
        _assert_cells_are_h3s(_stored(conn))


def _random_points(conn, n: int, seed: int) -> pd.DataFrame:
    """n points over the country written by plain SQL (no cells: filled before ranking)."""
    rng = np.random.default_rng(seed)
    subs = pd.DataFrame(conn.execute(sa.text(
        "SELECT code, district_code, province_code, ST_X(rep_point) AS lon, "
        "ST_Y(rep_point) AS lat FROM subdistricts ORDER BY code")).mappings().all())
    pick = subs.iloc[rng.integers(0, len(subs), n)].reset_index(drop=True)
    frame = pd.DataFrame({
        "lon": pick["lon"] + rng.normal(0, 0.01, n), "lat": pick["lat"] + rng.normal(0, 0.01, n),
        "code": pick["code"], "district": pick["district_code"],
        "province": pick["province_code"],
        "category": rng.choice(["drugs", "smuggling", "flood", "ufo"], n),
        "severity": rng.integers(1, 6, n), "count": rng.integers(1, 4, n),
        "day": [DAY - dt.timedelta(days=int(d)) for d in rng.integers(0, 900, n)],
    })
    # A few points share a location, as real data does.
    frame.loc[1::7, ["lon", "lat"]] = frame.loc[0::7, ["lon", "lat"]].to_numpy()[
        : len(frame.loc[1::7])]
    insert_points(conn, cat=frame["category"], sev=frame["severity"], cnt=frame["count"],
                  day=frame["day"], lon=frame["lon"], lat=frame["lat"], code=frame["code"],
                  district=frame["district"], province=frame["province"])
    return frame


@pytest.mark.parametrize("res", [6, 8, 10])
def test_national_h3_ranking_equals_a_per_point_aggregation(db, flat_model, res):
    frame = _random_points(db, 400, seed=res)
    ranked = risk.rank_areas(db, level=f"h3:{res}", as_of=DAY, model=flat_model)
    if res in STORED_RESOLUTIONS:  # rows written by plain SQL got their cells first
        assert db.execute(sa.text("SELECT count(*) FROM risk_points WHERE h3_6 IS NULL")
                          ).scalar_one() == 0
        _assert_cells_are_h3s(_stored(db))
    # The independent computation: h3 per point, the documented weights, a groupby.
    frame["cell"] = [h3int.int_to_str(h3int.latlng_to_cell(a, o, res))
                     for a, o in zip(frame["lat"], frame["lon"], strict=True)]
    points = frame.rename(columns={"count": "incident_count", "day": "reported_on"})
    frame["w"] = risk.point_weights(points, flat_model, as_of=DAY)
    expected = frame.groupby("cell").agg(points=("w", "size"), score=("w", "sum"))
    got = ranked.set_index("h3_cell")
    assert sorted(got.index) == sorted(expected.index)  # the cells with points, no others
    assert (got["points"] == expected["points"].reindex(got.index)).all()
    np.testing.assert_allclose(got["risk_score"], expected["score"].reindex(got.index),
                               rtol=1e-9)
    km2 = [h3int.cell_area(h3int.str_to_int(c), "km^2") for c in got.index]
    np.testing.assert_allclose(got["risk_per_km2"], got["risk_score"] / km2, rtol=1e-12)
    assert got["name_th"].str.len().gt(0).mean() > 0.9  # cells are named after their tambon
    # A second call (cells, names and distances memoised in the process) answers the same.
    again = risk.rank_areas(db, level=f"h3:{res}", as_of=DAY, model=flat_model)
    pd.testing.assert_frame_equal(pd.DataFrame(again), pd.DataFrame(ranked))


def test_the_cap_is_checked_first_and_names_the_real_count(db, flat_model, monkeypatch):
    _random_points(db, 200, seed=5)
    risk.rank_areas(db, level="h3:9", as_of=DAY, model=flat_model)  # fills the cells
    cells = db.execute(sa.text("SELECT count(DISTINCT h3_9) FROM risk_points")).scalar_one()
    monkeypatch.setattr(risk_areas, "MAX_H3_CELLS", cells - 1)

    def no_work(*args, **kwargs):
        raise AssertionError("the ranking worked before checking the cap")

    # The points' columns may be read (the cells are counted from them), but nothing is done
    # per cell: no areas, names, distances or polygons, no aggregation in SQL.
    monkeypatch.setattr("com.analysis.risk.ranking.aggregate_h3", no_work)
    monkeypatch.setattr("com.analysis.risk.ranking.h3_areas", no_work)
    monkeypatch.setattr("com.analysis.risk.ranking._h3_context", no_work)
    with pytest.raises(ValidationError, match=f"{cells:,} cells hold points") as refused:
        risk.rank_areas(db, level="h3:9", as_of=DAY, model=flat_model)
    assert f"{cells - 1:,}" in str(refused.value) and "ช่อง" in str(refused.value)
    monkeypatch.undo()
    assert len(risk.rank_areas(db, level="h3:9", as_of=DAY, model=flat_model)) == cells
