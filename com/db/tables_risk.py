"""Tables of the ranking and KPI domain (issue 4): target lists, their areas, projects."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from com.db.tables import SRID, Base


class TargetList(Base):
    """A declared target list (บัญชีเป้าหมาย) of a province for one Thai fiscal year."""

    __tablename__ = "target_lists"
    __table_args__ = (
        sa.UniqueConstraint("province_code", "fiscal_year_be", "level"),
        sa.CheckConstraint(
            "level IN ('subdistrict', 'district', 'village') OR level LIKE 'layer:%'",
            name="level_known",
        ),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    province_code: Mapped[str] = mapped_column(
        sa.String(2), sa.ForeignKey("provinces.code"), index=True
    )
    fiscal_year_be: Mapped[int] = mapped_column(sa.Integer)
    level: Mapped[str] = mapped_column(sa.Text, server_default="subdistrict")
    declared_by: Mapped[str] = mapped_column(sa.Text)
    declared_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    method: Mapped[str] = mapped_column(sa.Text)  # top | codes
    params: Mapped[dict] = mapped_column(JSONB, server_default="{}")


class TargetArea(Base):
    """One area of a target list, with its rank and score when the list was declared."""

    __tablename__ = "target_areas"
    target_list_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("target_lists.id", ondelete="CASCADE"), primary_key=True
    )
    area_code: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    rank: Mapped[int | None] = mapped_column(sa.Integer)
    score: Mapped[float | None] = mapped_column(sa.Float)


class Project(Base):
    """A project (โครงการ) of a fiscal year, at a point or in an area given by its code."""

    __tablename__ = "projects"
    __table_args__ = (
        sa.CheckConstraint("geom IS NOT NULL OR area_code IS NOT NULL", name="located"),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.Text)
    fiscal_year_be: Mapped[int] = mapped_column(sa.Integer, index=True)
    area_code: Mapped[str | None] = mapped_column(sa.Text)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=True)
    subdistrict_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    district_code: Mapped[str | None] = mapped_column(sa.String(4), index=True)
    province_code: Mapped[str | None] = mapped_column(sa.String(2), index=True)
    attributes: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    # Plan progress (issue 16): planned | in_progress | done, and the due date.
    status: Mapped[str | None] = mapped_column(sa.Text)
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    # Duplicate key of the upload machinery: the same name in the same fiscal year.
    project_key: Mapped[str | None] = mapped_column(
        sa.Text,
        sa.Computed("coalesce(name, '') || '|' || fiscal_year_be::text", persisted=True),
    )
    source_upload_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("uploads.id", ondelete="SET NULL"), index=True
    )
    source_row: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )


target_lists = cast(sa.Table, TargetList.__table__)
target_areas = cast(sa.Table, TargetArea.__table__)
projects = cast(sa.Table, Project.__table__)
