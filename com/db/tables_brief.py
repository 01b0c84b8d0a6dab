"""Tables of the meeting brief (issue 18): each brief's ranks, so the next one can compare."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from com.db.tables import Base


class BriefRecord(Base):
    """The ranks and hot spots a brief showed for one province, kept for the next brief."""

    __tablename__ = "brief_records"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    province_code: Mapped[str] = mapped_column(
        sa.String(2), sa.ForeignKey("provinces.code"), index=True
    )
    fiscal_year_be: Mapped[int] = mapped_column(sa.Integer)
    made_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    data_cut_off: Mapped[date] = mapped_column(sa.Date)
    made_by: Mapped[str] = mapped_column(sa.Text)
    ranks: Mapped[dict] = mapped_column(JSONB, server_default="{}")  # area code -> rank
    hotspots: Mapped[list] = mapped_column(JSONB, server_default="[]")  # hot spot codes


brief_records: sa.Table = BriefRecord.__table__  # type: ignore[assignment]
