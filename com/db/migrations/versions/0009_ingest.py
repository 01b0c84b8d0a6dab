"""Fewer indexes on risk_points, kept up by every upload (issue 13).

An upload COPYs its points into ``risk_points``; each index is kept up row by row, and two of
them served no query worth their cost:

- ``ix_risk_points_geom_geography`` (GiST on ``geom::geography``) served only the duplicate
  check of uploads, which now narrows with a box on the plain GiST index of ``geom`` and then
  measures on the ellipsoid (com/db/sql/ingest_duplicates_existing.sql). Keeping a geography
  GiST up was the dearest part of storing: about 3-4 s per 100,000 points on a 2-core machine.
- ``ix_risk_points_category``: a handful of categories, each a large share of the table, so
  a filter on category alone reads most pages whatever the index; rankings read the rollup,
  retention walks a category by date.

The rest stay: the GiST index of geom (map, tiles, OGC bbox, the duplicate check), the
btrees on province, district, subdistrict and date (rankings' exact fallback, the map's and
OGC items' filters, retention) and on the upload (lookups by upload, deleting an upload).

Revision ID: 0009_ingest
Revises: 0008_rollup
Create Date: 2026-12-03
"""

from alembic import op

revision = "0009_ingest"
down_revision = "0008_rollup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_risk_points_geom_geography", table_name="risk_points")
    op.drop_index("ix_risk_points_category", table_name="risk_points")


def downgrade() -> None:
    op.create_index("ix_risk_points_category", "risk_points", ["category"])
    op.execute("CREATE INDEX ix_risk_points_geom_geography ON risk_points "
               "USING gist ((geom::geography))")
