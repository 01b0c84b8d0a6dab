"""Storing an upload's rows: places found, COPY to a stage, checks in PostGIS, records, report.

The subdistrict of every point inside a subdistrict part is found in memory
(:mod:`com.ingest.placing`); the places are then COPYed into a narrow temporary table and
checked set-based in PostGIS (``com/db/sql/ingest_*.sql``): the nearest subdistrict of the
points in no part, outside Thailand, outside the province, duplicates against stored
records. The stored rows are COPYed straight into the kind's table (their ids read back by
upload) and the rows worth a report line (rejected, duplicate, with a warning) into
``upload_rows``; a cleanly stored risk point is reported from ``risk_points`` itself (the view
``upload_report``). Nothing commits here: the caller owns the transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import shapely
import sqlalchemy as sa
from psycopg.copy import QueuedLibpqWriter
from sqlalchemy.engine import Connection

from com.db.engine import sql
from com.geo.h3 import STORED_RESOLUTIONS, cell_column, stored_cells
from com.ingest.cells import json_column, json_text
from com.ingest.kinds import Kind
from com.ingest.placing import PartIndex, part_index, subdistricts_at
from com.ingest.prepare import PreparedRow

__all__ = [
    "BOUNDARY_TOLERANCE_M",
    "DERIVED_REPORT_TABLES",
    "PointBatch",
    "check_places",
    "copy_report",
    "copy_records",
    "copy_rows",
    "copy_stage",
    "ensure_statistics",
    "geometry_hex",
    "needs_report_line",
    "place_in_memory",
    "set_places",
    "read_record_ids",
    "record_columns",
    "store_records",
]

#: A point outside every subdistrict polygon but within this distance of one is taken as
#: inside it (the simplified boundaries leave slivers); same rule as com.geodata.where.
BOUNDARY_TOLERANCE_M = 1000.0
#: Degree pre-filter at least as wide as BOUNDARY_TOLERANCE_M anywhere in Thailand.
_TOLERANCE_DEG = 0.0105


_STAGE_COLUMNS = (
    "row_number", "status", "target", "lat", "lon", "geom", "placed", "subdistrict_code",
    "district_code", "province_code", "quality", "approximate", "dedupe_key", "place_columns",
    "name", "address", "record",
)


#: EWKB of a point with SRID 4326, little endian: byte order 1, type 0x20000001 (point with
#: an SRID), SRID 4326; the x and y doubles follow.
_POINT_EWKB_HEAD = np.frombuffer(bytes.fromhex("0101000020E6100000"), dtype=np.uint8)


def geometry_hex(rows: Sequence[PreparedRow]) -> list[str | None]:
    """EWKB hex (SRID 4326) of every row's point or geometry.

    Points, nearly all rows, are written straight into one byte array with numpy (25 bytes
    each): building shapely points, setting their SRID and writing WKB took 5x longer.
    """
    out: list[str | None] = [None] * len(rows)
    point_idx = [i for i, r in enumerate(rows) if r.geometry is None and r.lat is not None]
    if point_idx:
        n = len(point_idx)
        xy = np.empty((n, 2), dtype="<f8")
        xy[:, 0] = np.fromiter((rows[i].lon for i in point_idx), dtype=float, count=n)
        xy[:, 1] = np.fromiter((rows[i].lat for i in point_idx), dtype=float, count=n)
        ewkb = np.empty((n, 25), dtype=np.uint8)
        ewkb[:, :9] = _POINT_EWKB_HEAD
        ewkb[:, 9:] = xy.view(np.uint8).reshape(n, 16)
        text = ewkb.tobytes().hex().upper()
        texts: list[str | None] = [text[k:k + 50] for k in range(0, 50 * n, 50)]
        if n == len(rows):  # all points: the common case
            return texts
        for i, hexed in zip(point_idx, texts, strict=True):
            out[i] = hexed
    other = [i for i, r in enumerate(rows) if r.geometry is not None]
    if other:
        geoms = shapely.set_srid(np.array([rows[i].geometry for i in other], dtype=object), 4326)
        for i, wkb in zip(other, shapely.to_wkb(geoms, hex=True, include_srid=True),
                          strict=True):
            out[i] = wkb
    return out


def copy_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[tuple]
) -> None:
    """COPY rows into a table (psycopg 3), inside the caller's transaction."""
    raw = conn.connection.driver_connection
    assert raw is not None, "COPY needs the psycopg connection under SQLAlchemy"
    statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"  # names from constants
    # A writer thread sends the data while Python formats the next rows: the server's work
    # (indexes, constraints) overlaps with ours instead of following it.
    with raw.cursor() as cur, cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
        for row in rows:
            copy.write_row(row)


def place_in_memory(index: PartIndex, rows: Sequence[PreparedRow]) -> list[bool]:
    """Find the subdistrict of the rows placed by coordinates in memory; return which were.

    The rows ingest_place_near.sql would search (pending, main target, coordinates) get the
    codes of the part that holds them (:mod:`com.ingest.placing`); those in no part keep
    theirs and are searched in SQL.
    """
    todo = _placeable(rows)
    if not todo:
        return [False] * len(rows)
    lon = np.fromiter((rows[i].lon for i in todo), dtype=float, count=len(todo))
    lat = np.fromiter((rows[i].lat for i in todo), dtype=float, count=len(todo))
    return _set_places(rows, todo, *subdistricts_at(index, lon, lat))


def set_places(rows: Sequence[PreparedRow], codes: tuple[np.ndarray, np.ndarray, np.ndarray],
               ) -> list[bool]:
    """Do what :func:`place_in_memory` does with codes found ahead for the same rows.

    ``codes``: :func:`com.ingest.placing.subdistricts_at` of the rows' coordinates, one
    entry per row (an upload finds them beside its other work).
    """
    todo = _placeable(rows)
    at = np.asarray(todo, dtype=np.intp)
    return _set_places(rows, todo, *(c[at] for c in codes))


def _placeable(rows: Sequence[PreparedRow]) -> list[int]:
    return [i for i, r in enumerate(rows)
            if r.target == "main" and r.quality == "coordinates" and r.lat is not None]


def _set_places(rows: Sequence[PreparedRow], todo: Sequence[int], sub: np.ndarray,
                dist: np.ndarray, prov: np.ndarray) -> list[bool]:
    placed = [False] * len(rows)
    for i, code, district, province in zip(todo, sub.tolist(), dist.tolist(), prov.tolist(),
                                           strict=True):
        if code is not None:
            row = rows[i]
            row.subdistrict_code, row.district_code, row.province_code = code, district, province
            placed[i] = True
    return placed


def copy_stage(conn: Connection, rows: Sequence[PreparedRow]) -> None:
    """Stage the place of every row still pending (rejected rows stay in Python).

    The subdistrict of points inside a subdistrict part is found in memory first (then
    ``placed``); the SQL checks (:func:`check_places`) do the rest.
    """
    conn.execute(sa.text("DROP TABLE IF EXISTS pg_temp.ingest_stage"))
    conn.execute(sql("ingest_stage"))
    pending = [r for r in rows if r.status == "pending"]
    hexes = geometry_hex(pending)
    placed = place_in_memory(part_index(conn), pending) if pending else []
    copy_rows(conn, "ingest_stage", _STAGE_COLUMNS, (
        (r.row_number, r.status, r.target, r.lat, r.lon, ewkb, done, r.subdistrict_code,
         r.district_code if done else None, r.province_code if done else None, r.quality,
         r.approximate, r.dedupe_key, r.place_columns,
         # Name and address match only approximate rows (ingest_duplicates_approximate.sql).
         r.record.get("name") if r.approximate else None,
         r.record.get("address") if r.approximate else None,
         json.dumps(r.record, ensure_ascii=False, default=str) if r.target == "layer" else None)
        for r, ewkb, done in zip(pending, hexes, placed, strict=True)
    ))
    # No spatial index on the stage: the points in no part are few and probe the boundaries'
    # indexes (ingest_place_near.sql), and the duplicate check probes the target table's.
    conn.execute(sa.text(
        "ANALYZE ingest_stage (row_number, status, target, quality, approximate, dedupe_key, "
        "subdistrict_code, placed)"
    ))


def check_places(conn: Connection, rows: Sequence[PreparedRow], province: str | None) -> None:
    """Run the set-based place checks on the stage and copy their outcome to the rows.

    Only rows the statements may have changed are read back: a row placed in memory that is
    still pending already holds its place in Python.
    """
    conn.execute(sql("ingest_place_near"),
                 {"max_m": BOUNDARY_TOLERANCE_M, "max_deg": _TOLERANCE_DEG})
    conn.execute(sql("ingest_reject_outside"), {"max_m": BOUNDARY_TOLERANCE_M})
    conn.execute(sql("ingest_reject_unknown_code"))
    conn.execute(sql("ingest_place_addresses"))
    if province is not None:
        conn.execute(sql("ingest_reject_province"), {"province": province})
    conn.execute(sql("ingest_reject_layer_outside"), {"max_deg": _TOLERANCE_DEG})
    by_number = {r.row_number: r for r in rows}
    result = conn.execute(sa.text(
        "SELECT row_number, status, reason, column_name, lat, lon, subdistrict_code, "
        "district_code, province_code, nearest_m FROM ingest_stage "
        "WHERE NOT placed OR status <> 'pending'"
    ))
    for number, status, reason, column, lat, lon, code, district, province_code, nearest_m in (
        result.tuples()
    ):
        row = by_number[number]
        row.status, row.lat, row.lon = status, lat, lon
        row.subdistrict_code, row.district_code, row.province_code = code, district, province_code
        if status == "rejected":
            row.reason, row.column = reason, column
        elif nearest_m is not None:
            row.warnings.append(
                "outside the simplified boundaries; placed in the nearest subdistrict "
                f"{code} ({nearest_m:.0f} m away)"
            )


def ensure_statistics(conn: Connection) -> None:
    """Analyse reference tables that never were analysed (a fresh boundary load).

    Without statistics the planner takes a 7,000-row table for a tiny one and picks nested
    loops.
    """
    never = conn.execute(sa.text(
        "SELECT relname FROM pg_class WHERE relname IN "
        "('subdistricts', 'subdistrict_parts', 'provinces') AND relkind = 'r' "
        "AND relnamespace = 'public'::regnamespace AND reltuples < 0"
    )).scalars().all()
    for table in never:  # names from the fixed list above
        conn.execute(sa.text(f"ANALYZE {table}"))


def record_columns(kind: Kind) -> list[str]:
    """Return the columns :func:`copy_records` fills in the kind's table (point kinds)."""
    place = ["subdistrict_code", *(["district_code"] if kind.has_district else []),
             "province_code"]
    columns = [*kind.columns, "geom", *place, "source_upload_id", "source_row"]
    if kind.has_h3:
        columns += [cell_column(res) for res in STORED_RESOLUTIONS]
    return columns


class PointBatch(NamedTuple):
    """Point rows to COPY, with their H3 cells when computed ahead.

    ``cells``: one array per stored resolution (:func:`com.geo.h3.stored_cells`, in its
    order), aligned with ``rows``; None computes them here.
    """

    rows: Sequence[PreparedRow]
    cells: Sequence[np.ndarray] | None = None


def _record_tuples(batch: PointBatch, kind: Kind, upload_id: int) -> Iterator[tuple]:
    """Yield the COPY rows of :func:`record_columns` for stored point rows."""
    rows = batch.rows
    hexes = geometry_hex(rows)
    cells: Sequence[Any] = ()
    if kind.has_h3:
        # The H3 cells of every point, one vectorised call per resolution (0010_h3cells).
        arrays = batch.cells if batch.cells is not None else list(stored_cells(
            np.array([r.lat for r in rows], dtype=float),
            np.array([r.lon for r in rows], dtype=float)).values())
        cells = list(zip(*(c.tolist() for c in arrays), strict=True))
    else:
        cells = [()] * len(rows)
    columns = kind.columns

    def values(r: PreparedRow) -> list[Any]:
        # Dicts and lists are stored as JSON (tested inline: a call per value is costly).
        return [v if (t := type(v)) is not dict and t is not list else json_column(v)
                for v in map(r.record.get, columns)]

    with_district = kind.has_district
    for r, ewkb, h3 in zip(rows, hexes, cells, strict=True):
        yield (*(r.values or values(r)), ewkb, r.subdistrict_code,
               *((r.district_code,) if with_district else ()), r.province_code, upload_id,
               r.row_number, *h3)


def copy_records(conn: Connection, kind: Kind, upload_id: int,
                 batches: Iterable[PointBatch]) -> None:
    """COPY point rows into the kind's table in one statement, batch after batch.

    The batches may be made while the statement runs (a generator): the server stores one
    batch while Python prepares the next.
    """
    copy_rows(conn, kind.table, record_columns(kind), (
        row for batch in batches if batch.rows
        for row in _record_tuples(batch, kind, upload_id)))


def read_record_ids(conn: Connection, rows: Sequence[PreparedRow], kind: Kind,
                    upload_id: int) -> None:
    """Set ``record_id`` of the stored point rows that get a report line.

    The table's identity gave the ids; read back by upload and row (one index scan) for those
    the report lines need: drawing them first with nextval() took 5x longer.
    """
    reported = [r for r in rows if r.status == "pending" and r.target == "main"
                and needs_report_line(r, kind)]
    if not reported:
        return
    ids: dict[int, int] = dict(conn.execute(
        sa.text(f"SELECT source_row, id FROM {kind.table} "
                "WHERE source_upload_id = :u AND source_row = ANY(:rows)"),
        {"u": upload_id, "rows": [r.row_number for r in reported]},
    ).tuples().all())
    for row in reported:
        row.record_id = ids[row.row_number]


def store_records(
    conn: Connection, rows: Sequence[PreparedRow], kind: Kind, upload_id: int
) -> None:
    """COPY the stored rows into the kind's table and lines/polygons into context_layers.

    The ids the table gave are read back by upload for the per-row report.
    """
    main = [r for r in rows if r.status == "pending" and r.target == "main"]
    if main and kind.geometry == "point":
        copy_records(conn, kind, upload_id, [PointBatch(main)])
        read_record_ids(conn, main, kind, upload_id)
    layer = [r for r in rows if r.status == "pending" and r.target == "layer"]
    if layer:
        inserted: dict[int, int] = dict(conn.execute(
            sql("ingest_insert_layer"),
            {"upload_id": upload_id, "rows": [r.row_number for r in layer]},
        ).all())
        for r in layer:
            if r.row_number in inserted:
                r.record_id = inserted[r.row_number]
            else:
                r.status = "duplicate"
                r.reason = f"the same feature is already in layer {r.record.get('layer')}"


_REPORT_COLUMNS = (
    "upload_id", "row_number", "status", "reason", "column_name", "warnings", "lat", "lon",
    "subdistrict_code", "quality", "record_id", "original",
)


#: Tables whose cleanly stored rows get no report line: the view ``upload_report``
#: (0011_ingest_speed) reports them from the stored record (its upload id and source row).
DERIVED_REPORT_TABLES = frozenset({"risk_points"})


def needs_report_line(row: PreparedRow, kind: Kind) -> bool:
    """Whether the row gets a line in ``upload_rows``.

    Rejected rows, duplicates and rows with a warning always do; a row stored without a
    warning does unless its table is in :data:`DERIVED_REPORT_TABLES` (then the stored record
    answers for it, and the report reads its original cells from the uploaded file).
    """
    return (row.status != "pending" or bool(row.warnings) or row.target != "main"
            or kind.table not in DERIVED_REPORT_TABLES)


def copy_report(
    conn: Connection, rows: Sequence[PreparedRow], upload_id: int, kind: Kind
) -> None:
    """COPY the report lines (upload_rows) of the rows that need one (:func:`needs_report_line`).

    A line holds the status, reason, place and original values of its row.
    """
    copy_rows(conn, "upload_rows", _REPORT_COLUMNS, (
        (upload_id, r.row_number, "stored" if r.status == "pending" else r.status, r.reason,
         None if r.status == "pending" else r.column, "; ".join(r.warnings) or None,
         r.lat, r.lon, r.subdistrict_code, r.quality, r.record_id,
         json_text(r.original_values()))
        for r in rows if needs_report_line(r, kind)
    ))

