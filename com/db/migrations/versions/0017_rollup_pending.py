"""Uploads may leave the rollup's sums for just after their commit (issue 13, done-item 1).

The rollup triggers (0008_rollup) sum every inserted statement in the inserting transaction:
about a third of a 100,000-point upload through the API (3.2-3.5 s of 10-11 s measured, the
month tier holds about one row per point when points spread over the country). An upload may
now *defer* its sums: it writes its id into ``risk_rollup_pending`` in its own transaction,
before storing its points, and the triggers leave out points whose upload is pending. After
the commit ``risk_rollup_fold(upload)`` adds the upload's points to the sums and deletes the
pending row, in one transaction (the API does this in the background, com.db.rollup). Every
reader of the rollup folds what is pending before it reads (com.db.rollup.ensure_folded), so
rankings, small-area counts and cache versions stay exact.

Concurrency: a fold locks its pending row (``FOR UPDATE``) before it reads the upload's
points; the triggers lock the pending rows of the uploads their rows come from (``FOR
SHARE``) before they decide which rows to leave out. A delete or an update of a pending
upload's points that runs beside its fold therefore either finishes first (the fold, waiting,
then reads the points as they are after it) or waits for the fold (and then counts the rows,
their upload no longer pending). An update that takes a point out of a pending upload (the
upload deleted: ``source_upload_id`` set to NULL) adds the point to the sums then; the fold
finds it no more.

Revision ID: 0017_rollup_pending
Revises: 0016_ingest_set
Create Date: 2026-12-04
"""

import importlib

from alembic import op

revision = "0017_rollup_pending"
down_revision = "0016_ingest_set"
branch_labels = None
depends_on = None

# The rollup's statements as the earlier migrations wrote them (modules named by revision).
_m0008, _m0011, _m0016 = (importlib.import_module(f"com.db.migrations.versions.{name}")
                          for name in ("0008_rollup", "0011_ingest_speed", "0016_ingest_set"))


def _upsert(template: str) -> str:
    """Return one of 0008's upserts with the month start of 0011 and 0016."""
    return (template.replace(_m0011._DATE_TRUNC, _m0011._MONTH_START)
            .replace(_m0016._EXTRACT_DAY, _m0016._DATE_PART_DAY))


def _apply(changes: str, *, empty_groups: bool) -> str:
    text = (_upsert(_m0008._MONTH_UPSERT).format(changes=changes) + ";\n"
            + _upsert(_m0008._TOTAL_UPSERT).format(changes=changes) + ";\n")
    return text + (_m0016._EMPTY_GROUPS if empty_groups else "")


#: Whether a row's upload is pending (its points are summed by the upload's fold).
_PENDING = ("{r}.source_upload_id IS NOT NULL AND EXISTS (SELECT 1 FROM risk_rollup_pending q "
            "WHERE q.upload_id = {r}.source_upload_id)")
_ROLLED = ("(n.province_code, n.district_code, n.subdistrict_code, n.category, n.severity, "
           "n.incident_count, n.reported_on) IS DISTINCT FROM (o.province_code, "
           "o.district_code, o.subdistrict_code, o.category, o.severity, o.incident_count, "
           "o.reported_on)")
_N_PENDING, _O_PENDING = _PENDING.format(r="n"), _PENDING.format(r="o")
_CHANGES = {
    "INSERT": f"SELECT 1 AS sign, n.* FROM new_rows n WHERE NOT ({_N_PENDING})",
    "DELETE": f"SELECT -1 AS sign, o.* FROM old_rows o WHERE NOT ({_O_PENDING})",
    # A row counts when its rolled-up columns changed or it left or joined a pending upload.
    "UPDATE": f"""
        SELECT 1 AS sign, n.* FROM new_rows n JOIN old_rows o USING (id)
        WHERE NOT ({_N_PENDING}) AND ({_ROLLED} OR ({_O_PENDING}))
        UNION ALL
        SELECT -1, o.* FROM old_rows o JOIN new_rows n USING (id)
        WHERE NOT ({_O_PENDING}) AND ({_ROLLED} OR ({_N_PENDING}))""",
}


def _lock_pending(rows: str) -> str:
    """Wait for the folds of the uploads the statement's rows come from (see the docstring)."""
    return (f"PERFORM 1 FROM risk_rollup_pending WHERE upload_id IN (SELECT DISTINCT "
            f"source_upload_id FROM {rows}) ORDER BY upload_id FOR SHARE;\n")


_FUNCTION = f"""
CREATE OR REPLACE FUNCTION risk_rollup_apply() RETURNS trigger LANGUAGE plpgsql
SET work_mem = '64MB'  -- a batch's groups hashed in memory, not sorted on disk
AS $$
DECLARE
    hl float8;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- DELETE, not TRUNCATE: the rollup may be among the tables of the same TRUNCATE.
        DELETE FROM risk_rollup;
        DELETE FROM risk_rollup_total;
        DELETE FROM risk_rollup_pending;
        RETURN NULL;
    END IF;
    -- Without a configuration row (emptied by hand) the sums are still made, and no ranking
    -- uses them (com.analysis.risk.rollup.rollup_usable) until `com db rollup` rebuilds.
    hl := COALESCE((SELECT half_life_days FROM risk_rollup_config),
                   {_m0008.PACKAGED_HALF_LIFE_DAYS});
    IF TG_OP = 'INSERT' THEN
        {_lock_pending("new_rows")}
        {_apply(_CHANGES["INSERT"], empty_groups=False)}
    ELSIF TG_OP = 'DELETE' THEN
        {_lock_pending("old_rows")}
        {_apply(_CHANGES["DELETE"], empty_groups=True)}
    ELSE
        {_lock_pending("old_rows")}
        {_apply(_CHANGES["UPDATE"], empty_groups=True)}
    END IF;
    RETURN NULL;
END;
$$
"""

# Add a pending upload's points to the sums; 0 when it is not (or no longer) pending.
_FOLD = f"""
CREATE FUNCTION risk_rollup_fold(upload integer) RETURNS integer LANGUAGE plpgsql
SET work_mem = '64MB'
AS $$
DECLARE
    hl float8;
BEGIN
    PERFORM 1 FROM risk_rollup_pending WHERE upload_id = upload FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    hl := COALESCE((SELECT half_life_days FROM risk_rollup_config),
                   {_m0008.PACKAGED_HALF_LIFE_DAYS});
    {_apply("SELECT 1 AS sign, p.* FROM risk_points p WHERE p.source_upload_id = upload",
            empty_groups=False)}
    DELETE FROM risk_rollup_pending WHERE upload_id = upload;
    RETURN 1;
END;
$$
"""

# The rebuild sums every point and leaves nothing pending.
_REBUILD_TAIL = "    RETURN (SELECT count(*) FROM risk_rollup);"


def _rebuild() -> str:
    rebuild = _m0016._previous()[1]
    rebuild = _m0016._faster(rebuild, insert_branch=False)
    assert _REBUILD_TAIL in rebuild
    return rebuild.replace(_REBUILD_TAIL,
                           "    DELETE FROM risk_rollup_pending;\n" + _REBUILD_TAIL)


def upgrade() -> None:
    op.execute(
        "CREATE TABLE risk_rollup_pending ("
        " upload_id integer PRIMARY KEY,"
        " queued_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute(_FUNCTION)
    op.execute(_FOLD)
    op.execute(_rebuild())


def downgrade() -> None:
    op.execute("SELECT risk_rollup_fold(upload_id) FROM risk_rollup_pending ORDER BY upload_id")
    prev_apply, prev_rebuild = _m0016._previous()
    op.execute(_m0016._faster(prev_apply, insert_branch=True))
    op.execute(_m0016._faster(prev_rebuild, insert_branch=False))
    op.execute("DROP FUNCTION IF EXISTS risk_rollup_fold(integer)")
    op.execute("DROP TABLE IF EXISTS risk_rollup_pending")
