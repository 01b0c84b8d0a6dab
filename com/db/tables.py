"""Core tables of COM's PostGIS store (SQLAlchemy 2 declarative, GeoAlchemy2 geometries).

Codes are Department of Provincial Administration (DOPA) codes without the HDX "TH" prefix:
province "32", district "3206", subdistrict "320605". Geometries are EPSG:4326.
Later domains add their tables in ``com/db/tables_<domain>.py`` on the same ``Base``.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
SRID = 4326


class Base(DeclarativeBase):
    """Declarative base sharing COM's one MetaData."""

    metadata = metadata


def _geom(kind: str, *, nullable: bool = False, spatial_index: bool = True) -> Mapped:
    # spatial_index=True makes GeoAlchemy2 create the GiST index with the table.
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=spatial_index),
                         nullable=nullable)


class Province(Base):
    """Changwat (ADM1)."""

    __tablename__ = "provinces"
    code: Mapped[str] = mapped_column(sa.String(2), primary_key=True)
    name_th: Mapped[str] = mapped_column(sa.Text)
    name_en: Mapped[str] = mapped_column(sa.Text)
    area_km2: Mapped[float] = mapped_column(sa.Float)
    geom = _geom("MULTIPOLYGON")
    rep_point = _geom("POINT")


class District(Base):
    """Amphoe (ADM2)."""

    __tablename__ = "districts"
    code: Mapped[str] = mapped_column(sa.String(4), primary_key=True)
    province_code: Mapped[str] = mapped_column(
        sa.String(2), sa.ForeignKey("provinces.code"), index=True
    )
    name_th: Mapped[str] = mapped_column(sa.Text)
    name_en: Mapped[str] = mapped_column(sa.Text)
    area_km2: Mapped[float] = mapped_column(sa.Float)
    geom = _geom("MULTIPOLYGON")
    rep_point = _geom("POINT")


class Subdistrict(Base):
    """Tambon (ADM3), with a representative point guaranteed to lie inside it."""

    __tablename__ = "subdistricts"
    code: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    district_code: Mapped[str] = mapped_column(
        sa.String(4), sa.ForeignKey("districts.code"), index=True
    )
    province_code: Mapped[str] = mapped_column(
        sa.String(2), sa.ForeignKey("provinces.code"), index=True
    )
    name_th: Mapped[str] = mapped_column(sa.Text)
    name_en: Mapped[str] = mapped_column(sa.Text)
    area_km2: Mapped[float] = mapped_column(sa.Float)
    geom = _geom("MULTIPOLYGON")
    rep_point = _geom("POINT")


class SubdistrictPart(Base):
    """Subdistricts cut by ST_Subdivide into small pieces, for fast point-in-polygon joins."""

    __tablename__ = "subdistrict_parts"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    subdistrict_code: Mapped[str] = mapped_column(
        sa.String(6), sa.ForeignKey("subdistricts.code", ondelete="CASCADE"), index=True
    )
    geom = _geom("POLYGON")


class Upload(Base):
    """One uploaded file: its bytes, checksum, who sent it and what became of its rows."""

    __tablename__ = "uploads"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    kind: Mapped[str] = mapped_column(sa.Text, server_default="risk_points")
    filename: Mapped[str] = mapped_column(sa.Text)
    content_type: Mapped[str | None] = mapped_column(sa.Text)
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary)
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    options: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    uploaded_by: Mapped[str | None] = mapped_column(sa.Text)
    uploaded_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    idempotency_key: Mapped[str | None] = mapped_column(sa.Text, unique=True)
    status: Mapped[str] = mapped_column(sa.Text, server_default="complete")
    rows_total: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rows_stored: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rows_rejected: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rows_duplicate: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    rows_warning: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    # Set by `com retention run` when the original bytes were purged (issue 8, 0007).
    content_purged_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class UploadRow(Base):
    """The outcome of one data row of an upload (the per-row report)."""

    __tablename__ = "upload_rows"
    upload_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("uploads.id", ondelete="CASCADE"), primary_key=True
    )
    row_number: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    status: Mapped[str] = mapped_column(sa.Text)  # stored | rejected | duplicate
    reason: Mapped[str | None] = mapped_column(sa.Text)
    column_name: Mapped[str | None] = mapped_column(sa.Text)
    warnings: Mapped[str | None] = mapped_column(sa.Text)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    subdistrict_code: Mapped[str | None] = mapped_column(sa.String(6))
    quality: Mapped[str | None] = mapped_column(sa.Text)
    record_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    original: Mapped[dict] = mapped_column(JSONB, server_default="{}")


class RiskPoint(Base):
    """A risk point (จุดเสี่ยง): a place with an issue, a severity and a date."""

    __tablename__ = "risk_points"
    __table_args__ = (
        sa.CheckConstraint("severity BETWEEN 1 AND 5", name="severity_range"),
        sa.CheckConstraint("incident_count >= 1", name="incident_count_positive"),
        # Rows still without their H3 cells (written by plain SQL): empty in normal use.
        sa.Index("ix_risk_points_h3_missing", "id", postgresql_where=sa.text("h3_6 IS NULL")),
        # SP-GiST, not GiST (0018_points_spgist): cheaper to keep up as uploads add points.
        sa.Index("idx_risk_points_geom", "geom", postgresql_using="spgist"),
        # Upload and row (0019_store_cheaper): distinct keys, cheaper to keep up than the
        # upload's id alone; the report and the ids read back after storing look up both.
        sa.Index("ix_risk_points_source_upload_row", "source_upload_id", "source_row"),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.Text)
    # No index on category (0009_ingest): a few categories, each a large share of the table.
    category: Mapped[str] = mapped_column(sa.Text)
    category_raw: Mapped[str | None] = mapped_column(sa.Text)
    severity: Mapped[int] = mapped_column(sa.SmallInteger, server_default="3")
    incident_count: Mapped[int] = mapped_column(sa.Integer, server_default="1")
    reported_on: Mapped[date | None] = mapped_column(sa.Date, index=True)
    address: Mapped[str | None] = mapped_column(sa.Text)
    geom = _geom("POINT", spatial_index=False)
    subdistrict_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    # No index of its own (0021_points_district_index): queries by district also ask for the
    # district's province, whose index narrows the rows as well.
    district_code: Mapped[str | None] = mapped_column(sa.String(4))
    province_code: Mapped[str | None] = mapped_column(sa.String(2), index=True)
    geocode_quality: Mapped[str] = mapped_column(sa.Text, server_default="coordinates")
    geocode_score: Mapped[float | None] = mapped_column(sa.Float)
    approximate: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    synthetic: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    # The upload it came from: checked per statement by a trigger, not a foreign key
    # (0011_ingest_speed: the key's row-by-row check was a large part of storing an upload).
    source_upload_id: Mapped[int | None] = mapped_column(sa.BigInteger)
    source_row: Mapped[int | None] = mapped_column(sa.Integer)
    attributes: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    # Set by `com retention run` when name/address/attributes were dropped (issue 8, 0007).
    anonymised_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    # The point's H3 cell (integer form of h3.latlng_to_cell) at resolutions 6-9, computed by
    # whatever copies the row in (0010_h3cells; com.geo.h3). NULL: filled before H3 rankings.
    h3_6: Mapped[int | None] = mapped_column(sa.BigInteger)
    h3_7: Mapped[int | None] = mapped_column(sa.BigInteger)
    h3_8: Mapped[int | None] = mapped_column(sa.BigInteger)
    h3_9: Mapped[int | None] = mapped_column(sa.BigInteger)


class ContextLayer(Base):
    """Context features: land border, rivers, patrol zones, border routes, village areas."""

    __tablename__ = "context_layers"
    __table_args__ = (sa.UniqueConstraint("layer", "feature_key"),)
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    layer: Mapped[str] = mapped_column(sa.Text, index=True)  # land_border, mekong, patrol_zone, ...
    feature_key: Mapped[str] = mapped_column(sa.Text)
    name: Mapped[str | None] = mapped_column(sa.Text)
    properties: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    geom = _geom("GEOMETRY")
    source_upload_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("uploads.id", ondelete="SET NULL")
    )
    source_row: Mapped[int | None] = mapped_column(sa.Integer)


class BorderCrossing(Base):
    """Permanent border checkpoints (จุดผ่านแดนถาวร) such as Chong Chom."""

    __tablename__ = "border_crossings"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name_en: Mapped[str] = mapped_column(sa.Text, unique=True)
    name_th: Mapped[str | None] = mapped_column(sa.Text)
    kind: Mapped[str | None] = mapped_column(sa.Text)
    country: Mapped[str | None] = mapped_column(sa.Text)
    properties: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    geom = _geom("POINT")


class Camera(Base):
    """Existing CCTV cameras (กล้องวงจรปิด) with their coverage radius."""

    __tablename__ = "cameras"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.Text)
    radius_m: Mapped[float | None] = mapped_column(sa.Float)
    geom = _geom("POINT")
    subdistrict_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    province_code: Mapped[str | None] = mapped_column(sa.String(2), index=True)
    attributes: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    source_upload_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("uploads.id", ondelete="SET NULL")
    )
    source_row: Mapped[int | None] = mapped_column(sa.Integer)


class AuditEntry(Base):
    """Append-only audit trail: who did what, when, from where, to which records."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), index=True
    )
    actor: Mapped[str] = mapped_column(sa.Text)
    actor_kind: Mapped[str] = mapped_column(sa.Text)  # user | api_key | anonymous | cli
    action: Mapped[str] = mapped_column(sa.Text, index=True)
    target: Mapped[str | None] = mapped_column(sa.Text)
    record_ids: Mapped[list] = mapped_column(JSONB, server_default="[]")
    details: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    client: Mapped[str | None] = mapped_column(sa.Text)
