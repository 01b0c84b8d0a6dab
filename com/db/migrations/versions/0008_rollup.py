"""Risk rollups: the ranking's sums kept per area, category, severity and month (issue 13).

A ranking sums, over the points that pass its filters, category weight x severity x incident
count x recency, where recency = 2^(-(as_of - reported_on) / half_life) (age 0 for future
dates). For every point of a month m (first day m) on or before ``as_of`` that factor splits as
2^(-(as_of - m) / half_life) x 2^((reported_on - m) / half_life): the second factor does not
depend on the query. ``risk_rollup`` keeps, per (province, district, subdistrict, category,
severity, month), the count of points, the sum of incident counts, ``plain`` = the sum of
severity x count and ``decayed`` = the sum of severity x count x 2^((reported_on - m) /
half_life); a ranking multiplies by the query's factor (com.analysis.risk.rollup). Undated points
have month NULL.

Statement-level triggers with transition tables keep the rollup exact within the same
transaction as every INSERT, COPY, UPDATE, DELETE or TRUNCATE of ``risk_points`` (an upload,
retention, the demo): set-based, one grouped upsert per statement, whatever code wrote the rows.
The half-life the sums were made with lives in ``risk_rollup_config``; a ranking with another
half-life falls back to the exact query, and ``com db rollup`` rebuilds with a new one.

Revision ID: 0008_rollup
Revises: 0007_security
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_rollup"
down_revision = "0007_security"
branch_labels = None
depends_on = None

#: The packaged severity model's half-life (com/config/severity.toml); `com db rollup` changes it.
PACKAGED_HALF_LIFE_DAYS = 365.0

MONTH_KEY = "province_code, district_code, subdistrict_code, category, severity, month"
TOTAL_KEY = "province_code, district_code, subdistrict_code, category"

# The rows a statement changed, with a sign: +1 for rows added, -1 for rows removed. An update
# counts only rows whose rolled-up columns changed (retention's anonymisation changes none).
_CHANGES = {
    "INSERT": "SELECT 1 AS sign, n.* FROM new_rows n",
    "DELETE": "SELECT -1 AS sign, o.* FROM old_rows o",
    "UPDATE": """
        SELECT 1 AS sign, n.* FROM new_rows n JOIN old_rows o USING (id)
        WHERE (n.province_code, n.district_code, n.subdistrict_code, n.category, n.severity,
               n.incident_count, n.reported_on)
              IS DISTINCT FROM (o.province_code, o.district_code, o.subdistrict_code,
                                o.category, o.severity, o.incident_count, o.reported_on)
        UNION ALL
        SELECT -1, o.* FROM old_rows o JOIN new_rows n USING (id)
        WHERE (n.province_code, n.district_code, n.subdistrict_code, n.category, n.severity,
               n.incident_count, n.reported_on)
              IS DISTINCT FROM (o.province_code, o.district_code, o.subdistrict_code,
                                o.category, o.severity, o.incident_count, o.reported_on)""",
    "REBUILD": "SELECT 1 AS sign, p.* FROM risk_points p",
}

# Month tier: per key and month, decayed sums relative to the month's first day.
_MONTH_UPSERT = f"""
INSERT INTO risk_rollup AS t ({MONTH_KEY}, points, incidents, plain, decayed)
SELECT province_code, district_code, subdistrict_code, category, severity,
       date_trunc('month', reported_on)::date,
       sum(sign), sum(sign * incident_count), sum(sign * severity * incident_count::float8),
       COALESCE(sum(sign * severity * incident_count::float8 * power(
           2.0, (reported_on - date_trunc('month', reported_on)::date) / hl)), 0)
FROM ({{changes}}) AS c
GROUP BY 1, 2, 3, 4, 5, 6
ORDER BY 1, 2, 3, 4, 5, 6
ON CONFLICT ({MONTH_KEY}) DO UPDATE SET
    points = t.points + EXCLUDED.points,
    incidents = t.incidents + EXCLUDED.incidents,
    plain = t.plain + EXCLUDED.plain,
    decayed = t.decayed + EXCLUDED.decayed
"""

# Total tier: per key over all time; the decayed sum is relative to ``anchor``, an upper bound
# of the dates the row holds: the latest date of the statement's changed rows (one aggregate,
# not a sort of the batch by key), raised when a later batch arrives with the sum rescaled to
# it, never lowered. Rankings whose as_of is on or after every anchor read one row per area and
# category.
_TOTAL_UPSERT = f"""
INSERT INTO risk_rollup_total AS t ({TOTAL_KEY}, points, incidents, dated_plain, undated_plain,
                                    decayed, anchor)
SELECT province_code, district_code, subdistrict_code, category,
       sum(sign), sum(sign * incident_count),
       COALESCE(sum(sign * severity * incident_count::float8)
                FILTER (WHERE reported_on IS NOT NULL), 0),
       COALESCE(sum(sign * severity * incident_count::float8)
                FILTER (WHERE reported_on IS NULL), 0),
       COALESCE(sum(sign * severity * incident_count::float8
                    * power(2.0, (reported_on - latest) / hl)), 0),
       latest
FROM (WITH c AS ({{changes}})
      SELECT c.*, b.latest FROM c CROSS JOIN (SELECT max(reported_on) AS latest FROM c) AS b
     ) AS c
GROUP BY 1, 2, 3, 4, latest
ORDER BY 1, 2, 3, 4
ON CONFLICT ({TOTAL_KEY}) DO UPDATE SET
    points = t.points + EXCLUDED.points,
    incidents = t.incidents + EXCLUDED.incidents,
    dated_plain = t.dated_plain + EXCLUDED.dated_plain,
    undated_plain = t.undated_plain + EXCLUDED.undated_plain,
    decayed = t.decayed * COALESCE(power(2.0, (t.anchor - GREATEST(t.anchor, EXCLUDED.anchor))
                                              / hl), 1)
              + EXCLUDED.decayed * COALESCE(power(2.0, (EXCLUDED.anchor
                                                        - GREATEST(t.anchor, EXCLUDED.anchor))
                                                       / hl), 1),
    anchor = GREATEST(t.anchor, EXCLUDED.anchor)
"""


def _apply(event: str) -> str:
    changes = _CHANGES[event]
    return (_MONTH_UPSERT.format(changes=changes) + ";\n" + _TOTAL_UPSERT.format(changes=changes)
            + ";\nDELETE FROM risk_rollup WHERE points <= 0;\n"
            "DELETE FROM risk_rollup_total WHERE points <= 0;\n")


_FUNCTION = f"""
CREATE FUNCTION risk_rollup_apply() RETURNS trigger LANGUAGE plpgsql
SET work_mem = '64MB'  -- a batch's groups hashed in memory, not sorted on disk
AS $$
DECLARE
    hl float8;
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        -- DELETE, not TRUNCATE: the rollup may be among the tables of the same TRUNCATE.
        DELETE FROM risk_rollup;
        DELETE FROM risk_rollup_total;
        RETURN NULL;
    END IF;
    -- Without a configuration row (emptied by hand) the sums are still made, and no ranking
    -- uses them (com.analysis.risk.rollup.rollup_usable) until `com db rollup` rebuilds.
    hl := COALESCE((SELECT half_life_days FROM risk_rollup_config), {PACKAGED_HALF_LIFE_DAYS});
    IF TG_OP = 'INSERT' THEN
        {_apply("INSERT")}
    ELSIF TG_OP = 'DELETE' THEN
        {_apply("DELETE")}
    ELSE
        {_apply("UPDATE")}
    END IF;
    RETURN NULL;
END;
$$
"""

# Rebuild everything with a half-life (`com db rollup`; the migration's backfill).
_REBUILD = f"""
CREATE FUNCTION risk_rollup_rebuild(half_life float8) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    hl float8 := half_life;
BEGIN
    INSERT INTO risk_rollup_config (id, half_life_days) VALUES (true, hl)
    ON CONFLICT (id) DO UPDATE SET half_life_days = EXCLUDED.half_life_days;
    DELETE FROM risk_rollup;
    DELETE FROM risk_rollup_total;
    {_apply("REBUILD")}
    RETURN (SELECT count(*) FROM risk_rollup);
END;
$$
"""


def upgrade() -> None:
    op.create_table(
        "risk_rollup_config",
        sa.Column("id", sa.Boolean, primary_key=True, server_default=sa.true()),
        sa.Column("half_life_days", sa.Float, nullable=False),
        sa.CheckConstraint("id", name="ck_risk_rollup_config_single_row"),
        sa.CheckConstraint("half_life_days > 0", name="ck_risk_rollup_config_half_life"),
    )
    op.execute(f"INSERT INTO risk_rollup_config (half_life_days) VALUES ({PACKAGED_HALF_LIFE_DAYS})")
    op.create_table(
        "risk_rollup",
        sa.Column("province_code", sa.String(2)),
        sa.Column("district_code", sa.String(4)),
        sa.Column("subdistrict_code", sa.String(6)),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("severity", sa.SmallInteger, nullable=False),
        sa.Column("month", sa.Date),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("incidents", sa.Integer, nullable=False),
        sa.Column("plain", sa.Float, nullable=False),
        sa.Column("decayed", sa.Float, nullable=False),
    )
    op.create_table(
        "risk_rollup_total",
        sa.Column("province_code", sa.String(2)),
        sa.Column("district_code", sa.String(4)),
        sa.Column("subdistrict_code", sa.String(6)),
        sa.Column("category", sa.Text, nullable=False),
        sa.Column("points", sa.Integer, nullable=False),
        sa.Column("incidents", sa.Integer, nullable=False),
        sa.Column("dated_plain", sa.Float, nullable=False),
        sa.Column("undated_plain", sa.Float, nullable=False),
        sa.Column("decayed", sa.Float, nullable=False),
        sa.Column("anchor", sa.Date),
    )
    # NULLS NOT DISTINCT (PostgreSQL 15): undated points and points outside every area share
    # one row per key, and ON CONFLICT finds it.
    op.execute(f"CREATE UNIQUE INDEX uq_risk_rollup_key ON risk_rollup ({MONTH_KEY}) "
               "NULLS NOT DISTINCT")
    op.execute(f"CREATE UNIQUE INDEX uq_risk_rollup_total_key ON risk_rollup_total "
               f"({TOTAL_KEY}) NULLS NOT DISTINCT")
    op.execute(_FUNCTION)
    for event, refs in (
        ("INSERT", "NEW TABLE AS new_rows"),
        ("DELETE", "OLD TABLE AS old_rows"),
        ("UPDATE", "OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    ):
        op.execute(
            f"CREATE TRIGGER risk_rollup_{event.lower()} AFTER {event} ON risk_points "
            f"REFERENCING {refs} FOR EACH STATEMENT EXECUTE FUNCTION risk_rollup_apply()"
        )
    op.execute(
        "CREATE TRIGGER risk_rollup_truncate AFTER TRUNCATE ON risk_points "
        "FOR EACH STATEMENT EXECUTE FUNCTION risk_rollup_apply()"
    )
    op.execute(_REBUILD)
    # The points already stored.
    op.execute(f"SELECT risk_rollup_rebuild({PACKAGED_HALF_LIFE_DAYS})")


def downgrade() -> None:
    for event in ("insert", "delete", "update", "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS risk_rollup_{event} ON risk_points")
    op.execute("DROP FUNCTION IF EXISTS risk_rollup_apply()")
    op.execute("DROP FUNCTION IF EXISTS risk_rollup_rebuild(float8)")
    op.drop_table("risk_rollup_total")
    op.drop_table("risk_rollup")
    op.drop_table("risk_rollup_config")
