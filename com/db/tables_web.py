"""Tables of the web front end: user accounts, server-side sessions, login attempts (issue 6)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from com.db.tables import Base


class User(Base):
    """A person who signs in to the web pages, with one role and an optional province."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("role IN ('viewer', 'staff', 'planner', 'admin')", name="role_known"),
        sa.CheckConstraint(
            "province_code IS NULL OR region IS NULL", name="province_or_region"
        ),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(sa.Text, unique=True)
    password_hash: Mapped[str] = mapped_column(sa.Text)
    role: Mapped[str] = mapped_column(sa.Text, server_default="viewer")
    province_code: Mapped[str | None] = mapped_column(sa.String(2), sa.ForeignKey("provinces.code"))
    # Issue 16: a region's key (com/config/regions.py) instead of a province.
    region: Mapped[str | None] = mapped_column(sa.Text)
    display_name: Mapped[str | None] = mapped_column(sa.Text)
    active: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    last_login_at: Mapped[datetime | None] = mapped_column(sa.DateTime(timezone=True))


class WebSession(Base):
    """A signed-in browser: the sha256 of its cookie token, its expiry and its CSRF token."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(
        sa.DateTime(timezone=True), server_default=sa.func.now()
    )
    expires_at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.Text)
    revoked: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    client: Mapped[str | None] = mapped_column(sa.Text)


class LoginAttempt(Base):
    """One sign-in attempt, kept to slow down password guessing (per username and address)."""

    __tablename__ = "login_attempts"
    __table_args__ = (sa.Index("ix_login_attempts_username_client_at", "username", "client", "at"),)
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(sa.Text)
    client: Mapped[str] = mapped_column(sa.Text, server_default="")
    at: Mapped[datetime] = mapped_column(sa.DateTime(timezone=True), server_default=sa.func.now())
    succeeded: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
