"""Issue 13: a ranking of unchanged data is computed once, and never served stale.

The cache key holds the rollup's version (row count and newest row version of
``risk_rollup_total``), so a committed write of the risk points is seen by the next ranking;
a transaction that has written computes afresh.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from com.analysis import risk
from com.analysis.risk import reference

pytestmark = pytest.mark.db

SUB = "320101"


def _add(conn, category: str = "drugs", severity: int = 3) -> None:
    conn.execute(sa.text(
        "INSERT INTO risk_points (category, severity, incident_count, reported_on, geom, "
        "subdistrict_code, district_code, province_code) SELECT :c, :s, 1, '2025-01-10', "
        "s.rep_point, s.code, s.district_code, s.province_code FROM subdistricts s "
        "WHERE s.code = :code"), {"c": category, "s": severity, "code": SUB})


def _score(conn) -> float:
    ranked = risk.rank_areas(conn, province="32", as_of="2025-06-30")
    return float(ranked.set_index("subdistrict_code").loc[SUB, "risk_score"])


def test_committed_writes_are_seen_and_reads_are_reused(clean_engine, monkeypatch):
    reference.clear()
    with clean_engine.begin() as conn:
        _add(conn)
    with clean_engine.connect() as conn:
        first = _score(conn)
    calls = []
    original = risk.ranking._rank
    monkeypatch.setattr(risk.ranking, "_rank", lambda *a, **k: calls.append(1) or original(*a, **k))
    with clean_engine.connect() as conn:
        assert _score(conn) == first and calls == []  # served from the cache
    for change in ("INSERT", "UPDATE", "DELETE"):
        with clean_engine.begin() as conn:
            if change == "INSERT":
                _add(conn, severity=5)
            elif change == "UPDATE":
                conn.execute(sa.text("UPDATE risk_points SET severity = 1"))
            else:
                conn.execute(sa.text("DELETE FROM risk_points WHERE severity = 1 AND id = "
                                     "(SELECT min(id) FROM risk_points)"))
        with clean_engine.connect() as conn:
            fresh = _score(conn)
            exact = risk.ranking._rank(
                conn, risk.AreaLevel("subdistrict"),
                risk.make_filter(province="32", as_of="2025-06-30"),
                risk.ranking.severity_model_of(None))
        assert fresh == pytest.approx(
            float(exact.set_index("subdistrict_code").loc[SUB, "risk_score"]), rel=1e-12)
        assert fresh != first, change
        first = fresh


def test_a_transaction_that_wrote_computes_afresh(conn):
    reference.clear()
    _add(conn)
    before = _score(conn)
    conn.execute(sa.text("UPDATE risk_points SET severity = 5"))  # same transaction, same xmin
    after = _score(conn)
    assert after > before
