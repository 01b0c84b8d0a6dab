"""Tables of the area layers (issue 16): villages and named custom polygon layers."""

from __future__ import annotations

from datetime import date, datetime
from typing import cast

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from com.db.tables import SRID, Base

#: Status values of a village plan or a project (migration ``0013_villages``).
PLAN_STATUSES = ("planned", "in_progress", "done")


class AreaFeature(Base):
    """One area of a layer (``villages`` or a custom layer), upserted by (layer, code)."""

    __tablename__ = "area_features"
    __table_args__ = (
        sa.CheckConstraint(
            "plan_status IS NULL OR plan_status IN ('planned', 'in_progress', 'done')",
            name="plan_status_known",
        ),
        sa.Index("ix_area_features_province", "layer", "province_code"),
        sa.Index("ix_area_features_district", "layer", "district_code"),
    )
    layer: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    code: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    name_th: Mapped[str | None] = mapped_column(sa.Text)
    name_en: Mapped[str | None] = mapped_column(sa.Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True),
                         nullable=False)
    point = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False), nullable=True)
    rep_point = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False), nullable=False)
    area_km2: Mapped[float] = mapped_column(sa.Float)
    catchment_derived: Mapped[bool] = mapped_column(sa.Boolean, server_default="false")
    subdistrict_code: Mapped[str | None] = mapped_column(sa.String(6))
    district_code: Mapped[str | None] = mapped_column(sa.String(4))
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    plan_status: Mapped[str | None] = mapped_column(sa.Text)
    plan_due: Mapped[date | None] = mapped_column(sa.Date)
    synthetic: Mapped[bool] = mapped_column(sa.Boolean, server_default="false")
    attributes: Mapped[dict] = mapped_column(JSONB, server_default="{}")
    source_file: Mapped[str | None] = mapped_column(sa.Text)
    source_row: Mapped[int | None] = mapped_column(sa.Integer)
    updated_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )


area_features = cast(sa.Table, AreaFeature.__table__)
