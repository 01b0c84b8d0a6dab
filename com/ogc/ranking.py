"""Subdistrict rankings served with the subdistricts collection, and their public form."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any

from sqlalchemy.engine import Connection

from com.ogc.cache import TTLCache
from com.security import privacy
from com.singleflight import SingleFlight


@dataclass(frozen=True)
class RankingTable:
    """Area ranking columns from :mod:`com.analysis.risk`, passed to SQL as parallel arrays."""

    codes: tuple[str, ...]
    risk_score: tuple[float | None, ...]
    rank: tuple[int | None, ...]
    hotspot_class: tuple[str | None, ...]
    gi_z: tuple[float | None, ...]
    points: tuple[int | None, ...]

    @functools.cached_property
    def literals(self) -> dict[str, str]:
        """Each column as a PostgreSQL array literal (``{...}``), made once per table.

        The SQL casts them to arrays: psycopg's list dumper spends Python per element, 30 ms
        of each 43 ms page of the subdistricts at 7,425 rows (GDAL asks for hundreds).
        """
        return {f.name: _array_literal(getattr(self, f.name)) for f in fields(self)}


def _array_literal(values: Iterable[Any]) -> str:
    """Return ``values`` as the text of a one-dimensional PostgreSQL array.

    None is NULL, a text is quoted (its quotes and backslashes escaped), a number is written
    as Python writes it (a float's shortest exact form).
    """
    items = ("NULL" if v is None
             else ('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"') if isinstance(v, str)
             else str(v) for v in values)
    return "{" + ",".join(items) + "}"


RankingProvider = Callable[[Connection, str | None], RankingTable | None]


def default_ranking_provider(conn: Connection, province_code: str | None) -> RankingTable | None:
    """Return subdistrict ranks, scores and hotspot classes from :mod:`com.analysis.risk`.

    Returns None while ``com.analysis.risk`` (issue 4) is not installed; the ranking properties are
    then served as null.
    """
    try:
        # Deferred: com.analysis.risk pulls in geopandas, scipy and esda; only ranked
        # collections need it.
        from com.analysis import risk
    except ImportError:
        return None
    return ranking_from_risk(risk, conn, province_code)


def ranking_from_risk(
    risk: Any, conn: Connection, province_code: str | None
) -> RankingTable | None:
    """Adapt the subdistrict ranking of :mod:`com.analysis.risk` to a :class:`RankingTable`."""
    # risk.hotspots ranks the areas and adds Gi* (gi_z, hotspot_class) in one call, with the
    # model's permutations and seed, so the classes equal those of /api/hotspots.
    function = getattr(risk, "hotspots", None) or getattr(risk, "rank_areas", None)
    if function is None:
        return None
    # A region-limited caller's key is "region:<key>" (Principal.extent_key): its ranking
    # spans the region's provinces.
    if province_code and province_code.startswith("region:"):
        frame = function(conn, level="subdistrict", region=province_code.removeprefix("region:"))
    else:
        frame = function(conn, level="subdistrict", province=province_code)
    return ranking_table(frame)


def ranking_table(frame: Any) -> RankingTable:
    """Return the ranking columns of a subdistrict ranking frame (absent columns are null)."""

    def col(name: str, cast: Callable[[Any], Any]) -> tuple[Any, ...]:
        if name not in frame.columns:
            return (None,) * len(frame)
        return tuple(None if v is None or v != v else cast(v) for v in frame[name].tolist())

    return RankingTable(
        codes=tuple(str(c) for c in frame["subdistrict_code"].tolist()),
        risk_score=col("risk_score", float),
        rank=col("rank", int),
        hotspot_class=col("hotspot_class", str),
        gi_z=col("gi_z", float),
        points=col("points", int),
    )


def suppress_ranking(ranking: RankingTable, hidden: frozenset[str]) -> RankingTable:
    """Blank the figures of hidden areas and rank the others again without gaps (issue 8)."""
    import pandas as pd  # deferred: only public rankings with hidden areas need it

    if not hidden.intersection(ranking.codes):
        return ranking
    frame = pd.DataFrame({
        "subdistrict_code": ranking.codes, "risk_score": ranking.risk_score,
        "rank": ranking.rank, "hotspot_class": ranking.hotspot_class, "gi_z": ranking.gi_z,
        "points": ranking.points,
    })
    return ranking_table(privacy.suppress_areas(frame, hidden, code_column="subdistrict_code"))


class RankingCache:
    """Rankings per province, computed once per TTL and shared by concurrent readers.

    Parameters
    ----------
    provider
        Function (conn, province) -> :class:`RankingTable`, or None to serve no ranking.
    ttl_s
        How long a computed ranking is reused.
    """

    def __init__(self, provider: RankingProvider | None, ttl_s: float) -> None:
        self.provider = provider
        self._cache = TTLCache(ttl_s, 32)
        self._flight = SingleFlight()

    def get(self, conn: Connection, province_code: str | None) -> RankingTable | None:
        """Return the ranking of ``province_code`` (None: all provinces), computed if cold."""
        if self.provider is None:
            return None
        ranking = self._cache.get(province_code)
        if ranking is None:
            # Issue 11: with a cold cache, concurrent readers wait for one computation.
            ranking = self._flight.run(
                province_code, lambda: self._compute(conn, province_code)
            )
        return ranking  # type: ignore[no-any-return]

    def public(
        self, ranking: RankingTable, province_code: str | None,
        hidden: Callable[[], frozenset[str]],
    ) -> RankingTable:
        """Return ``ranking`` with the hidden areas blanked (issue 8), cached with its source."""
        public_key = ("public", province_code)
        public = self._cache.get(public_key)
        if public is None or public[0] is not ranking:
            # Cached with the ranking it came from, so the source cache keeps it too.
            public = (ranking, suppress_ranking(ranking, hidden()))
            self._cache.put(public_key, public)
        return public[1]  # type: ignore[no-any-return]

    def _compute(self, conn: Connection, province_code: str | None) -> Any:
        assert self.provider is not None
        ranking = self.provider(conn, province_code)
        if ranking is not None:
            self._cache.put(province_code, ranking)
        return ranking
