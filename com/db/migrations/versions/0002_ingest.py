"""Schema for uploads/ingest (issue 3): idempotency keys, indexes for duplicate checks and
per-row reports.

Revision ID: 0002_ingest
Revises: 0001
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_ingest"
down_revision = "0001"
branch_labels = None
depends_on = None

# ST_DWithin(geom::geography, ...) only uses an index built on the same expression.
GEOGRAPHY_INDEXES = {
    "ix_risk_points_geom_geography": "risk_points",
    "ix_cameras_geom_geography": "cameras",
}
# risk_points has none: its source_upload_id index (0001) serves the lookups by upload, and
# each extra index costs every import (about 0.3 s per 100,000 rows).
SOURCE_INDEXES = {
    "ix_cameras_source_upload_id_source_row": "cameras",
    "ix_context_layers_source_upload_id_source_row": "context_layers",
}


def upgrade() -> None:
    # A client's retry key -> the upload it produced (or was answered with, when the same
    # bytes were uploaded before), with the hash of the request it came with. Keys belong
    # to the principal that sent them: another principal's equal key is another request.
    op.create_table(
        "upload_keys",
        sa.Column("principal_kind", sa.Text, primary_key=True),
        sa.Column("principal_name", sa.Text, primary_key=True),
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column(
            "upload_id", sa.BigInteger, sa.ForeignKey("uploads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("request_key", sa.String(64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.create_index("ix_upload_keys_upload_id", "upload_keys", ["upload_id"])
    for name, table in GEOGRAPHY_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} USING gist ((geom::geography))")
    for name, table in SOURCE_INDEXES.items():
        op.create_index(name, table, ["source_upload_id", "source_row"])
    op.create_index("ix_uploads_sha256_kind", "uploads", ["sha256", "kind"])
    op.drop_index("ix_uploads_sha256", table_name="uploads")


def downgrade() -> None:
    op.create_index("ix_uploads_sha256", "uploads", ["sha256"])
    op.drop_index("ix_uploads_sha256_kind", table_name="uploads")
    for name, table in SOURCE_INDEXES.items():
        op.drop_index(name, table_name=table)
    for name in GEOGRAPHY_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.drop_table("upload_keys")
