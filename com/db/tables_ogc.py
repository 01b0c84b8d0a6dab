"""Tables of the data API (issue 7): API keys for dashboards, GIS desktops and BI tools."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from com.db.tables import Base


class ApiKey(Base):
    """An API key: only its public prefix and the SHA-256 of the whole key are stored.

    The key itself (``com_<prefix>_<secret>``) is shown once, when it is created.
    """

    __tablename__ = "api_keys"
    __table_args__ = (
        sa.CheckConstraint(
            "scopes <@ ARRAY['read', 'write']::text[] AND 'read' = ANY(scopes)",
            name="scopes_known",
        ),
        sa.CheckConstraint(
            "province_code IS NULL OR region IS NULL", name="province_or_region"
        ),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{read}")
    province_code: Mapped[str | None] = mapped_column(sa.String(2))
    # Issue 16: a region's key (com/config/regions.py) instead of a province.
    region: Mapped[str | None] = mapped_column(sa.Text)
    permissions: Mapped[list[str]] = mapped_column(ARRAY(sa.Text), server_default="{}")
    created_by: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    last_used_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


api_keys_table = cast(sa.Table, ApiKey.__table__)
