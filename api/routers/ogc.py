"""OGC API - Features under ``/ogc`` and whole-selection exports under ``/api/exports``.

Part 1 (Core, GeoJSON, OpenAPI) and Part 3 (queryables, CQL2 text filters). Handlers only
parse the request and shape the response; :mod:`com.ogc` builds the SQL and
:mod:`com.io.exports` the files. Every collection gets its own paths (as pygeoapi does), so the
OpenAPI document lists each one's queryables and an unknown collection is a plain 404.
"""

import inspect
import json
import threading
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from api.deps import EngineDep, SettingsDep
from api.openapi import OAS30_MEDIA_TYPE, sub_document
from api.routers.analysis import AreaQueryDep, public_ranking
from api.security import PrincipalDep
from com.analysis import risk
from com.config.severity import load_severity_model
from com.db.engine import transaction
from com.errors import InvalidQuery
from com.io.exports import FORMATS, ExportResult, export_frame
from com.ogc.catalog import FeatureCatalog
from com.ogc.collections import Collection, builtin_collections, optional_collections
from com.ogc.downloads import export_collection
from com.ogc.items import MAX_EXPORT_FEATURES
from com.ogc.query import CRS84, DEFAULT_LIMIT, MAX_LIMIT, REGION_QUERYABLE, parse_item_query
from com.ogc.results import interval_text, timestamp
from com.security import audit
from com.security.access import Principal

router = APIRouter()

GEOJSON = "application/geo+json"
JSON_TYPE = "application/json"
PROBLEM = "application/problem+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
]
EXPORT_FORMATS = ("csv", "xlsx", "gpkg")
#: Example feature ids for the OpenAPI document (Surin's first district and subdistrict).
EXAMPLE_IDS = {"subdistricts": "320101", "districts": "3201", "target-areas": "10320101"}
_PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "Invalid query parameter", "content": {PROBLEM: {}}},
    401: {"description": "Missing, unknown or revoked API key", "content": {PROBLEM: {}}},
    404: {"description": "Not found", "content": {PROBLEM: {}}},
}


_CATALOG_LOCK = threading.Lock()


def get_catalog(request: Request) -> FeatureCatalog:
    """Return the app's feature catalog (created on first use, one per app)."""
    catalog = getattr(request.app.state, "feature_catalog", None)
    if catalog is None:
        with _CATALOG_LOCK:  # issue 11: cold concurrent requests must share one catalog
            catalog = getattr(request.app.state, "feature_catalog", None)
            if catalog is None:
                catalog = FeatureCatalog(
                    severity_config=request.app.state.settings.severity_config,
                    small_area_k=request.app.state.settings.small_area_k,  # issue 8
                )
                request.app.state.feature_catalog = catalog
    return catalog


CatalogDep = Annotated[FeatureCatalog, Depends(get_catalog)]


def client_of(request: Request) -> str | None:
    """Return the client address for the audit trail."""
    return request.client.host if request.client else None


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def only_params(request: Request, allowed: set[str]) -> None:
    """OGC API - Features: an unknown query parameter is a 400, not silently ignored."""
    for name in request.query_params:
        if name not in allowed:
            raise InvalidQuery(
                f"unknown query parameter {name!r}; allowed: {', '.join(sorted(allowed)) or 'none'}"
            )
    f = request.query_params.get("f")
    if f is not None and f not in ("json", "geojson"):
        raise InvalidQuery(f"f={f!r} is not offered here; use f=json")


def _json(body: Any, media_type: str = JSON_TYPE) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), media_type=media_type)


def _link(href: str, rel: str, type_: str, title: str | None = None) -> dict[str, str]:
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


FormatParam = Annotated[
    Literal["json"] | None, Query(description="Output format; only JSON is offered.")
]


@router.get(
    "/ogc",
    tags=["OGC API - Features"],
    summary="Landing page",
    responses=_PROBLEM_RESPONSES,
)
def landing(request: Request, principal: PrincipalDep, f: FormatParam = None) -> Response:
    """Return the landing page with links to the API definition, conformance and data."""
    only_params(request, {"f"})
    base = _base(request)
    return _json(
        {
            "title": "COM - แผนที่ปฏิบัติการร่วม (Common Operation Map)",
            "description": "จุดเสี่ยง พื้นที่เป้าหมาย และแผนกล้องวงจรปิด สำหรับงานความมั่นคงระดับจังหวัด "
            "/ Risk points, target areas and CCTV plans for Thai provincial security work, as "
            "OGC API - Features.",
            "links": [
                _link(f"{base}/ogc", "self", JSON_TYPE, "This document"),
                _link(f"{base}/ogc/openapi.json", "service-desc", OAS30_MEDIA_TYPE,
                      "The API definition (OpenAPI 3.0, this service only)"),
                _link(f"{base}/docs", "service-doc", "text/html", "API documentation"),
                _link(f"{base}/ogc/conformance", "conformance", JSON_TYPE,
                      "Conformance classes"),
                _link(f"{base}/ogc/conformance",
                      "http://www.opengis.net/def/rel/ogc/1.0/conformance", JSON_TYPE),
                _link(f"{base}/ogc/collections", "data", JSON_TYPE, "Collections"),
                _link(f"{base}/ogc/collections", "http://www.opengis.net/def/rel/ogc/1.0/data",
                      JSON_TYPE),
                _link(f"{base}/tiles", "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector",
                      JSON_TYPE, "Vector tiles (TileJSON)"),
            ],
        }
    )


@router.get(
    "/ogc/conformance",
    tags=["OGC API - Features"],
    summary="Conformance classes",
    responses=_PROBLEM_RESPONSES,
)
def conformance(request: Request, principal: PrincipalDep, f: FormatParam = None) -> Response:
    """Return the conformance classes this server implements."""
    only_params(request, {"f"})
    return _json({"conformsTo": CONFORMANCE})


#: What the server applies to ``limit`` (com.ogc.query), declared as OGC API - Features'
#: Requirement 13 (/req/core/fc-limit-definition) asks: larger values are capped, not refused.
LIMIT_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}


def ogc_openapi(request: Request) -> dict[str, Any]:
    """Return the OpenAPI 3.0 document of the ``/ogc`` service alone (cached per root URL)."""
    server_url = f"{_base(request)}/ogc"
    cache: dict[str, dict[str, Any]] | None = getattr(request.app.state, "ogc_openapi", None)
    if cache is None:
        cache = request.app.state.ogc_openapi = {}
    document = cache.get(server_url)
    if document is None:
        document = sub_document(
            request.app.openapi(), prefix="/ogc", server_url=server_url,
            title="COM - OGC API - Features", parameter_schemas={"limit": LIMIT_SCHEMA},
        )
        if len(cache) < 16:  # one entry per Host the server is reached by; keep it bounded
            cache[server_url] = document
    return document


@router.get(
    "/ogc/api",
    tags=["OGC API - Features"],
    summary="API definition (OpenAPI 3.0)",
    responses={200: {"description": "The OpenAPI 3.0 document of this OGC API service",
                     "content": {OAS30_MEDIA_TYPE: {}}}, **_PROBLEM_RESPONSES},
)
def api_definition(request: Request, principal: PrincipalDep, f: FormatParam = None) -> Response:
    """Return the OpenAPI 3.0 definition of the OGC API only, paths relative to ``/ogc``."""
    only_params(request, {"f"})
    return _json(ogc_openapi(request), media_type=OAS30_MEDIA_TYPE)


@router.get("/ogc/openapi.json", include_in_schema=False)
def api_definition_json(request: Request, principal: PrincipalDep) -> Response:
    """Serve the definition at ``/ogc/openapi.json`` too (the service-desc link)."""
    return api_definition(request, principal)


def _collection_doc(
    request: Request, conn: Any, catalog: FeatureCatalog, collection: Collection,
    principal: Principal,
) -> dict[str, Any]:
    base = _base(request)
    here = f"{base}/ogc/collections/{collection.id}"
    links = [
        _link(here, "self", JSON_TYPE, collection.title),
        _link(f"{here}/items", "items", GEOJSON, "Features (GeoJSON)"),
        _link(f"{here}/queryables", "http://www.opengis.net/def/rel/ogc/1.0/queryables",
              "application/schema+json", "Queryable properties"),
        _link(f"{here}/schema", "describedby", "application/schema+json",
              "Feature schema (JSON Schema)"),
        _link(f"{base}/tiles/{collection.id}.json", "describedby", JSON_TYPE,
              "Vector tiles (TileJSON)"),
    ]
    for fmt in ("csv", "xlsx", "geojson", "gpkg"):
        links.append(_link(f"{base}/api/exports/{collection.id}.{fmt}", "enclosure",
                           FORMATS[fmt].split(";")[0], f"Export ({fmt})"))
    extent = catalog.extent(conn, collection, principal)
    doc: dict[str, Any] = {
        "id": collection.id,
        "title": collection.title,
        "description": collection.description + (f" {collection.note}" if collection.note else ""),
        "itemType": "feature",
        "crs": [CRS84],
        "storageCrs": CRS84,
        "links": links,
    }
    extent_doc: dict[str, Any] = {}
    if extent.bbox is not None:
        extent_doc["spatial"] = {"bbox": [list(extent.bbox)], "crs": CRS84}
    if extent.interval is not None:
        extent_doc["temporal"] = {
            "interval": [interval_text(extent.interval)],
            "trs": "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian",
        }
    if extent_doc:
        doc["extent"] = extent_doc
    return doc


@router.get(
    "/ogc/collections",
    tags=["OGC API - Features"],
    summary="Feature collections",
    responses=_PROBLEM_RESPONSES,
)
def collections(
    request: Request, principal: PrincipalDep, engine: EngineDep, catalog: CatalogDep,
    f: FormatParam = None,
) -> Response:
    """List the collections available in this database, with their extents."""
    only_params(request, {"f"})
    base = _base(request)
    with transaction(engine) as conn:
        docs = [
            _collection_doc(request, conn, catalog, c, principal) for c in catalog.available(conn)
        ]
    return _json(
        {
            "links": [_link(f"{base}/ogc/collections", "self", JSON_TYPE)],
            "collections": docs,
        }
    )


# --- per-collection endpoints ----------------------------------------------------------------


def _param(name: str, annotation: Any, default: Any = None) -> inspect.Parameter:
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def filter_params(collection: Collection, *, paging: bool) -> list[inspect.Parameter]:
    """Query parameters of items and exports, for the OpenAPI document.

    The handler validates the raw query string with :func:`com.ogc.query.parse_item_query`;
    these declarations document the parameters (and let FastAPI refuse wrong types early).
    """
    params = [
        _param("bbox", Annotated[str | None, Query(
            description="minLon,minLat,maxLon,maxLat in WGS84 (CRS84), e.g. "
            "103.2,14.4,103.9,15.2",
        )]),
    ]
    if collection.temporal:
        params.append(_param("datetime", Annotated[str | None, Query(
            description="Report date: an instant (2024-05-01 or 2024-05-01T10:00:00Z), an "
            "interval 2024-01-01/2024-06-30, or open ../2024-06-30, 2024-01-01/.. "
            "(dates in Thai time, ends inclusive).",
        )]))
    if paging:
        params += [
            # The schema declares the default and the maximum page size (GDAL's OAPIF driver
            # reads them to choose its page size); larger values are capped, not refused, so
            # the maximum is documented but not validated.
            _param("limit", Annotated[int, Query(
                ge=1, json_schema_extra={"maximum": MAX_LIMIT},
                description=f"Features per page, default {DEFAULT_LIMIT}; values above "
                f"{MAX_LIMIT} are capped at {MAX_LIMIT} (not refused).",
            )], DEFAULT_LIMIT),
            _param("offset", Annotated[int | None, Query(
                ge=0, le=10_000_000, description="Features to skip. Prefer the 'next' links "
                "(keyset cursor), which never repeat or skip a feature.",
            )]),
            _param("cursor", Annotated[str | None, Query(
                description="Opaque paging token from a 'next' or 'prev' link.",
            )]),
        ]
    params += [
        _param("crs", Annotated[Literal[CRS84] | None, Query(
            description="Output CRS; only CRS84 (WGS84 longitude, latitude) is served.",
        )]),
        _param("bbox_crs", Annotated[Literal[CRS84] | None, Query(
            alias="bbox-crs", description="CRS of bbox; only CRS84.",
        )]),
        _param("filter", Annotated[str | None, Query(
            description="CQL2 text on the queryables: =, <>, <, <=, >, >=, BETWEEN, IN, IS "
            "NULL, AND, OR, NOT. Example: severity >= 4 AND category = 'drugs'",
        )]),
        _param("filter_lang", Annotated[Literal["cql2-text"] | None, Query(
            alias="filter-lang", description="Only cql2-text.",
        )]),
    ]
    if REGION_QUERYABLE in collection.queryables:
        params.append(_param("region", Annotated[str | None, Query(
            max_length=100,
            description="ภาค / region (com/config/regions.toml, e.g. isoc-2, oncb-3): the "
            "features of its provinces; with province= the province must be one of them",
        )]))
    for name, q in collection.queryables.items():
        params.append(_param(name, Annotated[str | None, Query(
            description=f"{q.title_th} / {q.title_en} ({q.type}); equality, or any of a "
            "comma-separated list" + (f"; one of {', '.join(map(str, q.enum))}" if q.enum
                                      else ""),
        )]))
    return params


def with_signature(func: Callable[..., Any], extra: list[inspect.Parameter]) -> Callable[..., Any]:
    """Give an endpoint that takes ``**kwargs`` explicit query parameters for FastAPI."""
    signature = inspect.signature(func)
    base = [p for p in signature.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
    func.__signature__ = signature.replace(parameters=[*base, *extra])  # type: ignore[attr-defined]
    return func


def _file_response(result: ExportResult) -> Response:
    return Response(
        result.content,
        media_type=result.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{result.filename}"',
            "X-Feature-Count": str(result.count),
        },
    )


def _record_user_read(
    conn: Any, request: Request, principal: Principal, collection: Collection, keys: list[Any],
    *, already: bool = False,
) -> None:
    """Issue 8: audit which risk points a signed-in user saw (API keys have apikey.use rows)."""
    if keys and not already and principal.kind == "user" and collection.id == "risk-points":
        audit.record(
            conn,
            principal=principal,
            action="features.read",
            target=f"collection:{collection.id}",
            record_ids=keys,
            details={"path": request.url.path, "query": str(request.url.query)[:500]},
            client=client_of(request),
        )


def _record_sensitive_read(
    conn: Any, request: Request, principal: Principal, collection: Collection, keys: list[Any]
) -> None:
    """Audit exact coordinates of sensitive points served to a privileged principal."""
    if keys and principal.sees_sensitive:
        audit.record(
            conn,
            principal=principal,
            action="features.read_sensitive",
            target=f"collection:{collection.id}",
            record_ids=keys,
            details={"path": request.url.path, "query": str(request.url.query)[:500]},
            client=client_of(request),
        )


def _items_handler(collection: Collection) -> Callable[..., Response]:
    def items(
        request: Request,
        principal: PrincipalDep,
        engine: EngineDep,
        catalog: CatalogDep,
        f: Annotated[Literal["json", "geojson", "csv", "xlsx", "gpkg"] | None, Query(
            description="json/geojson (default): a page of GeoJSON. csv, xlsx, gpkg: the "
            "whole selection as a file (filters apply, paging does not; at most "
            f"{MAX_EXPORT_FEATURES:,} features).",
        )] = None,
        **_: Any,
    ) -> Response:
        params = request.query_params.multi_items()
        fmt = f or "json"
        with transaction(engine) as conn:
            catalog.get(conn, collection.id)
            query = parse_item_query(collection, params, categories=catalog.categories)
            if fmt in EXPORT_FORMATS:
                result = export_collection(
                    conn, catalog, collection.id, fmt, principal=principal, query=query,
                    client=client_of(request),
                )
                return _file_response(result)
            page = catalog.items(conn, collection.id, principal, query)
            _record_sensitive_read(conn, request, principal, collection, page.sensitive_keys)
            _record_user_read(conn, request, principal, collection, page.keys,
                              already=bool(page.sensitive_keys and principal.sees_sensitive))
        base_url = request.url.remove_query_params(["cursor", "offset"])
        links = [
            _link(str(request.url), "self", GEOJSON, "This page"),
            _link(f"{_base(request)}/ogc/collections/{collection.id}", "collection", JSON_TYPE,
                  collection.title),
        ]
        for fmt_name in EXPORT_FORMATS:
            links.append(_link(
                str(base_url.remove_query_params(["limit", "f"]).include_query_params(
                    f=fmt_name)),
                "alternate", FORMATS[fmt_name].split(";")[0],
                f"Whole selection as {fmt_name}",
            ))
        if page.next_cursor:
            links.append(_link(str(base_url.include_query_params(cursor=page.next_cursor)),
                               "next", GEOJSON, "Next page"))
        if page.prev_cursor:
            links.append(_link(str(base_url.include_query_params(cursor=page.prev_cursor)),
                               "prev", GEOJSON, "Previous page"))
        elif page.prev_offset is not None:
            links.append(_link(str(base_url.include_query_params(offset=page.prev_offset)),
                               "prev", GEOJSON, "Previous page"))
        head: dict[str, Any] = {"type": "FeatureCollection", "timeStamp": timestamp()}
        if page.number_matched is not None:
            head["numberMatched"] = page.number_matched
        head["numberReturned"] = page.number_returned
        head["links"] = links
        text = json.dumps(head, ensure_ascii=False)[:-1]
        body = text + ',"features":[' + ",".join(page.features) + "]}"
        return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{CRS84}>"})

    items.__doc__ = (
        f"Features of {collection.title} (GeoJSON), with bbox, datetime, property and CQL2 "
        "filters, limit/offset and keyset 'next' links."
    )
    return with_signature(items, filter_params(collection, paging=True))


def _meta_handler(collection: Collection) -> Callable[..., Response]:
    """Return the handler describing one collection."""
    cid = collection.id

    def collection_meta(
        request: Request, principal: PrincipalDep, engine: EngineDep, catalog: CatalogDep,
        f: FormatParam = None,
    ) -> Response:
        only_params(request, {"f"})
        with transaction(engine) as conn:
            found = catalog.get(conn, cid)
            return _json(_collection_doc(request, conn, catalog, found, principal))

    collection_meta.__doc__ = f"Describe {collection.title}: links and extent."
    return collection_meta


def _schema_handler(collection: Collection, kind: Literal["queryables", "schema"]
                    ) -> Callable[..., Response]:
    """Return the handler of a collection's queryables or feature schema (JSON Schema)."""
    cid = collection.id

    def schema_of(
        request: Request, principal: PrincipalDep, engine: EngineDep, catalog: CatalogDep,
        f: FormatParam = None,
    ) -> Response:
        only_params(request, {"f"})
        with transaction(engine) as conn:
            found = catalog.get(conn, cid)
        schema = (catalog.queryables_schema(found) if kind == "queryables"
                  else catalog.feature_schema(found))
        schema["$id"] = f"{_base(request)}/ogc/collections/{cid}/{kind}"
        return _json(schema, "application/schema+json")

    schema_of.__doc__ = (f"JSON Schema of the properties of {collection.title} that can be "
                         "queried." if kind == "queryables" else
                         f"JSON Schema of the features of {collection.title}.")
    return schema_of


def _item_handler(collection: Collection) -> Callable[..., Response]:
    """Return the handler of one feature of a collection."""
    cid = collection.id

    def item(
        request: Request, principal: PrincipalDep, engine: EngineDep, catalog: CatalogDep,
        featureId: Annotated[str, Path(  # noqa: N803 - the OGC parameter name
            description="The feature's id", examples=[EXAMPLE_IDS.get(cid, "1")],
        )],
        f: FormatParam = None,
    ) -> Response:
        only_params(request, {"f"})
        with transaction(engine) as conn:
            text, sensitive = catalog.item(conn, cid, featureId, principal)
            if sensitive:
                _record_sensitive_read(conn, request, principal, collection, [featureId])
            _record_user_read(conn, request, principal, collection, [featureId],
                              already=bool(sensitive and principal.sees_sensitive))
        here = f"{_base(request)}/ogc/collections/{cid}"
        links = [
            _link(f"{here}/items/{featureId}", "self", GEOJSON),
            _link(here, "collection", JSON_TYPE, collection.title),
        ]
        body = text[:-1] + ',"links":' + json.dumps(links, ensure_ascii=False) + "}"
        return Response(body, media_type=GEOJSON, headers={"Content-Crs": f"<{CRS84}>"})

    item.__doc__ = f"One feature of {collection.title}."
    return item


def _export_handler(collection: Collection) -> Callable[..., Response]:
    """Return the handler exporting a collection as a file."""
    cid = collection.id

    def export(
        request: Request, principal: PrincipalDep, engine: EngineDep, catalog: CatalogDep,
        fmt: Literal["csv", "xlsx", "geojson", "gpkg"], **_: Any,
    ) -> Response:
        params = request.query_params.multi_items()
        for name in ("limit", "offset", "cursor"):
            if name in request.query_params:
                raise InvalidQuery(f"exports are not paged: remove {name}")
        with transaction(engine) as conn:
            catalog.get(conn, cid)
            query = parse_item_query(collection, params, allowed_extra=(),
                                     categories=catalog.categories)
            result = export_collection(
                conn, catalog, cid, fmt, principal=principal, query=query,
                client=client_of(request),
            )
        return _file_response(result)

    export.__doc__ = (
        f"Export {collection.title} as CSV (formula-safe, UTF-8 with BOM), XLSX, GeoJSON or "
        f"GeoPackage: the whole selection (at most {MAX_EXPORT_FEATURES:,} features). "
        "Writes an export.<fmt> audit row."
    )
    with_signature(export, filter_params(collection, paging=False))
    return export


def _register(collection: Collection) -> None:
    cid = collection.id
    tags: list[Any] = ["OGC API - Features"]
    collection_meta = _meta_handler(collection)
    queryables = _schema_handler(collection, "queryables")
    item = _item_handler(collection)
    export = _export_handler(collection)

    router.add_api_route(f"/ogc/collections/{cid}", collection_meta, methods=["GET"],
                         tags=tags, summary=f"Collection {cid}", responses=_PROBLEM_RESPONSES,
                         operation_id=f"describe_{cid.replace('-', '_')}")
    router.add_api_route(f"/ogc/collections/{cid}/queryables", queryables, methods=["GET"],
                         tags=tags, summary=f"Queryables of {cid}",
                         responses={200: {"description": "JSON Schema of the queryables",
                                          "content": {"application/schema+json": {}}},
                                    **_PROBLEM_RESPONSES},
                         operation_id=f"queryables_{cid.replace('-', '_')}")
    router.add_api_route(f"/ogc/collections/{cid}/schema", _schema_handler(collection, "schema"),
                         methods=["GET"], tags=tags, summary=f"Feature schema of {cid}",
                         responses={200: {"description": "JSON Schema of the features",
                                          "content": {"application/schema+json": {}}},
                                    **_PROBLEM_RESPONSES},
                         operation_id=f"schema_{cid.replace('-', '_')}")
    router.add_api_route(
        f"/ogc/collections/{cid}/items", _items_handler(collection), methods=["GET"], tags=tags,
        summary=f"Features of {cid}", operation_id=f"items_{cid.replace('-', '_')}",
        responses={200: {"description": "A page of features, or the whole selection as a "
                         "file with f=csv, xlsx or gpkg", "content": {GEOJSON: {}, **{
                             FORMATS[k].split(";")[0]: {} for k in EXPORT_FORMATS}}},
                   **_PROBLEM_RESPONSES},
    )
    router.add_api_route(
        f"/ogc/collections/{cid}/items/{{featureId}}", item, methods=["GET"], tags=tags,
        summary=f"One feature of {cid}", operation_id=f"item_{cid.replace('-', '_')}",
        responses={200: {"description": "A feature", "content": {GEOJSON: {}}},
                   **_PROBLEM_RESPONSES},
    )
    router.add_api_route(
        f"/api/exports/{cid}.{{fmt}}", export, methods=["GET"], tags=["exports"],
        summary=f"Export {cid}", operation_id=f"export_{cid.replace('-', '_')}",
        responses={200: {"description": "The file", "content": {
            FORMATS[k].split(";")[0]: {} for k in FORMATS}}, **_PROBLEM_RESPONSES},
    )


for _collection in [*builtin_collections(), *optional_collections()]:
    _register(_collection)


@router.get(
    "/api/exports/rankings.{fmt}",
    tags=["exports"],
    summary="Export a ranking",
    responses={200: {"description": "The file", "content": {
        FORMATS[k].split(";")[0]: {} for k in FORMATS}}, **_PROBLEM_RESPONSES},
)
def export_ranking(
    request: Request,
    fmt: Literal["csv", "xlsx", "geojson", "gpkg"],
    query: AreaQueryDep,
    engine: EngineDep,
    settings: SettingsDep,
    principal: PrincipalDep,
) -> Response:
    """Export the area ranking of com.analysis.risk (same filters as /api/rankings).

    CSV and XLSX hold the table (XLSX with Thai headers), GeoJSON and GeoPackage the areas
    too. Public callers get the small-area suppression of /api/rankings. Writes an
    export.<fmt> audit row.
    """
    filters = query.filters(principal)
    with transaction(engine) as conn:
        frame = risk.rank_areas(conn, model=load_severity_model(settings.severity_config),
                                **filters)
        frame = public_ranking(conn, frame, principal, settings)
        if query.limit is not None:
            frame = frame.head(query.limit)
        if fmt in ("geojson", "gpkg"):
            frame = risk.with_polygons(frame)  # a large H3 ranking comes without them
        columns = [c for c in frame.columns if c != frame.geometry.name]
        level = str(filters["level"]).replace(":", "")
        result = export_frame(
            conn, frame, fmt, name=f"ranking-{level}", principal=principal,
            details={"filters": filters}, client=client_of(request),
            titles=risk.thai_headers(columns, filters["level"]) if fmt == "xlsx" else None,
        )
    return _file_response(result)


@router.get("/ogc/", include_in_schema=False)
def landing_slash(request: Request, principal: PrincipalDep) -> Response:
    """Serve the landing page at /ogc/ too (clients differ on the trailing slash)."""
    return landing(request, principal)
