"""Schema for reliability, retention, audit (issue 8).

Revision ID: 0007_security
Revises: 0006_ogc
Create Date: 2026-11-22
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0007_security"
down_revision = "0006_ogc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
