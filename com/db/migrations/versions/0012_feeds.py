"""Live feeds (issue 17): devices, alerts, webhook subscriptions, outbox and delivery log.

Revision ID: 0012_feeds
Revises: 0011_ingest_speed
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision = "0012_feeds"
down_revision = "0011_ingest_speed"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Text, primary_key=True),
        sa.Column("kind", sa.Text, nullable=False, server_default="detector"),
        sa.Column("name", sa.Text),
        sa.Column("province_code", sa.String(2), nullable=False),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=False), nullable=False),
        sa.Column("secret_salt", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("disabled_at", TS),
        sa.Column("last_seen_at", TS),
        sa.Column("last_heartbeat_at", TS),
    )
    op.create_index("ix_devices_province_code", "devices", ["province_code"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("device_id", sa.Text, sa.ForeignKey("devices.id"), nullable=False),
        sa.Column("event_id", sa.Text, nullable=False),
        sa.Column("observed_at", TS, nullable=False),
        sa.Column("received_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("kind", sa.Text, nullable=False),
        sa.Column("confidence", sa.Float),
        sa.Column("geom", Geometry("POINT", srid=4326, spatial_index=True), nullable=False),
        sa.Column("subdistrict_code", sa.String(6)),
        sa.Column("district_code", sa.String(4)),
        sa.Column("province_code", sa.String(2)),
        sa.Column("via", sa.Text, nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="new"),
        sa.Column("status_by", sa.Text),
        sa.Column("status_at", TS),
        sa.Column("risk_point_id", sa.BigInteger,
                  sa.ForeignKey("risk_points.id", ondelete="SET NULL")),
        sa.Column("payload", JSONB, nullable=False, server_default="{}"),
        sa.UniqueConstraint("device_id", "event_id", name="uq_alerts_device_id_event_id"),
        sa.CheckConstraint("status IN ('new', 'acknowledged', 'confirmed', 'false_alarm')",
                           name="ck_alerts_status_known"),
        sa.CheckConstraint("confidence BETWEEN 0 AND 1", name="ck_alerts_confidence_range"),
    )
    op.create_index("ix_alerts_device_id", "alerts", ["device_id"])
    op.create_index("ix_alerts_observed_at", "alerts", ["observed_at"])
    op.create_index("ix_alerts_subdistrict_code", "alerts", ["subdistrict_code"])
    op.create_index("ix_alerts_province_code", "alerts", ["province_code"])
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("provinces", ARRAY(sa.Text)),
        sa.Column("categories", ARRAY(sa.Text)),
        sa.Column("min_severity", sa.SmallInteger, nullable=False, server_default="1"),
        sa.Column("alerts", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("sensitive", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("secret_salt", sa.Text, nullable=False),
        sa.Column("created_by", sa.Text),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("disabled_at", TS),
    )
    op.create_table(
        "outbox_events",
        sa.Column("id", UUID(as_uuid=False), primary_key=True),
        sa.Column("type", sa.Text, nullable=False),
        sa.Column("source", sa.Text, nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("time", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("data", JSONB, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        sa.Column("event_id", UUID(as_uuid=False),
                  sa.ForeignKey("outbox_events.id", ondelete="CASCADE"), nullable=False),
        sa.Column("subscription_id", sa.BigInteger,
                  sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("status", sa.Text, nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=False, server_default=sa.func.now()),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("delivered_at", TS),
        sa.Column("created_at", TS, nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("event_id", "subscription_id",
                            name="uq_webhook_deliveries_event_id_subscription_id"),
    )
    op.create_index("ix_webhook_deliveries_event_id", "webhook_deliveries", ["event_id"])
    op.create_index("ix_webhook_deliveries_subscription_id", "webhook_deliveries",
                    ["subscription_id"])
    # The deliverer's queue: due rows still pending, oldest first.
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["next_attempt_at"],
                    postgresql_where=sa.text("status = 'pending'"))


def downgrade() -> None:
    for table in ("webhook_deliveries", "outbox_events", "webhook_subscriptions", "alerts",
                  "devices"):
        op.drop_table(table)
