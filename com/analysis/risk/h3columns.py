"""Points of the H3 rankings as numpy columns kept in the process (issue 13, done-item 3).

A national ranking at h3:8 groups a million points into about 500,000 cells: PostgreSQL takes
over a second for the GROUP BY with a weight per point, every call. The points of an extent are
read once per data version instead (the stored cell at one resolution, category, severity,
incident count, day: 19 bytes a point) and each ranking filters, weighs and groups them in
numpy (a ``bincount``), tens of milliseconds for a million points. The weights are those of
``rank_weighted_points.sql`` (the tests compare both paths to 1e-9).

The columns carry the rollup's version (:func:`com.analysis.risk.reference.rollup_version`:
any write of the risk points rewrites a row of it in the same transaction). When it changed,
the points added since are read and merged (``id`` above the highest kept: an upload of 1,000
points costs milliseconds instead of reading a million again), provided nothing was deleted or
changed since (the points' generation, 0023_points_generation) and the extent's count agrees
(an insert that committed late, below the highest id kept); otherwise every point is read
again. A transaction that has written anything itself never uses or keeps them.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import datetime as dt
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from com.analysis.risk.filters import RiskFilter
from com.config.severity import SeverityModel
from com.db.engine import commit_beside, fetch_sliced, load_sql
from com.db.rollup import ensure_folded

#: Most points of one extent read into columns (about 19 bytes each, plus the grouping's
#: arrays while a ranking runs); beyond, the rankings group in PostgreSQL.
MAX_COLUMN_POINTS = 5_000_000
#: Extents kept per process (least recently used first out).
MAX_KEPT = 4
#: Extents of at least this many points are kept in the database for the next process too
#: (a smaller extent reads its points again in tens of milliseconds).
SNAPSHOT_MIN_POINTS = 50_000
#: The layout of a snapshot (:func:`_packed`); part of its version, so another is never read.
SNAPSHOT_FORMAT = "3"

UNDATED = np.iinfo(np.int32).min
_EPOCH = dt.date(1970, 1, 1)

_STATE = sa.text(
    "SELECT pg_current_xact_id_if_assigned() IS NOT NULL, count(*), "
    "COALESCE(max(xmin::text::bigint), 0) FROM risk_rollup_total"
)

log = logging.getLogger(__name__)
_lock = threading.Lock()
_kept: OrderedDict[Hashable, _Kept] = OrderedDict()


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


@dataclasses.dataclass(frozen=True)
class _Kept:
    """Columns with what they were read at.

    The rollup's ``version`` (rows, newest), the highest point id they hold (``upto``) and the
    points' ``generation`` (None: unknown, so never merged with later points).
    """

    columns: PointColumns
    version: tuple[int, int]
    upto: int
    generation: int | None


@dataclasses.dataclass(frozen=True)
class _Read:
    """Points read by one statement, with the extent's count when asked (``total``)."""

    cells: np.ndarray
    category: np.ndarray
    severity: np.ndarray
    count: np.ndarray
    day: np.ndarray
    upto: int
    generation: int | None
    total: int | None


def _unpack(data: memoryview | None, dtype: str, n: int) -> np.ndarray:
    values = np.frombuffer(data or b"", dtype=dtype)
    assert len(values) == n, "one value per point"
    return values.astype(dtype[1:])


def _fetch(conn: Connection, resolution: int, filt: RiskFilter, keys: tuple[str, ...], *,
           after: int = 0, count_all: bool = False) -> _Read:
    """Read the extent's points with an id above ``after`` (one statement)."""
    params = {"resolution": resolution, "cat_keys": list(keys), "district": filt.district,
              "provinces": list(filt.province_codes) if filt.province_codes else None,
              "count_all": count_all}
    # The id as a literal (an int): each statement planned for its own bound, so a few new
    # points are found through the primary key, never by a plan made for all of them.
    since = f"r.id > {int(after)}" if after else "true"
    statement = load_sql("h3_point_columns").format(since=since)
    [(n, upto, generation, total, cells, category, severity, count, day)] = fetch_sliced(
        conn, f"({statement})", "true", params, row="1",
        small=("n", "upto", "generation", "total"),
        large=("cells", "category", "severity", "count", "day"))
    return _Read(
        cells=_unpack(cells, ">i8", n), category=_unpack(category, ">i2", n),
        severity=_unpack(severity, ">i2", n), count=_unpack(count, ">i4", n),
        day=_unpack(day, ">i4", n), upto=int(upto),
        generation=None if generation is None else int(generation),
        total=None if total is None else int(total),
    )


def _grouped(read: _Read, keys: tuple[str, ...]) -> PointColumns:
    """Group freshly read points by cell (sorted distinct cells, each point's position)."""
    n = len(read.cells)
    # Each cell's points in any order: the fast unstable sort (0.03 s for 1M, stable 0.09 s).
    order = np.argsort(read.cells)
    ordered = read.cells[order]
    starts = np.concatenate(([True], ordered[1:] != ordered[:-1])) if n else np.empty(0, bool)
    position = np.empty(n, dtype=np.int32)
    position[order] = np.cumsum(starts) - 1
    return PointColumns(keys=keys, cells=ordered[starts], cell=position,
                        category=read.category, severity=read.severity, count=read.count,
                        day=read.day)


def _merged(kept: PointColumns, added: _Read) -> PointColumns:
    """Append the points read since to the kept columns (cells merged, still sorted)."""
    # Only the few new cells are placed (np.union1d hashed all 486,000 again: 0.16 s).
    new = np.unique(added.cells)
    at = np.searchsorted(kept.cells, new)
    known = at < len(kept.cells)
    known[known] = kept.cells[at[known]] == new[known]
    missing = new[~known]
    cells = np.insert(kept.cells, at[~known], missing) if len(missing) else kept.cells
    # A kept cell moves up by the number of new cells below it.
    moved = (np.arange(len(kept.cells)) + np.searchsorted(missing, kept.cells)).astype(np.int32)
    cell = np.concatenate([moved[kept.cell] if len(missing) else kept.cell,
                           np.searchsorted(cells, added.cells).astype(np.int32)])
    return PointColumns(
        keys=kept.keys, cells=cells, cell=cell,
        **{name: np.concatenate([getattr(kept, name), getattr(added, name)])
           for name in ("category", "severity", "count", "day")},
    )


def _read(conn: Connection, resolution: int, filt: RiskFilter, keys: tuple[str, ...],
          version: tuple[int, int]) -> _Kept:
    read = _fetch(conn, resolution, filt, keys)
    return _Kept(_grouped(read, keys), version, read.upto, read.generation)


def _since(conn: Connection, resolution: int, filt: RiskFilter, kept: _Kept,
           version: tuple[int, int]) -> _Kept | None:
    """Return ``kept`` brought up to the data as it is now, or None when that is not exact.

    Exact when no point was deleted or changed since (the same generation) and the points
    above ``kept.upto`` are all that was added (the extent's count agrees: an insert that
    committed late with a lower id would be missing).
    """
    if kept.generation is None:
        return None
    added = _fetch(conn, resolution, filt, kept.columns.keys, after=kept.upto, count_all=True)
    if (added.generation != kept.generation
            or added.total != len(kept.columns.cell) + len(added.cells)):
        return None
    if not len(added.cells):
        return _Kept(kept.columns, version, kept.upto, kept.generation)
    return _Kept(_merged(kept.columns, added), version, max(kept.upto, added.upto),
                 kept.generation)


def point_columns(
    conn: Connection, resolution: int, filt: RiskFilter, model: SeverityModel, *,
    keep: bool = False,
) -> PointColumns:
    """Return the columns of the points in the filter's extent (province(s), district).

    Read once per data version and kept (at most :data:`MAX_KEPT` extents); the stored cells
    must be filled first (:func:`com.analysis.risk.h3cells.fill_h3_cells`). ``keep``: keep
    them in the database too, whatever the extent's size, unless the row kept is current.
    """
    # The unknown key too: a point stored under it matches a filter naming it (as in SQL).
    keys = tuple(dict.fromkeys([*model.categories, model.unknown_category.key]))
    return _columns(conn, resolution, filt, keys, keep=keep)


def _columns(conn: Connection, resolution: int, filt: RiskFilter, keys: tuple[str, ...],
             *, keep: bool = False) -> PointColumns:
    """Return the extent's columns: kept in the process, else its snapshot, plus new points.

    A snapshot of an extent of at least :data:`SNAPSHOT_MIN_POINTS` is written when every
    point was read again, or the points added since the one read are at least an eighth of
    them; a few added points are merged at each read until the after-upload refresh writes
    it (``keep``: written whenever the row kept is not of this version, whatever the size).
    """
    ensure_folded(conn)  # the version below is the rollup's (0017_rollup_pending)
    wrote, rows, newest = conn.execute(_STATE).one()
    version = (int(rows), int(newest))
    if wrote:
        return _read(conn, resolution, filt, keys, version).columns
    ident = (resolution, filt.province_codes, filt.district, keys)
    snapshot = _Snapshot(resolution, filt, keys)
    with _lock:
        kept = _kept.get(ident)
    stored: tuple[int, int] | None = None  # the version of the snapshot row, when known
    if kept is None:
        kept = snapshot.read(conn)
        stored = kept.version if kept is not None else None
    elif keep:
        stored = snapshot.version(conn)
    fresh, added = None, 0  # added: points not in the snapshot row read (or kept)
    if kept is not None and kept.version == version:
        fresh = kept
    elif kept is not None:
        fresh = _since(conn, resolution, filt, kept, version)
        added = len(fresh.columns.cell) - len(kept.columns.cell) if fresh is not None else 0
    if fresh is None:
        fresh = _read(conn, resolution, filt, keys, version)
        added = len(fresh.columns.cell)
    if stored != version and (keep or (len(fresh.columns.cell) >= SNAPSHOT_MIN_POINTS
                                       and 8 * added >= len(fresh.columns.cell))):
        snapshot.write(conn, fresh)
    with _lock:
        _kept[ident] = fresh
        _kept.move_to_end(ident)
        while len(_kept) > MAX_KEPT:
            _kept.popitem(last=False)
    return fresh.columns


@dataclasses.dataclass(frozen=True)
class _Snapshot:
    """The columns of one extent kept in ``h3_point_snapshots``, of the version read at.

    A new process (a ``com`` command, an API worker just started) reads the one row instead of
    aggregating every point of the extent again, and then only the points added since, when
    that is exact (:func:`_since`). A deletion or change of points drops every row (the
    trigger of 0022_h3_cell_values).
    """

    resolution: int
    filt: RiskFilter
    keys: tuple[str, ...]

    @property
    def _where(self) -> dict[str, object]:
        return {"resolution": self.resolution, "extent": self.filt.extent_key,
                "keys": json.dumps(self.keys, ensure_ascii=False)}

    def version(self, conn: Connection) -> tuple[int, int] | None:
        """Return the version of the row kept (None: none, or of another layout)."""
        tag = conn.execute(sa.text(f"SELECT version FROM h3_point_snapshots AS t "
                                   f"WHERE {_SNAPSHOT_ROW}"), self._where).scalar()
        return _version(tag)

    def read(self, conn: Connection) -> _Kept | None:
        rows = fetch_sliced(conn, "h3_point_snapshots", _SNAPSHOT_ROW, self._where,
                            small=("version",), large=("data",))
        if not rows:
            return None
        tag, data = rows[0]
        version = _version(tag)
        if version is None:
            return None  # another layout: read from the points again, and written again
        try:
            arrays, stamp = _unpacked(data)
        except (ValueError, KeyError, TypeError) as exc:
            arrays, stamp = {}, {}
            problem = str(exc) or type(exc).__name__
        else:
            per_point = {len(arrays[name]) for name in _FIELDS if name != "cells"}
            problem = "" if len(per_point) == 1 and (
                not len(arrays["cell"]) or arrays["cell"].max() < len(arrays["cells"])
            ) else "columns of different lengths"
        if problem:  # read from the points again, and written again
            log.warning("the H3 snapshot of %s cannot be read (%s)", self._where["extent"],
                        problem)
            return None
        generation = int(stamp["generation"])
        return _Kept(PointColumns(keys=self.keys, **arrays), version, int(stamp["upto"]),
                     generation if generation >= 0 else None)

    def write(self, conn: Connection, kept: _Kept) -> None:
        data = _packed({name: getattr(kept.columns, name) for name in _FIELDS},
                       {"upto": kept.upto,
                        "generation": -1 if kept.generation is None else kept.generation})
        params = {**self._where, "points": len(kept.columns.cell), "data": data,
                  "version": f"{SNAPSHOT_FORMAT}:{kept.version[0]}:{kept.version[1]}"}
        failed = commit_beside(conn, [(_SNAPSHOT_WRITE, params)])
        if failed:  # the answer stands; the next process reads the points again
            log.warning("could not keep the H3 columns of %s: %s", params["extent"], failed)


def _version(tag: str | None) -> tuple[int, int] | None:
    """Return the rollup version a snapshot row was read at (None: no row, another layout)."""
    parts = str(tag).split(":") if tag is not None else []
    if len(parts) != 3 or parts[0] != SNAPSHOT_FORMAT:
        return None
    try:
        return int(parts[1]), int(parts[2])
    except ValueError:
        return None


_FIELDS = ("cells", "cell", "category", "severity", "count", "day")
_HEAD = 8  # bytes of the header's length


def _packed(arrays: dict[str, np.ndarray], stamp: dict[str, int]) -> bytes:
    """Lay arrays out one after another behind a JSON header of their names, types, lengths.

    Read back as views of the bytes (:func:`_unpacked`): an npz cost 30 ms of copies and
    checksums per read of a million points. Each array starts at a multiple of 8 bytes.
    """
    fields, parts, offset = [], [], 0
    for name, values in arrays.items():
        raw = np.ascontiguousarray(values).tobytes()
        fields.append([name, values.dtype.str, len(values), offset])
        parts.append(raw + b"\0" * (-len(raw) % 8))
        offset += len(parts[-1])
    head = json.dumps({"fields": fields, **stamp}).encode()
    head += b" " * (-len(head) % 8)
    return len(head).to_bytes(_HEAD, "little") + head + b"".join(parts)


def _unpacked(data: bytes | memoryview) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Return the arrays (read-only views of ``data``) and the stamp of :func:`_packed`.

    Raises
    ------
    ValueError, KeyError, TypeError
        When ``data`` is not such a layout (damaged, another format).
    """
    size = int.from_bytes(data[:_HEAD], "little")
    head = json.loads(bytes(data[_HEAD:_HEAD + size]))
    body = _HEAD + size
    arrays = {}
    for name, dtype, count, offset in head.pop("fields"):
        arrays[name] = np.frombuffer(data, dtype=np.dtype(dtype), count=int(count),
                                     offset=body + int(offset))
    missing = set(_FIELDS) - set(arrays)
    if missing:
        raise KeyError(f"no {', '.join(sorted(missing))}")
    return arrays, {"upto": int(head["upto"]), "generation": int(head["generation"])}
_SNAPSHOT_ROW = "t.resolution = :resolution AND t.extent = :extent AND t.keys = :keys"
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
                     tuple(json.loads(keys)), keep=True)
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
    # Column-major (each category's scores contiguous): the ranking puts each column in rank
    # order in place, a gather 8x faster than across rows; pandas keeps the same layout.
    base = np.bincount(target[category] * len(used) + row, weights=weight,
                       minlength=len(used) * width).reshape(width, len(used)).T
    incidents = np.bincount(row, weights=columns.count[rows], minlength=len(used))
    return CellSums(
        # Every cell used (no filter): the kept cells themselves, not a copy.
        cells=columns.cells if len(used) == len(columns.cells) else columns.cells[used],
        base=base,
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
