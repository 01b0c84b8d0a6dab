"""Repeated uploads: the same bytes and options, or a client's retry key, answer the first one.

The same bytes with the same options (kind, province, sheet, mapping, layer, datum) return the
earlier upload with ``already_uploaded=True`` and store nothing. An ``idempotency_key`` names a
request: the same key with other data is refused.
"""

from __future__ import annotations

import json
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db import tables_ingest  # noqa: F401 - registers upload_keys on the metadata
from com.db.tables import Upload
from com.errors import ConflictError
from com.ingest.options import UploadSummary
from com.security import audit
from com.security.access import Principal

__all__ = ["bind_key", "earlier_upload", "scoped_key"]


def earlier_upload(
    conn: Connection,
    *,
    sha256: str,
    request_key: str,
    idempotency_key: str | None,
    principal: Principal,
    client: str | None,
) -> UploadSummary | None:
    """Return the summary of the upload this request repeats, else None.

    Uploads of the same bytes and options (and of the same idempotency key) are serialised
    until commit, so two concurrent retries cannot both store.

    Parameters
    ----------
    conn : Connection
        A connection inside the upload's transaction (the locks last until it ends).
    sha256 : str
        Hash of the file's bytes.
    request_key : str
        Hash of the bytes and options (:meth:`ImportOptions.request_key`).
    idempotency_key : str, optional
        The client's retry key.
    principal : Principal
        Who uploads: keys belong to the principal that sent them.
    client : str, optional
        Recorded in the audit row of a repeat.

    Returns
    -------
    UploadSummary or None
        The earlier upload with ``already_uploaded=True``; None for a new request.

    Raises
    ------
    com.errors.ConflictError
        The idempotency key was used before with other data or options.
    """
    conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 0))"),
                 {"k": request_key})
    if idempotency_key:
        # Keys belong to the principal that sent them (issue 8 review): another user's
        # identical key is another request, and never reveals the first one's upload.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(hashtextextended(:k, 1))"),
                     {"k": scoped_key(principal, idempotency_key)})
        prior = conn.execute(
            sa.text("SELECT upload_id, request_key FROM upload_keys WHERE principal_kind = :pk "
                    "AND principal_name = :pn AND key = :k"),
            {"pk": principal.kind, "pn": principal.name, "k": idempotency_key},
        ).first()
        if prior is not None:
            if prior.request_key != request_key:
                raise ConflictError(
                    f"idempotency key {idempotency_key!r} was used for upload "
                    f"{prior.upload_id} with different data or options"
                )
            return _repeat(conn, prior.upload_id, principal, client)
    existing = _existing_upload(conn, sha256, request_key)
    if existing is not None:
        bind_key(conn, principal, idempotency_key, existing, request_key)
        return _repeat(conn, existing, principal, client)
    return None


def _existing_upload(conn: Connection, sha256: str, request_key: str) -> int | None:
    """Return the first upload of the same bytes and options, else None."""
    return conn.execute(
        sa.text("SELECT id FROM uploads WHERE sha256 = :h AND options->>'request_key' = :k "
                "ORDER BY id LIMIT 1"),
        {"h": sha256, "k": request_key},
    ).scalar()


def _summary_of(conn: Connection, upload_id: int, *, already: bool) -> UploadSummary:
    """Return the summary of a stored upload."""
    upload = cast(sa.Table, Upload.__table__)
    row = conn.execute(sa.select(upload).where(upload.c.id == upload_id)).mappings().one()
    return UploadSummary(
        upload_id=row["id"],
        rows=row["rows_total"],
        stored=row["rows_stored"],
        rejected=row["rows_rejected"],
        duplicates=row["rows_duplicate"],
        warnings=list((row["options"] or {}).get("warnings", [])),
        already_uploaded=already,
        kind=row["kind"],
        filename=row["filename"],
        province_code=row["province_code"],
    )


def scoped_key(principal: Principal, key: str) -> str:
    """Return the idempotency key with its owner (kind and name), as one text."""
    return json.dumps([principal.kind, principal.name, key], ensure_ascii=False)


def bind_key(conn: Connection, principal: Principal, key: str | None, upload_id: int,
             request_key: str) -> None:
    """Record that the principal's idempotency key names this upload (no key: nothing)."""
    if key:
        conn.execute(
            sa.text("INSERT INTO upload_keys (principal_kind, principal_name, key, upload_id, "
                    "request_key) VALUES (:pk, :pn, :k, :u, :r) "
                    "ON CONFLICT (principal_kind, principal_name, key) DO NOTHING"),
            {"pk": principal.kind, "pn": principal.name, "k": key, "u": upload_id,
             "r": request_key},
        )


def _repeat(conn: Connection, upload_id: int, principal: Principal, client: str | None
            ) -> UploadSummary:
    """Answer a repeated request with the earlier upload, and audit that it was asked again."""
    audit.record(conn, principal=principal, action="upload.repeat", target=f"upload:{upload_id}",
                 record_ids=[upload_id], details={"already_uploaded": True}, client=client)
    return _summary_of(conn, upload_id, already=True)
