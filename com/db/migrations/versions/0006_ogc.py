"""Schema for API keys (issue 7).

Revision ID: 0006_ogc
Revises: 0005_web
Create Date: 2026-11-22
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY

revision = "0006_ogc"
down_revision = "0005_web"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
        # The public part of the key (com_<prefix>_<secret>): looked up by index, then the
        # SHA-256 of the whole key is compared in constant time.
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("scopes", ARRAY(sa.Text), nullable=False, server_default="{read}"),
        sa.Column("province_code", sa.String(2)),
        sa.Column("permissions", ARRAY(sa.Text), nullable=False, server_default="{}"),
        sa.Column("created_by", sa.Text),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True)),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("prefix", name="uq_api_keys_prefix"),
        sa.CheckConstraint(
            "scopes <@ ARRAY['read', 'write']::text[] AND 'read' = ANY(scopes)",
            name="ck_api_keys_scopes_known",
        ),
    )


def downgrade() -> None:
    op.drop_table("api_keys")
