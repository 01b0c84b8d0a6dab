"""Accounts and API keys limited to a region instead of a province (issue 16).

A region is a named set of provinces from com/config/regions.toml (plus COM_REGIONS_CONFIG);
the column holds its key. An account or key has a province, a region, or neither.

Revision ID: 0014_regions
Revises: 0013_villages
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0014_regions"
down_revision = "0013_villages"
branch_labels = None
depends_on = None

TABLES = ("users", "api_keys")


def upgrade() -> None:
    for table in TABLES:
        op.add_column(table, sa.Column("region", sa.Text(), nullable=True))
        op.create_check_constraint(
            "province_or_region", table, "province_code IS NULL OR region IS NULL"
        )


def downgrade() -> None:
    for table in TABLES:
        op.drop_constraint(op.f(f"ck_{table}_province_or_region"), table, type_="check")
        op.drop_column(table, "region")
