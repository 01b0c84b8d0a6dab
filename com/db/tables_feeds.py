"""Tables of live feeds (issue 17): devices, their alerts, webhook subscriptions, the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import cast

import sqlalchemy as sa
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from com.db.tables import SRID, Base

_TS = sa.DateTime(timezone=True)


class Device(Base):
    """A registered detector or sensor; its HMAC secret is derived, never stored (see feeds)."""

    __tablename__ = "devices"
    id: Mapped[str] = mapped_column(sa.Text, primary_key=True)
    kind: Mapped[str] = mapped_column(sa.Text, server_default="detector")
    name: Mapped[str | None] = mapped_column(sa.Text)
    province_code: Mapped[str] = mapped_column(sa.String(2), index=True)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=False), nullable=False)
    secret_salt: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(_TS, server_default=sa.func.now())
    disabled_at: Mapped[datetime | None] = mapped_column(_TS)
    last_seen_at: Mapped[datetime | None] = mapped_column(_TS)
    last_heartbeat_at: Mapped[datetime | None] = mapped_column(_TS)


class Alert(Base):
    """One detection reported by a device; (device_id, event_id) is stored once."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.UniqueConstraint("device_id", "event_id"),
        sa.CheckConstraint(
            "status IN ('new', 'acknowledged', 'confirmed', 'false_alarm')", name="status_known"
        ),
        sa.CheckConstraint("confidence BETWEEN 0 AND 1", name="confidence_range"),
    )
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    device_id: Mapped[str] = mapped_column(sa.Text, sa.ForeignKey("devices.id"), index=True)
    event_id: Mapped[str] = mapped_column(sa.Text)
    observed_at: Mapped[datetime] = mapped_column(_TS, index=True)
    received_at: Mapped[datetime] = mapped_column(_TS, server_default=sa.func.now())
    kind: Mapped[str] = mapped_column(sa.Text)
    confidence: Mapped[float | None] = mapped_column(sa.Float)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    subdistrict_code: Mapped[str | None] = mapped_column(sa.String(6), index=True)
    district_code: Mapped[str | None] = mapped_column(sa.String(4))
    province_code: Mapped[str | None] = mapped_column(sa.String(2), index=True)
    via: Mapped[str] = mapped_column(sa.Text)  # mqtt | http
    status: Mapped[str] = mapped_column(sa.Text, server_default="new")
    status_by: Mapped[str | None] = mapped_column(sa.Text)
    status_at: Mapped[datetime | None] = mapped_column(_TS)
    risk_point_id: Mapped[int | None] = mapped_column(
        sa.BigInteger, sa.ForeignKey("risk_points.id", ondelete="SET NULL")
    )
    payload: Mapped[dict] = mapped_column(JSONB, server_default="{}")


class WebhookSubscription(Base):
    """An agency's webhook: where to POST, which events, and whether it sees sensitive points."""

    __tablename__ = "webhook_subscriptions"
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    name: Mapped[str] = mapped_column(sa.Text)
    url: Mapped[str] = mapped_column(sa.Text)
    provinces: Mapped[list[str] | None] = mapped_column(ARRAY(sa.Text))
    categories: Mapped[list[str] | None] = mapped_column(ARRAY(sa.Text))
    min_severity: Mapped[int] = mapped_column(sa.SmallInteger, server_default="1")
    alerts: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.true())
    sensitive: Mapped[bool] = mapped_column(sa.Boolean, server_default=sa.false())
    secret_salt: Mapped[str] = mapped_column(sa.Text)
    created_by: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(_TS, server_default=sa.func.now())
    disabled_at: Mapped[datetime | None] = mapped_column(_TS)


class OutboxEvent(Base):
    """A CloudEvent written in the transaction of the data it reports (transactional outbox)."""

    __tablename__ = "outbox_events"
    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    type: Mapped[str] = mapped_column(sa.Text)
    source: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str | None] = mapped_column(sa.Text)
    time: Mapped[datetime] = mapped_column(_TS, server_default=sa.func.now())
    data: Mapped[dict] = mapped_column(JSONB)


class WebhookDelivery(Base):
    """One event for one subscription: its attempts, next try and outcome (the delivery log)."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (sa.UniqueConstraint("event_id", "subscription_id"),)
    id: Mapped[int] = mapped_column(sa.BigInteger, sa.Identity(), primary_key=True)
    event_id: Mapped[str] = mapped_column(
        UUID(as_uuid=False), sa.ForeignKey("outbox_events.id", ondelete="CASCADE"), index=True
    )
    subscription_id: Mapped[int] = mapped_column(
        sa.BigInteger, sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(sa.Text, server_default="pending")
    attempts: Mapped[int] = mapped_column(sa.Integer, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(_TS, server_default=sa.func.now())
    last_status_code: Mapped[int | None] = mapped_column(sa.Integer)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    delivered_at: Mapped[datetime | None] = mapped_column(_TS)
    created_at: Mapped[datetime] = mapped_column(_TS, server_default=sa.func.now())


devices = cast(sa.Table, Device.__table__)
alerts = cast(sa.Table, Alert.__table__)
webhook_subscriptions = cast(sa.Table, WebhookSubscription.__table__)
outbox_events = cast(sa.Table, OutboxEvent.__table__)
webhook_deliveries = cast(sa.Table, WebhookDelivery.__table__)
