"""Mapbox vector tiles of the collections (ST_AsMVT) and a TileJSON 3.0.0 document for each.

Tiles obey the same rules as the items: the caller's province restriction and the coarsening
of sensitive points happen in the SQL of :mod:`com.ogc` (the tile itself in :mod:`com.ogc.tiles`).
An unfiltered tile (a map view's requests) is one ``ST_AsMVT`` query whose statement was
built once for the collection and the kind of caller (:mod:`com.ogc.tile_cache`), run on an
autocommit connection in a handler without dependencies (one worker thread per tile); a
tile with filters is built per request. Issue 13 measured this against tipg
(``benchmarks/bench_api.py --tiles-only``).

The ETag is a hash of the tile's bytes (before gzip), so a client revalidating with
``If-None-Match`` gets 304 whenever the data it may see is unchanged; ``Cache-Control`` is
``private`` for any identified caller (tiles differ by key and role) and ``public`` only for
anonymous readers.

Issue 8: tile reads of a sensitive collection (risk points, CCTV sites) by any identified
caller are audit-logged as ``tiles.read``, summarised per caller and collection per minute
(:class:`com.security.audit.ReadSummaries`): a map view fetches dozens of tiles, so a row per
tile would bury the trail. Each row counts the tiles read since the caller's previous row and
lists them.
"""

import gzip
import hashlib
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from fastapi.routing import APIRoute
from sqlalchemy.engine import Connection, Engine

from api.deps import EngineDep
from api.routers.ogc import (
    CatalogDep,
    client_of,
    filter_params,
    get_catalog,
    only_params,
    with_signature,
)
from api.security import PrincipalDep, get_principal
from com.db.engine import transaction, translate_db_errors
from com.ogc.collections import Collection, builtin_collections, optional_collections
from com.ogc.tile_cache import TileCache
from com.ogc.tiles import CLUSTER_BELOW_ZOOM, MAX_ZOOM, tilejson_document
from com.security import audit
from com.security.access import Principal

router = APIRouter(tags=["vector tiles"])
log = logging.getLogger("api.tiles")

MVT = "application/vnd.mapbox-vector-tile"
TILE_MAX_AGE_S = 60
#: At most one tiles.read audit row per caller and collection in this many seconds.
TILE_AUDIT_WINDOW_S = 60.0
#: Tiles this large or larger are gzipped for clients that accept it (as GZipMiddleware does).
GZIP_MIN_BYTES = 1024
PROBLEM = "application/problem+json"
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid parameter", "content": {PROBLEM: {}}},
    401: {"description": "Missing, unknown or revoked API key", "content": {PROBLEM: {}}},
    404: {"description": "No such collection or tile", "content": {PROBLEM: {}}},
}


def etag_of(content: bytes) -> str:
    """Return a strong ETag for ``content`` (BLAKE2b, 128 bits)."""
    return '"' + hashlib.blake2b(content, digest_size=16).hexdigest() + '"'


def etag_matches(header: str | None, etag: str) -> bool:
    """Return True when an If-None-Match header names ``etag`` (weak or strong) or is ``*``."""
    if not header:
        return False
    candidates = [c.strip() for c in header.split(",")]
    return "*" in candidates or any(c.removeprefix("W/") == etag for c in candidates)


def _cache_headers(request: Request, etag: str) -> dict[str, str]:
    principal = request.state.principal
    scope = "public" if principal.kind == "anonymous" else "private"
    return {
        "ETag": etag,
        "Cache-Control": f"{scope}, max-age={TILE_MAX_AGE_S}",
        "Vary": "Authorization, X-API-Key, Cookie, Accept-Encoding",
    }


def tile_cache(request: Request) -> TileCache:
    """Return the app's compiled tile statements (one cache per app and catalog)."""
    catalog = get_catalog(request)
    cache = getattr(request.app.state, "tile_cache", None)
    if cache is None or cache.catalog is not catalog:
        # Two cold requests may both build one: the last stored wins, both are right.
        cache = request.app.state.tile_cache = TileCache(catalog)
    return cache  # type: ignore[no-any-return]


@contextmanager
def read_only(engine: Engine) -> Iterator[Connection]:
    """Yield an autocommit connection: a tile is one read, so no BEGIN/COMMIT round trips."""
    with translate_db_errors(), engine.connect() as conn:
        yield conn.execution_options(isolation_level="AUTOCOMMIT")


def tile_reads(app: Any) -> audit.ReadSummaries:
    """Return the app's tile-read counter (created on first use, one per app)."""
    reads = getattr(app.state, "tile_reads", None)
    if reads is None:
        reads = app.state.tile_reads = audit.ReadSummaries(window_s=TILE_AUDIT_WINDOW_S)
    return reads


def _record_tile_read(
    engine: Engine, request: Request, principal: Principal, collection: Collection, tile: str
) -> None:
    if not collection.sensitive or principal.kind == "anonymous":
        return
    target = f"collection:{collection.id}"
    # The tile address with its filters reproduces what was read ("which records").
    query = str(request.url.query)[:300]
    item = f"{tile}?{query}" if query else tile
    summary = tile_reads(request.app).note(principal, target, item)
    if summary is not None:
        with transaction(engine) as conn:
            audit.record(
                conn, principal=principal, action="tiles.read", target=target,
                details={**summary, "window_s": TILE_AUDIT_WINDOW_S,
                         "sensitive_exact": principal.sees_sensitive},
                client=client_of(request),
            )


def flush_tile_reads(app: Any) -> None:
    """Write the tile reads counted since each caller's last row (when the app stops)."""
    reads = getattr(app.state, "tile_reads", None)
    engine = getattr(app.state, "engine", None)
    if reads is None or engine is None:
        return
    pending = reads.drain()
    if not pending:
        return
    try:
        with transaction(engine) as conn:
            for principal, target, summary in pending:
                audit.record(
                    conn, principal=principal, action="tiles.read", target=target,
                    details={**summary, "window_s": TILE_AUDIT_WINDOW_S, "at_shutdown": True},
                )
    except Exception:  # the app is stopping: log what could not be written, do not hang
        log.exception("could not write %d tiles.read audit rows at shutdown: %s",
                      len(pending), [(p.name, t, s["reads"]) for p, t, s in pending])


def _filter_parameters_doc(collection: Collection) -> list[dict[str, Any]]:
    """Return the OpenAPI entries of the filters a tile request takes, as FastAPI writes them.

    The tile handler does not declare these query parameters: FastAPI would parse and
    validate some twenty of them on every tile (a sixth of a tile's CPU time), while
    :func:`com.ogc.query.parse_item_query` validates the query string of a filtered tile
    anyway. They are documented from the same declarations as the items' filters.
    """

    def endpoint(**_: Any) -> None:
        """Carry the declarations."""

    declared = [p for p in filter_params(collection, paging=False) if p.name != "bbox"]
    route = APIRoute("/tile", with_signature(endpoint, declared), methods=["GET"])
    document = get_openapi(title="tile filters", version="0", routes=[route])
    parameters: list[dict[str, Any]] = document["paths"]["/tile"]["get"]["parameters"]
    return parameters


def _register(collection: Collection) -> None:
    cid = collection.id

    def tile(
        request: Request,
        z: Annotated[int, Path(ge=0, le=MAX_ZOOM, description="Zoom level")],
        x: Annotated[int, Path(ge=0, le=2**MAX_ZOOM - 1, description="Column (0 .. 2^z - 1)")],
        y: Annotated[int, Path(ge=0, le=2**MAX_ZOOM - 1,
                               description="Row (0 .. 2^z - 1), XYZ scheme")],
    ) -> Response:
        # A plain sync handler without dependencies: FastAPI runs it in one worker thread,
        # where the principal, the query and the audit run (each Depends(...) of a sync
        # function was a thread hop of its own).
        principal = get_principal(request)
        engine = request.app.state.engine
        with read_only(engine) as conn:
            content = tile_cache(request).read(
                conn, cid, z, x, y, principal, request.query_params.multi_items())
        _record_tile_read(engine, request, principal, collection, f"{z}/{x}/{y}")
        etag = etag_of(content)
        headers = _cache_headers(request, etag)
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        if len(content) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
            # Compressed here, in the worker thread and at level 1 (zlib releases the GIL),
            # rather than by the app's GZipMiddleware at level 9 on the event loop: 0.2 ms
            # instead of 2.4 ms for a 27 KB tile, 3.6x smaller instead of 4.2x.
            content = gzip.compress(content, compresslevel=1, mtime=0)
            headers["Content-Encoding"] = "gzip"
        return Response(content, media_type=MVT, headers=headers)

    tile.__doc__ = (
        f"Vector tile of {collection.title} (Mapbox Vector Tile, layer '{cid}'). "
        + (f"Below zoom {CLUSTER_BELOW_ZOOM} points are aggregated on a grid (cluster=true, "
           "point_count, severity_max). " if collection.point_tiles else "")
        + "Property filters of the items request apply too. ETag / If-None-Match -> 304."
    )

    def tilejson(
        request: Request, principal: PrincipalDep, engine: EngineDep, catalog: CatalogDep,
    ) -> Response:
        only_params(request, set())
        base = str(request.base_url).rstrip("/")
        with transaction(engine) as conn:
            found = catalog.get(conn, cid)
            extent = catalog.extent(conn, found, principal)
        document = tilejson_document(found, extent, base_url=base)
        return Response(json.dumps(document, ensure_ascii=False), media_type="application/json")

    tilejson.__doc__ = f"TileJSON 3.0.0 document of the {collection.title} tiles."

    router.add_api_route(
        f"/tiles/{cid}/{{z}}/{{x}}/{{y}}.pbf", tile, methods=["GET"],
        summary=f"Vector tile of {cid}", operation_id=f"tile_{cid.replace('-', '_')}",
        openapi_extra={"parameters": _filter_parameters_doc(collection)},
        responses={200: {"description": "The tile", "content": {MVT: {}}},
                   304: {"description": "Not modified (If-None-Match)"}, **_RESPONSES},
    )
    router.add_api_route(
        f"/tiles/{cid}.json", tilejson, methods=["GET"], summary=f"TileJSON of {cid}",
        operation_id=f"tilejson_{cid.replace('-', '_')}", responses=_RESPONSES,
    )


for _collection in [*builtin_collections(), *optional_collections()]:
    _register(_collection)


@router.get("/tiles", summary="Tile sets", responses=_RESPONSES)
def tilesets(
    request: Request, principal: PrincipalDep, engine: EngineDep, catalog: CatalogDep,
) -> Response:
    """List the TileJSON documents of the available collections."""
    only_params(request, set())
    base = str(request.base_url).rstrip("/")
    with transaction(engine) as conn:
        available = catalog.available(conn)
    body = {
        "tilesets": [
            {"id": c.id, "title": c.title, "tilejson": f"{base}/tiles/{c.id}.json",
             "tiles": f"{base}/tiles/{c.id}/{{z}}/{{x}}/{{y}}.pbf"}
            for c in available
        ]
    }
    return Response(json.dumps(body, ensure_ascii=False), media_type="application/json")
