"""risk_points keeps no index of its own on district_code (issue 13, done-item 1).

Every upload adds its points to each index of ``risk_points``; the one on ``district_code``
cost the server 0.09 s of the 1.03 s it spent storing 100,000 points (``benchmarks/
bench_import.py``, rows sent in subdistrict order). A district is always asked for with its
province: the maps, the CCTV planner and the rankings already filter by province; the rank
and H3 statements (rank_weighted_points.sql, h3_point_columns.sql) and the OGC API's
``district_code`` filter now add the district's province, so the index on ``province_code``
narrows the rows (one province of 77) and the district is checked on those.

Revision ID: 0021_points_district_index
Revises: 0020_delete_pending_cheaper
Create Date: 2026-12-05
"""

from alembic import op

revision = "0021_points_district_index"
down_revision = "0020_delete_pending_cheaper"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_risk_points_district_code")


def downgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_risk_points_district_code "
               "ON risk_points (district_code)")
