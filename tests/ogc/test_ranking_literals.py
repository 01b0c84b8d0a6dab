"""RankingTable.literals: the ranking's columns as PostgreSQL array text (issue 13, item 6)."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY

from com.ogc.ranking import RankingTable


def test_every_column_reads_back_as_it_was(engine):
    codes = ("320101", 'a"b', "c\\d", "ตำบล, {x}", "NULL", "", " s ")
    n = len(codes)
    table = RankingTable(
        codes=codes,
        risk_score=(1.5, None, 1e-300, 0.1 + 0.2, 3.0, -2.25, 7.0),
        rank=(1, None, 3, 4, 5, 6, 7),
        hotspot_class=("hot_99", None, 'q"uote', "back\\slash", "", "NULL", "ร้อน"),
        gi_z=(None,) * n,
        points=(0, 12, None, 2**31 - 1, 5, 6, 7),
    )
    types = {"codes": sa.Text, "risk_score": sa.Float, "rank": sa.Integer,
             "hotspot_class": sa.Text, "gi_z": sa.Float, "points": sa.Integer}
    with engine.connect() as conn:
        for name, item in types.items():
            got = conn.execute(sa.select(sa.cast(
                sa.bindparam("v", table.literals[name], type_=sa.Text), ARRAY(item)))).scalar()
            want = list(getattr(table, name))
            assert got == want, name  # floats too: repr round-trips exactly
    assert table.literals is table.literals  # made once per table
