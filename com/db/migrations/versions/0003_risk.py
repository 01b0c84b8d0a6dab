"""Schema for risk ranking, target lists, KPI, projects (issue 4).

Revision ID: 0003_risk
Revises: 0002_ingest
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_risk"
down_revision = "0002_ingest"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "target_lists",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), nullable=False),
        sa.Column("fiscal_year_be", sa.Integer, nullable=False),
        sa.Column("level", sa.Text, nullable=False, server_default="subdistrict"),
        sa.Column("declared_by", sa.Text, nullable=False),
        sa.Column(
            "declared_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("params", JSONB, nullable=False, server_default="{}"),
        sa.UniqueConstraint(
            "province_code",
            "fiscal_year_be",
            "level",
            name="uq_target_lists_province_code_fiscal_year_be_level",
        ),
        sa.CheckConstraint(
            "level IN ('subdistrict', 'district')", name="ck_target_lists_level_known"
        ),
    )
    op.create_index("ix_target_lists_province_code", "target_lists", ["province_code"])
    op.create_table(
        "target_areas",
        sa.Column(
            "target_list_id",
            sa.BigInteger,
            sa.ForeignKey("target_lists.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("area_code", sa.Text, primary_key=True),
        sa.Column("rank", sa.Integer),
        sa.Column("score", sa.Float),
    )
    op.create_table(
        "projects",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("fiscal_year_be", sa.Integer, nullable=False),
        sa.Column("area_code", sa.Text),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("subdistrict_code", sa.String(6)),
        sa.Column("district_code", sa.String(4)),
        sa.Column("province_code", sa.String(2)),
        sa.Column("attributes", JSONB, nullable=False, server_default="{}"),
        sa.Column(
            "project_key",
            sa.Text,
            sa.Computed("coalesce(name, '') || '|' || fiscal_year_be::text", persisted=True),
        ),
        sa.Column(
            "source_upload_id", sa.BigInteger, sa.ForeignKey("uploads.id", ondelete="SET NULL")
        ),
        sa.Column("source_row", sa.Integer),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint(
            "geom IS NOT NULL OR area_code IS NOT NULL", name="ck_projects_located"
        ),
    )
    op.create_index("idx_projects_geom", "projects", ["geom"], postgresql_using="gist")
    for column in ("fiscal_year_be", "subdistrict_code", "district_code", "province_code",
                   "source_upload_id"):
        op.create_index(f"ix_projects_{column}", "projects", [column])


def downgrade() -> None:
    op.drop_table("projects")
    op.drop_table("target_areas")
    op.drop_table("target_lists")
