"""Emptying the data tables between tests while keeping the reference data loaded once."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine

# Tables filled by `com geodata load`; every other table is emptied after tests that write.
REFERENCE_TABLES = {
    "provinces",
    "districts",
    "subdistricts",
    "subdistrict_parts",
    "border_crossings",
    "alembic_version",
    "risk_rollup_config",
    "spatial_ref_sys",
}


def clean_data_tables(engine: Engine) -> None:
    """Empty every data table; keep boundaries and the geodata context features."""
    with engine.begin() as c:
        tables = c.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ).scalars()
        data_tables = [t for t in tables if t not in REFERENCE_TABLES and t != "context_layers"]
        # TRUNCATE ... CASCADE also empties context_layers (it references uploads): keep the
        # reference features loaded from geodata and put them back afterwards.
        c.execute(
            sa.text(
                "CREATE TEMP TABLE keep_context ON COMMIT DROP AS "
                "SELECT * FROM context_layers WHERE source_upload_id IS NULL"
            )
        )
        if data_tables:
            c.execute(
                sa.text(
                    "TRUNCATE "
                    + ", ".join(f'"{t}"' for t in data_tables)
                    + " RESTART IDENTITY CASCADE"
                )
            )
        c.execute(sa.text("DELETE FROM context_layers WHERE source_upload_id IS NOT NULL"))
        c.execute(
            sa.text("INSERT INTO context_layers SELECT * FROM keep_context ON CONFLICT DO NOTHING")
        )
        c.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('context_layers', 'id'), "
                "(SELECT coalesce(max(id), 0) + 1 FROM context_layers), false)"
            )
        )
