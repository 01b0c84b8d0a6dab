"""Storing an upload's points costs the server less (issue 13, done-item 1).

Three changes, each measured on the 100,000-point upload of ``benchmarks/bench_import.py``:

- The rollup's insert trigger returns at once when every inserted row comes from a pending
  upload (0017_rollup_pending: the upload's fold sums them after its commit). Before, it
  still ran the month and total upserts over all the rows, each row testing "is my upload
  pending" in a subquery of its own, only to sum none of them: 0.95-1.0 s of the 1.5 s the
  server spent on the insert (``EXPLAIN ANALYZE``). The lock on the pending rows is taken
  as before; rows of uploads that are not pending are summed as before.
- The index on ``source_upload_id`` becomes an index on ``(source_upload_id, source_row)``.
  Every row of an upload has the same upload id, so the old index kept one long run of equal
  keys that PostgreSQL de-duplicates page by page as it grows; with the row number the keys
  are distinct and arrive in order. Everything that looked points up by upload still can (the
  leading column), and the report and the ids read back after storing look them up by upload
  and row, which the index now answers alone.
- ``uploads.content`` (the uploaded file, kept for the report and re-reading) is compressed
  with LZ4 instead of PostgreSQL's own pglz: 0.04-0.05 s for a 13 MB CSV against 0.17-0.30 s,
  3.9 MB stored against 3.4 MB. Rows already stored keep their compression. A server built
  without LZ4 keeps pglz (the change is skipped, not an error).

Revision ID: 0019_store_cheaper
Revises: 0018_points_spgist
Create Date: 2026-12-04
"""

import importlib

from alembic import op

revision = "0019_store_cheaper"
down_revision = "0018_points_spgist"
branch_labels = None
depends_on = None

_m0017 = importlib.import_module("com.db.migrations.versions.0017_rollup_pending")

_INSERT_LOCK = _m0017._lock_pending("new_rows")
# The uploads of the inserted rows (NULL among them for rows of no upload), their pending rows
# locked as before; when all are pending the fold sums the rows, and nothing is to do now.
_INSERT_SKIP = """ids := ARRAY(SELECT DISTINCT source_upload_id FROM new_rows);
        PERFORM 1 FROM risk_rollup_pending WHERE upload_id = ANY(ids) ORDER BY upload_id
            FOR SHARE;
        IF NOT EXISTS (SELECT 1 FROM unnest(ids) AS u(id) WHERE u.id IS NULL OR NOT EXISTS (
                SELECT 1 FROM risk_rollup_pending q WHERE q.upload_id = u.id)) THEN
            RETURN NULL;
        END IF;
"""


def _function() -> str:
    text = _m0017._FUNCTION
    branch = f"IF TG_OP = 'INSERT' THEN\n        {_INSERT_LOCK}"
    assert text.count(branch) == 1 and text.count("    hl float8;\n") == 1
    return (text.replace(branch, f"IF TG_OP = 'INSERT' THEN\n        {_INSERT_SKIP}")
            .replace("    hl float8;\n", "    hl float8;\n    ids bigint[];\n"))


_LZ4 = """
DO $$
BEGIN
    ALTER TABLE uploads ALTER COLUMN content SET COMPRESSION {method};
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this server has no LZ4 compression; uploads keep pglz';
END
$$
"""


def upgrade() -> None:
    op.execute(_function())
    op.execute("CREATE INDEX ix_risk_points_source_upload_row "
               "ON risk_points (source_upload_id, source_row)")
    op.execute("DROP INDEX IF EXISTS ix_risk_points_source_upload_id")
    op.execute(_LZ4.format(method="lz4"))


def downgrade() -> None:
    op.execute(_LZ4.format(method="pglz"))
    op.execute("CREATE INDEX ix_risk_points_source_upload_id ON risk_points (source_upload_id)")
    op.execute("DROP INDEX IF EXISTS ix_risk_points_source_upload_row")
    op.execute(_m0017._FUNCTION)
