"""H3 cells of every risk point, stored at ingest (issue 13).

An H3 ranking used to copy every location out of PostgreSQL and turn it into a cell in Python
on every call. Each risk point now carries its cell at resolutions 6, 7, 8 and 9 (BIGINT, the
integer form of ``h3.latlng_to_cell``), one column per resolution: deriving a coarse cell with
``cell_to_parent`` from a finer one disagrees with ``latlng_to_cell`` for about 6% of points.
PostgreSQL has no H3 here (no extension, so no trigger can compute them): the code that copies
rows in computes them, vectorised (com.geo.h3); rows written by other means (plain SQL, an old
backup) are filled before an H3 ranking reads them (com.analysis.risk.h3cells.fill_h3_cells),
found through the partial index ``ix_risk_points_h3_missing``, empty when every row has them.

This migration fills the existing rows (h3ronpy, 200,000 rows a step). The backfill touches no
column the rollup triggers of 0008_rollup sum, so they are off while it runs.

Revision ID: 0010_h3cells
Revises: 0009_ingest
Create Date: 2026-12-03
"""

import numpy as np
import sqlalchemy as sa
from alembic import op

revision = "0010_h3cells"
down_revision = "0009_ingest"
branch_labels = None
depends_on = None

RESOLUTIONS = (6, 7, 8, 9)
STEP = 200_000


def upgrade() -> None:
    for res in RESOLUTIONS:
        op.add_column("risk_points", sa.Column(f"h3_{res}", sa.BigInteger, nullable=True))
    op.execute("CREATE INDEX ix_risk_points_h3_missing ON risk_points (id) WHERE h3_6 IS NULL")
    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    conn.execute(sa.text("ALTER TABLE risk_points DISABLE TRIGGER USER"))
    after = 0
    while True:
        ids, lats, lons = conn.execute(sa.text(
            "SELECT array_agg(id), array_agg(ST_Y(geom)), array_agg(ST_X(geom)) FROM ("
            "SELECT id, geom FROM risk_points WHERE id > :after ORDER BY id LIMIT :step) q"
        ), {"after": after, "step": STEP}).one()
        if not ids:
            break
        from h3ronpy.vector import coordinates_to_cells

        lat, lon = np.asarray(lats, dtype=float), np.asarray(lons, dtype=float)
        cells = [np.asarray(coordinates_to_cells(lat, lon, r)).astype(np.int64).tolist()
                 for r in RESOLUTIONS]
        conn.execute(sa.text(
            "UPDATE risk_points r SET h3_6 = u.c6, h3_7 = u.c7, h3_8 = u.c8, h3_9 = u.c9 "
            "FROM unnest(CAST(:ids AS bigint[]), CAST(:c6 AS bigint[]), CAST(:c7 AS bigint[]), "
            "CAST(:c8 AS bigint[]), CAST(:c9 AS bigint[])) AS u(id, c6, c7, c8, c9) "
            "WHERE r.id = u.id"
        ), {"ids": ids, "c6": cells[0], "c7": cells[1], "c8": cells[2], "c9": cells[3]})
        after = max(ids)
    conn.execute(sa.text("ALTER TABLE risk_points ENABLE TRIGGER USER"))


def downgrade() -> None:
    op.drop_index("ix_risk_points_h3_missing", table_name="risk_points")
    for res in RESOLUTIONS:
        op.drop_column("risk_points", f"h3_{res}")
