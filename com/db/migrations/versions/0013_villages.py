"""Area layers (issue 16): villages and named custom polygon layers as area levels; plan status.

``area_features`` holds one row per area of a layer (``villages`` or a custom ``NAME``), keyed
by (layer, code): a re-import upserts. ``catchment_derived`` marks a village polygon computed
from its point (the Voronoi cell of the subdistrict's villages clipped to the subdistrict).
``plan_status``/``plan_due`` carry a village plan's progress; projects gain the same pair.
Target lists may be kept at the levels ``village`` and ``layer:NAME``.

Revision ID: 0013_villages
Revises: 0012_feeds
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0013_villages"
down_revision = "0012_feeds"
branch_labels = None
depends_on = None

_STATUS = "IN ('planned', 'in_progress', 'done')"


def upgrade() -> None:
    op.create_table(
        "area_features",
        sa.Column("layer", sa.Text, primary_key=True),
        sa.Column("code", sa.Text, primary_key=True),
        sa.Column("name_th", sa.Text),
        sa.Column("name_en", sa.Text),
        sa.Column("geom", Geometry("MULTIPOLYGON", srid=4326, spatial_index=False),
                  nullable=False),
        sa.Column("point", Geometry("POINT", srid=4326, spatial_index=False)),
        sa.Column("rep_point", Geometry("POINT", srid=4326, spatial_index=False),
                  nullable=False),
        sa.Column("area_km2", sa.Float, nullable=False),
        sa.Column("catchment_derived", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("subdistrict_code", sa.String(6)),
        sa.Column("district_code", sa.String(4)),
        sa.Column("province_code", sa.String(2)),
        sa.Column("plan_status", sa.Text),
        sa.Column("plan_due", sa.Date),
        sa.Column("synthetic", sa.Boolean, nullable=False, server_default="false"),
        sa.Column("attributes", JSONB, nullable=False, server_default="{}"),
        sa.Column("source_file", sa.Text),
        sa.Column("source_row", sa.Integer),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.func.now()),
        sa.CheckConstraint(f"plan_status IS NULL OR plan_status {_STATUS}",
                           name="ck_area_features_plan_status_known"),
    )
    op.create_index("ix_area_features_geom", "area_features", ["geom"], postgresql_using="gist")
    op.create_index("ix_area_features_province", "area_features", ["layer", "province_code"])
    op.create_index("ix_area_features_district", "area_features", ["layer", "district_code"])
    op.add_column("projects", sa.Column("status", sa.Text))
    op.add_column("projects", sa.Column("due_on", sa.Date))
    op.create_check_constraint("ck_projects_status_known", "projects",
                               f"status IS NULL OR status {_STATUS}")
    op.drop_constraint("ck_target_lists_level_known", "target_lists", type_="check")
    op.create_check_constraint(
        "ck_target_lists_level_known", "target_lists",
        "level IN ('subdistrict', 'district', 'village') OR level LIKE 'layer:%'",
    )


def downgrade() -> None:
    op.drop_constraint("ck_target_lists_level_known", "target_lists", type_="check")
    op.execute("DELETE FROM target_lists WHERE level NOT IN ('subdistrict', 'district')")
    op.create_check_constraint("ck_target_lists_level_known", "target_lists",
                               "level IN ('subdistrict', 'district')")
    op.drop_constraint("ck_projects_status_known", "projects", type_="check")
    op.drop_column("projects", "due_on")
    op.drop_column("projects", "status")
    op.drop_table("area_features")
