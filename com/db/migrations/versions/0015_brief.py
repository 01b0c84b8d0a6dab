"""The meeting brief's record of ranks and hot spots (issue 18).

Revision ID: 0015_brief
Revises: 0014_regions
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0015_brief"
down_revision = "0014_regions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "brief_records",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"),
                  nullable=False),
        sa.Column("fiscal_year_be", sa.Integer, nullable=False),
        sa.Column("made_at", sa.DateTime(timezone=True), server_default=sa.func.now(),
                  nullable=False),
        sa.Column("data_cut_off", sa.Date, nullable=False),
        sa.Column("made_by", sa.Text, nullable=False),
        sa.Column("ranks", JSONB, server_default="{}", nullable=False),
        sa.Column("hotspots", JSONB, server_default="[]", nullable=False),
    )
    op.create_index("ix_brief_records_province_code", "brief_records", ["province_code"])


def downgrade() -> None:
    op.drop_index("ix_brief_records_province_code", table_name="brief_records")
    op.drop_table("brief_records")
