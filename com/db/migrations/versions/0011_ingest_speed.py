"""Faster rollup trigger; the per-row report only for the rows worth a line (issue 13).

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

Revision ID: 0011_ingest_speed
Revises: 0009_ingest
Create Date: 2026-12-03
"""

import importlib.util
from pathlib import Path

from alembic import op

revision = "0011_ingest_speed"
down_revision = "0009_ingest"
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


def downgrade() -> None:
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
