"""Schema for CCTV plans and uploaded candidate sites (issue 5).

Revision ID: 0004_siting
Revises: 0003_risk
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004_siting"
down_revision = "0003_risk"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cctv_plans",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), nullable=False),
        sa.Column("district_code", sa.String(4), sa.ForeignKey("districts.code"), nullable=True),
        sa.Column("params", JSONB, nullable=False, server_default="{}"),
        sa.Column("method", sa.Text, nullable=False),
        sa.Column("objective", sa.Float, nullable=False),
        sa.Column("gap", sa.Float, nullable=True),
        sa.Column("total_weight", sa.Float, nullable=False),
        sa.Column("covered_weight", sa.Float, nullable=False),
        sa.Column("created_by", sa.Text, nullable=True),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("result", JSONB, nullable=False),
        sa.CheckConstraint("covered_weight <= total_weight + 1e-6", name="covered_within_total"),
    )
    op.create_index("ix_cctv_plans_province_code", "cctv_plans", ["province_code"])
    op.create_index("ix_cctv_plans_created_at", "cctv_plans", ["created_at"])
    # Feasible camera sites (poles, junctions, government buildings) uploaded with the import
    # machinery (`com import poles.csv --kind sites`): the upload kind "sites" fills this table.
    op.create_table(
        "candidate_sites",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("cost", sa.Float),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("subdistrict_code", sa.String(6)),
        sa.Column("district_code", sa.String(4)),
        sa.Column("province_code", sa.String(2)),
        sa.Column("attributes", JSONB, nullable=False, server_default="{}"),
        sa.Column(
            "source_upload_id", sa.BigInteger,
            sa.ForeignKey("uploads.id", ondelete="SET NULL"), nullable=True,
        ),
        sa.Column("source_row", sa.Integer),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("cost IS NULL OR cost >= 0", name="cost_not_negative"),
    )
    op.create_index("idx_candidate_sites_geom", "candidate_sites", ["geom"], postgresql_using="gist")
    op.create_index("ix_candidate_sites_province_code", "candidate_sites", ["province_code"])
    op.create_index("ix_candidate_sites_district_code", "candidate_sites", ["district_code"])
    op.create_index("ix_candidate_sites_source_upload_id", "candidate_sites", ["source_upload_id"])


def downgrade() -> None:
    op.drop_table("candidate_sites")
    op.drop_index("ix_cctv_plans_created_at", table_name="cctv_plans")
    op.drop_index("ix_cctv_plans_province_code", table_name="cctv_plans")
    op.drop_table("cctv_plans")
