"""Tables of the CCTV siting domain (issue 5): saved camera plans and candidate sites."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from com.db.tables import SRID, Base


class CctvPlan(Base):
    """A saved CCTV siting plan (แผนติดตั้งกล้องวงจรปิด): parameters, figures and the GeoJSON result."""

    __tablename__ = "cctv_plans"
    __table_args__ = (
        sa.CheckConstraint("covered_weight <= total_weight + 1e-6", name="covered_within_total"),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text)
    province_code: Mapped[str] = mapped_column(
        sa.String(2), sa.ForeignKey("provinces.code"), index=True
    )
    district_code: Mapped[str | None] = mapped_column(sa.String(4), sa.ForeignKey("districts.code"))
    params: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    method: Mapped[str] = mapped_column(sa.Text)
    objective: Mapped[float] = mapped_column(sa.Float)
    gap: Mapped[float | None] = mapped_column(sa.Float)
    total_weight: Mapped[float] = mapped_column(sa.Float)
    covered_weight: Mapped[float] = mapped_column(sa.Float)
    created_by: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now(), index=True
    )
    result: Mapped[dict] = mapped_column(JSONB)


class CandidateSite(Base):
    """A feasible camera site (pole, junction, government building) from an upload."""

    __tablename__ = "candidate_sites"
    __table_args__ = (sa.CheckConstraint("cost IS NULL OR cost >= 0", name="cost_not_negative"),)
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.Text)
    cost: Mapped[float | None] = mapped_column(sa.Float)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    subdistrict_code: Mapped[str | None] = mapped_column(sa.String(6))
    district_code: Mapped[str | None] = mapped_column(sa.String(4), index=True)
    province_code: Mapped[str | None] = mapped_column(sa.String(2), index=True)
    attributes: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    source_upload_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("uploads.id", ondelete="SET NULL"), index=True
    )
    source_row: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )


cctv_plans = cast(sa.Table, CctvPlan.__table__)
candidate_sites = cast(sa.Table, CandidateSite.__table__)
