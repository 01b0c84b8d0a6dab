"""fetch_sliced: rows in the caller's transaction, in binary, large values in slices (issue 13)."""

from __future__ import annotations

import sqlalchemy as sa

from com.db.engine import fetch_sliced


def test_binary_results_in_the_callers_transaction(engine):
    with engine.connect() as conn:
        # Not begun yet: the statement begins the transaction the caller then ends.
        rows = fetch_sliced(conn, "(SELECT int8send(:n) AS v, CAST(:t AS text) || '%' AS s, "
                                  "'a:b' AS c, pg_current_xact_id_if_assigned() IS NULL AS f)",
                            "true", {"n": 258, "t": "ตำบล"}, row="1",
                            small=("s", "c", "f"), large=("v",))
        assert [(*r[:3], bytes(r[3])) for r in rows] == [
            ("ตำบล%", "a:b", True, b"\x00\x00\x00\x00\x00\x00\x01\x02")]
        assert conn.in_transaction()
        conn.execute(sa.text("CREATE TEMP TABLE fetch_binary_t (v bytea)"))
        conn.execute(sa.text("INSERT INTO fetch_binary_t VALUES ('\\x00ff')"))
        assert [bytes(v) for (v,) in fetch_sliced(conn, "fetch_binary_t", "true", {},
                                                  small=(), large=("v",))] == [b"\x00\xff"]
        conn.rollback()
        assert not conn.in_transaction()
        assert conn.execute(sa.text(
            "SELECT to_regclass('pg_temp.fetch_binary_t')")).scalar() is None


def test_sliced_values_come_back_whole_nulls_and_empties_as_they_are(engine):
    import os

    from com.db import engine as db_engine

    big = os.urandom(3 * db_engine.SLICE_BYTES + 12345)  # four slices, the last partial
    edge = os.urandom(db_engine.SLICE_BYTES)  # exactly one slice
    with engine.connect() as conn:
        conn.execute(sa.text("CREATE TEMP TABLE fetch_sliced_t "
                             "(id int, name text, a bytea, b bytea)"))
        conn.execute(sa.text("ALTER TABLE fetch_sliced_t ALTER a SET STORAGE EXTERNAL"))
        conn.execute(sa.text("INSERT INTO fetch_sliced_t VALUES "
                             "(1, 'ตำบล:1', :big, :edge), (2, 'two', '', NULL), "
                             "(3, 'three', NULL, :small)"),
                     {"big": big, "edge": edge, "small": b"\x00\x01"})
        rows = db_engine.fetch_sliced(conn, "fetch_sliced_t", "t.id <> :skip", {"skip": 0},
                                      small=("id", "name"), large=("a", "b"))
        got = {row[0]: (row[1], *(None if v is None else bytes(v) for v in row[2:]))
               for row in rows}
        assert got == {1: ("ตำบล:1", big, edge), 2: ("two", b"", None),
                       3: ("three", None, b"\x00\x01")}
        assert all(isinstance(v, memoryview) and v.readonly for row in rows for v in row[2:]
                   if v is not None)
        assert db_engine.fetch_sliced(conn, "fetch_sliced_t", "t.id = :id", {"id": 9},
                                      small=("id",), large=("a",)) == []
        # In the caller's transaction: the temp table's rows are seen, then rolled back.
        conn.rollback()
