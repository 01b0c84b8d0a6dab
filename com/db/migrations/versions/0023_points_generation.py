"""A generation of the risk points: which deletions and changes a reader has seen.

The H3 rankings keep the points of an extent as columns (in the process and in
``h3_point_snapshots``, 0022_h3_cell_values). After an upload they now read only the points
added since (``id`` above the highest kept) instead of every point again
(com.analysis.risk.h3columns); that is exact only when no point was deleted or changed in
between. ``risk_points_generation`` holds one number, made new by the statement trigger that
already drops the snapshots (after an UPDATE, DELETE or TRUNCATE of ``risk_points``), in the
same transaction: a reader that sees the same number as when the columns were read has seen no
deletion or change since. (An insert that committed late, below the highest id kept, is caught
by counting the extent's points in the same statement.) The number comes from a sequence, so
it never repeats, even after the table is emptied.

Revision ID: 0023_points_generation
Revises: 0022_h3_cell_values
Create Date: 2026-12-06
"""

from alembic import op

revision = "0023_points_generation"
down_revision = "0022_h3_cell_values"
branch_labels = None
depends_on = None

_FORGET = (
    "CREATE OR REPLACE FUNCTION h3_point_snapshots_forget() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ BEGIN DELETE FROM h3_point_snapshots; {bump}RETURN NULL; END $$"
)
_BUMP = (
    "INSERT INTO risk_points_generation (one, n) "
    "VALUES (true, nextval('risk_points_generation_seq')) "
    "ON CONFLICT (one) DO UPDATE SET n = EXCLUDED.n; "
)


def upgrade() -> None:
    op.execute("CREATE SEQUENCE IF NOT EXISTS risk_points_generation_seq")
    op.execute(
        "CREATE TABLE IF NOT EXISTS risk_points_generation ("
        "one boolean PRIMARY KEY DEFAULT true CHECK (one), n bigint NOT NULL)"
    )
    op.execute("INSERT INTO risk_points_generation (one, n) "
               "VALUES (true, nextval('risk_points_generation_seq')) ON CONFLICT DO NOTHING")
    op.execute(_FORGET.format(bump=_BUMP))


def downgrade() -> None:
    op.execute(_FORGET.format(bump=""))
    op.execute("DROP TABLE IF EXISTS risk_points_generation")
    op.execute("DROP SEQUENCE IF EXISTS risk_points_generation_seq")
