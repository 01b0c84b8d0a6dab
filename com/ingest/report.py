"""Reading uploads back: their summaries, the per-row report (JSON or CSV), the stored points.

A report holds every original cell, so it goes to whoever sent the file, administrators and
staff of its province; rows of sensitive categories are coarsened for other readers
(:func:`coarsen_report_rows`).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any, TextIO, cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.config.regions import province_codes_of
from com.config.settings import Settings
from com.config.severity import (
    CategoryMatcher,
    SeverityModel,
    cached_severity_model,
    sensitive_categories,
)
from com.db.tables import Upload
from com.errors import NotFoundError, PermissionDenied, ValidationError
from com.ingest.cells import csv_cell
from com.ingest.originals import original_cells
from com.ingest.readers import json_safe
from com.ingest.reasons import describe
from com.io.escape import escape_formula
from com.security import audit
from com.security.access import CLI, Principal

__all__ = [
    "COARSENED_NOTE",
    "HIDDEN_PLACE_NOTE",
    "coarsen_report_rows",
    "export_risk_points",
    "get_upload",
    "list_uploads",
    "write_report_csv",
]


def _upload_row(conn: Connection, upload_id: int, principal: Principal | None) -> Any:
    upload = cast(sa.Table, Upload.__table__)
    row = conn.execute(
        sa.select(
            upload.c.id, upload.c.kind, upload.c.filename, upload.c.sha256,
            upload.c.size_bytes, upload.c.province_code, upload.c.options,
            upload.c.uploaded_by, upload.c.uploaded_at, upload.c.status, upload.c.rows_total,
            upload.c.rows_stored, upload.c.rows_rejected, upload.c.rows_duplicate,
            upload.c.rows_warning,
        ).where(upload.c.id == upload_id)
    ).mappings().first()
    if row is None:
        raise NotFoundError(f"upload {upload_id} does not exist")
    if principal is not None:
        _check_read(conn, principal, row)
    return row


def _sent_it(conn: Connection, principal: Principal, row: Any) -> bool:
    """Whether the principal uploaded this file, or sent it again and was answered with it."""
    kind = (row["options"] or {}).get("uploaded_by_kind")
    if row["uploaded_by"] == principal.name and kind in (None, principal.kind):
        return True
    # A repeat (the same bytes, or a retry) is answered with the first upload; its sender
    # follows the report link too. The audit trail records who was answered with which.
    return conn.execute(
        sa.text("SELECT EXISTS (SELECT 1 FROM audit_log WHERE action = 'upload.repeat' "
                "AND target = :t AND actor = :a AND actor_kind = :k)"),
        {"t": f"upload:{row['id']}", "a": principal.name, "k": principal.kind},
    ).scalar_one()


def _check_read(conn: Connection, principal: Principal, row: Any) -> None:
    """Raise PermissionDenied unless the principal may read this upload's report.

    The report holds every original cell (exact places of sensitive points), so it goes to:
    whoever sent the file (the same user or API key); administrators and the CLI; staff
    and write-scoped API keys, within their province when they are restricted to one.
    Read-only principals (viewers, read keys) see only what they sent themselves.
    """
    if principal.kind == "cli" or principal.has_role("admin") or _sent_it(conn, principal, row):
        return
    if not (principal.has_role("staff") or principal.can_write()):
        raise PermissionDenied(
            f"{principal.name} may read only the uploads it sent; upload {row['id']} was sent "
            "by someone else"
        )
    if principal.kind == "api_key" and principal.allowed_provinces is None:
        raise PermissionDenied(
            f"{principal.name} may read only the uploads it sent (the key is not limited to "
            "a province)"
        )
    principal.require_province(row["province_code"])


def _upload_dict(row: Any) -> dict[str, Any]:
    options = dict(row["options"] or {})
    return {
        "upload_id": row["id"],
        "kind": row["kind"],
        "filename": row["filename"],
        "sha256": row["sha256"],
        "size_bytes": row["size_bytes"],
        "province_code": row["province_code"],
        "uploaded_by": row["uploaded_by"],
        "uploaded_at": row["uploaded_at"].isoformat() if row["uploaded_at"] else None,
        "status": row["status"],
        "rows": row["rows_total"],
        "stored": row["rows_stored"],
        "rejected": row["rows_rejected"],
        "duplicates": row["rows_duplicate"],
        "rows_with_warnings": row["rows_warning"],
        "warnings": options.get("warnings", []),
        "columns": options.get("columns", []),
        "fields": options.get("fields", {}),
        "options": {k: options.get(k) for k in ("sheet", "mapping", "layer", "datum",
                                                 "transformation", "datum_notes", "format",
                                                 "read", "province_source")},
    }


def get_upload(
    conn: Connection,
    upload_id: int,
    *,
    principal: Principal | None = None,
    with_rows: bool = True,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Return an upload's summary and (optionally) its per-row report under ``report``.

    A call with a principal is a read of uploaded (possibly sensitive) data and writes an
    ``upload.read`` audit row. Rows of sensitive categories are coarsened (see
    :func:`coarsen_report_rows`) unless the principal sent the file or holds the
    ``sensitive`` right; such rows carry ``coarsened: true``.

    Parameters
    ----------
    conn : Connection
        Database connection.
    upload_id : int
        The upload.
    principal : Principal, optional
        Who reads (access check, audit, coarsening); None: a library caller, sees all.
    with_rows : bool
        Include the per-row report.
    settings : Settings, optional
        Its ``severity_config`` says which categories are sensitive.

    Returns
    -------
    dict
        The summary, and the rows under ``report``.

    Raises
    ------
    com.errors.NotFoundError
        No such upload.
    com.errors.PermissionDenied
        The principal did not send the upload and may not read others' (a viewer, a read
        key, a key or staff member limited to another province).
    """
    row = _upload_row(conn, upload_id, principal)
    out = _upload_dict(row)
    if principal is not None:
        audit.record(conn, principal=principal, action="upload.read",
                     target=f"upload:{upload_id}", record_ids=[upload_id],
                     details={"rows": with_rows})
    coarse = not _sees_rows_exactly(conn, principal, row)
    if with_rows or coarse:
        report = _report_rows(conn, upload_id)
        if coarse:
            hidden = coarsen_report_rows(conn, row, report, settings=settings)
            out["warnings"] = [w for w in out["warnings"]
                               if not ((m := re.match(r"row (\d+):", w))
                                       and int(m.group(1)) in hidden)]
        if with_rows:
            out["report"] = [_with_reason(r) for r in report]
    return out


def _with_reason(row: dict[str, Any]) -> dict[str, Any]:
    """Add the reason's code and its Thai and English texts to a report row.

    A coarsened row's reason is already the bilingual note (its details are hidden).
    """
    if row.get("coarsened"):
        row.update(reason_code="coarsened", reason_en=row["reason"], reason_th=row["reason"])
        return row
    described = describe(row.get("reason"))
    if described is None:
        row.update(reason_code=None, reason_en=None, reason_th=None)
    else:
        row.update(described.as_dict())
    return row


def _report_rows(conn: Connection, upload_id: int) -> list[dict[str, Any]]:
    """Return the report line of every row of the upload, in row order.

    The view ``upload_report`` holds the written lines and, for risk points stored cleanly
    (no line written), a line made from the stored record; their original cells are read
    again from the uploaded file (:func:`com.ingest.originals.original_cells`).
    """
    rows = [dict(r) for r in conn.execute(
        sa.text(
            "SELECT row_number AS row, status, reason, column_name AS column, warnings, lat, "
            "lon, subdistrict_code, quality, record_id, original FROM upload_report "
            "WHERE upload_id = :u ORDER BY row_number"
        ),
        {"u": upload_id},
    ).mappings()]
    derived = [r for r in rows if r["original"] is None]
    originals = original_cells(conn, upload_id, [r["row"] for r in derived])
    for r in derived:
        r["original"] = originals.get(r["row"], {})
    return rows


def _sees_rows_exactly(conn: Connection, principal: Principal | None, row: Any) -> bool:
    """Return True when the reader sees sensitive rows exactly.

    That is its sender (whoever sent the same bytes again holds them too), a holder of the
    sensitive right, or a library caller without a principal.
    """
    return principal is None or principal.sees_sensitive or _sent_it(conn, principal, row)


#: Original cells a coarsened row keeps: they describe the issue, not where it is or who.
_UNPLACING_FIELDS = frozenset({"category", "severity", "date", "count"})

#: What a coarsened row says, in the report's reason (Thai and English, as the pages are).
COARSENED_NOTE = ("ตำแหน่งแสดงที่จุดตัวแทนของตำบล (ประเภทข้อมูลอ่อนไหว) / located at its "
                  "subdistrict's representative point (sensitive category)")
HIDDEN_PLACE_NOTE = "ตำแหน่งถูกซ่อน (ประเภทข้อมูลอ่อนไหว) / location hidden (sensitive category)"


def _severity_model(settings: Settings | None) -> SeverityModel:
    return cached_severity_model(getattr(settings, "severity_config", None))


def coarsen_report_rows(
    conn: Connection, upload: Mapping[str, Any], rows: list[dict[str, Any]], *,
    settings: Settings | None = None,
) -> set[int]:
    """Coarsen, in place, the report rows of sensitive categories; return their numbers.

    The README's rule for the map applied to upload reports (issue 11): a row whose category
    is sensitive (the stored record's category, else the file's category cell read as at
    import) is placed at its subdistrict's representative point (no place: no coordinates),
    keeps of its original cells only category, severity, date and count (names, addresses,
    coordinates and notes give the place away), loses its warnings and, when rejected, the
    reason's details (they quote cells). It gets ``coarsened: True``.

    Parameters
    ----------
    conn : Connection
        Database connection (stored categories, representative points).
    upload : mapping
        The upload's row (``kind``, ``options``).
    rows : list of dict
        Report rows with ``row``, ``status``, ``reason``, ``warnings``, ``lat``, ``lon``,
        ``subdistrict_code``, ``record_id`` and ``original``.
    settings : Settings, optional
        Its ``severity_config`` says which categories are sensitive.

    Returns
    -------
    set of int
        The numbers of the coarsened rows.
    """
    if upload["kind"] != "risk_points" or not rows:
        return set()
    model = _severity_model(settings)
    sensitive = sensitive_categories(model)
    if not sensitive:
        return set()
    fields: dict[str, str] = dict((upload["options"] or {}).get("fields") or {})
    category_columns = [c for c, f in fields.items() if f == "category"]
    stored: dict[int, str] = dict(conn.execute(
        sa.text("SELECT id, category FROM risk_points WHERE id = ANY(:ids)"),
        {"ids": [r["record_id"] for r in rows if r["record_id"] is not None]},
    ).tuples().all())
    matcher = CategoryMatcher.from_model(model) if category_columns else None
    hidden: list[dict[str, Any]] = []
    for r in rows:
        category = stored.get(r["record_id"])
        if category is None and matcher is not None:
            category = matcher.match((r["original"] or {}).get(category_columns[0]))[0]
        if category in sensitive:
            hidden.append(r)
    codes = sorted({r["subdistrict_code"] for r in hidden if r["subdistrict_code"]})
    reps = {code: (lat, lon) for code, lat, lon in conn.execute(
        sa.text("SELECT code, ST_Y(rep_point), ST_X(rep_point) FROM subdistricts "
                "WHERE code = ANY(:codes)"), {"codes": codes}).tuples()} if codes else {}
    for r in hidden:
        r["lat"], r["lon"] = reps.get(r["subdistrict_code"], (None, None))
        r["original"] = {c: v for c, v in (r["original"] or {}).items()
                         if fields.get(c) in _UNPLACING_FIELDS}
        r["warnings"] = None
        if r["status"] == "rejected":
            r["reason"] = "rejected; details hidden / ปฏิเสธ รายละเอียดถูกซ่อน"
        note = COARSENED_NOTE if r["lat"] is not None else HIDDEN_PLACE_NOTE
        r["reason"] = "; ".join(x for x in (r["reason"], note) if x)
        r["coarsened"] = True
    return {r["row"] for r in hidden}


def list_uploads(
    conn: Connection, *, principal: Principal | None = None, limit: int = 100, offset: int = 0
) -> list[dict[str, Any]]:
    """Return uploads, newest first (only the principal's province when it is restricted)."""
    upload = cast(sa.Table, Upload.__table__)
    query = (
        sa.select(
            upload.c.id, upload.c.kind, upload.c.filename, upload.c.sha256,
            upload.c.size_bytes, upload.c.province_code, upload.c.options,
            upload.c.uploaded_by, upload.c.uploaded_at, upload.c.status, upload.c.rows_total,
            upload.c.rows_stored, upload.c.rows_rejected, upload.c.rows_duplicate,
            upload.c.rows_warning,
        )
        .order_by(upload.c.id.desc())
        .limit(max(1, min(limit, 1000)))
        .offset(max(0, offset))
    )
    if principal is not None and principal.allowed_provinces is not None:
        query = query.where(upload.c.province_code.in_(sorted(principal.allowed_provinces)))
    out = []
    for row in conn.execute(query).mappings():
        item = _upload_dict(row)
        item.pop("warnings")
        out.append(item)
    return out


def write_report_csv(
    conn: Connection, upload_id: int, stream: TextIO, *, principal: Principal | None = None,
    settings: Settings | None = None,
) -> int:
    """Write the per-row report of an upload as CSV.

    Columns: row (1-based data row; for KML the placemark's order), status
    (stored/rejected/duplicate), reason (English), lat, lon, subdistrict_code, quality,
    reason_th (the reason in Thai) and reason_code (:func:`com.ingest.reasons.describe`), then the
    original values under their own column names (a name clashing with these gets
    " (original)"). Warnings of stored rows appear in ``reason`` prefixed with "warning:".
    Text cells are escaped against formula injection. Writes an ``upload.report`` audit row.
    Rows of sensitive categories are coarsened as in :func:`get_upload` unless the principal
    sent the file or holds the ``sensitive`` right (``settings``: the severity model).

    Returns
    -------
    int
        Number of rows written.

    Raises
    ------
    com.errors.NotFoundError
        No such upload.
    """
    upload_row = _upload_row(conn, upload_id, principal)
    upload = _upload_dict(upload_row)
    columns: list[str] = upload["columns"]
    fixed = ["row", "status", "reason", "lat", "lon", "subdistrict_code", "quality",
             "reason_th", "reason_code"]
    header = fixed + [c if c not in fixed else f"{c} (original)" for c in columns]
    writer = csv.writer(stream)
    writer.writerow([escape_formula(h) for h in header])
    count = 0
    rows = _report_rows(conn, upload_id)
    if not _sees_rows_exactly(conn, principal, upload_row):
        coarsen_report_rows(conn, upload_row, rows, settings=settings)
    for r in rows:
        reason = r["reason"] or (f"warning: {r['warnings']}" if r["warnings"] else None)
        lat = round(r["lat"], 7) if r["lat"] is not None else None
        lon = round(r["lon"], 7) if r["lon"] is not None else None
        original = r["original"] or {}
        _with_reason(r)
        reason_th = r["reason_th"]
        if reason_th is None and r["warnings"]:
            reason_th = f"คำเตือน: {r['warnings']}"
        writer.writerow(
            [csv_cell(v) for v in
             (r["row"], r["status"], reason, lat, lon, r["subdistrict_code"], r["quality"],
              reason_th, r["reason_code"])]
            + [csv_cell(original.get(c)) for c in columns]
        )
        count += 1
    audit.record(
        conn, principal=principal or CLI, action="upload.report", target=f"upload:{upload_id}",
        record_ids=[upload_id], details={"rows": count},
    )
    return count


_EXPORT_COLUMNS = (
    "id", "name", "category", "category_raw", "severity", "incident_count", "reported_on",
    "address", "subdistrict_code", "district_code", "province_code", "geocode_quality",
    "approximate", "source_file", "source_upload_id", "source_row", "lat", "lon",
)


def export_risk_points(
    conn: Connection,
    stream: TextIO,
    *,
    fmt: str = "geojson",
    province_code: str | None = None,
    principal: Principal = CLI,
    region: str | None = None,
) -> int:
    """Write stored risk points as GeoJSON or CSV, with the source file and row of each.

    Parameters
    ----------
    conn : Connection
        Database connection.
    stream : TextIO
        Where to write (a file opened with ``newline=""`` for CSV).
    fmt : {"geojson", "csv"}
        Output format; CSV text cells are escaped against formula injection.
    province_code : str, optional
        Only this province (forced to the principal's province when restricted).
    principal : Principal
        Who exports (audit trail).
    region : str, optional
        Only this region's provinces (:mod:`com.config.regions`); a restricted principal
        asking for nothing gets its own province or region.

    Returns
    -------
    int
        Number of points written.

    Raises
    ------
    com.errors.ValidationError
        Unknown format.
    """
    if fmt not in ("geojson", "csv"):
        raise ValidationError(f"unknown export format {fmt!r}; use geojson or csv")
    extent = principal.scope_extent(province=province_code, region=region)
    codes = province_codes_of(province=extent["province"], region=extent["region"])
    query = sa.text(
        "SELECT r.id, r.name, r.category, r.category_raw, r.severity, r.incident_count, "
        "r.reported_on, r.address, r.subdistrict_code, r.district_code, r.province_code, "
        "r.geocode_quality, r.approximate, u.filename AS source_file, r.source_upload_id, "
        "r.source_row, ST_Y(r.geom) AS lat, ST_X(r.geom) AS lon "
        "FROM risk_points r LEFT JOIN uploads u ON u.id = r.source_upload_id "
        "WHERE (CAST(:p AS text[]) IS NULL OR r.province_code = ANY(CAST(:p AS text[]))) "
        "ORDER BY r.id"
    )
    # Options on the statement, not the connection: they must not leak to the audit insert.
    result = conn.execute(
        query.execution_options(stream_results=True, yield_per=5000),
        {"p": list(codes) if codes else None},
    )
    write = _write_points_csv if fmt == "csv" else _write_points_geojson
    ids = write(result, stream)
    audit.record(
        conn, principal=principal, action=f"export.{fmt}", target="collection:risk-points",
        record_ids=ids if len(ids) <= 10_000 else [],
        details={"count": len(ids), "province": extent["province"], "region": extent["region"],
                 "ids_omitted": len(ids) > 10_000},
    )
    return len(ids)


def _write_points_csv(result: Iterable[Any], stream: TextIO) -> list[int]:
    """Write the points as CSV, text cells escaped; return their ids."""
    ids: list[int] = []
    writer = csv.writer(stream)
    writer.writerow(_EXPORT_COLUMNS)
    for r in result:
        ids.append(r.id)
        writer.writerow([csv_cell(json_safe(v)) for v in r])
    return ids


def _write_points_geojson(result: Iterable[Any], stream: TextIO) -> list[int]:
    """Write the points as a GeoJSON FeatureCollection, streamed; return their ids."""
    ids: list[int] = []
    stream.write('{"type": "FeatureCollection", "features": [\n')
    for n, r in enumerate(result):
        ids.append(r.id)
        props = {k: json_safe(v) for k, v in r._mapping.items() if k not in ("lat", "lon")}
        feature = {
            "type": "Feature",
            "id": r.id,
            "geometry": {"type": "Point", "coordinates": [r.lon, r.lat]},
            "properties": props,
        }
        stream.write((",\n" if n else "") + json.dumps(feature, ensure_ascii=False))
    stream.write("\n]}\n")
    return ids
