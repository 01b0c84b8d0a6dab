"""Schema for CCTV plans (issue 5).

Revision ID: 0004_siting
Revises: 0003_risk
Create Date: 2026-11-22
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_siting"
down_revision = "0003_risk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
