"""Schema for users and web sessions (issue 6).

Revision ID: 0005_web
Revises: 0004_siting
Create Date: 2026-11-22
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_web"
down_revision = "0004_siting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
