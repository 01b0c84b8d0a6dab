"""H3 values kept in the database for the next process (issue 13, done-item 3).

Per cell (areas, centres, names, context distances: com.analysis.risk.cellstore) and the points'
columns of an extent (h3columns' snapshots): a new process reads them instead of computing.
"""

from __future__ import annotations

import datetime as dt
import logging

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from test_h3_columns import _insert
from test_rollup_pending import _file

from com.analysis import risk
from com.analysis.risk import areas as risk_areas
from com.analysis.risk import cellstore, h3cells, h3columns, reference
from com.analysis.risk import ranking as risk_ranking
from com.config.severity import load_severity_model
from com.ingest.options import ImportOptions
from com.ingest.uploads import import_upload

DAY = dt.date(2025, 3, 1)
KIND = "test:kept"


def _values(cells: np.ndarray) -> dict[str, np.ndarray]:
    """Values made from the cells alone, with NaN, Thai text and control characters."""
    cells = np.asarray(cells, dtype=np.int64)
    half = (cells % 1000) / 2.0
    half[cells % 7 == 0] = np.nan
    odd = "a\x1fb\x1ec\t\\\n\"'"
    label = np.array([f"ตำบล {c % 13}" if c % 5 else odd for c in cells.tolist()], dtype=object)
    return {"half": half, "label": label, "code": np.array([str(c) for c in cells.tolist()],
                                                           dtype=object)}


class _Counting:
    def __init__(self) -> None:
        self.asked: list[np.ndarray] = []

    def __call__(self, cells: np.ndarray) -> dict[str, np.ndarray]:
        self.asked.append(np.asarray(cells).copy())
        return _values(cells)


def _stored(conn, cells, compute, version="v1"):  # type: ignore[no-untyped-def]
    return cellstore.stored(conn, KIND, version, np.asarray(cells, dtype=np.int64), compute,
                            floats=("half",), texts=("label", "code"))


def _check(got: dict[str, np.ndarray], cells: np.ndarray) -> None:
    want = _values(cells)
    np.testing.assert_array_equal(got["half"], want["half"])  # NaN where NaN
    assert got["label"].tolist() == want["label"].tolist()
    assert got["code"].tolist() == want["code"].tolist()


@pytest.fixture()
def kept(clean_engine):  # type: ignore[no-untyped-def]
    with clean_engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM h3_cell_values WHERE kind = :k"), {"k": KIND})
    return clean_engine


def _batches(engine) -> list[tuple]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT version, n FROM h3_cell_values WHERE kind = :k ORDER BY batch"),
            {"k": KIND}).all()


def test_values_are_computed_once_then_read_by_any_later_call(kept):
    first_cells = np.arange(1000, 1100, dtype=np.int64) * 13
    compute = _Counting()
    with kept.connect() as conn:
        _check(_stored(conn, first_cells, compute), first_cells)
        conn.rollback()  # the values were committed beside the caller's transaction
    assert len(compute.asked) == 1 and _batches(kept) == [(f"{cellstore.FORMAT}:v1", 100)]
    # More cells, unordered and with repeats: only the new ones are computed.
    cells = np.concatenate([first_cells[::-3], np.arange(5000, 5040) * 13, first_cells[:5]])
    with kept.connect() as conn:
        _check(_stored(conn, cells, compute), cells)
    assert len(compute.asked) == 2
    assert sorted(compute.asked[1].tolist()) == sorted(set((np.arange(5000, 5040) * 13).tolist()))
    with kept.connect() as conn:
        _check(_stored(conn, cells, compute), cells)
    assert len(compute.asked) == 2  # everything kept now


def test_another_version_computes_afresh_and_the_old_one_goes(kept):
    cells = np.arange(1, 60, dtype=np.int64)
    compute = _Counting()
    with kept.connect() as conn:
        _stored(conn, cells, compute, version="v1")
        _stored(conn, cells, compute, version="v2")
    assert len(compute.asked) == 2
    assert _batches(kept) == [(f"{cellstore.FORMAT}:v2", 59)]
    with kept.connect() as conn:  # without a version (a transaction that wrote): nothing kept
        _check(_stored(conn, cells[:3], compute, version=None), cells[:3])
    assert len(compute.asked) == 3 and _batches(kept) == [(f"{cellstore.FORMAT}:v2", 59)]


def test_many_batches_are_merged_and_cells_kept_twice_read_once(kept, monkeypatch):
    monkeypatch.setattr(cellstore, "MAX_BATCHES", 3)
    compute = _Counting()
    with kept.connect() as conn:
        for start in range(0, 40, 10):  # four calls, each with new cells
            _stored(conn, np.arange(start, start + 10, dtype=np.int64) + 100, compute)
    assert [n for _v, n in _batches(kept)] == [40]  # the fourth replaced three by one
    with kept.connect() as conn:
        _stored(conn, np.arange(200, 205, dtype=np.int64), compute)
    # Two processes keeping the same cells at once: both batches stay, each cell is read once.
    with kept.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO h3_cell_values (kind, version, n, cells, numbers, texts) "
            "SELECT kind, version, n, cells, numbers, texts FROM h3_cell_values "
            "WHERE kind = :k AND n = 5"), {"k": KIND})
    cells = np.arange(100, 205, dtype=np.int64)
    cells = cells[(cells < 140) | (cells >= 200)]
    with kept.connect() as conn:
        _check(_stored(conn, cells, compute), cells)
    assert len(compute.asked) == 5


@pytest.mark.parametrize("damage", [
    "numbers = substring(numbers from 9)",  # a value short
    "texts = '[[\"only one column\"]]'",
    "texts = 'not json'",
    "texts = '[[], []]'",  # positions outside the values
])
def test_a_damaged_batch_is_made_again_and_replaced(kept, caplog, damage):
    cells = np.arange(300, 340, dtype=np.int64)
    compute = _Counting()
    with kept.connect() as conn:
        _stored(conn, cells[:20], compute)
        _stored(conn, cells[20:], compute)
    with kept.begin() as conn:
        conn.execute(sa.text(f"UPDATE h3_cell_values SET {damage} WHERE kind = :k AND batch = "
                             "(SELECT min(batch) FROM h3_cell_values WHERE kind = :k)"),
                     {"k": KIND})
    with caplog.at_level(logging.WARNING, logger="com.analysis.risk.cellstore"), \
            kept.connect() as conn:
        _check(_stored(conn, cells, compute), cells)
    assert "cannot be read" in caplog.text
    assert sorted(compute.asked[-1].tolist()) == cells.tolist()  # all made again
    assert [n for _v, n in _batches(kept)] == [40]  # one sound batch instead
    with kept.connect() as conn:
        _check(_stored(conn, cells, compute), cells)
    assert len(compute.asked) == 3


def test_a_damaged_snapshot_is_read_from_the_points_again(clean_engine, monkeypatch, caplog):
    model = load_severity_model()
    monkeypatch.setattr(h3columns, "SNAPSHOT_MIN_POINTS", 1)
    _committed_points(clean_engine, 90, seed=25)
    with clean_engine.connect() as conn:
        first = risk.rank_areas(conn, level="h3:8", as_of=DAY, model=model)
    with clean_engine.begin() as conn:
        conn.execute(sa.text("UPDATE h3_point_snapshots SET data = substring(data from 1 "
                             "for length(data) / 2)"))
    h3columns.clear()
    with caplog.at_level(logging.WARNING, logger="com.analysis.risk.h3columns"), \
            clean_engine.connect() as conn:
        again = risk.rank_areas(conn, level="h3:8", as_of=DAY, model=model)
    assert "cannot be read" in caplog.text
    pd.testing.assert_frame_equal(pd.DataFrame(again), pd.DataFrame(first))
    h3columns.clear()
    monkeypatch.setattr(h3columns, "_read", _refuse)  # written again: read as it is
    with clean_engine.connect() as conn:
        risk.rank_areas(conn, level="h3:8", as_of=DAY, model=model)


def test_a_failed_write_leaves_the_answer_and_is_logged(kept, monkeypatch, caplog):
    broken = sa.create_engine(kept.url.set(database="com_no_such_database"))
    monkeypatch.setattr("com.db.engine.side_engine", lambda _engine: broken)
    cells = np.arange(10, 20, dtype=np.int64)
    with caplog.at_level(logging.WARNING, logger="com.analysis.risk.cellstore"), \
            kept.connect() as conn:
        _check(_stored(conn, cells, _Counting()), cells)
    assert "could not keep the values of 10 H3 cells" in caplog.text
    assert _batches(kept) == []


def _committed_points(engine, n: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    """n points committed with their stored cells (as uploads store them)."""
    with engine.begin() as conn:
        _insert(conn, n, seed=seed)
        h3cells.fill_h3_cells(conn)


def _fresh_process(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Forget everything kept in this process, as a new process starts."""
    memo = h3cells.CellMemo()
    for target in (h3cells, risk_areas, risk_ranking):
        monkeypatch.setattr(target, "SHAPES", memo)
    reference.clear()
    h3columns.clear()


def _refuse(*_args, **_kwargs):  # type: ignore[no-untyped-def]
    raise AssertionError("computed although kept")


def test_a_new_process_ranks_from_the_kept_values_without_computing_them(
        clean_engine, monkeypatch):
    model = load_severity_model()
    kwargs = {"level": "h3:8", "as_of": DAY, "model": model, "with_details": True}
    with clean_engine.begin() as conn:
        _insert(conn, 400, seed=21)
        risk.rank_areas(conn, **kwargs)  # fills the stored cells
    _fresh_process(monkeypatch)
    monkeypatch.setattr(h3columns, "SNAPSHOT_MIN_POINTS", 1)
    with clean_engine.connect() as conn:
        first = risk.rank_areas(conn, **kwargs)
    with clean_engine.connect() as conn:
        kinds = dict(conn.execute(sa.text(
            "SELECT split_part(kind, ':', 1), sum(n) FROM h3_cell_values GROUP BY 1")).all())
        snapshots = conn.execute(sa.text("SELECT points FROM h3_point_snapshots")).scalars().all()
    assert kinds == {"shapes": len(first), "names": len(first), "distances": len(first)}
    assert snapshots == [400]
    # A new process: nothing is computed, nothing aggregated from the points.
    _fresh_process(monkeypatch)
    for name in ("names_at",):
        monkeypatch.setattr(risk_areas, name, _refuse)
    monkeypatch.setattr(risk_ranking, "factor_table", _refuse)
    monkeypatch.setattr(h3cells, "cell_shapes", _refuse)
    monkeypatch.setattr(h3columns, "_read", _refuse)
    with clean_engine.connect() as conn:
        again = risk.rank_areas(conn, **kwargs)
    pd.testing.assert_frame_equal(pd.DataFrame(again.drop(columns="geometry")),
                                  pd.DataFrame(first.drop(columns="geometry")))
    assert (first["name_th"] != "").mean() > 0.9
    # And what was kept is what computing gives (nothing kept, nothing read).
    monkeypatch.undo()
    _fresh_process(monkeypatch)
    monkeypatch.setattr(cellstore, "ENABLED", False)
    monkeypatch.setattr(h3columns, "SNAPSHOT_MIN_POINTS", 10**9)
    with clean_engine.connect() as conn:
        computed = risk.rank_areas(conn, **kwargs)
    pd.testing.assert_frame_equal(pd.DataFrame(computed.drop(columns="geometry")),
                                  pd.DataFrame(first.drop(columns="geometry")))


def test_a_snapshot_of_older_points_is_not_read(clean_engine, monkeypatch):
    model = load_severity_model()
    monkeypatch.setattr(h3columns, "SNAPSHOT_MIN_POINTS", 1)
    with clean_engine.begin() as conn:
        _insert(conn, 120, seed=22)
        risk.rank_areas(conn, level="h3:7", as_of=DAY, model=model)
    h3columns.clear()
    with clean_engine.connect() as conn:
        risk.rank_areas(conn, level="h3:7", as_of=DAY, model=model)  # keeps a snapshot
        assert conn.execute(sa.text("SELECT points FROM h3_point_snapshots")).scalar() == 120
    with clean_engine.begin() as conn:  # a point removed: another version of the data
        conn.execute(sa.text("DELETE FROM risk_points WHERE id = (SELECT min(id) "
                             "FROM risk_points)"))
        # Nothing derived from a deleted point outlives it (retention, a withdrawn upload).
        assert conn.execute(sa.text("SELECT count(*) FROM h3_point_snapshots")).scalar() == 0
    h3columns.clear()
    with clean_engine.connect() as conn:
        ranked = risk.rank_areas(conn, level="h3:7", as_of=DAY, model=model)
        points = conn.execute(sa.text("SELECT points FROM h3_point_snapshots")).scalars().all()
    assert int(ranked["points"].sum()) == 119
    assert points == [119]  # the older snapshot replaced


def _snapshot_state(engine) -> list[tuple]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT resolution, extent, points, version FROM h3_point_snapshots "
            "ORDER BY 1, 2")).all()


def _version(engine) -> str:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        rows, newest = conn.execute(h3columns._STATE).one()[1:]
    return f"{h3columns.SNAPSHOT_FORMAT}:{rows}:{newest}"


def test_snapshots_are_read_again_after_an_upload(clean_engine, monkeypatch):
    model = load_severity_model()
    monkeypatch.setattr(h3columns, "SNAPSHOT_MIN_POINTS", 1)
    _committed_points(clean_engine, 150, seed=23)
    with clean_engine.connect() as conn:
        risk.rank_areas(conn, level="h3:8", as_of=DAY, model=model)
        risk.rank_areas(conn, level="h3:7", province="32", as_of=DAY, model=model)
    before = _snapshot_state(clean_engine)
    in_surin = _count(clean_engine, "province_code = '32'")
    assert [(r, e, n) for r, e, n, _v in before] == [(7, "32:*", in_surin), (8, "*:*", 150)]
    with clean_engine.begin() as conn:  # an upload adds points: the snapshots stay, behind
        stored = import_upload(conn, _file(33, 60), "more.csv",
                               options=ImportOptions(province_code="32")).stored
    assert stored > 40 and _snapshot_state(clean_engine) == before
    assert h3columns.refresh_snapshots(clean_engine) == 2
    after = _snapshot_state(clean_engine)
    assert [(r, e, n) for r, e, n, _v in after] == [(7, "32:*", in_surin + stored),
                                                    (8, "*:*", 150 + stored)]
    assert {v for *_rest, v in after} == {_version(clean_engine)}
    # Another process ranks from the refreshed snapshots, reading no point.
    _fresh_process(monkeypatch)
    monkeypatch.setattr(h3columns, "_read", _refuse)
    with clean_engine.connect() as conn:
        ranked = risk.rank_areas(conn, level="h3:8", as_of=DAY, model=model)
    assert int(ranked["points"].sum()) == 150 + stored


def _count(engine, where: str) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM risk_points WHERE {where}"))
                   .scalar_one())


def test_the_api_refreshes_the_snapshots_after_an_upload(clean_engine, test_settings,
                                                          monkeypatch):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from com.security.access import Principal

    monkeypatch.setattr(h3columns, "SNAPSHOT_MIN_POINTS", 1)
    staff = Principal(kind="user", name="staff-surin", role="staff", province_code="32",
                      scopes=frozenset({"read", "write"}))
    app = create_app(test_settings)
    app.state.principal_resolvers.append(lambda request: staff)
    with TestClient(app) as client:
        first = client.post("/api/uploads", files={"file": ("a.csv", _file(31, 120), "text/csv")},
                            data={"province": "32"})
        assert first.status_code == 201, first.text
        with clean_engine.connect() as conn:
            risk.rank_areas(conn, level="h3:8", province="32", as_of=DAY,
                            model=load_severity_model())
        assert [n for _r, _e, n, _v in _snapshot_state(clean_engine)] == [first.json()["stored"]]
        second = client.post("/api/uploads", files={"file": ("b.csv", _file(32, 80), "text/csv")},
                             data={"province": "32"})
        assert second.status_code == 201, second.text
        app.state.rollup_folder.submit([]).result(timeout=60)  # the folds before it are done
    total = first.json()["stored"] + second.json()["stored"]
    assert [(n, v) for _r, _e, n, v in _snapshot_state(clean_engine)] == [
        (total, _version(clean_engine))]
