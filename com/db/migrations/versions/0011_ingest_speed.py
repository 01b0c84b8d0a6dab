"""Cheaper storing of uploaded points: rollup trigger, report lines, upload check (issue 13).

- ``risk_rollup_apply()`` and ``risk_rollup_rebuild()`` (0008_rollup) found a point's month with
  ``date_trunc('month', reported_on)::date``: on a date that is a cast to ``timestamptz`` and
  back, time zone rules included, twice per point (grouping 100,000 points by month took
  3.2 s with it and 0.35 s without, on a loaded 2-core machine). The month's first
  day is now date arithmetic, ``reported_on - (day of month - 1)``: the same date for every
  date, with no time zone in the way. Everything else in the functions is unchanged.
- ``upload_report``: the per-row report of every upload. ``upload_rows`` keeps a line only
  for the rows that were rejected, were duplicates or carry a warning (and every row of a
  kind other than risk points); a risk point stored cleanly is reported from ``risk_points``
  itself (its upload id and source row), so an upload no longer COPYs a report line for
  each of its 100,000 rows. The original cells of such a row come from the uploaded file
  (``com.ingest.report``).
- The foreign key from ``risk_points.source_upload_id`` to ``uploads`` is checked per
  statement by a trigger (one anti-join over the statement's upload ids) instead of row by
  row; deleting an upload still sets its points' ``source_upload_id`` to NULL.

Revision ID: 0011_ingest_speed
Revises: 0010_h3cells
Create Date: 2026-12-03
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0011_ingest_speed"
down_revision = "0010_h3cells"
branch_labels = None
depends_on = None

_DATE_TRUNC = "date_trunc('month', reported_on)::date"
#: The first day of the point's month (NULL stays NULL), without a time zone round trip.
_MONTH_START = "(reported_on - (extract(day FROM reported_on)::integer - 1))"

UPLOAD_REPORT_VIEW = """
CREATE VIEW upload_report AS
SELECT r.upload_id, r.row_number, r.status, r.reason, r.column_name, r.warnings, r.lat, r.lon,
       r.subdistrict_code, r.quality, r.record_id, r.original
FROM upload_rows r
UNION ALL
-- A cleanly stored risk point: no report line was written, its place is the stored one.
-- Its original cells are read from the uploaded file (NULL here; com.ingest.report).
SELECT p.source_upload_id, p.source_row, 'stored', NULL, NULL, NULL,
       CASE WHEN p.anonymised_at IS NULL THEN ST_Y(p.geom) END,
       CASE WHEN p.anonymised_at IS NULL THEN ST_X(p.geom) END,
       p.subdistrict_code, p.geocode_quality, p.id, NULL::jsonb
FROM risk_points p
WHERE p.source_upload_id IS NOT NULL AND p.source_row IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM upload_rows r
                  WHERE r.upload_id = p.source_upload_id AND r.row_number = p.source_row)
"""


FK_NAME = "fk_risk_points_source_upload_id_uploads"

# The upload a point came from, checked once per statement instead of row by row. The foreign
# key's per-row check took 0.4-2.7 s of every 100,000 points an upload COPYs (an index probe
# of uploads and a row lock per point); this is one anti-join over the statement's distinct
# upload ids (one, for an upload). Same rule: a point names an existing upload or none, the
# uploads it names are locked FOR KEY SHARE until commit (a concurrent DELETE waits, as with
# the key), and deleting or truncating uploads sets their points' source_upload_id to NULL.
_UPLOAD_FUNCTIONS = (
    """
CREATE FUNCTION risk_points_upload_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    missing bigint;
BEGIN
    PERFORM 1 FROM uploads u
    WHERE u.id IN (SELECT DISTINCT n.source_upload_id FROM new_rows n)
    FOR KEY SHARE;
    SELECT n.source_upload_id INTO missing
    FROM (SELECT DISTINCT source_upload_id FROM new_rows
          WHERE source_upload_id IS NOT NULL) n
    WHERE NOT EXISTS (SELECT 1 FROM uploads u WHERE u.id = n.source_upload_id)
    LIMIT 1;
    IF missing IS NOT NULL THEN
        RAISE EXCEPTION 'risk_points: upload % does not exist (source_upload_id)', missing
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NULL;
END;
$$
""",
    """
CREATE FUNCTION risk_points_upload_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        UPDATE risk_points SET source_upload_id = NULL WHERE source_upload_id IS NOT NULL;
    ELSE
        UPDATE risk_points SET source_upload_id = NULL
        WHERE source_upload_id IN (SELECT id FROM old_uploads);
    END IF;
    RETURN NULL;
END;
$$
""",
)
_UPLOAD_TRIGGERS = (
    "CREATE TRIGGER risk_points_upload_insert AFTER INSERT ON risk_points REFERENCING NEW "
    "TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION risk_points_upload_check()",
    "CREATE TRIGGER risk_points_upload_update AFTER UPDATE ON risk_points REFERENCING NEW "
    "TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION risk_points_upload_check()",
    "CREATE TRIGGER uploads_delete_points AFTER DELETE ON uploads REFERENCING OLD TABLE AS "
    "old_uploads FOR EACH STATEMENT EXECUTE FUNCTION risk_points_upload_gone()",
    "CREATE TRIGGER uploads_truncate_points AFTER TRUNCATE ON uploads "
    "FOR EACH STATEMENT EXECUTE FUNCTION risk_points_upload_gone()",
)


def _rollup_functions() -> tuple[str, str]:
    """Return 0008_rollup's two function definitions as CREATE OR REPLACE statements."""
    path = Path(__file__).with_name("0008_rollup.py")
    spec = importlib.util.spec_from_file_location("_com_0008_rollup", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return tuple(  # type: ignore[return-value]
        text.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)
        for text in (module._FUNCTION, module._REBUILD)
    )


def upgrade() -> None:
    for text in _rollup_functions():
        assert _DATE_TRUNC in text
        text = text.replace(_DATE_TRUNC, _MONTH_START)
        op.execute(text)
    op.execute(UPLOAD_REPORT_VIEW)
    op.execute(f"ALTER TABLE risk_points DROP CONSTRAINT {FK_NAME}")
    for statement in (*_UPLOAD_FUNCTIONS, *_UPLOAD_TRIGGERS):
        op.execute(statement)


def downgrade() -> None:
    for trigger, table in (("risk_points_upload_insert", "risk_points"),
                           ("risk_points_upload_update", "risk_points"),
                           ("uploads_delete_points", "uploads"),
                           ("uploads_truncate_points", "uploads")):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
    op.execute("DROP FUNCTION IF EXISTS risk_points_upload_check()")
    op.execute("DROP FUNCTION IF EXISTS risk_points_upload_gone()")
    op.execute(f"ALTER TABLE risk_points ADD CONSTRAINT {FK_NAME} FOREIGN KEY "
               "(source_upload_id) REFERENCES uploads (id) ON DELETE SET NULL")
    # Back to a line for every row: the derived lines are written out (their original cells
    # were never stored, so they stay empty).
    op.execute(
        "INSERT INTO upload_rows (upload_id, row_number, status, lat, lon, subdistrict_code, "
        "quality, record_id, original) SELECT upload_id, row_number, status, lat, lon, "
        "subdistrict_code, quality, record_id, '{}'::jsonb FROM upload_report "
        "WHERE original IS NULL"
    )
    op.execute("DROP VIEW IF EXISTS upload_report")
    for text in _rollup_functions():
        op.execute(text)
