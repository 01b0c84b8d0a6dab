"""H3 values kept between processes: per cell (areas, names, distances), the points' columns.

The first national h3:8 ranking of a process spent 3-4 s of its 5.6 s computing, for about
486,000 cells, values that depend only on the cell (area, centre) or on the cell and the
reference data (the tambon name, the context distances). ``h3_cell_values`` keeps them once
computed; a later process reads one kind back (about 0.1 s for 486,000 cells), see
com.analysis.risk.cellstore. ``kind`` names what the values are (``shapes:8``, ``names:8:...``),
``version`` what they were made from (a digest of the reference data, '' for pure H3 values).
Each row is one batch of cells written at once, packed: ``cells`` int64 and ``numbers`` float64
(a row of values per cell), little-endian; ``texts`` the distinct values of each text column
(a JSON array of arrays), a cell's ``numbers`` holding the position of its value. A row per cell cost 0.3-0.6 s a kind to read back, a packed batch is read
as it lies.

``h3_point_snapshots`` keeps the points of an extent as the H3 rankings read them
(com.analysis.risk.h3columns: cell, category, severity, count, day; 1M points in 20 MB) for
the data version it was read at, so a new process reads one row (0.05-0.1 s) instead of
aggregating the million points again (0.5-0.9 s). One row per resolution, extent and category
list: a newer version replaces it. A deletion or change of risk points drops every snapshot in
the same transaction (a statement trigger), so nothing derived from a deleted point outlives it
(retention, a withdrawn upload); an insert leaves them, unused, until the next ranking.

Revision ID: 0022_h3_cell_values
Revises: 0021_points_district_index
Create Date: 2026-12-06
"""

from alembic import op

revision = "0022_h3_cell_values"
down_revision = "0021_points_district_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE IF NOT EXISTS h3_cell_values ("
        "kind text NOT NULL, version text NOT NULL, "
        "batch bigint GENERATED ALWAYS AS IDENTITY, n integer NOT NULL CHECK (n >= 0), "
        "cells bytea NOT NULL, numbers bytea NOT NULL, texts text NOT NULL DEFAULT '', "
        "PRIMARY KEY (kind, version, batch))"
    )
    op.execute(
        "CREATE TABLE IF NOT EXISTS h3_point_snapshots ("
        "resolution smallint NOT NULL, extent text NOT NULL, keys text NOT NULL, "
        "version text NOT NULL, points integer NOT NULL, data bytea NOT NULL, "
        "written_at timestamptz NOT NULL DEFAULT now(), "
        "PRIMARY KEY (resolution, extent, keys))"
    )
    # Packed numbers barely compress: stored as they are (a 20 MB snapshot took 0.7-0.9 s to
    # write compressed, 0.15-0.17 s as it is).
    for table, column in (("h3_cell_values", "cells"), ("h3_cell_values", "numbers"),
                          ("h3_point_snapshots", "data")):
        op.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET STORAGE EXTERNAL")
    op.execute(
        "CREATE OR REPLACE FUNCTION h3_point_snapshots_forget() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN DELETE FROM h3_point_snapshots; RETURN NULL; END $$"
    )
    op.execute(
        "CREATE TRIGGER risk_points_forget_snapshots AFTER UPDATE OR DELETE OR TRUNCATE "
        "ON risk_points FOR EACH STATEMENT EXECUTE FUNCTION h3_point_snapshots_forget()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS risk_points_forget_snapshots ON risk_points")
    op.execute("DROP FUNCTION IF EXISTS h3_point_snapshots_forget()")
    op.execute("DROP TABLE IF EXISTS h3_point_snapshots")
    op.execute("DROP TABLE IF EXISTS h3_cell_values")
