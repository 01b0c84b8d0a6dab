"""Values per H3 cell kept in PostgreSQL between processes (issue 13, done-item 3).

The memos of :mod:`com.analysis.risk.h3cells` (``CellMemo``) keep the areas, centres, names and
context distances of ranked cells for the rest of a process; the first national h3:8 ranking of
each process still computed them for about 486,000 cells (3-4 s of its 5.6 s). They depend
only on the cell (area, centre) or on the cell and the reference data (the tambon the centre
lies in, the distances to the context features), so they are written once to
``h3_cell_values`` (0022_h3_cell_values) and every later process reads them back: a few packed
rows per kind (the batches written), about 0.1 s for 486,000 cells, no Python per cell.

``kind`` says what the values are and of which cells (``shapes:8``), ``version`` what they
were made from: :func:`reference_version` for values made of the reference data, so a reload
of the boundaries or context layers is never answered with the old values (the rows of other
versions of a kind are deleted when the new ones are written). A kind is always read whole:
its cells are those some ranking needed, and one national kind reads in about 0.1 s. A
transaction that has written reference data itself keeps nothing (its fingerprint is None).

Writes go through a connection of their own, committed at once, so a ranking inside a
read-only request or a transaction that is rolled back still leaves its values for the next
process; a write that fails (a read-only standby, a lock) is logged and the answer is unchanged.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.risk import reference
from com.db.engine import commit_beside, fetch_sliced

log = logging.getLogger(__name__)

#: Kept values are read and written (tests of the computing itself turn it off).
ENABLED = True
#: The layout of a batch; part of every version kept, so another layout is never read.
FORMAT = "1"
#: Batches of one kind merged into one when the next is written (each ranking that met new
#: cells wrote one).
MAX_BATCHES = 16

_DELETE = sa.text("DELETE FROM h3_cell_values WHERE kind = :kind AND "
                  "(version <> :version OR CAST(:replace AS boolean))")
_INSERT = sa.text("INSERT INTO h3_cell_values (kind, version, n, cells, numbers, texts) "
                  "VALUES (:kind, :version, :n, :cells, :numbers, :texts)")

Compute = Callable[[np.ndarray], Mapping[str, np.ndarray]]


def reference_version(conn: Connection) -> str | None:
    """Return a digest of the reference data ``conn`` sees (None: the transaction wrote)."""
    state = reference.fingerprint(conn)
    if state is None:
        return None
    return hashlib.sha256(repr(state).encode()).hexdigest()[:20]


def stored(
    conn: Connection, kind: str, version: str | None, cells: np.ndarray, compute: Compute,
    *, floats: Sequence[str] = (), texts: Sequence[str] = (),
) -> dict[str, np.ndarray]:
    """Return the values of ``cells`` (int64): those kept read, the others computed and kept.

    ``compute`` gets the cells not kept and returns one array per name of ``floats`` and
    ``texts``, in their order. With ``version`` None (or :data:`ENABLED` off) everything is
    computed and nothing kept.
    """
    cells = np.asarray(cells, dtype=np.int64)
    if version is None or not ENABLED or not len(cells):
        return _arrays(compute(cells), floats, texts)
    version = f"{FORMAT}:{version}"
    try:
        kept = _read(conn, kind, version, floats, texts)
        batches = int(kept.pop("batches")[0])
    except _Malformed as exc:  # computed again; the write below replaces every batch
        log.warning("kept H3 cell values of %s cannot be read (%s): made again", kind, exc)
        kept = _read_nothing(floats, texts)
        batches = MAX_BATCHES
    kept_cells = kept.pop("cell")
    if np.array_equal(kept_cells, cells):  # the cells kept are those asked (a national kind)
        return kept
    pos = np.minimum(np.searchsorted(kept_cells, cells), max(len(kept_cells) - 1, 0))
    found = (kept_cells[pos] == cells) if len(kept_cells) else np.zeros(len(cells), bool)
    missing = cells[~found]
    out = {}
    for k in list(kept):  # one column at a time: the kept column freed once indexed (the
        # kind may hold the whole country, 603,000 cells at h3:8, for 486,000 asked)
        column = kept[k] if len(missing) else kept.pop(k)
        out[k] = column[pos] if len(kept_cells) else _empty(k in floats, len(cells))
        del column
    if len(missing):
        new = _arrays(compute(missing), floats, texts)
        for k, values in new.items():
            out[k][~found] = values
        if batches >= MAX_BATCHES:  # one batch of everything instead of many
            merged = np.concatenate([kept_cells, missing])
            order = np.argsort(merged, kind="stable")
            _write(conn, kind, version, merged[order],
                   {k: np.concatenate([kept[k], new[k]])[order] for k in new},
                   floats, texts, replace=True)
        else:
            _write(conn, kind, version, missing, new, floats, texts, replace=False)
    return out


def _empty(is_float: bool, n: int) -> np.ndarray:
    return np.full(n, np.nan) if is_float else np.full(n, "", dtype=object)


def _arrays(values: Mapping[str, np.ndarray], floats: Sequence[str], texts: Sequence[str]
            ) -> dict[str, np.ndarray]:
    out = {k: np.asarray(values[k], dtype=float) for k in floats}
    out.update({k: np.asarray(values[k], dtype=object) for k in texts})
    return out


class _Malformed(ValueError):
    """A kept batch that does not hold what its kind says (another format, a damaged row)."""


def _read_nothing(floats: Sequence[str], texts: Sequence[str]) -> dict[str, np.ndarray]:
    out = {"cell": np.empty(0, dtype=np.int64)}
    out.update({k: _empty(k in floats, 0) for k in (*floats, *texts)})
    return out


def _read(conn: Connection, kind: str, version: str, floats: Sequence[str],
          texts: Sequence[str]) -> dict[str, np.ndarray]:
    """Read every kept cell of ``kind`` (sorted, each once) with its values.

    Also ``batches``: how many rows they came from.

    Raises
    ------
    _Malformed
        When a batch is not of the shape the kind's values have.
    """
    rows = fetch_sliced(conn, "h3_cell_values", "t.kind = :kind AND t.version = :version",
                        {"kind": kind, "version": version},
                        small=("n", "texts"), large=("cells", "numbers"))
    batches = len(rows)
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("cell", *floats, *texts)}
    width = len(floats) + len(texts)
    rows.reverse()
    while rows:  # each batch's bytes freed once decoded (a national kind is 20 MB of them)
        n, joined, cells, numbers = rows.pop()
        if len(cells) != 8 * n or len(numbers) != 8 * n * width:
            raise _Malformed(f"a batch of {n} cells holds {len(cells)} + {len(numbers)} bytes")
        parts["cell"].append(np.frombuffer(cells, dtype="<i8").astype(np.int64))
        matrix = np.frombuffer(numbers, dtype="<f8").reshape(n, width)
        for i, k in enumerate(floats):
            parts[k].append(matrix[:, i].copy())  # its own array: writable, contiguous
        # Text values are kept once per batch, each cell holding its value's position.
        try:
            distinct = json.loads(joined) if texts else []
        except ValueError as exc:
            raise _Malformed(f"texts: {exc}") from exc
        if len(distinct) != len(texts):
            raise _Malformed(f"{len(distinct)} text columns, not {len(texts)}")
        for i, (k, values) in enumerate(zip(texts, distinct, strict=True)):
            positions = matrix[:, len(floats) + i]
            if n and not (positions.min() >= 0 and positions.max() < len(values)):
                raise _Malformed(f"{k}: positions outside its {len(values)} values")
            table = np.empty(len(values), dtype=object)
            table[:] = values
            parts[k].append(table[positions.astype(np.int64)])
        del cells, numbers, joined, matrix
    if not batches:
        out = _read_nothing(floats, texts)
    else:
        cells = _joined(parts.pop("cell"))
        out = {k: _joined(parts.pop(k)) for k in (*floats, *texts)}
        if batches > 1 or np.any(cells[1:] <= cells[:-1]):
            # Sorted and each cell once (two processes may have kept the same cells at once);
            # one batch is written sorted already.
            order = np.argsort(cells, kind="stable")
            ordered = cells[order]
            first = np.concatenate(([True], ordered[1:] != ordered[:-1]))
            cells = ordered[first]
            out = {k: v[order[first]] for k, v in out.items()}
        out["cell"] = cells
    out["batches"] = np.array([batches])
    return out


def _joined(parts: list[np.ndarray]) -> np.ndarray:
    """``parts`` as one array; the one part itself when there is one (no copy)."""
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _write(conn: Connection, kind: str, version: str, cells: np.ndarray,
           values: Mapping[str, np.ndarray], floats: Sequence[str], texts: Sequence[str],
           *, replace: bool) -> None:
    """Keep one batch (a connection of its own, committed at once); ``replace``: the only one."""
    columns = [np.asarray(values[k], dtype=float) for k in floats]
    distinct = []
    for k in texts:  # each distinct text once (7,425 tambon names for 486,000 cells)
        codes, uniques = pd.factorize(pd.Series(values[k], dtype=object).fillna(""))
        columns.append(codes.astype(float))
        distinct.append([str(v) for v in uniques])
    matrix = np.column_stack(columns) if columns else np.empty((len(cells), 0))
    params = {"kind": kind, "version": version, "n": len(cells),
              "cells": np.ascontiguousarray(cells, dtype="<i8").tobytes(),
              "numbers": np.ascontiguousarray(matrix, dtype="<f8").tobytes(),
              "texts": json.dumps(distinct, ensure_ascii=False)}
    # Older versions of the kind are never read again; a merged batch replaces all.
    failed = commit_beside(conn, [
        (_DELETE, {"kind": kind, "version": version, "replace": replace}),
        (_INSERT, params),
    ])
    if failed:  # the answer stands; the next process computes again
        log.warning("could not keep the values of %d H3 cells (%s): %s", len(cells), kind,
                    failed)
