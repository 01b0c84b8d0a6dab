"""The original cells of an upload's rows, read again from the file the upload keeps.

An upload writes a report line (with the row's original cells) only for the rows that were
rejected, were duplicates or carry a warning; a risk point stored cleanly is reported from
``risk_points`` (the view ``upload_report``, 0011_ingest_speed). When a report is read, the
original cells of those rows come from here: the uploaded bytes (``uploads.content``) are read
again with the same reader, sheet and kind, and each row's cells are paired with the column
names the upload recorded, exactly as the import paired them.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.errors import ComError
from com.ingest.cells import cell_json
from com.ingest.kinds import lookup_kind
from com.ingest.readers import ReadLimits, read_table

__all__ = ["original_cells"]

log = logging.getLogger(__name__)


def original_cells(
    conn: Connection, upload_id: int, row_numbers: Collection[int]
) -> dict[int, dict[str, Any]]:
    """Return ``{row number: {column: original cell}}`` for rows of an upload.

    Parameters
    ----------
    conn : Connection
        Database connection.
    upload_id : int
        The upload.
    row_numbers : collection of int
        The rows wanted (the data-row numbers the report uses).

    Returns
    -------
    dict
        The rows found; empty when the file's bytes were purged (retention) or can no longer
        be read (then each row's original is reported as empty, as after retention).
    """
    if not row_numbers:
        return {}
    found = conn.execute(
        sa.text("SELECT filename, kind, options, rows_total, content FROM uploads "
                "WHERE id = :u AND content_purged_at IS NULL"),
        {"u": upload_id},
    ).first()
    if found is None or not found.content:
        return {}
    options: Mapping[str, Any] = found.options or {}
    columns: list[str] = list(options.get("columns") or [])
    try:
        table = _read_again(bytes(found.content), found.filename, options, found.kind,
                            int(found.rows_total or 0))
    except ComError as exc:  # the reader refuses it now (limits lowered since, ...)
        log.warning("upload %s: its file cannot be read again for the report: %s",
                    upload_id, exc)
        return {}
    wanted = set(row_numbers)
    return {
        number: dict(zip(columns, map(cell_json, values), strict=False))
        for number, values in zip(table.row_numbers, table.rows, strict=True)
        if number in wanted
    }


def _read_again(data: bytes, filename: str, options: Mapping[str, Any], kind_name: str,
                rows_total: int) -> Any:
    """Read the uploaded file as the import did (same reader, sheet and kind's fields)."""
    kind = lookup_kind(kind_name)
    defaults = ReadLimits()
    # The file passed the limits of its day; a later, lower row cap must not hide its rows.
    limits = ReadLimits(max_rows=max(defaults.max_rows, rows_total))
    return read_table(data, filename, sheet=options.get("sheet"), limits=limits,
                      extra_fields=kind.extra_fields)
