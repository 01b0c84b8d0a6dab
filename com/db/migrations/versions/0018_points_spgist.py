"""The spatial index of risk points as SP-GiST instead of GiST (issue 13, done-item 1).

Uploads add points in batches of up to 200,000 rows, and every row is inserted into each index
of ``risk_points``. An R-tree (GiST) chooses a subtree per point by comparing bounding boxes
down the tree; a quad-tree over points (SP-GiST, PostGIS ``spgist_geometry_ops_2d``) only
descends by quadrant. Measured on the 100,000-point upload of ``benchmarks/bench_import.py``
(alternating databases that differ only in this index, 2 cores, another job running):
storing took 3.3-3.8 s with SP-GiST against 4.2-5.5 s with GiST; 100,000 points inserted
into a table of 100,000 with only the spatial index: 0.70-0.85 s against 1.21-1.31 s.

What reads the index keeps working and as fast (900 box queries of tile sizes z10-z14 and 300
duplicate probes, 0.19-0.23 ms and 0.13-0.14 ms per query either way): map tiles, OGC items,
the duplicate check (``&&`` with ``ST_Expand``) and ``ST_DWithin`` all use the box operators
SP-GiST supports. Nothing orders risk points by distance (``<->``, which SP-GiST does not
support for geometries); the nearest-subdistrict searches use the boundaries' own GiST indexes.

Revision ID: 0018_points_spgist
Revises: 0017_rollup_pending
Create Date: 2026-12-04
"""

from alembic import op

revision = "0018_points_spgist"
down_revision = "0017_rollup_pending"
branch_labels = None
depends_on = None


def _index(method: str) -> None:
    op.execute("DROP INDEX IF EXISTS idx_risk_points_geom")
    op.execute(f"CREATE INDEX idx_risk_points_geom ON risk_points USING {method} (geom)")


def upgrade() -> None:
    _index("spgist")


def downgrade() -> None:
    _index("gist")
