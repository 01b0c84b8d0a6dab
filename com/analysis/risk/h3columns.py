"""Points of the H3 rankings as numpy columns kept in the process (issue 13, done-item 3).

A national ranking at h3:8 groups a million points into about 500,000 cells: PostgreSQL takes
over a second for the GROUP BY with a weight per point, every call. The points of an extent are
read once per data version instead (the stored cell at one resolution, category, severity,
incident count, day: 19 bytes a point) and each ranking filters, weighs and groups them in
numpy (a ``bincount``), tens of milliseconds for a million points. The weights are those of
``rank_weighted_points.sql`` (the tests compare both paths to 1e-9).

The columns are keyed by the rollup's version (:func:`com.analysis.risk.reference.rollup_version`:
any write of the risk points rewrites a row of it in the same transaction), so the next call
after a write reads them again; a transaction that has written anything itself never uses or
keeps them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import datetime as dt
import io
import json
import logging
import threading
import zipfile
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from com.analysis.risk.filters import RiskFilter
from com.config.severity import SeverityModel
from com.db.engine import commit_beside, fetch_binary, load_sql
from com.db.rollup import ensure_folded

#: Most points of one extent read into columns (about 19 bytes each, plus the grouping's
#: arrays while a ranking runs); beyond, the rankings group in PostgreSQL.
MAX_COLUMN_POINTS = 5_000_000
#: Extents kept per process (least recently used first out).
MAX_KEPT = 4
#: Extents of at least this many points are kept in the database for the next process too
#: (a smaller extent reads its points again in tens of milliseconds).
SNAPSHOT_MIN_POINTS = 50_000
#: The layout of a snapshot (the npz fields); part of its version, so another is never read.
SNAPSHOT_FORMAT = "1"

UNDATED = np.iinfo(np.int32).min
_EPOCH = dt.date(1970, 1, 1)

_STATE = sa.text(
    "SELECT pg_current_xact_id_if_assigned() IS NOT NULL, count(*), "
    "COALESCE(max(xmin::text::bigint), 0) FROM risk_rollup_total"
)

log = logging.getLogger(__name__)
_lock = threading.Lock()
_kept: OrderedDict[Hashable, PointColumns] = OrderedDict()


@dataclasses.dataclass(frozen=True)
class PointColumns:
    """The points of one extent, one array per value, grouped by cell once.

    ``cells`` are the sorted distinct cells and ``cell`` each point's position in them;
    ``category`` is the position in ``keys`` plus one (0: a stored category not in ``keys``).
    """

    keys: tuple[str, ...]
    cells: np.ndarray
    cell: np.ndarray
    category: np.ndarray
    severity: np.ndarray
    count: np.ndarray
    day: np.ndarray


@dataclasses.dataclass(frozen=True)
class CellSums:
    """The filtered points summed per cell: base score per category, points and incidents.

    ``base`` is a cells x ``model.category_keys`` matrix (a category outside the model counts
    as the unknown category), rows in ``cells`` order (only cells with a point that passes);
    a plain array its caller owns (the ranking reorders it in place).
    """

    cells: np.ndarray
    base: np.ndarray
    points: np.ndarray
    incidents: np.ndarray


def _unpack(data: bytes | None, dtype: str, n: int) -> np.ndarray:
    values = np.frombuffer(data or b"", dtype=dtype)
    assert len(values) == n, "one value per point"
    return values.astype(dtype[1:])


def _read(conn: Connection, resolution: int, filt: RiskFilter, keys: tuple[str, ...]
          ) -> PointColumns:
    params = {"resolution": resolution, "cat_keys": list(keys), "district": filt.district,
              "provinces": list(filt.province_codes) if filt.province_codes else None}
    [(n, cells, category, severity, count, day)] = fetch_binary(
        conn, load_sql("h3_point_columns"), params)
    point_cells = _unpack(cells, ">i8", n)
    order = np.argsort(point_cells, kind="stable")
    ordered = point_cells[order]
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1])) if n else np.empty(0, bool)
    position = np.empty(n, dtype=np.int32)
    position[order] = np.cumsum(starts) - 1
    return PointColumns(
        keys=keys, cells=ordered[starts], cell=position,
        category=_unpack(category, ">i2", n), severity=_unpack(severity, ">i2", n),
        count=_unpack(count, ">i4", n), day=_unpack(day, ">i4", n),
    )


def point_columns(
    conn: Connection, resolution: int, filt: RiskFilter, model: SeverityModel
) -> PointColumns:
    """Return the columns of the points in the filter's extent (province(s), district).

    Read once per data version and kept (at most :data:`MAX_KEPT` extents); the stored cells
    must be filled first (:func:`com.analysis.risk.h3cells.fill_h3_cells`).
    """
    # The unknown key too: a point stored under it matches a filter naming it (as in SQL).
    keys = tuple(dict.fromkeys([*model.categories, model.unknown_category.key]))
    return _columns(conn, resolution, filt, keys)


def _columns(conn: Connection, resolution: int, filt: RiskFilter, keys: tuple[str, ...]
             ) -> PointColumns:
    ensure_folded(conn)  # the version below is the rollup's (0017_rollup_pending)
    wrote, rows, newest = conn.execute(_STATE).one()
    key = (resolution, filt.province_codes, filt.district, keys, int(rows), int(newest))
    if wrote:
        return _read(conn, resolution, filt, keys)
    with _lock:
        if key in _kept:
            _kept.move_to_end(key)
            return _kept[key]
    snapshot = _Snapshot(resolution, filt, keys,
                         version=f"{SNAPSHOT_FORMAT}:{int(rows)}:{int(newest)}")
    columns = snapshot.read(conn)
    if columns is None:
        columns = _read(conn, resolution, filt, keys)
        if len(columns.cell) >= SNAPSHOT_MIN_POINTS:
            snapshot.write(conn, columns)
    with _lock:
        _kept[key] = columns
        while len(_kept) > MAX_KEPT:
            _kept.popitem(last=False)
    return columns


@dataclasses.dataclass(frozen=True)
class _Snapshot:
    """The columns of one extent kept in ``h3_point_snapshots`` for one data version.

    A new process (a ``com`` command, an API worker just started) reads the one row instead of
    aggregating every point of the extent again; the version is the rollup's (as the kept
    columns' key), so any write of the points makes the row unused until it is written again.
    """

    resolution: int
    filt: RiskFilter
    keys: tuple[str, ...]
    version: str

    @property
    def _where(self) -> dict[str, object]:
        return {"resolution": self.resolution, "extent": self.filt.extent_key,
                "keys": json.dumps(self.keys, ensure_ascii=False), "version": self.version}

    def read(self, conn: Connection) -> PointColumns | None:
        rows = fetch_binary(conn, _SNAPSHOT_READ, self._where)
        if not rows:
            return None
        try:
            with np.load(io.BytesIO(rows[0][0]), allow_pickle=False) as packed:
                arrays = {name: packed[name] for name in _FIELDS}
        except (ValueError, KeyError, OSError, EOFError, zipfile.BadZipFile) as exc:
            arrays = {}
            problem = str(exc)
        else:
            per_point = {len(arrays[name]) for name in _FIELDS if name != "cells"}
            problem = "" if len(per_point) == 1 and (
                not len(arrays["cell"]) or arrays["cell"].max() < len(arrays["cells"])
            ) else "columns of different lengths"
        if problem:  # read from the points again, and written again
            log.warning("the H3 snapshot of %s cannot be read (%s)", self._where["extent"],
                        problem)
            return None
        return PointColumns(keys=self.keys, **arrays)

    def write(self, conn: Connection, columns: PointColumns) -> None:
        buffer = io.BytesIO()
        np.savez(buffer, **{name: getattr(columns, name) for name in _FIELDS})
        params = {**self._where, "points": len(columns.cell), "data": buffer.getvalue()}
        failed = commit_beside(conn, [(_SNAPSHOT_WRITE, params)])
        if failed:  # the answer stands; the next process reads the points again
            log.warning("could not keep the H3 columns of %s: %s", params["extent"], failed)


_FIELDS = ("cells", "cell", "category", "severity", "count", "day")
_SNAPSHOT_READ = (
    "SELECT data FROM h3_point_snapshots WHERE resolution = :resolution AND extent = :extent "
    "AND keys = :keys AND version = :version"
)
_SNAPSHOT_WRITE = sa.text(
    "INSERT INTO h3_point_snapshots (resolution, extent, keys, version, points, data) "
    "VALUES (:resolution, :extent, :keys, :version, :points, :data) "
    "ON CONFLICT (resolution, extent, keys) DO UPDATE SET version = EXCLUDED.version, "
    "points = EXCLUDED.points, data = EXCLUDED.data, written_at = now()"
)


def refresh_snapshots(engine: Engine) -> int:
    """Bring the kept snapshots up to the data as it is now; return how many were read again.

    Run after an upload commits (the API's background fold): an upload only adds points, so
    its snapshots are left, one version behind; reading them again here, off any request,
    makes the next ranking of any process read one row again instead of every point. (A
    deletion drops the snapshots: the next ranking of an extent makes it again.)
    """
    with engine.connect() as conn:
        kept = conn.execute(sa.text(
            "SELECT resolution, extent, keys FROM h3_point_snapshots")).all()
        for resolution, extent, keys in kept:
            _columns(conn, int(resolution), RiskFilter.of_extent(extent),
                     tuple(json.loads(keys)))
            conn.rollback()
    return len(kept)


def clear() -> None:
    """Forget the kept columns (tests)."""
    with _lock:
        _kept.clear()




def cell_sums(columns: PointColumns, filt: RiskFilter, model: SeverityModel) -> CellSums:
    """Filter, weigh and sum the points per cell, as ``rank_h3_cells.sql`` does in SQL.

    weight = category weight x severity x incident count x recency, recency
    exp(-ln 2 x age / half-life) with the age in days before the analysis date (future dates
    age 0), the undated factor for undated points, 1 without recency.
    """
    keep = np.ones(len(columns.cell), dtype=bool)
    dated = columns.day != UNDATED
    if filt.date_from is not None or filt.date_to is not None:
        keep &= dated
        if filt.date_from is not None:
            keep &= columns.day >= _days(filt.date_from)
        if filt.date_to is not None:
            keep &= columns.day <= _days(filt.date_to)
    if filt.categories:
        wanted = set(filt.categories)
        allowed = np.array([False, *(k in wanted for k in columns.keys)])
        keep &= allowed[columns.category]
    if filt.min_severity is not None:
        keep &= columns.severity >= filt.min_severity
    # Without a filter every point counts: the kept arrays themselves, no gathered copies.
    rows = slice(None) if keep.all() else np.flatnonzero(keep)
    category = columns.category[rows]
    weights = np.array([model.unknown_category.weight,
                        *(model.weight_of(k) for k in columns.keys)])
    weight = weights[category] * columns.severity[rows] * columns.count[rows]
    if filt.use_recency:
        age = np.maximum(_days(filt.analysis_date) - columns.day[rows].astype(np.int64), 0)
        recency = np.exp(-np.log(2.0) * age / float(model.recency.half_life_days))
        weight *= np.where(dated[rows], recency, float(model.recency.undated_factor))
    # Columns of the answer: a category outside the model is the unknown category's.
    out_keys = pd.Index(model.category_keys)
    unknown = out_keys.get_indexer([model.unknown_category.key])[0]
    target = out_keys.get_indexer([model.unknown_category.key, *columns.keys])
    target = np.where(target >= 0, target, unknown)
    cell = columns.cell[rows]
    points = np.bincount(cell, minlength=len(columns.cells))
    used = np.flatnonzero(points)
    # Positions among the cells with points, so the matrix holds only those.
    compact = np.full(len(columns.cells), -1, dtype=np.int64)
    compact[used] = np.arange(len(used))
    row = compact[cell]
    width = len(out_keys)
    base = np.bincount(row * width + target[category], weights=weight,
                       minlength=len(used) * width).reshape(len(used), width)
    incidents = np.bincount(row, weights=columns.count[rows], minlength=len(used))
    return CellSums(
        cells=columns.cells[used], base=base,
        points=points[used].astype(np.int64), incidents=incidents.round().astype(np.int64),
    )


def release_heap() -> None:
    """Give the memory freed by a large H3 ranking back to the system (glibc only).

    glibc keeps freed blocks below its (adaptive) mmap threshold in the heap: after a national
    h3:8 ranking 100-130 MB of freed arrays stayed resident, and the next ranking's peak
    started from there. ``malloc_trim`` returns them (a few ms); elsewhere nothing happens.
    """
    if _TRIM is not None:
        _TRIM(0)


def _load_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim  # type: ignore[no-any-return]
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to give back
        return None


_TRIM = _load_trim()


def _days(value: dt.date) -> int:
    return (value - _EPOCH).days


def usable(points: int, bbox: Sequence[float] | None) -> bool:
    """Whether an H3 ranking of ``points`` points (an upper bound) groups in numpy."""
    return bbox is None and points <= MAX_COLUMN_POINTS
