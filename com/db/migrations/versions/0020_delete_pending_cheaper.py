"""Deleting points of a pending upload costs the rollup trigger nothing (issue 13, item 1).

0019_store_cheaper made the insert trigger return at once when every inserted row comes from
a pending upload. The delete branch still ran its month and total upserts over the deleted
rows (summing none of them: their upload's fold has not counted them) and then swept both
rollup tables for emptied groups: 0.055-0.065 s for every upload that deletes a streamed
duplicate again before its commit (com.ingest.uploads), whatever the number of rows. Now the
delete branch takes the same lock and returns when every deleted row's upload is pending;
deletes that touch any other row run as before.

Revision ID: 0020_delete_pending_cheaper
Revises: 0019_store_cheaper
Create Date: 2026-12-05
"""

import importlib

from alembic import op

revision = "0020_delete_pending_cheaper"
down_revision = "0019_store_cheaper"
branch_labels = None
depends_on = None

_m0017 = importlib.import_module("com.db.migrations.versions.0017_rollup_pending")
_m0019 = importlib.import_module("com.db.migrations.versions.0019_store_cheaper")


def _function() -> str:
    text = _m0019._function()
    branch = f"ELSIF TG_OP = 'DELETE' THEN\n        {_m0017._lock_pending('old_rows')}"
    skip = _m0019._INSERT_SKIP.replace("new_rows", "old_rows")
    assert text.count(branch) == 1
    return text.replace(branch, f"ELSIF TG_OP = 'DELETE' THEN\n        {skip}")


def upgrade() -> None:
    op.execute(_function())


def downgrade() -> None:
    op.execute(_m0019._function())
