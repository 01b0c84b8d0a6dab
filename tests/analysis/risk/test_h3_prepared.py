"""H3 rankings kept up to the data after writes (issue 13, done-item 3).

After an upload only the points added are read and merged into the kept columns (when that is
exact), and ``prepare_h3`` (an upload's or a geodata load's work after its commit) keeps the
national columns and per-cell values ready, so the first ranking after a load computes nothing.
"""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from clikit import run_cli
from test_h3_kept import (
    _committed_points,
    _count,
    _fresh_process,
    _refuse,
    _snapshot_state,
    _version,
)
from test_rollup_pending import _file

from com.analysis import risk
from com.analysis.risk import areas as risk_areas
from com.analysis.risk import cellstore, h3cells, h3columns
from com.analysis.risk import ranking as risk_ranking
from com.config.severity import load_severity_model
from com.ingest.options import ImportOptions
from com.ingest.uploads import import_upload

DAY = dt.date(2025, 3, 1)


def _frame(ranked) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    return pd.DataFrame(ranked.drop(columns="geometry"))


def _computed(engine, monkeypatch, **kwargs) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """The ranking made from every point, nothing kept read or written."""
    with monkeypatch.context() as patch:
        patch.setattr(cellstore, "ENABLED", False)
        patch.setattr(h3columns, "SNAPSHOT_MIN_POINTS", 10**9)
        patch.setattr(h3columns._Snapshot, "read", lambda _self, _conn: None)
        h3columns.clear()
        with engine.connect() as conn:
            out = _frame(risk.rank_areas(conn, **kwargs))
        h3columns.clear()
    return out


def _upload(engine, seed: int, n: int) -> int:  # type: ignore[no-untyped-def]
    """Add points as an upload does (with their cells: no UPDATE); return how many."""
    with engine.begin() as conn:
        return import_upload(conn, _file(seed, n), f"{seed}.csv",
                             options=ImportOptions(province_code="32")).stored


def _kwargs(**more: object) -> dict:
    return {"level": "h3:8", "as_of": DAY, "model": load_severity_model(),
            "with_details": True, **more}


def _refuse_full_reads(monkeypatch) -> list[int]:  # type: ignore[no-untyped-def]
    """Let only reads of points above a kept id through; return the ids they started after."""
    started: list[int] = []
    fetch = h3columns._fetch

    def only_since(conn, resolution, filt, keys, *, after=0, count_all=False):  # type: ignore[no-untyped-def]
        if not after:
            raise AssertionError("every point read again")
        started.append(after)
        return fetch(conn, resolution, filt, keys, after=after, count_all=count_all)

    monkeypatch.setattr(h3columns, "_fetch", only_since)
    return started


@pytest.mark.parametrize("extent", [{}, {"province": "32"}])
def test_points_added_are_merged_into_the_kept_columns(clean_engine, monkeypatch, extent):
    monkeypatch.setattr(h3columns, "SNAPSHOT_MIN_POINTS", 1)
    _committed_points(clean_engine, 300, seed=41)
    kwargs = _kwargs(**extent)
    with clean_engine.connect() as conn:
        risk.rank_areas(conn, **kwargs)  # keeps the columns, in the process and a snapshot
    added = _upload(clean_engine, 42, 40)  # cells new and known, other categories
    assert added > 30
    # Another process: the snapshot kept before the upload, plus the points added.
    in_this_process = h3columns._kept.copy()
    h3columns.clear()
    with monkeypatch.context() as patch:
        started = _refuse_full_reads(patch)
        with clean_engine.connect() as conn:
            new_process = _frame(risk.rank_areas(conn, **kwargs))
    assert len(started) == 1
    # The same process: only the points above the highest id it kept are read.
    h3columns._kept.update(in_this_process)
    with monkeypatch.context() as patch:
        started = _refuse_full_reads(patch)
        with clean_engine.connect() as conn:
            in_process = _frame(risk.rank_areas(conn, **kwargs))
    assert len(started) == 1
    want = _computed(clean_engine, monkeypatch, **kwargs)
    pd.testing.assert_frame_equal(in_process, want)
    pd.testing.assert_frame_equal(new_process, want)
    assert int(want["points"].sum()) == _count(
        clean_engine, "province_code = '32'" if extent else "true")


@pytest.mark.parametrize("change", ["delete", "update", "late insert"])
def test_points_are_read_again_when_merging_would_not_be_exact(clean_engine, monkeypatch,
                                                               change):
    monkeypatch.setattr(h3columns, "SNAPSHOT_MIN_POINTS", 1)
    _committed_points(clean_engine, 200, seed=43)
    kwargs = _kwargs()
    with clean_engine.connect() as conn:
        risk.rank_areas(conn, **kwargs)
    added = _upload(clean_engine, 44, 20)  # added above the highest id kept...
    with clean_engine.begin() as conn:
        if change == "delete":  # ...and one removed: its generation changes
            conn.execute(sa.text("DELETE FROM risk_points WHERE id = (SELECT min(id) "
                                 "FROM risk_points)"))
        elif change == "update":  # ...and one moved to another category and severity
            conn.execute(sa.text("UPDATE risk_points SET category = 'smuggling', severity = 5 "
                                 "WHERE id = (SELECT min(id) FROM risk_points)"))
        else:  # ...and one below it, as an insert that committed after the columns were read
            conn.execute(sa.text(
                "INSERT INTO risk_points (id, category, severity, incident_count, geom, "
                "subdistrict_code, district_code, province_code, reported_on, h3_6, h3_7, "
                "h3_8, h3_9) SELECT -7, category, severity, incident_count, geom, "
                "subdistrict_code, district_code, province_code, reported_on, h3_6, h3_7, "
                "h3_8, h3_9 FROM risk_points WHERE id = (SELECT max(id) FROM risk_points)"))
    got = []
    for fresh in (False, True):  # the columns kept in this process, then the snapshot
        if fresh:
            h3columns.clear()
        with clean_engine.connect() as conn:
            got.append(_frame(risk.rank_areas(conn, **kwargs)))
    want = _computed(clean_engine, monkeypatch, **kwargs)
    for frame in got:
        pd.testing.assert_frame_equal(frame, want)
    assert int(want["points"].sum()) == (200 + added - (change == "delete")
                                         + (change == "late insert"))


def test_a_few_points_added_leave_the_snapshot_to_the_refresh(clean_engine, monkeypatch):
    monkeypatch.setattr(h3columns, "SNAPSHOT_MIN_POINTS", 1)
    _committed_points(clean_engine, 400, seed=45)
    with clean_engine.connect() as conn:
        risk.rank_areas(conn, **_kwargs())
    before = _snapshot_state(clean_engine)
    few = _upload(clean_engine, 46, 12)  # under an eighth: merged, not written
    assert 0 < few < 50
    with clean_engine.connect() as conn:
        risk.rank_areas(conn, **_kwargs())
    assert _snapshot_state(clean_engine) == before
    more = _upload(clean_engine, 47, 110)  # an eighth or more: written again
    with clean_engine.connect() as conn:
        risk.rank_areas(conn, **_kwargs())
    assert [(n, v) for _r, _e, n, v in _snapshot_state(clean_engine)] == [
        (400 + few + more, _version(clean_engine))]


def _kinds(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return dict(conn.execute(sa.text(
            "SELECT split_part(kind, ':', 1), sum(n) FROM h3_cell_values "
            "WHERE kind LIKE :resolution GROUP BY 1"), {"resolution": "%:8%"}).all())


def _ranks_without_computing(engine, monkeypatch, **kwargs) -> pd.DataFrame:  # type: ignore[no-untyped-def]
    """Rank as a new process may when everything was kept: nothing computed, no point read."""
    _fresh_process(monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(risk_areas, "names_at", _refuse)
        patch.setattr(risk_ranking, "factor_table", _refuse)
        patch.setattr(h3cells, "cell_shapes", _refuse)
        patch.setattr(h3columns, "_fetch", _refuse)
        with engine.connect() as conn:
            return _frame(risk.rank_areas(conn, **kwargs))


def test_prepare_keeps_the_national_ranking_ready(clean_engine, monkeypatch):
    monkeypatch.setattr(risk_ranking, "PREPARE_MIN_POINTS", 1)
    _committed_points(clean_engine, 250, seed=48)
    _fresh_process(monkeypatch)  # (cells of earlier tests are known in this process)
    assert risk_ranking.prepare_h3(clean_engine, load_severity_model(), [8, 5]) == [8]
    kinds = _kinds(clean_engine)
    assert set(kinds) == {"shapes", "names", "distances"}
    assert [(r, e) for r, e, _n, _v in _snapshot_state(clean_engine)] == [(8, "*:*")]
    kwargs = _kwargs()
    ready = _ranks_without_computing(clean_engine, monkeypatch, **kwargs)
    assert kinds == {"shapes": len(ready), "names": len(ready), "distances": len(ready)}
    pd.testing.assert_frame_equal(ready, _computed(clean_engine, monkeypatch, **kwargs))
    # After more points, the next prepare computes only their new cells.
    _committed_points(clean_engine, 30, seed=49)
    asked: list[int] = []
    shapes = h3cells.cell_shapes

    def counted(cells):  # type: ignore[no-untyped-def]
        asked.append(len(cells))
        return shapes(cells)

    _fresh_process(monkeypatch)
    monkeypatch.setattr(h3cells, "cell_shapes", counted)
    assert risk_ranking.prepare_h3(clean_engine, load_severity_model()) == [8]
    monkeypatch.undo()
    monkeypatch.setattr(risk_ranking, "PREPARE_MIN_POINTS", 1)
    assert 0 < sum(asked) <= 30
    ready = _ranks_without_computing(clean_engine, monkeypatch, **kwargs)
    assert int(ready["points"].sum()) == 280
    pd.testing.assert_frame_equal(ready, _computed(clean_engine, monkeypatch, **kwargs))


def test_prepare_leaves_a_small_country_to_its_first_ranking(clean_engine, monkeypatch):
    monkeypatch.setattr(risk_ranking, "PREPARE_MIN_POINTS", 251)
    _committed_points(clean_engine, 250, seed=50)
    assert risk_ranking.prepare_h3(clean_engine, load_severity_model()) == []
    assert _kinds(clean_engine) == {} and _snapshot_state(clean_engine) == []


def test_the_country_cells_are_every_cell_a_point_of_the_country_can_fall_in(clean_engine):
    h3int = h3cells.h3_api()
    with clean_engine.connect() as conn:
        cells = risk_areas.country_cells(conn, 7)
        km2 = conn.execute(sa.text("SELECT sum(area_km2) FROM provinces")).scalar_one()
        inside = conn.execute(sa.text(  # a point inside each tambon, and the border's vertices
            "SELECT ST_Y(rep_point), ST_X(rep_point) FROM subdistricts UNION ALL "
            "SELECT ST_Y(g), ST_X(g) FROM (SELECT (ST_DumpPoints(geom)).geom AS g "
            "FROM provinces WHERE code IN ('32', '34')) AS v")).all()
    assert cells is not None and np.all(cells[1:] > cells[:-1])  # sorted, each once
    assert set(h3cells.cell_resolutions(cells)) == {7}
    hexagons = km2 / h3int.cell_area(h3int.latlng_to_cell(15.0, 101.0, 7), "km^2")
    assert 0.97 * hexagons < len(cells) < 1.05 * hexagons  # (cells over the border too)
    points = {h3int.latlng_to_cell(lat, lon, 7) for lat, lon in inside}
    assert len(inside) > 7425 and points <= set(cells.tolist())


def test_the_country_cells_are_not_made_beyond_the_cap(clean_engine, monkeypatch):
    import h3ronpy.vector

    made: list[int] = []
    polyfill = h3ronpy.vector.wkb_to_cells

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = polyfill(*args, **kwargs)
        made.append(len(out))
        return out

    monkeypatch.setattr(h3ronpy.vector, "wkb_to_cells", counted)
    with clean_engine.connect() as conn:
        assert risk_areas.country_cells(conn, 9) is None  # about 4 million cells
        monkeypatch.setattr(risk_areas, "MAX_H3_CELLS", 20_000)
        assert risk_areas.country_cells(conn, 7) is None  # about 90,000
        assert made == []  # refused before any cell was made
        assert 0 < len(risk_areas.country_cells(conn, 6)) < 20_000
        conn.execute(sa.text("CREATE TEMP TABLE provinces (LIKE public.provinces)"))
        assert risk_areas.country_cells(conn, 6) is None  # nothing loaded
    assert len(made) == 1


def test_prepare_for_the_country_keeps_every_cell_for_points_written_any_way(
        clean_engine, monkeypatch):
    model = load_severity_model()
    _committed_points(clean_engine, 300, seed=52)  # plain SQL: no upload prepared anything
    _fresh_process(monkeypatch)
    assert risk_ranking.prepare_h3_country(clean_engine, model, [7, 9]) == [7]  # 9: over the cap
    with clean_engine.connect() as conn:
        country = risk_areas.country_cells(conn, 7)
        kinds = dict(conn.execute(sa.text(
            "SELECT split_part(kind, ':', 1), sum(n) FROM h3_cell_values GROUP BY 1")).all())
    assert kinds == {"shapes": len(country), "names": len(country), "distances": len(country)}
    assert _snapshot_state(clean_engine) == []  # the points are a ranking's to read
    # A new process ranks the points: no value of a cell of the country is computed.
    computed: list[np.ndarray] = []
    shapes, names, factors = h3cells.cell_shapes, risk_areas.names_at, risk_ranking.factor_table

    def shapes_of(cells):  # type: ignore[no-untyped-def]
        computed.append(np.asarray(cells))
        return shapes(cells)

    _fresh_process(monkeypatch)
    kwargs = _kwargs(level="h3:7")
    with monkeypatch.context() as patch:
        patch.setattr(h3cells, "cell_shapes", shapes_of)
        patch.setattr(risk_areas, "names_at", lambda *a: (computed.append(a[2]), names(*a))[1])
        patch.setattr(risk_ranking, "factor_table",
                      lambda *a: (computed.append(a[0]), factors(*a))[1])
        with clean_engine.connect() as conn:
            ready = _frame(risk.rank_areas(conn, **kwargs))
    assert int(ready["points"].sum()) == 300
    # (Only a cell outside every province, a point at sea, could be computed: none here.)
    assert [len(c) for c in computed] == []
    pd.testing.assert_frame_equal(ready, _computed(clean_engine, monkeypatch, **kwargs))


def test_the_api_prepares_the_h3_ranking_after_an_upload(clean_engine, test_settings,
                                                         monkeypatch):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from com.security.access import Principal

    monkeypatch.setattr(risk_ranking, "PREPARE_MIN_POINTS", 1)
    _fresh_process(monkeypatch)  # (cells of earlier tests are known in this process)
    staff = Principal(kind="user", name="staff-surin", role="staff", province_code="32",
                      scopes=frozenset({"read", "write"}))
    app = create_app(test_settings.model_copy(update={"h3_prepared_resolutions": [8, 7]}))
    app.state.principal_resolvers.append(lambda request: staff)
    with TestClient(app) as client:
        posted = client.post("/api/uploads", files={"file": ("a.csv", _file(34, 90), "text/csv")},
                             data={"province": "32"})
        assert posted.status_code == 201, posted.text
        app.state.rollup_folder.submit([]).result(timeout=60)  # the folds before it are done
    stored = posted.json()["stored"]
    assert [(r, e, n) for r, e, n, _v in _snapshot_state(clean_engine)] == [
        (7, "*:*", stored), (8, "*:*", stored)]
    for level in ("h3:7", "h3:8"):
        ready = _ranks_without_computing(clean_engine, monkeypatch, **_kwargs(level=level))
        assert int(ready["points"].sum()) == stored


def test_com_import_prepares_the_h3_ranking(clean_engine, test_settings, tmp_path,
                                            monkeypatch, capsys):
    monkeypatch.setattr(risk_ranking, "PREPARE_MIN_POINTS", 1)
    _fresh_process(monkeypatch)  # (cells of earlier tests are known in this process)
    source = tmp_path / "points.csv"
    source.write_bytes(_file(35, 70))
    code, out, err = run_cli(monkeypatch, capsys, test_settings, "import", str(source),
                              "--province", "32")
    assert code == 0, err
    stored = json.loads(out)["stored"]
    assert stored > 50
    assert [(r, e, n) for r, e, n, _v in _snapshot_state(clean_engine)] == [(8, "*:*", stored)]
    assert set(_kinds(clean_engine)) == {"shapes", "names", "distances"}


@pytest.mark.parametrize(("given", "want"), [("8,9", [8, 9]), ("[7]", [7]), ("", []),
                                             ("8, 8", [8])])
def test_prepared_resolutions_setting(monkeypatch, given, want):
    from com.config.settings import Settings

    monkeypatch.setenv("COM_H3_PREPARED_RESOLUTIONS", given)
    assert Settings(_env_file=None).h3_prepared_resolutions == want


def test_prepared_resolutions_outside_the_stored_ones_are_refused(monkeypatch):
    from pydantic import ValidationError

    from com.config.settings import Settings

    monkeypatch.setenv("COM_H3_PREPARED_RESOLUTIONS", "8,10")
    with pytest.raises(ValidationError, match="10 is not a stored H3 resolution"):
        Settings(_env_file=None)


def test_com_geodata_load_prepares_the_h3_ranking_again(clean_engine, test_settings,
                                                        geodata_dir, monkeypatch, capsys):
    monkeypatch.setattr(risk_ranking, "PREPARE_MIN_POINTS", 1)
    _committed_points(clean_engine, 120, seed=51)
    with clean_engine.begin() as conn:  # nothing kept: only the load's own work keeps values
        conn.execute(sa.text("TRUNCATE h3_cell_values, h3_point_snapshots"))
    _fresh_process(monkeypatch)
    code, out, err = run_cli(monkeypatch, capsys, test_settings, "geodata", "load",
                             str(geodata_dir), "--quiet")
    assert code == 0, err
    assert json.loads(out)["counts"]["subdistricts"] == 7425
    with clean_engine.connect() as conn:
        version = f"{cellstore.FORMAT}:{cellstore.reference_version(conn)}"
        kinds = conn.execute(sa.text("SELECT split_part(kind, ':', 1) FROM h3_cell_values "
                                     "WHERE version = :v"), {"v": version}).scalars().all()
    assert sorted(kinds) == ["distances", "names"]  # of the reference data now loaded
    assert [(r, e, n) for r, e, n, _v in _snapshot_state(clean_engine)] == [(8, "*:*", 120)]


def test_com_import_stands_when_preparing_fails(clean_engine, test_settings, tmp_path,
                                                monkeypatch, capsys):
    def broken(*_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("the server went away"))

    monkeypatch.setattr(risk_ranking, "prepare_h3", broken)
    source = tmp_path / "points.csv"
    source.write_bytes(_file(36, 30))
    code, out, err = run_cli(monkeypatch, capsys, test_settings, "import", str(source),
                             "--province", "32", "--quiet")
    assert code == 0, err
    assert json.loads(out)["stored"] == _count(clean_engine, "true")  # stored, and said so
    assert "H3 rankings not prepared" in err and "the server went away" in err


def _layout() -> tuple[dict[str, np.ndarray], bytes]:
    arrays = {"cells": np.array([5, 9, 11], dtype=np.int64),
              "cell": np.array([0, 2, 2, 1, 0], dtype=np.int32),
              "category": np.array([1, 0, 3, 3, 2], dtype=np.int16),
              "severity": np.array([5, 1, 2, 3, 4], dtype=np.int16),
              "count": np.array([1, 1, 7, 2, 1], dtype=np.int32),
              "day": np.array([-2**31, 0, 19000, 19001, 20000], dtype=np.int32)}
    return arrays, h3columns._packed(arrays, {"upto": 41, "generation": 7})


def test_a_snapshot_layout_reads_back_as_written():
    arrays, data = _layout()
    got, stamp = h3columns._unpacked(data)
    assert stamp == {"upto": 41, "generation": 7}
    assert set(got) == set(arrays)
    for name, values in arrays.items():
        assert got[name].dtype == values.dtype
        np.testing.assert_array_equal(got[name], values)


@pytest.mark.parametrize("damage", [
    lambda d: d[:len(d) // 2],  # cut short
    lambda d: b"\xff" * 8 + d[8:],  # a header length beyond the data
    lambda d: d.replace(b'"<i2"', b'"|O"'),  # an object type (never read from bytes)
    lambda d: d.replace(b'"category"', b'"categorx"'),  # a column missing
    lambda d: b"",
])
def test_a_snapshot_layout_that_is_not_whole_is_refused(damage):
    _arrays, data = _layout()
    with pytest.raises((ValueError, KeyError, TypeError)):
        h3columns._unpacked(damage(data))
