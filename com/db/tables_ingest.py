"""Idempotency keys and the indexes the upload machinery adds (migration 0002_ingest).

Duplicate detection compares points geodesically with ``ST_DWithin(geom::geography, ...)``;
only an index on that same expression lets PostGIS use GiST for it (cameras; risk_points
narrows with a box on its geometry index instead, 0009_ingest). Records are also looked up by
the upload they came from when the per-row report is written.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from geoalchemy2 import Geography
from sqlalchemy.orm import Mapped, mapped_column

from com.db.tables import Base, Camera, ContextLayer


class UploadKey(Base):
    """A client's Idempotency-Key and the upload it stands for.

    A key belongs to the principal (kind and name) that sent it: another principal's equal
    key is another request. ``request_key`` hashes the bytes and options; the same key with
    another request is refused. Kept apart from ``uploads.idempotency_key`` because one
    upload can answer several keys (a retry of a file that was already uploaded under
    another key).
    """

    __tablename__ = "upload_keys"
    principal_kind: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    principal_name: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    key: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    upload_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("uploads.id", ondelete="CASCADE"), index=True
    )
    request_key: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )


# risk_points has no geography index since 0009_ingest: its duplicate check narrows on the
# GiST index of geom (com/db/sql/ingest_duplicates_existing.sql), and every upload paid to
# keep a geography GiST up.
cameras_geography_index = sa.Index(
    "ix_cameras_geom_geography",
    sa.cast(Camera.__table__.c.geom, Geography()),
    postgresql_using="gist",
)
cameras_source_index = sa.Index(
    "ix_cameras_source_upload_id_source_row",
    Camera.__table__.c.source_upload_id,
    Camera.__table__.c.source_row,
)
context_layers_source_index = sa.Index(
    "ix_context_layers_source_upload_id_source_row",
    ContextLayer.__table__.c.source_upload_id,
    ContextLayer.__table__.c.source_row,
)
