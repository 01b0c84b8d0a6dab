"""Uploads: read a file, place every row, store it in one transaction, report each row.

How an upload runs (:func:`import_upload`)
-----------------------------------------
1. The bytes are hashed; the same bytes with the same options (kind, province, sheet,
   mapping, layer, datum) return the earlier upload with ``already_uploaded=True`` and store
   nothing. An ``idempotency_key`` names a request: the same key with other data is refused
   (:mod:`com.ingest.idempotency`).
2. :func:`com.ingest.readers.open_table` checks the type, the zip limits and the caps and
   reads the first rows (a CSV; other formats whole); columns are recognised on them by name
   (Thai or English) or by an explicit mapping (:mod:`com.ingest.columns`). The rest of a
   CSV is read in batches while the server stores the batch before (:func:`_stream_points`);
   a row refused further down refuses the file, and a row wider than the header further
   down starts the upload again from the whole file (a savepoint undoes the first attempt).
3. Each row is prepared in Python (:func:`com.ingest.prepare.prepare_rows`): placed by its
   coordinates or its address, then built by the kind's row builder (:mod:`com.ingest.kinds`);
   risk points with plain decimal coordinates column by column, each distinct cell once.
4. The subdistrict of each point is found in memory (:mod:`com.ingest.placing`), the other
   place checks run set-based in PostGIS (:mod:`com.ingest.store`) and
   duplicates are found against stored records and within the file
   (:mod:`com.ingest.duplicates`).
5. The stored rows are COPYed straight into the target table and the rows worth a report
   line (rejected, duplicate, with a warning) into ``upload_rows``; a cleanly stored risk
   point is reported from ``risk_points`` (the view ``upload_report``). An audit row is
   written. Nothing commits here: the caller owns the transaction, so a failure half-way
   leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from com.collector import collector_paused, release_later
from com.config.settings import Settings
from com.db import rollup
from com.db.engine import transaction
from com.db.tables import Upload
from com.errors import ComError, UploadError, ValidationError
from com.feeds import outbox
from com.geo.coords import DEFAULT_INDIAN1975_TRANSFORMATION
from com.geo.h3 import stored_cells
from com.ingest.columns import ColumnPlan
from com.ingest.duplicates import (
    NearIndex,
    crowded_rows,
    lock_duplicate_scope,
    resolve_duplicates,
)
from com.ingest.idempotency import bind_key, earlier_upload, scoped_key
from com.ingest.kinds import Kind, lookup_kind
from com.ingest.options import ImportOptions, UploadSummary
from com.ingest.placing import part_index, subdistricts_at
from com.ingest.prepare import Preparation, PreparedRow, start_preparing
from com.ingest.province import locality_points, resolve_province, zone_hint
from com.ingest.readers import (
    FileTooLarge,
    ReadLimits,
    SourceTable,
    TableReading,
    json_safe,
    open_table,
    upload_name,
    with_file_name,
)
from com.ingest.store import (
    DERIVED_REPORT_TABLES,
    PointBatch,
    check_places,
    copy_records,
    copy_report,
    copy_stage,
    ensure_statistics,
    read_record_ids,
    set_places,
    store_records,
)
from com.security import audit
from com.security.access import CLI, Principal

__all__ = ["import_path", "import_upload"]

_MAX_SUMMARY_WARNINGS = 50


def import_upload(
    conn: Connection,
    data: bytes,
    filename: str,
    *,
    options: ImportOptions | None = None,
    settings: Settings | None = None,
    principal: Principal = CLI,
    content_type: str | None = None,
    client: str | None = None,
    limits: ReadLimits | None = None,
    defer_rollup: bool = False,
) -> UploadSummary:
    """Import one uploaded file in the caller's transaction.

    Parameters
    ----------
    conn : Connection
        A connection inside the transaction the caller commits (or rolls back).
    data : bytes
        The file's bytes (kept in ``uploads.content``).
    filename : str
        The file's name; its extension chooses the reader.
    options : ImportOptions, optional
        Kind, province, sheet, mapping, layer, datum, idempotency key.
    settings : Settings, optional
        ``duplicate_distance_m``, ``default_province`` (the province when none is given),
        ``severity_config`` and limits.
    principal : Principal
        Who uploads (audit trail, province restriction); default the CLI operator.
    content_type, client : str, optional
        Recorded with the upload and in the audit row.
    limits : ReadLimits, optional
        Default: from the settings.
    defer_rollup : bool
        Leave the ranking rollup's sums of the stored risk points for after the commit
        (:mod:`com.db.rollup`); the caller folds them then (the API in the background).

    Returns
    -------
    UploadSummary
        Counts, warnings and ``already_uploaded`` (True when the same bytes and options
        were uploaded before; nothing new is stored then).

    Raises
    ------
    com.errors.UploadError
        The file cannot be read at all (wrong type, too large, hostile, no place column).
    com.errors.ConflictError
        An idempotency key reused with different data.
    com.errors.PermissionDenied
        A province-restricted principal uploading for another province.
    com.errors.ValidationError
        Unknown kind, datum or province.

    Examples
    --------
    >>> with transaction(engine) as conn:  # doctest: +SKIP
    ...     summary = import_upload(conn, Path("points.csv").read_bytes(), "points.csv",
    ...                             options=ImportOptions(province_code="32"))
    """
    # Rows, records and cells make no reference cycles (com.collector says why it pays).
    with collector_paused():
        return _import_upload(conn, data, filename, options=options, settings=settings,
                              principal=principal, content_type=content_type, client=client,
                              limits=limits, defer_rollup=defer_rollup)


def _import_upload(
    conn: Connection, data: bytes, filename: str, *, options: ImportOptions | None,
    settings: Settings | None, principal: Principal, content_type: str | None,
    client: str | None, limits: ReadLimits | None, defer_rollup: bool = False,
    in_parts: bool = True,
) -> UploadSummary:
    """Import one uploaded file (:func:`import_upload`, the collector paused).

    ``in_parts``: a CSV's rows are read while the first ones are stored
    (:func:`_stream_points`); False reads the whole file first.
    """
    settings = settings or Settings(_env_file=None)  # type: ignore[call-arg]
    given = options
    request = _request(conn, data, filename, options or ImportOptions(), settings, principal)
    options = request.options
    earlier = earlier_upload(conn, sha256=request.sha256, request_key=request.request_key,
                             idempotency_key=options.idempotency_key, principal=principal,
                             client=client)
    if earlier is not None:
        return earlier
    limits = limits or ReadLimits.from_settings(settings)
    # A savepoint: a refused file (at any row) or a file read again whole leaves no upload
    # row, no stored point and no key behind in the caller's transaction.
    savepoint = conn.begin_nested()
    # The upload's row (the file's bytes, which the server compresses) is stored while the
    # file's first rows are read: reading needs no database, and the connection is not used
    # meanwhile.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="com-upload")
    inserted = pool.submit(_insert_upload, conn, data, filename, request=request,
                           principal=principal, content_type=content_type)
    try:
        reading = _open_reading(data, filename, options=options, limits=limits,
                                kind=request.kind, in_parts=in_parts)
        pool.shutdown()  # the connection is free again before anything else uses it
        preparation = _start_preparing(conn, reading.table, filename, options=options,
                                       settings=settings, limits=limits)
        upload_id = inserted.result()
        bind_key(conn, principal, options.idempotency_key, upload_id, request.request_key)
        if defer_rollup and request.kind.table == "risk_points":
            rollup.defer_rollup(conn, upload_id)
        try:
            built, streamed, near = _stream_points(
                conn, preparation, reading, request.kind, upload_id,
                province=options.province_code,
                duplicate_distance_m=float(settings.duplicate_distance_m))
            rows = preparation.rows(built)
        except UploadError as exc:
            with_file_name(exc, upload_name(filename))  # renames the error in place
            raise
    except _Widened:
        # A row part way down the file had more cells than its header: the columns were
        # not final. Read again whole, from the start (rare: a ragged file).
        pool.shutdown()
        savepoint.rollback()
        return _import_upload(conn, data, filename, options=given, settings=settings,
                              principal=principal, content_type=content_type, client=client,
                              limits=limits, defer_rollup=defer_rollup, in_parts=False)
    except ComError:
        pool.shutdown()
        savepoint.rollback()  # a refused file leaves no upload behind
        raise
    finally:
        pool.shutdown()
    savepoint.commit()
    table = preparation.table
    plan = preparation.plan
    notes = _upload_notes(options, preparation.datum_notes, plan, table)
    _store_rows(conn, rows, request.kind, upload_id, province=options.province_code,
                duplicate_distance_m=float(settings.duplicate_distance_m),
                streamed=streamed, near=near)
    counts = _row_counts(rows)
    warnings = _summary_warnings(rows, notes)
    _finish_upload(conn, upload_id, counts, _stored_options(
        request, notes=notes, warnings=warnings, table=table, plan=plan, settings=settings,
        principal=principal,
    ))
    audit.record(
        conn, principal=principal, action="upload.create", target=f"upload:{upload_id}",
        record_ids=[upload_id], client=client,
        details={
            "filename": Path(filename).name, "sha256": request.sha256, "kind": options.kind,
            "province": options.province_code, "rows": counts["rows"],
            "stored": counts["stored"], "rejected": counts["rejected"],
            "duplicates": counts["duplicates"],
        },
    )
    # Issue 17: the webhook event, in this transaction (none if the upload rolls back).
    outbox.record_upload(conn, upload_id, filename=Path(filename).name,
                         province_code=options.province_code, stored=counts["stored"])
    release_later(table, preparation, built, rows, near)
    del table, preparation, built, rows, near
    return UploadSummary(
        upload_id=upload_id, rows=counts["rows"], stored=counts["stored"],
        rejected=counts["rejected"], duplicates=counts["duplicates"], warnings=warnings,
        kind=options.kind, filename=Path(filename).name, province_code=options.province_code,
    )


@dataclass(frozen=True)
class _Request:
    """One upload request: its options (province resolved, layer named) and keys."""

    options: ImportOptions
    kind: Kind
    province_source: str | None
    sha256: str
    request_key: str


def _request(conn: Connection, data: bytes, filename: str, given: ImportOptions,
             settings: Settings, principal: Principal) -> _Request:
    """Check the options, resolve the province and the layer name, and hash the request.

    Raises
    ------
    com.errors.ValidationError
        Unknown kind, datum or province; a layer upload without a layer name.
    com.errors.PermissionDenied
        A province-restricted principal uploading for another province.
    """
    kind = lookup_kind(given.kind)
    if given.datum not in ("wgs84", "indian1975"):
        raise ValidationError(f"unknown datum {given.datum!r}; use wgs84 or indian1975")
    province, province_source = _upload_province(conn, given, settings, principal)
    options = _resolved_options(given, province, filename)
    sha256 = hashlib.sha256(data).hexdigest()
    # The same bytes and options are the same upload whatever the file is called, so the
    # layer name derived from the file name is left out of the key (issue 8).
    request_key = dataclasses.replace(options, layer=given.layer).request_key(sha256)
    return _Request(options=options, kind=kind, province_source=province_source,
                    sha256=sha256, request_key=request_key)


def _upload_province(
    conn: Connection, options: ImportOptions, settings: Settings, principal: Principal
) -> tuple[str | None, str | None]:
    """Return the upload's province code and where it came from (given, default, principal).

    Raises
    ------
    com.errors.ValidationError
        An unknown province.
    com.errors.PermissionDenied
        A province-restricted principal uploading for another province.
    """
    # No province given: the configured default province (COM_DEFAULT_PROVINCE) is the
    # upload's province, for the address context and the area check alike.
    province_source = "given" if options.province_code else None
    province = resolve_province(conn, options.province_code)
    if province is None and settings.default_province:
        province, province_source = resolve_province(conn, settings.default_province), "default"
    if principal.allowed_provinces is not None:
        if principal.province_code and (province is None or province_source == "default"):
            province, province_source = principal.province_code, "principal"
        principal.require_province(province)
    return province, province_source


def _resolved_options(
    options: ImportOptions, province: str | None, filename: str
) -> ImportOptions:
    """Return the options with the province resolved and a layer name (from the file's name).

    Raises
    ------
    com.errors.ValidationError
        A layer upload without a layer name.
    """
    layer = options.layer
    if layer is None and options.kind == "layer":
        raise ValidationError("a layer upload needs a layer name (--layer NAME)")
    if layer is None:
        layer = re.sub(r"[^0-9a-zA-Z\u0e00-\u0e7f]+", "_", Path(filename).stem).strip("_").lower()
    return ImportOptions(
        kind=options.kind, province_code=province, sheet=options.sheet,
        mapping=dict(options.mapping), layer=layer, datum=options.datum,
        transformation=options.transformation, idempotency_key=options.idempotency_key,
    )


def _start_preparing(
    conn: Connection, table: SourceTable, filename: str, *, options: ImportOptions,
    settings: Settings, limits: ReadLimits,
) -> Preparation:
    """Plan the file's rows in the province's context (UTM zone, Plus Codes).

    Raises
    ------
    com.errors.UploadError
        The file has no place column (the error names the file).
    """
    province = options.province_code
    try:
        return start_preparing(
            table, options=options, settings=settings, zone_hint=zone_hint(conn, province),
            limits=limits, locality_point=locality_points(conn, province),
        )
    except UploadError as exc:
        with_file_name(exc, upload_name(filename))  # renames the error in place
        raise


#: Rows read, prepared and stored per batch while an upload streams its points (see below).
STREAM_BATCH_ROWS = 10_000
#: Rows of the first batch (at most STREAM_BATCH_ROWS), read before the columns are planned
#: (the plan looks at the first 200).
STREAM_FIRST_BATCH_ROWS = 2_000


class _Widened(Exception):
    """A row read part way down the file had more cells than the columns planned."""


def _open_reading(data: bytes, filename: str, *, options: ImportOptions, limits: ReadLimits,
                  kind: Kind, in_parts: bool) -> TableReading:
    """Open the file and read its first rows (``in_parts``) or all of them.

    Raises
    ------
    com.errors.UploadError
        The file cannot be read (the error names the file).
    """
    reading = open_table(data, filename, sheet=options.sheet, limits=limits,
                         extra_fields=kind.extra_fields)
    if not in_parts:
        reading.finish()
        return reading
    reading.more(min(STREAM_FIRST_BATCH_ROWS, STREAM_BATCH_ROWS))
    if reading.widened:  # the first rows' columns are not final: planned on the whole file
        reading.finish()
    return reading


def _read_more(reading: TableReading) -> None:
    """Read the next batch of rows.

    Raises
    ------
    _Widened
        A row wider than the columns planned.
    """
    reading.more(STREAM_BATCH_ROWS)
    if reading.widened:
        raise _Widened


def _stream_points(
    conn: Connection, preparation: Preparation, reading: TableReading, kind: Kind,
    upload_id: int, *, province: str | None, duplicate_distance_m: float,
) -> tuple[dict[int, PreparedRow], frozenset[int], NearIndex | None]:
    """Read the rest of the file, storing the rows with plain decimal coordinates meanwhile.

    Reading and preparing a row is Python's work; storing it (the table's indexes above
    all) is the server's, in another process. Done one after the other they took turns on a
    2-core machine. Here the file is read in batches (``reading``, whose first rows the
    columns were planned on); each batch's rows that :meth:`Preparation.fast_indices` names
    are prepared and go into one COPY of the kind's table, which the server stores while
    Python reads and prepares the next batch. A row goes in only when its place is settled
    in memory: inside a subdistrict part (:mod:`com.ingest.placing`) and, for an upload with
    a province, in that province. The checks that need stored rows come after, in the same
    transaction (:func:`_store_rows`): a streamed row found a duplicate there is deleted
    again before the commit. Every other row (another coordinate form, an address, outside
    the parts or the province) takes the staged path as before.

    Returns the rows prepared so far, by index, the row numbers of those stored, and the
    index of the stored rows for the duplicates within the file (:class:`com.ingest.
    duplicates.NearIndex`), made while the server stores the last batch; the row numbers
    are the index's own. None when no row could stream. The reading is done on return.

    Raises
    ------
    _Widened
        A later row had more cells than the columns planned (nothing is undone here).
    com.errors.UploadError
        A later row cannot be read, or the file has too many rows.
    """
    if (kind.table not in DERIVED_REPORT_TABLES or kind.geometry != "point"
            or not preparation.column_wise):
        while not reading.done:
            _read_more(reading)
        return {}, frozenset(), None
    table = preparation.table
    index = part_index(conn)  # read before the COPY holds the connection
    built: dict[int, PreparedRow] = {}
    stored: list[PreparedRow] = []
    indices: list[int] = []
    coordinates: list[tuple[np.ndarray, np.ndarray]] = []
    near: list[NearIndex] = []
    # What depends on the coordinates alone runs in a thread beside the preparing (h3ronpy,
    # GEOS's tree search and scipy's KD-tree release the GIL): each batch's subdistricts
    # (a search per batch costs no more per point than one for the whole file) and H3
    # cells, then the rows crowded enough to be asked about duplicates within the file, on
    # a core the server leaves idle between its batches.
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="com-upload")
    try:
        def batches() -> Iterator[PointBatch]:
            start = 0  # the first row not taken yet
            while True:
                chunk = preparation.fast_indices(start)
                start = len(table.rows)
                lat, lon = preparation.fast_coordinates(chunk)
                indices.extend(chunk)
                coordinates.append((lat, lon))
                places = pool.submit(subdistricts_at, index, lon, lat)
                cells = pool.submit(_cell_arrays, kind, lat, lon)
                if reading.done:
                    crowded = pool.submit(
                        crowded_rows, np.concatenate([c[0] for c in coordinates]),
                        np.concatenate([c[1] for c in coordinates]), duplicate_distance_m)
                part = preparation.prepare_fast(chunk)
                built.update(part)
                rows, at = [], []
                for k, i in enumerate(chunk):
                    r = part[i]
                    if r.status == "pending" and r.target == "main":
                        rows.append(r)
                        at.append(k)
                ahead = np.asarray(at, dtype=np.intp)
                sub, dist, prov = places.result()
                placed = set_places(rows, (sub[ahead], dist[ahead], prov[ahead]))
                keep = [k for k, (r, ok) in enumerate(zip(rows, placed, strict=True))
                        if ok and (province is None or r.province_code == province)]
                # In subdistrict order: the server then adds to the same few pages of each
                # index one after the other (0.11 s less of its 1.14 s for 100,000 points
                # nationwide); the ids follow that order, the report and the checks go by
                # row number.
                keep.sort(key=lambda k: rows[k].subdistrict_code or "")
                batch = [rows[k] for k in keep]
                stored.extend(batch)
                chosen = np.asarray([at[k] for k in keep], dtype=np.intp)
                arrays = cells.result()
                yield PointBatch(batch, None if arrays is None else [c[chosen] for c in arrays])
                if reading.done:
                    break
                _read_more(reading)  # the server stores the batch meanwhile
            # Made once the last batch is sent: the server is still storing it meanwhile.
            mask = crowded.result()
            near.append(NearIndex(stored, duplicate_distance_m, crowded=frozenset(
                table.row_numbers[indices[k]] for k in np.flatnonzero(mask).tolist())))

        copy_records(conn, kind, upload_id, batches())
    finally:  # a failed COPY leaves no work queued behind it
        pool.shutdown(cancel_futures=True)
    if not indices:
        return {}, frozenset(), None
    return built, near[0].rows, near[0]


def _cell_arrays(kind: Kind, lat: np.ndarray, lon: np.ndarray) -> list[np.ndarray] | None:
    """Return the stored H3 cells of coordinates (:class:`com.ingest.store.PointBatch`)."""
    return list(stored_cells(lat, lon).values()) if kind.has_h3 else None


def _upload_notes(options: ImportOptions, datum_notes: Iterable[str], plan: ColumnPlan,
                  table: SourceTable) -> list[str]:
    """Return what the uploader should know of the whole file: datum, columns, geometries."""
    notes: list[str] = []
    if options.datum == "indian1975":
        notes.append(
            "legacy datum: Indian 1975 -> WGS 84 with "
            f"{options.transformation or DEFAULT_INDIAN1975_TRANSFORMATION}"
        )
    notes += sorted(f"coordinates converted: {n}" for n in datum_notes)
    notes += plan.notes
    if table.details.get("converted"):
        notes.append(f"geometries converted: {table.details['converted']}")
    return notes


def _insert_upload(conn: Connection, data: bytes, filename: str, *, request: _Request,
                   principal: Principal, content_type: str | None) -> int:
    """Insert the upload's row (its counts come at the end) and return its id."""
    options = request.options
    upload_table = cast(sa.Table, Upload.__table__)
    return conn.execute(
        sa.insert(upload_table)
        .values(
            kind=options.kind,
            filename=Path(filename.replace("\\", "/")).name,
            content_type=content_type,
            sha256=request.sha256,
            size_bytes=len(data),
            content=data,
            province_code=options.province_code,
            options={},
            uploaded_by=principal.name,
            # The column is unique across principals: keep the key with its owner.
            idempotency_key=(scoped_key(principal, options.idempotency_key)
                             if options.idempotency_key else None),
        )
        .returning(upload_table.c.id)
    ).scalar_one()


def _store_rows(conn: Connection, rows: Sequence[PreparedRow], kind: Kind, upload_id: int, *,
                province: str | None, duplicate_distance_m: float,
                streamed: frozenset[int] = frozenset(),
                near: NearIndex | None = None) -> None:
    """Check the rows' places, resolve duplicates, store the records and the per-row report.

    ``streamed``: row numbers already stored (:func:`_stream_points`); their places are
    settled, they are checked for duplicates like every row and deleted again when found one.
    ``near``: the index of the streamed rows made ahead (:func:`_stream_points`).
    """
    # The set-based statements look expensive to the planner but run fast on indexes; JIT
    # compiling them costs more (0.2-1 s each) than it saves. Local to this transaction.
    conn.execute(sa.text("SET LOCAL jit = off"))
    ensure_statistics(conn)
    staged = [r for r in rows if r.row_number not in streamed] if streamed else rows
    copy_stage(conn, staged)
    check_places(conn, staged, province)
    lock_duplicate_scope(conn, rows, kind)
    resolve_duplicates(conn, rows, kind, duplicate_distance_m, upload_id,
                       streamed=bool(streamed), near=near)
    if streamed:
        _unstore(conn, kind, upload_id, [r.row_number for r in rows
                                         if r.row_number in streamed and r.status != "pending"])
        read_record_ids(conn, [r for r in rows if r.row_number in streamed], kind, upload_id)
    store_records(conn, staged, kind, upload_id)
    copy_report(conn, rows, upload_id, kind)
    conn.execute(sa.text("DROP TABLE IF EXISTS pg_temp.ingest_stage"))


def _unstore(conn: Connection, kind: Kind, upload_id: int, row_numbers: list[int]) -> None:
    """Delete streamed rows the checks after storing turned down (duplicates)."""
    if row_numbers:
        conn.execute(sa.text(f"DELETE FROM {kind.table} "  # table name from the registry
                             "WHERE source_upload_id = :u AND source_row = ANY(:rows)"),
                     {"u": upload_id, "rows": row_numbers})


def _row_counts(rows: Sequence[PreparedRow]) -> dict[str, int]:
    """Count the rows by outcome (the rows still pending are the stored ones)."""
    statuses = [r.status for r in rows]
    return {
        "rows": len(rows),
        "stored": statuses.count("pending"),
        "rejected": statuses.count("rejected"),
        "duplicates": statuses.count("duplicate"),
        "with_warnings": sum(1 for r in rows if r.warnings),
    }


def _summary_warnings(rows: Sequence[PreparedRow], notes: Iterable[str]) -> list[str]:
    """Return the file's notes and the first rows' warnings (the report holds them all)."""
    out = list(notes)
    warned = [r for r in rows if r.warnings]
    out += [f"row {r.row_number}: {'; '.join(r.warnings)}"
            for r in warned[:_MAX_SUMMARY_WARNINGS]]
    if len(warned) > _MAX_SUMMARY_WARNINGS:
        out.append(f"... and {len(warned) - _MAX_SUMMARY_WARNINGS} more rows with warnings "
                   "(see the upload report)")
    return out


def _stored_options(request: _Request, *, notes: list[str], warnings: list[str],
                    table: SourceTable, plan: ColumnPlan, settings: Settings,
                    principal: Principal) -> dict[str, Any]:
    """Return what the upload's row keeps of the request and its reading (``uploads.options``)."""
    options = request.options
    return {
        "request_key": request.request_key,
        "kind": options.kind,
        "sheet": options.sheet,
        "mapping": dict(options.mapping),
        "layer": options.layer,
        "datum": options.datum,
        "transformation": options.transformation,
        "datum_notes": notes,
        "format": table.format,
        "read": {k: json_safe(v) if not isinstance(v, list | dict) else v
                 for k, v in table.details.items() if k != "geometry_errors"},
        "columns": plan.columns,
        "fields": plan.as_dict(),
        "province_source": request.province_source,
        "duplicate_distance_m": settings.duplicate_distance_m,
        "warnings": warnings,
        "uploaded_by_kind": principal.kind,
    }


def _finish_upload(conn: Connection, upload_id: int, counts: dict[str, int],
                   stored_options: dict[str, Any]) -> None:
    """Write the upload's options (as JSON) and counts onto its row."""
    upload_table = cast(sa.Table, Upload.__table__)
    conn.execute(
        sa.update(upload_table)
        .where(upload_table.c.id == upload_id)
        .values(
            options=json.loads(json.dumps(stored_options, ensure_ascii=False, default=str)),
            rows_total=counts["rows"],
            rows_stored=counts["stored"],
            rows_rejected=counts["rejected"],
            rows_duplicate=counts["duplicates"],
            rows_warning=counts["with_warnings"],
        )
    )


def import_path(
    engine: Engine,
    path: Path | str,
    *,
    options: ImportOptions | None = None,
    settings: Settings | None = None,
    principal: Principal = CLI,
) -> UploadSummary:
    """Import a file from disk in its own transaction (what ``com import`` runs).

    Raises
    ------
    com.errors.UploadError
        See :func:`import_upload`; also when the file is larger than ``max_upload_mb``.
    """
    path = Path(path)
    settings = settings or Settings(_env_file=None)  # type: ignore[call-arg]
    size = path.stat().st_size
    if size > settings.max_upload_mb * 1024 * 1024:
        raise FileTooLarge(
            f"{path.name} is {size / 1048576:,.1f} MB; the limit is {settings.max_upload_mb} MB"
        )
    data = path.read_bytes()
    with transaction(engine) as conn:
        return import_upload(conn, data, path.name, options=options, settings=settings,
                             principal=principal)
