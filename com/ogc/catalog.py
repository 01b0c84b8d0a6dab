"""The collections of one running service: items, single features, exports, tiles, metadata.

Everything here is framework-free: ``api/routers/ogc.py`` and ``api/routers/tiles.py`` parse the
HTTP request into plain strings, call :class:`FeatureCatalog` and shape the response.

Safety rules (GeoServer's 2024 remote code execution came from property names reaching an
expression evaluator):

* property names used in filters come from the whitelist of each collection (``queryables``);
  a name that is not there is refused with :class:`com.errors.InvalidQuery` before any SQL is
  built;
* values are bound parameters, converted to the queryable's type first (:mod:`com.ogc.values`);
* CQL2 text is parsed by pygeofilter into an AST, and only the node types listed in
  :func:`com.ogc.cql2.cql2_condition` are translated, into SQLAlchemy Core expressions.

Sensitive categories (``sensitive = true`` in the severity config) are served with the
representative point of their subdistrict to principals without the ``sensitive`` permission:
the CASE expression lives in the collection's SQL (:mod:`com.ogc.sources`), so items, single
features, tiles and exports all read the same served geometry.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from com.config.severity import cached_severity_model, sensitive_categories
from com.errors import NotFoundError
from com.io.selection import ExportData
from com.ogc.cache import TTLCache
from com.ogc.collections import (
    Collection,
    builtin_collections,
    load_categories,
    optional_collections,
)
from com.ogc.filters import PublicAreas, public_areas, where_conditions
from com.ogc.items import (
    MAX_EXPORT_FEATURES,
    feature_key,
    read_export_rows,
    read_feature,
    read_page,
)
from com.ogc.query import ItemQuery, parse_item_query
from com.ogc.ranking import RankingCache, RankingProvider, default_ranking_provider
from com.ogc.results import Extent, FeaturePage
from com.ogc.sources import Source, SourceCache, SourceContext
from com.ogc.tiles import check_address, refuse_paging, render_tile
from com.security import privacy
from com.security.access import Principal

#: Counting an unfiltered table this large on every first page costs 5-70 ms (PERFORMANCE_NOTES:
#: count(*) over 1M rows ~70 ms), so such counts are computed once and cached for 30 s.
LARGE_TABLE_ROWS = 50_000
COUNT_CACHE_TTL_S = 30.0
EXTENT_CACHE_TTL_S = 60.0


#: JSON Schema of each property type (queryables and feature schemas).
_JSON_TYPES: dict[str, dict[str, str]] = {
    "string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": "number"},
    "boolean": {"type": "boolean"}, "date": {"type": "string", "format": "date"},
}


class FeatureCatalog:
    """The collections of one running service, with their small caches.

    Parameters
    ----------
    severity_config
        ``COM_SEVERITY_CONFIG`` (categories and which of them are sensitive).
    collections
        Collections to serve (default: :func:`builtin_collections` plus those whose source
        tables exist, see :func:`optional_collections`).
    ranking_provider
        Function (conn, province) -> :class:`com.ogc.ranking.RankingTable` for the
        subdistricts' rank, score and hotspot class; computed on request and cached for
        ``ranking_ttl_s``.
    small_area_k
        Public outputs hide subdistricts with 1 to k - 1 points (issue 8).
    """

    def __init__(
        self,
        *,
        severity_config: str | Path | None = None,
        collections: Sequence[Collection] | None = None,
        ranking_provider: RankingProvider | None = default_ranking_provider,
        ranking_ttl_s: float = 120.0,
        small_area_k: int = 5,
    ) -> None:
        self.small_area_k = small_area_k  # issue 8: public outputs hide areas under k points
        self.categories = load_categories(severity_config)
        self.sensitive = tuple(sorted(sensitive_categories(cached_severity_model(severity_config))))
        base = list(collections) if collections is not None else [
            *builtin_collections(), *optional_collections()
        ]
        self._collections = {c.id: c for c in base}
        self.rankings = RankingCache(ranking_provider, ranking_ttl_s)
        self._sources = SourceCache()
        self._counts = TTLCache(COUNT_CACHE_TTL_S)
        self._extents = TTLCache(EXTENT_CACHE_TTL_S)
        self._available = TTLCache(30.0)
        self._small = TTLCache(30.0)

    # -- catalogue

    def all_collections(self) -> list[Collection]:
        """Return every registered collection, available or not."""
        return list(self._collections.values())

    def available(self, conn: Connection) -> list[Collection]:
        """Return the collections whose source tables exist in this database."""
        return [c for c in self._collections.values() if self._is_available(conn, c)]

    def _is_available(self, conn: Connection, collection: Collection) -> bool:
        if not collection.requires:
            return True
        cached = self._available.get(collection.id)
        if cached is None:
            cached = all(
                conn.execute(sa.select(sa.func.to_regclass(t))).scalar() is not None
                for t in collection.requires
            )
            self._available.put(collection.id, cached)
        return bool(cached)

    def get(self, conn: Connection, collection_id: str) -> Collection:
        """Return an available collection or raise NotFoundError."""
        collection = self._collections.get(collection_id)
        if collection is None:
            raise NotFoundError(f"no collection {collection_id!r}")
        if not self._is_available(conn, collection):
            raise NotFoundError(
                f"collection {collection_id!r} is not available yet: its source "
                f"({', '.join(collection.requires)}) is not in this database"
            )
        return collection

    # -- sources and conditions

    def context(
        self, conn: Connection, collection: Collection, principal: Principal
    ) -> SourceContext:
        """Return what the collection's SQL needs for ``principal``."""
        ranking = None
        if collection.ranked:
            key = principal.extent_key
            ranking = self.rankings.get(conn, key)
            if ranking is not None and privacy.applies_to(principal):
                ranking = self.rankings.public(ranking, key, lambda: self.hidden_areas(conn))
        return SourceContext(
            coarsen=not principal.sees_sensitive,
            sensitive=self.sensitive,
            categories=self.categories,
            ranking=ranking,
        )

    def source(self, conn: Connection, collection: Collection, principal: Principal) -> Source:
        """Return the collection's SQL for ``principal`` (built once per kind of principal)."""
        return self._sources.get(collection, self.context(conn, collection, principal))

    def conditions(
        self, conn: Connection, collection: Collection, source: Source, principal: Principal,
        query: ItemQuery,
    ) -> list[ColumnElement[Any]]:
        """Return the WHERE conditions for a principal and a query.

        See :func:`com.ogc.filters.where_conditions`.
        """
        return where_conditions(
            collection, source, principal, query, categories=self.categories,
            small_area_k=self.small_area_k, shown_areas=lambda: self._public_areas(conn),
        )

    def hidden_areas(self, conn: Connection) -> frozenset[str]:
        """Return the subdistricts public outputs hide (``privacy.hidden_areas``)."""
        return self._public_areas(conn).hidden

    def _public_areas(self, conn: Connection) -> PublicAreas:
        """Return :func:`com.ogc.filters.public_areas`, cached for 30 s."""
        cached = self._small.get("subdistrict")
        if cached is None:
            cached = public_areas(conn, k=self.small_area_k)
            self._small.put("subdistrict", cached)
        return cached  # type: ignore[no-any-return]

    def _selection(
        self, conn: Connection, collection_id: str, principal: Principal, query: ItemQuery,
    ) -> tuple[Collection, Source, list[ColumnElement[Any]]]:
        """Return the collection, its source for ``principal`` and the query's conditions."""
        collection = self.get(conn, collection_id)
        source = self.source(conn, collection, principal)
        return collection, source, self.conditions(conn, collection, source, principal, query)

    # -- reads

    def count(
        self, conn: Connection, collection: Collection, source: Source,
        conditions: list[ColumnElement[Any]], principal: Principal, query: ItemQuery,
    ) -> int:
        """Count the selection; unfiltered counts of large tables are cached for 30 s."""
        statement = sa.select(sa.func.count()).select_from(source.from_).where(*conditions)
        if query.filtered:
            return int(conn.execute(statement).scalar_one())
        estimate = conn.execute(
            sa.text("SELECT reltuples FROM pg_class WHERE oid = to_regclass(:t)"),
            {"t": collection.table},
        ).scalar()
        if estimate is None or estimate < LARGE_TABLE_ROWS:
            return int(conn.execute(statement).scalar_one())
        key = (collection.id, principal.extent_key)
        cached = self._counts.get(key)
        if cached is None:
            cached = int(conn.execute(statement).scalar_one())
            self._counts.put(key, cached)
        return cached  # type: ignore[no-any-return]

    def items(
        self, conn: Connection, collection_id: str, principal: Principal, query: ItemQuery
    ) -> FeaturePage:
        """Return one page of features as GeoJSON texts built by PostGIS.

        Paging is keyset on the collection's key (:func:`com.ogc.items.read_page`);
        ``offset`` is accepted for clients that page by position.

        Raises
        ------
        com.errors.NotFoundError
            Unknown or unavailable collection.
        com.errors.InvalidQuery
            A filter that does not fit the collection.
        """
        collection, source, conditions = self._selection(conn, collection_id, principal, query)
        matched = query.matched
        if matched is None:
            matched = self.count(conn, collection, source, conditions, principal, query)
        return read_page(conn, collection, source, conditions, query, matched=matched)

    def item(
        self, conn: Connection, collection_id: str, feature_id: str, principal: Principal
    ) -> tuple[str, bool]:
        """Return one feature's GeoJSON text and whether it is of a sensitive category.

        Raises
        ------
        com.errors.NotFoundError
            Unknown collection, or no such feature visible to ``principal``.
        """
        collection = self.get(conn, collection_id)
        key = feature_key(collection, feature_id)
        source = self.source(conn, collection, principal)
        conditions = self.conditions(conn, collection, source, principal, ItemQuery())
        found = read_feature(conn, collection, source, conditions, key)
        if found is None:
            raise NotFoundError(f"no feature {feature_id!r} in {collection_id}")
        return found

    def export_rows(
        self, conn: Connection, collection_id: str, principal: Principal, query: ItemQuery,
        *, max_features: int = MAX_EXPORT_FEATURES,
    ) -> ExportData:
        """Return the whole selection (no paging) as rows with WKB geometries, for exports.

        Raises
        ------
        com.errors.InvalidQuery
            When the selection is larger than ``max_features``.
        """
        collection, source, conditions = self._selection(conn, collection_id, principal, query)
        return read_export_rows(conn, collection, source, conditions,
                                      max_features=max_features)

    def tile(
        self, conn: Connection, collection_id: str, z: int, x: int, y: int,
        principal: Principal, query: ItemQuery | None = None,
    ) -> bytes:
        """Return a Mapbox Vector Tile of the collection (:func:`com.ogc.tiles.render_tile`).

        Raises
        ------
        com.errors.NotFoundError
            Unknown collection or a tile outside the tile matrix.
        """
        check_address(z, x, y)
        query = replace(query or ItemQuery(), bbox=None)
        collection, source, conditions = self._selection(conn, collection_id, principal, query)
        return render_tile(conn, collection, source, conditions, z, x, y)

    def read_tile(
        self, conn: Connection, collection_id: str, z: int, x: int, y: int,
        principal: Principal, params: Sequence[tuple[str, str]],
    ) -> bytes:
        """Return the tile a request asks for, its query string filtering the points.

        Raises
        ------
        com.errors.InvalidQuery
            A paging or bbox parameter (they do not apply to tiles), or a bad filter.
        com.errors.NotFoundError
            Unknown collection or a tile outside the tile matrix.
        """
        refuse_paging(params)
        collection = self.get(conn, collection_id)
        query = parse_item_query(collection, params, allowed_extra=(), categories=self.categories)
        return self.tile(conn, collection_id, z, x, y, principal, query)

    # -- metadata

    def extent(self, conn: Connection, collection: Collection, principal: Principal) -> Extent:
        """Return the bbox (and date range) of what ``principal`` may see; cached a minute."""
        cache_key = (collection.id, principal.extent_key, principal.sees_sensitive,
                     privacy.applies_to(principal))
        cached = self._extents.get(cache_key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        source = self.source(conn, collection, principal)
        conditions = self.conditions(conn, collection, source, principal, ItemQuery())
        box = sa.func.ST_Extent(source.geom)
        columns = [
            sa.func.ST_XMin(box), sa.func.ST_YMin(box), sa.func.ST_XMax(box),
            sa.func.ST_YMax(box),
        ]
        if source.temporal is not None:
            columns += [sa.func.min(source.temporal), sa.func.max(source.temporal)]
        row = conn.execute(sa.select(*columns).select_from(source.from_).where(*conditions)).one()
        # Rounded outwards to 6 decimals (~0.1 m), so the box still holds every feature.
        bbox = None if row[0] is None else (
            math.floor(row[0] * 1e6) / 1e6, math.floor(row[1] * 1e6) / 1e6,
            math.ceil(row[2] * 1e6) / 1e6, math.ceil(row[3] * 1e6) / 1e6,
        )
        interval = (row[4], row[5]) if source.temporal is not None else None
        extent = Extent(bbox=bbox, interval=interval)
        self._extents.put(cache_key, extent)
        return extent

    def queryables_schema(self, collection: Collection) -> dict[str, Any]:
        """Return the JSON Schema of the collection's queryables (OGC API Part 3)."""
        properties: dict[str, Any] = {}
        for name, q in collection.queryables.items():
            schema: dict[str, Any] = {"title": f"{q.title_th} ({q.title_en})",
                                      **_JSON_TYPES[q.type]}
            if q.property == "category":
                schema["enum"] = sorted(self.categories)
            elif q.enum:
                schema["enum"] = list(q.enum)
            if name != q.property:
                schema["description"] = f"Same as {q.property}"
            properties[name] = schema
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "title": collection.title,
            "properties": properties,
            "additionalProperties": False,
        }

    @staticmethod
    def feature_schema(collection: Collection) -> dict[str, Any]:
        """Return the JSON Schema of the collection's GeoJSON features (link ``describedby``).

        GDAL's OAPIF driver (so QGIS) types its fields from this schema when the collection
        links one; without it, from the first page alone, where a number that happens to be
        whole there (a risk score of 0) made an integer field, and every later 9.34 was cut
        to 9. One type per property, as GDAL reads it: a missing value is ``null``.
        """
        properties = {name: dict(_JSON_TYPES[kind])
                      for name, kind in collection.property_types.items()}
        return {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "title": collection.title,
            "description": "A GeoJSON feature; a property without a value is null.",
            "required": ["type", "geometry", "properties"],
            "properties": {
                "type": {"type": "string", "enum": ["Feature"]},
                "id": {"type": collection.key_type},
                "geometry": {"type": "object", "description": collection.geometry_type},
                "properties": {"type": "object", "properties": properties},
            },
        }
