"""Whole-selection exports of a collection (CSV, XLSX, GeoJSON, GeoPackage), audit-logged."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from com.errors import ValidationError
from com.io.exports import AUDIT_MAX_IDS, FORMATS, ExportResult, render, to_frame
from com.ogc.catalog import FeatureCatalog
from com.ogc.query import ItemQuery
from com.security import audit
from com.security.access import Principal


def export_collection(
    conn: Connection,
    catalog: FeatureCatalog,
    collection_id: str,
    fmt: str,
    *,
    principal: Principal,
    query: ItemQuery | None = None,
    client: str | None = None,
) -> ExportResult:
    """Export a collection's selection and write an ``export.<fmt>`` audit row.

    The selection obeys the same rules as the items endpoint: the principal's province and
    the coarsening of sensitive points, plus the query's bbox, datetime and filters, without
    paging (up to :data:`com.ogc.items.MAX_EXPORT_FEATURES`).

    Parameters
    ----------
    conn
        Connection of a transaction the caller commits (the audit row is part of it).
    catalog
        The service's collections.
    collection_id
        ``risk-points``, ``subdistricts`` ...
    fmt
        ``csv``, ``xlsx``, ``geojson`` or ``gpkg``.
    principal
        Who exports (province restriction, sensitive permission, audit).
    query
        Filters; paging fields are ignored.
    client
        Client address for the audit trail.

    Returns
    -------
    ExportResult

    Raises
    ------
    com.errors.NotFoundError
        Unknown collection.
    com.errors.ValidationError
        Unknown format or a selection that is too large.
    """
    if fmt not in FORMATS:
        raise ValidationError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    query = query or ItemQuery()
    data = catalog.export_rows(conn, collection_id, principal, query)
    frame = to_frame(data)
    content = render(frame, fmt, name=collection_id)
    keys = data.keys
    details: dict[str, Any] = {
        "format": fmt,
        "count": len(keys),
        "selection": json.loads(query.signature()),
        "province_restriction": principal.extent_key,
        "sensitive_exact": bool(data.sensitive_keys) and principal.sees_sensitive,
        "sensitive_count": len(data.sensitive_keys),
    }
    if len(keys) > AUDIT_MAX_IDS:
        details["ids_truncated"] = True
        details["id_range"] = [keys[0], keys[-1]]
    audit.record(
        conn,
        principal=principal,
        action=f"export.{fmt}",
        target=f"collection:{collection_id}",
        record_ids=keys[:AUDIT_MAX_IDS],
        details=details,
        client=client,
    )
    stamp = date.today().strftime("%Y%m%d")
    return ExportResult(
        content=content,
        media_type=FORMATS[fmt],
        filename=f"{collection_id}_{stamp}.{fmt}",
        count=len(keys),
    )
