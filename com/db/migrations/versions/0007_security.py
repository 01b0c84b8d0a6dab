"""Schema for reliability, retention, audit (issue 8).

Adds the marks left by `com retention run`: when a risk point was anonymised and when an
upload's original bytes were purged (the sha256 stays, so the same file is still recognised).

Revision ID: 0007_security
Revises: 0006_ogc
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_security"
down_revision = "0006_ogc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("risk_points", sa.Column("anonymised_at", sa.DateTime(timezone=True)))
    op.add_column("uploads", sa.Column("content_purged_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    op.drop_column("uploads", "content_purged_at")
    op.drop_column("risk_points", "anonymised_at")
