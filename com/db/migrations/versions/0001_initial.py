"""Initial schema: boundaries, uploads, risk points, context layers, crossings, cameras.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def geom(kind: str) -> Geometry:
    # Indexes are created explicitly below, so the DDL is the same on every GeoAlchemy2 version.
    return Geometry(kind, srid=4326, spatial_index=False)


def gist(table: str, column: str = "geom") -> None:
    op.create_index(f"idx_{table}_{column}", table, [column], postgresql_using="gist")


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "provinces",
        sa.Column("code", sa.String(2), primary_key=True),
        sa.Column("name_th", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("area_km2", sa.Float, nullable=False),
        sa.Column("geom", geom("MULTIPOLYGON"), nullable=False),
        sa.Column("rep_point", geom("POINT"), nullable=False),
    )
    op.create_table(
        "districts",
        sa.Column("code", sa.String(4), primary_key=True),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), nullable=False),
        sa.Column("name_th", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("area_km2", sa.Float, nullable=False),
        sa.Column("geom", geom("MULTIPOLYGON"), nullable=False),
        sa.Column("rep_point", geom("POINT"), nullable=False),
    )
    op.create_index("ix_districts_province_code", "districts", ["province_code"])
    op.create_table(
        "subdistricts",
        sa.Column("code", sa.String(6), primary_key=True),
        sa.Column("district_code", sa.String(4), sa.ForeignKey("districts.code"), nullable=False),
        sa.Column("province_code", sa.String(2), sa.ForeignKey("provinces.code"), nullable=False),
        sa.Column("name_th", sa.Text, nullable=False),
        sa.Column("name_en", sa.Text, nullable=False),
        sa.Column("area_km2", sa.Float, nullable=False),
        sa.Column("geom", geom("MULTIPOLYGON"), nullable=False),
        sa.Column("rep_point", geom("POINT"), nullable=False),
    )
    op.create_index("ix_subdistricts_district_code", "subdistricts", ["district_code"])
    op.create_index("ix_subdistricts_province_code", "subdistricts", ["province_code"])
    op.create_table(
        "subdistrict_parts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "subdistrict_code",
            sa.String(6),
            sa.ForeignKey("subdistricts.code", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("geom", geom("POLYGON"), nullable=False),
    )
    op.create_index(
        "ix_subdistrict_parts_subdistrict_code", "subdistrict_parts", ["subdistrict_code"]
    )
    for table in ("provinces", "districts", "subdistricts", "subdistrict_parts"):
        gist(table)
    for table in ("provinces", "districts", "subdistricts"):
        gist(table, "rep_point")

    op.create_table(
        "uploads",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("kind", sa.Text, nullable=False, server_default="risk_points"),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("content_type", sa.Text),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size_bytes", sa.BigInteger, nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("province_code", sa.String(2)),
        sa.Column("options", JSONB, nullable=False, server_default="{}"),
        sa.Column("uploaded_by", sa.Text),
        sa.Column(
            "uploaded_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("idempotency_key", sa.Text, unique=True),
        sa.Column("status", sa.Text, nullable=False, server_default="complete"),
        sa.Column("rows_total", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_stored", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_rejected", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_duplicate", sa.Integer, nullable=False, server_default="0"),
        sa.Column("rows_warning", sa.Integer, nullable=False, server_default="0"),
    )
    op.create_index("ix_uploads_sha256", "uploads", ["sha256"])
    op.create_table(
        "upload_rows",
        sa.Column(
            "upload_id",
            sa.BigInteger,
            sa.ForeignKey("uploads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("row_number", sa.Integer, primary_key=True),
        sa.Column("status", sa.Text, nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("column_name", sa.Text),
        sa.Column("warnings", sa.Text),
        sa.Column("lat", sa.Float),
        sa.Column("lon", sa.Float),
        sa.Column("subdistrict_code", sa.String(6)),
        sa.Column("quality", sa.Text),
        sa.Column("record_id", sa.BigInteger),
        sa.Column("original", JSONB, nullable=False, server_default="{}"),
    )
    op.create_table(
        "risk_points",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("category_raw", sa.Text),
        sa.Column("severity", sa.SmallInteger, nullable=False, server_default="3"),
        sa.Column("incident_count", sa.Integer, nullable=False, server_default="1"),
        sa.Column("reported_on", sa.Date),
        sa.Column("address", sa.Text),
        sa.Column("geom", geom("POINT"), nullable=False),
        sa.Column("subdistrict_code", sa.String(6)),
        sa.Column("district_code", sa.String(4)),
        sa.Column("province_code", sa.String(2)),
        sa.Column("geocode_quality", sa.Text, nullable=False, server_default="coordinates"),
        sa.Column("geocode_score", sa.Float),
        sa.Column("approximate", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("synthetic", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column(
            "source_upload_id", sa.BigInteger, sa.ForeignKey("uploads.id", ondelete="SET NULL")
        ),
        sa.Column("source_row", sa.Integer),
        sa.Column("attributes", JSONB, nullable=False, server_default="{}"),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.CheckConstraint("severity BETWEEN 1 AND 5", name="ck_risk_points_severity_range"),
        sa.CheckConstraint(
            "incident_count >= 1", name="ck_risk_points_incident_count_positive"
        ),
    )
    gist("risk_points")
    for column in (
        "category",
        "reported_on",
        "subdistrict_code",
        "district_code",
        "province_code",
        "source_upload_id",
    ):
        op.create_index(f"ix_risk_points_{column}", "risk_points", [column])

    op.create_table(
        "context_layers",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("layer", sa.Text, nullable=False),
        sa.Column("feature_key", sa.Text, nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("properties", JSONB, nullable=False, server_default="{}"),
        sa.Column("geom", geom("GEOMETRY"), nullable=False),
        sa.Column(
            "source_upload_id", sa.BigInteger, sa.ForeignKey("uploads.id", ondelete="SET NULL")
        ),
        sa.Column("source_row", sa.Integer),
        sa.UniqueConstraint("layer", "feature_key", name="uq_context_layers_layer_feature_key"),
    )
    op.create_index("ix_context_layers_layer", "context_layers", ["layer"])
    gist("context_layers")
    op.create_table(
        "border_crossings",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name_en", sa.Text, nullable=False, unique=True),
        sa.Column("name_th", sa.Text),
        sa.Column("kind", sa.Text),
        sa.Column("country", sa.Text),
        sa.Column("properties", JSONB, nullable=False, server_default="{}"),
        sa.Column("geom", geom("POINT"), nullable=False),
    )
    gist("border_crossings")
    op.create_table(
        "cameras",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text),
        sa.Column("radius_m", sa.Float),
        sa.Column("geom", geom("POINT"), nullable=False),
        sa.Column("subdistrict_code", sa.String(6)),
        sa.Column("province_code", sa.String(2)),
        sa.Column("attributes", JSONB, nullable=False, server_default="{}"),
        sa.Column(
            "source_upload_id", sa.BigInteger, sa.ForeignKey("uploads.id", ondelete="SET NULL")
        ),
        sa.Column("source_row", sa.Integer),
    )
    gist("cameras")
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column(
            "at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("actor", sa.Text, nullable=False),
        sa.Column("actor_kind", sa.Text, nullable=False),
        sa.Column("action", sa.Text, nullable=False),
        sa.Column("target", sa.Text),
        sa.Column("record_ids", JSONB, nullable=False, server_default="[]"),
        sa.Column("details", JSONB, nullable=False, server_default="{}"),
        sa.Column("client", sa.Text),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_index("ix_audit_log_action", "audit_log", ["action"])
    # The audit trail is append-only: UPDATE and DELETE are refused by a trigger, whatever the
    # role of the application (PDPA and the 2022 security notification expect an intact trail).
    op.execute(
        """
        CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'audit_log is append-only';
        END $$;
        CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
            FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
        """
    )
    op.create_index("ix_cameras_subdistrict_code", "cameras", ["subdistrict_code"])
    op.create_index("ix_cameras_province_code", "cameras", ["province_code"])


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log")
    op.drop_table("audit_log")
    op.execute("DROP FUNCTION IF EXISTS audit_log_append_only()")
    for table in (
        "cameras",
        "border_crossings",
        "context_layers",
        "risk_points",
        "upload_rows",
        "uploads",
        "subdistrict_parts",
        "subdistricts",
        "districts",
        "provinces",
    ):
        op.drop_table(table)
