"""Vector tiles served with the least work per request: compiled statements kept per selection.

A map view asks for dozens of tiles with no filter, each one a single ``ST_AsMVT`` query.
Building that SQLAlchemy statement (the collection's served columns, the coarsening of
sensitive points, the province restriction, the small-area suppression) and computing its
cache key took most of a tile's time in Python, so :class:`TileCache` builds the statements of
each unfiltered selection once and executes them with the tile address as bound values.

What a statement depends on is its key: the collection, the source SQL of the caller's kind
(:meth:`com.ogc.catalog.FeatureCatalog.source`, which already differs for callers who may see
sensitive points exactly and for each ranking), the caller's province restriction and, for
public callers, the small-area sets (:func:`com.ogc.filters.public_areas`, refreshed every
``areas_ttl_s`` seconds). Sources and area sets are compared by identity, and an entry keeps
the objects it was built from, so a replaced one is never mistaken for the old.

Requests with filters (properties, datetime, CQL2) are rare for tiles and go through
:meth:`com.ogc.catalog.FeatureCatalog.read_tile`, which builds the statement per request.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection

from com.ogc.cache import TTLCache
from com.ogc.catalog import FeatureCatalog
from com.ogc.filters import PublicAreas, public_areas, where_conditions
from com.ogc.query import ItemQuery
from com.ogc.sources import Source
from com.ogc.tiles import TileStatements, check_address, run_tile, tile_statements
from com.security import privacy
from com.security.access import Principal

#: Seconds the small-area sets of public tiles are kept (the catalog keeps its own as long).
PUBLIC_AREAS_TTL_S = 30.0
#: Compiled selections kept (collections x kinds of principal x provinces, plus area sets).
MAX_ENTRIES = 512


@dataclass(frozen=True)
class _Entry:
    source: Source
    areas: PublicAreas | None
    statements: TileStatements


def _known(areas: PublicAreas | None) -> PublicAreas:
    """Return the area sets the entry's key was made with (fetched when the rule applies)."""
    if areas is None:  # where_conditions applies the rule where _suppresses said it did not
        raise RuntimeError("the small-area rule of tiles and of where_conditions disagree")
    return areas


class TileCache:
    """The tile statements of a catalog's unfiltered selections, built once each.

    Parameters
    ----------
    catalog
        The service's collections (sources, small-area rule, categories).
    areas_ttl_s
        Seconds the small-area sets of public tiles are reused.
    """

    def __init__(self, catalog: FeatureCatalog, *, areas_ttl_s: float = PUBLIC_AREAS_TTL_S):
        self.catalog = catalog
        self._areas = TTLCache(areas_ttl_s)
        self._entries: dict[tuple[Any, ...], _Entry] = {}
        self._lock = threading.Lock()

    def read(
        self, conn: Connection, collection_id: str, z: int, x: int, y: int,
        principal: Principal, params: Sequence[tuple[str, str]] = (),
    ) -> bytes:
        """Return tile z/x/y of the collection as ``principal`` may see it.

        ``params`` is the request's query string; with any filter in it the tile is built
        by :meth:`com.ogc.catalog.FeatureCatalog.read_tile`.

        Raises
        ------
        com.errors.InvalidQuery
            A paging or bbox parameter (they do not apply to tiles), or a bad filter.
        com.errors.NotFoundError
            Unknown collection or a tile outside the tile matrix.
        """
        if params:
            return self.catalog.read_tile(conn, collection_id, z, x, y, principal, params)
        check_address(z, x, y)
        collection = self.catalog.get(conn, collection_id)
        source = self.catalog.source(conn, collection, principal)
        areas = self._public_areas(conn) if self._suppresses(source, principal) else None
        key = (collection.id, id(source), principal.extent_key, id(areas))
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry.source is not source or entry.areas is not areas:
            conditions = where_conditions(
                collection, source, principal, ItemQuery(), categories=self.catalog.categories,
                small_area_k=self.catalog.small_area_k, shown_areas=lambda: _known(areas),
            )
            entry = _Entry(source, areas, tile_statements(collection, source, conditions))
            with self._lock:
                if len(self._entries) >= MAX_ENTRIES:
                    self._entries.clear()
                self._entries[key] = entry
        return run_tile(conn, entry.statements, z, x, y)

    def _suppresses(self, source: Source, principal: Principal) -> bool:
        """Return True when the small-area rule applies (as in ``where_conditions``)."""
        return (source.area_code is not None and privacy.applies_to(principal)
                and self.catalog.small_area_k > 1)

    def _public_areas(self, conn: Connection) -> PublicAreas:
        cached = self._areas.get("subdistrict")
        if cached is None:
            cached = public_areas(conn, k=self.catalog.small_area_k)
            self._areas.put("subdistrict", cached)
        return cached  # type: ignore[no-any-return]
