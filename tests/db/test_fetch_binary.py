"""fetch_binary: a statement in the caller's transaction with its results in binary (issue 13)."""

from __future__ import annotations

import sqlalchemy as sa

from com.db.engine import fetch_binary


def test_binary_results_in_the_callers_transaction(engine):
    with engine.connect() as conn:
        # Not begun yet: the statement begins the transaction the caller then ends.
        rows = fetch_binary(conn, "SELECT int8send(:n), CAST(:t AS text)::text || '%', "
                                  "'a:b', pg_current_xact_id_if_assigned() IS NULL",
                            {"n": 258, "t": "ตำบล"})
        assert rows == [(b"\x00\x00\x00\x00\x00\x00\x01\x02", "ตำบล%", "a:b", True)]
        assert conn.in_transaction()
        conn.execute(sa.text("CREATE TEMP TABLE fetch_binary_t (v bytea)"))
        conn.execute(sa.text("INSERT INTO fetch_binary_t VALUES ('\\x00ff')"))
        assert fetch_binary(conn, "SELECT v FROM fetch_binary_t", {}) == [(b"\x00\xff",)]
        conn.rollback()
        assert not conn.in_transaction()
        assert conn.execute(sa.text(
            "SELECT to_regclass('pg_temp.fetch_binary_t')")).scalar() is None
