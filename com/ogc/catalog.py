"""The data API's collections (OGC API - Features, vector tiles, exports) and their queries.

Each collection says what it serves, which properties can be queried and how sensitive points
are coarsened; the catalog runs items, single features, exports and vector tiles.

Everything here is framework-free: ``api/routers/ogc.py`` and ``api/routers/tiles.py`` parse the
HTTP request into plain strings, call :class:`FeatureCatalog` and shape the response.

Safety rules (GeoServer's 2024 remote code execution came from property names reaching an
expression evaluator):

* property names used in filters come from the whitelist of each collection (``queryables``);
  a name that is not there is refused with :class:`InvalidQuery` before any SQL is built;
* values are bound parameters, converted to the queryable's type first;
* CQL2 text is parsed by pygeofilter into an AST, and only the node types listed in
  :func:`cql2_condition` are translated, into SQLAlchemy Core expressions.

Sensitive categories (``sensitive = true`` in the severity config) are served with the
representative point of their subdistrict to principals without the ``sensitive`` permission:
the CASE expression lives in the collection's SQL, so items, single features, tiles and exports
all read the same served geometry.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, JSON, JSONB
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from com.config.severity import (
    Category,
    alias_index,
    cached_severity_model,
    match_category,
    sensitive_categories,
)
from com.db.integers import BIGINT, range_of
from com.db.tables import BorderCrossing, District, Province, RiskPoint, Subdistrict
from com.errors import ConfigError, NotFoundError, ValidationError
from com.security import privacy
from com.security.access import Principal
from com.singleflight import SingleFlight
from com.text.thai import to_arabic_digits

#: Items per page when the client gives no ``limit``, and the largest page served. A larger
#: ``limit`` is capped silently, as OGC API - Features Part 1 (/req/core/fc-limit-response-1)
#: asks, rather than refused.
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
#: Largest selection one export returns; narrow it with bbox, datetime or a property filter.
MAX_EXPORT_FEATURES = 250_000
#: Counting an unfiltered table this large on every first page costs 5-70 ms (PERFORMANCE_NOTES:
#: count(*) over 1M rows ~70 ms), so such counts are computed once and cached for 30 s.
LARGE_TABLE_ROWS = 50_000
COUNT_CACHE_TTL_S = 30.0
EXTENT_CACHE_TTL_S = 60.0
#: Vector tiles: below this zoom points are aggregated on a grid; a tile never holds more
#: than MAX_TILE_FEATURES raw points (a denser tile is aggregated instead).
CLUSTER_BELOW_ZOOM = 10
MAX_TILE_FEATURES = 20_000
TILE_EXTENT = 4096
TILE_BUFFER = 64
#: Aggregation grid: this many cells across a tile (64 cells = 64 px at 4096/256 scale).
CLUSTER_CELLS_PER_TILE = 64
MAX_ZOOM = 22
#: Thai local time: a datetime instant is matched against the Thai calendar date of reports.
THAI_TZ = ZoneInfo("Asia/Bangkok")
WEB_MERCATOR_HALF = 20037508.342789244

PropertyType = Literal["string", "integer", "number", "date", "boolean"]
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class InvalidQuery(ValidationError):
    """A query parameter (bbox, datetime, limit, filter, unknown name ...) is malformed.

    The API answers 400, as OGC API - Features requires for invalid query parameters.
    """


# --- severity config: category labels and sensitivity --------------------------------------


def load_categories(path: str | Path | None = None) -> dict[str, Category]:
    """Return the issue categories of the severity model (unknown included), keyed by key.

    Parameters
    ----------
    path
        Override file (``COM_SEVERITY_CONFIG``), merged over the packaged model by
        :func:`com.config.severity.load_severity_model` (read once per process).

    Raises
    ------
    com.errors.ConfigError
        When the override cannot be read or is invalid.
    """
    model = cached_severity_model(path)
    return {**model.categories, model.unknown_category.key: model.unknown_category}


# --- collections -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Queryable:
    """A property clients may filter on (query parameter and CQL2 property name)."""

    name: str
    property: str
    type: PropertyType
    title_th: str
    title_en: str
    enum: tuple[Any, ...] | None = None


@dataclass(frozen=True)
class Source:
    """The SQL of one collection for one kind of principal.

    ``properties`` maps each served property to its expression over ``from_``; ``geom`` is the
    served geometry (already coarsened where needed); ``bbox`` returns an index-friendly
    condition for an envelope in EPSG:4326.
    """

    from_: sa.FromClause
    key: ColumnElement[Any]
    geom: ColumnElement[Any]
    properties: dict[str, ColumnElement[Any]]
    province: ColumnElement[Any] | None
    bbox: Callable[[ColumnElement[Any]], ColumnElement[Any]]
    temporal: ColumnElement[Any] | None = None
    where: tuple[ColumnElement[Any], ...] = ()
    sensitive_flag: ColumnElement[Any] | None = None
    #: Subdistrict code of each point, for the small-area suppression of public layers.
    area_code: ColumnElement[Any] | None = None


@dataclass(frozen=True)
class SourceContext:
    """What a collection's SQL depends on besides the query: who asks and the config."""

    coarsen: bool
    sensitive: tuple[str, ...]
    categories: Mapping[str, Category]
    ranking: RankingTable | None = None


@dataclass(frozen=True)
class Collection:
    """One OGC API collection: identity, titles, source SQL, geometry and queryables."""

    id: str
    title_th: str
    title_en: str
    description: str
    key_type: Literal["integer", "string"]
    geometry_type: str
    build: Callable[[SourceContext], Source]
    property_types: dict[str, PropertyType]
    queryables: dict[str, Queryable]
    table: str
    requires: tuple[str, ...] = ()
    temporal: bool = False
    sensitive: bool = False
    ranked: bool = False
    note: str | None = None
    point_tiles: bool = True

    def __post_init__(self) -> None:
        # Names are spliced into json_build_object as SQL string literals (see _feature_json);
        # the registry is code, but the check keeps it impossible to smuggle a quote in.
        for name in [*self.property_types, *self.queryables]:
            if not _NAME.match(name):
                raise ConfigError(f"collection {self.id}: bad property name {name!r}")

    @property
    def title(self) -> str:
        """Return the Thai and English title."""
        return f"{self.title_th} ({self.title_en})"

    def queryable(self, name: str) -> Queryable:
        """Return the whitelisted queryable ``name`` or raise InvalidQuery."""
        try:
            return self.queryables[name]
        except KeyError:
            allowed = ", ".join(sorted(self.queryables))
            raise InvalidQuery(
                f"property {name!r} cannot be queried in {self.id}; queryable: {allowed}"
            ) from None


def _q(name: str, prop: str, type_: PropertyType, th: str, en: str, **kw: Any) -> Queryable:
    return Queryable(name=name, property=prop, type=type_, title_th=th, title_en=en, **kw)


def _label_case(column: ColumnElement[Any], labels: Mapping[Any, str]) -> ColumnElement[Any]:
    if not labels:
        return sa.cast(sa.null(), sa.Text)
    return sa.case({k: sa.literal(v, sa.Text) for k, v in labels.items()}, value=column,
                   else_=sa.cast(sa.null(), sa.Text))


SEVERITY_TH = {1: "ต่ำมาก", 2: "ต่ำ", 3: "ปานกลาง", 4: "สูง", 5: "สูงมาก"}


def _envelope_filter(
    geom: ColumnElement[Any],
) -> Callable[[ColumnElement[Any]], ColumnElement[Any]]:
    def condition(envelope: ColumnElement[Any]) -> ColumnElement[Any]:
        return sa.func.ST_Intersects(geom, envelope)

    return condition


def _risk_points(ctx: SourceContext) -> Source:
    rp = RiskPoint.__table__
    labels = {k: c.th for k, c in ctx.categories.items()}
    properties: dict[str, ColumnElement[Any]]
    from_: sa.FromClause = rp
    if ctx.coarsen and ctx.sensitive:
        sub = Subdistrict.__table__.alias("rep")
        sensitive = sa.bindparam("sensitive_categories", list(ctx.sensitive), type_=ARRAY(sa.Text))
        is_sensitive = rp.c.category == sa.any_(sensitive)
        # Sensitive points are served at their subdistrict's representative point; one that
        # lies in no subdistrict is served with no geometry rather than its exact location.
        # A correlated primary-key lookup, run only for sensitive rows: a join would make the
        # planner hash all 7,425 subdistricts for every tile.
        rep_point = (
            sa.select(sub.c.rep_point)
            .where(sub.c.code == rp.c.subdistrict_code)
            .scalar_subquery()
        )
        geom: ColumnElement[Any] = sa.case((is_sensitive, rep_point), else_=rp.c.geom)
        name: ColumnElement[Any] = sa.case(
            (is_sensitive, sa.cast(sa.null(), sa.Text)), else_=rp.c.name)
        address: ColumnElement[Any] = sa.case(
            (is_sensitive, sa.cast(sa.null(), sa.Text)), else_=rp.c.address)
        coarsened: ColumnElement[Any] = is_sensitive

        def bbox(envelope: ColumnElement[Any]) -> ColumnElement[Any]:
            # The exact test is on the served geometry (so a box around a hidden exact spot
            # finds nothing); the OR of two indexable tests lets PostgreSQL use a BitmapOr of
            # the GiST index on geom and the b-tree on subdistrict_code.
            rep_codes = sa.func.array(
                sa.select(Subdistrict.code)
                .where(Subdistrict.rep_point.op("&&")(envelope))
                .scalar_subquery()
            )
            return sa.and_(
                sa.or_(rp.c.geom.op("&&")(envelope), rp.c.subdistrict_code == sa.any_(rep_codes)),
                geom.op("&&")(envelope),
            )
    else:
        geom = rp.c.geom
        name, address = rp.c.name, rp.c.address
        coarsened = sa.false()

        def bbox(envelope: ColumnElement[Any]) -> ColumnElement[Any]:
            return rp.c.geom.op("&&")(envelope)

    properties = {
        "name": name,
        "category": rp.c.category,
        "category_th": _label_case(rp.c.category, labels),
        "severity": rp.c.severity,
        "severity_th": _label_case(rp.c.severity, SEVERITY_TH),
        "incident_count": rp.c.incident_count,
        "reported_on": rp.c.reported_on,
        "address": address,
        "subdistrict_code": rp.c.subdistrict_code,
        "district_code": rp.c.district_code,
        "province_code": rp.c.province_code,
        "geocode_quality": rp.c.geocode_quality,
        "approximate": rp.c.approximate,
        "location_coarsened": coarsened,
        "synthetic": rp.c.synthetic,
        "source_upload_id": rp.c.source_upload_id,
        "source_row": rp.c.source_row,
    }
    sensitive_flag = (
        rp.c.category == sa.any_(sa.bindparam("sensitive_flag_categories", list(ctx.sensitive),
                                               type_=ARRAY(sa.Text)))
        if ctx.sensitive
        else sa.false()
    )
    return Source(
        from_=from_,
        key=rp.c.id,
        geom=geom,
        properties=properties,
        province=rp.c.province_code,
        bbox=bbox,
        temporal=rp.c.reported_on,
        sensitive_flag=sensitive_flag,
        area_code=rp.c.subdistrict_code,
    )


RISK_POINT_TYPES: dict[str, PropertyType] = {
    "name": "string", "category": "string", "category_th": "string", "severity": "integer",
    "severity_th": "string", "incident_count": "integer", "reported_on": "date",
    "address": "string", "subdistrict_code": "string", "district_code": "string",
    "province_code": "string", "geocode_quality": "string", "approximate": "boolean",
    "location_coarsened": "boolean", "synthetic": "boolean", "source_upload_id": "integer",
    "source_row": "integer",
}


@dataclass(frozen=True)
class RankingTable:
    """Area ranking columns from :mod:`com.risk`, passed to SQL as parallel arrays."""

    codes: tuple[str, ...]
    risk_score: tuple[float | None, ...]
    rank: tuple[int | None, ...]
    hotspot_class: tuple[str | None, ...]
    gi_z: tuple[float | None, ...]
    points: tuple[int | None, ...]


def _ranking_from(ctx: SourceContext) -> sa.FromClause | None:
    if ctx.ranking is None:
        return None
    r = ctx.ranking
    return (
        sa.func.unnest(
            sa.bindparam("rank_codes", list(r.codes), type_=ARRAY(sa.Text)),
            sa.bindparam("rank_scores", list(r.risk_score), type_=ARRAY(sa.Float)),
            sa.bindparam("rank_ranks", list(r.rank), type_=ARRAY(sa.Integer)),
            sa.bindparam("rank_classes", list(r.hotspot_class), type_=ARRAY(sa.Text)),
            sa.bindparam("rank_z", list(r.gi_z), type_=ARRAY(sa.Float)),
            sa.bindparam("rank_points", list(r.points), type_=ARRAY(sa.Integer)),
        )
        .table_valued("code", "risk_score", "rank", "hotspot_class", "gi_z", "points")
        .render_derived(name="ranking")
    )


def _subdistricts(ctx: SourceContext) -> Source:
    s = Subdistrict.__table__
    ranking = _ranking_from(ctx)
    from_: sa.FromClause = s
    extra: dict[str, ColumnElement[Any]]
    if ranking is not None:
        from_ = s.outerjoin(ranking, ranking.c.code == s.c.code)
        extra = {
            "rank": ranking.c.rank,
            "risk_score": ranking.c.risk_score,
            "hotspot_class": ranking.c.hotspot_class,
            "gi_z": ranking.c.gi_z,
            "points": ranking.c.points,
        }
    else:
        extra = {
            "rank": sa.cast(sa.null(), sa.Integer),
            "risk_score": sa.cast(sa.null(), sa.Float),
            "hotspot_class": sa.cast(sa.null(), sa.Text),
            "gi_z": sa.cast(sa.null(), sa.Float),
            "points": sa.cast(sa.null(), sa.Integer),
        }
    return Source(
        from_=from_,
        key=s.c.code,
        geom=s.c.geom,
        properties={
            "code": s.c.code,
            "name_th": s.c.name_th,
            "name_en": s.c.name_en,
            "district_code": s.c.district_code,
            "province_code": s.c.province_code,
            "area_km2": s.c.area_km2,
            **extra,
        },
        province=s.c.province_code,
        bbox=_envelope_filter(s.c.geom),
    )


def _districts(ctx: SourceContext) -> Source:
    d = District.__table__
    return Source(
        from_=d,
        key=d.c.code,
        geom=d.c.geom,
        properties={
            "code": d.c.code,
            "name_th": d.c.name_th,
            "name_en": d.c.name_en,
            "province_code": d.c.province_code,
            "area_km2": d.c.area_km2,
        },
        province=d.c.province_code,
        bbox=_envelope_filter(d.c.geom),
    )


def _border_crossings(ctx: SourceContext) -> Source:
    bc = BorderCrossing.__table__
    # Crossings carry no province code: the province is the one whose polygon holds the point.
    province = (
        sa.select(Province.code)
        .where(sa.func.ST_Intersects(Province.geom, bc.c.geom))
        .order_by(Province.code)
        .limit(1)
        .scalar_subquery()
    )
    return Source(
        from_=bc,
        key=bc.c.id,
        geom=bc.c.geom,
        properties={
            "name_th": bc.c.name_th,
            "name_en": bc.c.name_en,
            "kind": bc.c.kind,
            "country": bc.c.country,
            "province_code": province,
        },
        province=province,
        bbox=lambda envelope: bc.c.geom.op("&&")(envelope),
    )


_AREA_QUERYABLES = {
    "code": _q("code", "code", "string", "รหัส", "Code"),
    "name_th": _q("name_th", "name_th", "string", "ชื่อ (ไทย)", "Thai name"),
    "name_en": _q("name_en", "name_en", "string", "ชื่อ (อังกฤษ)", "English name"),
    "province": _q("province", "province_code", "string", "จังหวัด", "Province code"),
    "province_code": _q("province_code", "province_code", "string", "จังหวัด", "Province code"),
    "area_km2": _q("area_km2", "area_km2", "number", "พื้นที่ (ตร.กม.)", "Area (km²)"),
}


def builtin_collections() -> list[Collection]:
    """Return the collections COM serves whose sources are part of the core schema."""
    risk_q = {
        "category": _q("category", "category", "string", "ประเด็นปัญหา", "Issue category"),
        "severity": _q("severity", "severity", "integer", "ระดับความรุนแรง", "Severity (1-5)",
                       enum=(1, 2, 3, 4, 5)),
        "incident_count": _q("incident_count", "incident_count", "integer", "จำนวนเหตุ",
                             "Incident count"),
        "reported_on": _q("reported_on", "reported_on", "date", "วันที่รายงาน", "Reported on"),
        "province": _q("province", "province_code", "string", "จังหวัด", "Province code"),
        "province_code": _q("province_code", "province_code", "string", "จังหวัด",
                            "Province code"),
        "district": _q("district", "district_code", "string", "อำเภอ", "District code"),
        "district_code": _q("district_code", "district_code", "string", "อำเภอ",
                            "District code"),
        "subdistrict": _q("subdistrict", "subdistrict_code", "string", "ตำบล",
                          "Subdistrict code"),
        "subdistrict_code": _q("subdistrict_code", "subdistrict_code", "string", "ตำบล",
                               "Subdistrict code"),
        "geocode_quality": _q("geocode_quality", "geocode_quality", "string",
                              "คุณภาพพิกัด", "Geocode quality",
                              enum=("coordinates", "subdistrict", "district", "province")),
        "source_upload_id": _q("source_upload_id", "source_upload_id", "integer",
                               "รหัสไฟล์นำเข้า", "Upload id"),
    }
    sub_q = {
        **_AREA_QUERYABLES,
        "district": _q("district", "district_code", "string", "อำเภอ", "District code"),
        "district_code": _q("district_code", "district_code", "string", "อำเภอ",
                            "District code"),
        "rank": _q("rank", "rank", "integer", "อันดับ", "Rank"),
        "risk_score": _q("risk_score", "risk_score", "number", "คะแนนความเสี่ยง", "Risk score"),
        "hotspot_class": _q("hotspot_class", "hotspot_class", "string", "จุดร้อน (Gi*)",
                            "Hotspot class"),
    }
    return [
        Collection(
            id="risk-points",
            title_th="จุดเสี่ยง",
            title_en="Risk points",
            description="Reported risk points with issue category, severity (1-5) and date. "
            "Points of sensitive categories are served at their subdistrict's representative "
            "point (location_coarsened = true) unless the caller holds the 'sensitive' "
            "permission.",
            key_type="integer",
            geometry_type="Point",
            build=_risk_points,
            property_types=RISK_POINT_TYPES,
            queryables=risk_q,
            table="risk_points",
            temporal=True,
            sensitive=True,
        ),
        Collection(
            id="subdistricts",
            title_th="ตำบล",
            title_en="Subdistricts",
            description="Subdistricts (tambon) with their risk rank, score and Getis-Ord Gi* "
            "hotspot class from the area ranking.",
            key_type="string",
            geometry_type="MultiPolygon",
            build=_subdistricts,
            property_types={
                "code": "string", "name_th": "string", "name_en": "string",
                "district_code": "string", "province_code": "string", "area_km2": "number",
                "rank": "integer", "risk_score": "number", "hotspot_class": "string",
                "gi_z": "number", "points": "integer",
            },
            queryables=sub_q,
            table="subdistricts",
            ranked=True,
            point_tiles=False,
        ),
        Collection(
            id="districts",
            title_th="อำเภอ",
            title_en="Districts",
            description="Districts (amphoe) with their province.",
            key_type="string",
            geometry_type="MultiPolygon",
            build=_districts,
            property_types={
                "code": "string", "name_th": "string", "name_en": "string",
                "province_code": "string", "area_km2": "number",
            },
            queryables=dict(_AREA_QUERYABLES),
            table="districts",
            point_tiles=False,
        ),
        Collection(
            id="border-crossings",
            title_th="จุดผ่านแดน",
            title_en="Border crossings",
            description="Permanent border checkpoints (จุดผ่านแดนถาวร).",
            key_type="integer",
            geometry_type="Point",
            build=_border_crossings,
            property_types={
                "name_th": "string", "name_en": "string", "kind": "string",
                "country": "string", "province_code": "string",
            },
            queryables={
                "name_en": _q("name_en", "name_en", "string", "ชื่อ (อังกฤษ)", "English name"),
                "kind": _q("kind", "kind", "string", "ประเภท", "Kind"),
                "country": _q("country", "country", "string", "ประเทศ", "Country"),
                "province": _q("province", "province_code", "string", "จังหวัด",
                               "Province code"),
                "province_code": _q("province_code", "province_code", "string", "จังหวัด",
                                    "Province code"),
            },
            table="border_crossings",
        ),
    ]


# --- query parameters ------------------------------------------------------------------------

#: Parameters every items request may carry besides the collection's queryables.
ITEM_PARAMETERS = (
    "bbox", "datetime", "limit", "offset", "cursor", "filter", "filter-lang", "crs", "bbox-crs",
)
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: Spellings of WGS84 longitude/latitude (the only CRS served). GDAL's OAPIF driver (QGIS)
#: sends ``crs`` with the collection's storage CRS, so the parameter must be understood.
CRS84_NAMES = frozenset({
    CRS84, CRS84.replace("http://", "https://"), "[OGC:CRS84]", "OGC:CRS84",
    "urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84",
})


@dataclass(frozen=True)
class ItemQuery:
    """A parsed, validated items request."""

    bbox: tuple[float, float, float, float] | None = None
    datetime: tuple[date | None, date | None] | None = None
    properties: tuple[tuple[Queryable, tuple[Any, ...]], ...] = ()
    cql: Any = None
    cql_text: str | None = None
    limit: int = DEFAULT_LIMIT
    offset: int = 0
    after: Any = None
    before: Any = None
    matched: int | None = None

    @property
    def filtered(self) -> bool:
        """Return True when anything narrows the selection."""
        return bool(self.bbox or self.datetime or self.properties or self.cql is not None)

    def signature(self) -> str:
        """Return a stable text of the selection (not the paging), for caches and the audit."""
        return json.dumps(
            {
                "bbox": self.bbox,
                "datetime": [str(d) if d else None for d in self.datetime]
                if self.datetime else None,
                "properties": {q.name: [str(v) for v in values] for q, values in self.properties},
                "filter": self.cql_text,
            },
            ensure_ascii=False,
            sort_keys=True,
        )


def _number(text: str, what: str) -> float:
    try:
        value = float(to_arabic_digits(text.strip()))
    except ValueError:
        raise InvalidQuery(f"{what}: {text!r} is not a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidQuery(f"{what}: {text!r} is not a finite number")
    return value


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """Parse ``minLon,minLat,maxLon,maxLat`` (EPSG:4326/CRS84) into a validated tuple.

    Raises
    ------
    InvalidQuery
        Not four numbers, latitudes outside -90..90, longitudes outside -180..180, or a
        minimum above its maximum (boxes crossing the antimeridian are not supported).
    """
    parts = text.split(",")
    if len(parts) == 6:
        raise InvalidQuery("bbox: 3D boxes (6 numbers) are not supported; give 4 numbers")
    if len(parts) != 4:
        raise InvalidQuery(f"bbox must be 4 comma-separated numbers minLon,minLat,maxLon,maxLat, "
                           f"got {text!r}")
    west, south, east, north = (_number(p, "bbox") for p in parts)
    if not (-180 <= west <= 180 and -180 <= east <= 180):
        raise InvalidQuery("bbox: longitudes must lie within -180..180")
    if not (-90 <= south <= 90 and -90 <= north <= 90):
        raise InvalidQuery("bbox: latitudes must lie within -90..90")
    if south > north:
        raise InvalidQuery("bbox: the minimum latitude is above the maximum latitude")
    if west > east:
        raise InvalidQuery("bbox: the minimum longitude is above the maximum longitude "
                           "(boxes across the antimeridian are not supported)")
    return (west, south, east, north)


_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _parse_instant(text: str) -> date:
    text = text.strip()
    try:
        if _DATE_RE.match(text):
            return date.fromisoformat(text)
        if "T" not in text.upper():
            raise ValueError(text)
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise InvalidQuery(
            f"datetime: {text!r} is not an RFC 3339 date (2024-05-01) or date-time "
            "(2024-05-01T10:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        raise InvalidQuery(f"datetime: {text!r} needs a time zone (Z or +07:00)")
    # Reports carry a Thai calendar date: compare in Asia/Bangkok.
    return moment.astimezone(THAI_TZ).date()


def parse_datetime(text: str) -> tuple[date | None, date | None]:
    """Parse an OGC ``datetime``: an instant, ``start/end``, ``../end`` or ``start/..``.

    Dates compare with the report date (a calendar date in Thailand), both ends inclusive.

    Raises
    ------
    InvalidQuery
        Malformed values, ``../..``, or a start after the end.
    """
    text = text.strip()
    if "/" not in text:
        day = _parse_instant(text)
        return (day, day)
    parts = text.split("/")
    if len(parts) != 2:
        raise InvalidQuery(f"datetime: {text!r} has more than one '/'")
    start_text, end_text = (p.strip() for p in parts)
    start = None if start_text in ("", "..") else _parse_instant(start_text)
    end = None if end_text in ("", "..") else _parse_instant(end_text)
    if start is None and end is None:
        raise InvalidQuery("datetime: an interval needs at least one end ('../..' is open on both)")
    if start and end and start > end:
        raise InvalidQuery(f"datetime: the start {start} is after the end {end}")
    return (start, end)


def parse_limit(text: str | None) -> int:
    """Return the page size: default 100, at least 1, capped silently at 1000."""
    if text is None or text == "":
        return DEFAULT_LIMIT
    try:
        value = int(to_arabic_digits(text.strip()))
    except ValueError:
        raise InvalidQuery(f"limit: {text!r} is not a whole number") from None
    if value < 1:
        raise InvalidQuery("limit must be at least 1")
    return min(value, MAX_LIMIT)


def parse_offset(text: str | None) -> int:
    """Return the number of features to skip (0 or more)."""
    if text is None or text == "":
        return 0
    try:
        value = int(to_arabic_digits(text.strip()))
    except ValueError:
        raise InvalidQuery(f"offset: {text!r} is not a whole number") from None
    if value < 0:
        raise InvalidQuery("offset cannot be negative")
    if value > 10_000_000:
        raise InvalidQuery("offset is too large: follow the 'next' links instead")
    return value


def coerce_value(queryable: Queryable, value: Any) -> Any:
    """Convert a filter value (text or a CQL2 literal) to the queryable's type.

    Raises
    ------
    InvalidQuery
        When the value cannot be read as that type.
    """
    kind = queryable.type
    if kind == "string":
        if isinstance(value, bool | int | float):
            return str(value)
        if not isinstance(value, str):
            raise InvalidQuery(f"{queryable.name} takes text, got {value!r}")
        return value
    if kind == "integer":
        if isinstance(value, bool):
            raise InvalidQuery(f"{queryable.name} takes a whole number, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(to_arabic_digits(value.strip()))
            except ValueError:
                pass
        raise InvalidQuery(f"{queryable.name} takes a whole number, got {value!r}")
    if kind == "number":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            return _number(value, queryable.name)
        raise InvalidQuery(f"{queryable.name} takes a number, got {value!r}")
    if kind == "date":
        if isinstance(value, datetime):
            return value.astimezone(THAI_TZ).date() if value.tzinfo else value.date()
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            return _parse_instant(value)
        raise InvalidQuery(f"{queryable.name} takes a date (2024-05-01), got {value!r}")
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise InvalidQuery(f"{queryable.name} takes true or false, got {value!r}")


def check_range(queryable: Queryable, column: ColumnElement[Any], value: Any) -> Any:
    """Return ``value`` when the property's column type can hold it.

    PostgreSQL casts a bound integer to the column's type (smallint, integer, bigint) and
    fails the whole statement when it does not fit, so such values are refused here.

    Raises
    ------
    InvalidQuery
        An integer outside the range of the column's type (a smallint severity of 40000,
        an upload id beyond bigint).
    """
    if queryable.type != "integer":
        return value
    bounds = range_of(column.type) or BIGINT
    if value not in bounds:
        raise InvalidQuery(
            f"{queryable.name}: {value} is out of range; it holds whole numbers from "
            f"{bounds.low} to {bounds.high}"
        )
    return value


def _category_key(value: str, categories: Mapping[str, Category]) -> str:
    """Map a category spelling to its key by the one exact rule (unknown names pass through).

    :func:`com.config.severity.match_category`: every spelling an upload accepts exactly
    selects the same category here.
    """
    return match_category(value, alias_index(categories.values())) or value.strip()


def encode_cursor(key: Any, *, direction: Literal["after", "before"], matched: int | None) -> str:
    """Return an opaque paging token: the key to continue from, and the count already known."""
    payload = json.dumps({"d": direction[0], "k": key, "m": matched}, separators=(",", ":"))
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(token: str, key_type: str) -> tuple[str, Any, int | None]:
    """Return (direction, key, matched) from a token made by :func:`encode_cursor`."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        direction = {"a": "after", "b": "before"}[data["d"]]
        key = data["k"]
        matched = data.get("m")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidQuery("cursor is not a token this server made: follow the 'next' link") \
            from None
    valid_key = key in BIGINT if key_type == "integer" else isinstance(key, str)
    if not valid_key or not (matched is None or (isinstance(matched, int) and matched >= 0)):
        raise InvalidQuery("cursor is not a token this server made: follow the 'next' link")
    return direction, key, matched


def parse_item_query(
    collection: Collection,
    params: Sequence[tuple[str, str]],
    *,
    allowed_extra: Iterable[str] = ("f",),
    categories: Mapping[str, Category] | None = None,
) -> ItemQuery:
    """Validate the query parameters of an items request.

    Parameters
    ----------
    collection
        The collection asked for (its queryables are the only property filters accepted).
    params
        The query string as (name, value) pairs, repeats included.
    allowed_extra
        Names the caller handles itself (``f`` for the output format).
    categories
        Category config, so ``category=ยาเสพติด`` finds ``drugs``.

    Returns
    -------
    ItemQuery

    Raises
    ------
    InvalidQuery
        Unknown or repeated parameters, malformed values, an unsupported filter language
        (OGC API - Features: the server answers 400 to any of these).
    """
    allowed = {*ITEM_PARAMETERS, *collection.queryables, *allowed_extra}
    seen: dict[str, str] = {}
    for name, value in params:
        if "\x00" in value or "\x00" in name:
            # PostgreSQL text cannot hold NUL: refuse it here rather than fail in the driver.
            raise InvalidQuery(f"query parameter {name!r} contains a NUL character")
        if name not in allowed:
            raise InvalidQuery(
                f"unknown query parameter {name!r}; allowed: {', '.join(sorted(allowed))}"
            )
        if name in seen:
            raise InvalidQuery(f"query parameter {name!r} is given more than once")
        seen[name] = value
    for name in ("crs", "bbox-crs"):
        if name in seen and seen[name].strip() not in CRS84_NAMES:
            raise InvalidQuery(f"{name}: only {CRS84} (WGS84 longitude, latitude) is served")
    if "datetime" in seen and not collection.temporal:
        raise InvalidQuery(f"{collection.id} has no time: datetime cannot be used")
    properties: list[tuple[Queryable, tuple[Any, ...]]] = []
    for name in collection.queryables:
        if name not in seen:
            continue
        queryable = collection.queryables[name]
        # A comma-separated list means "any of these" (category=drugs,smuggling).
        raw = list(seen[name].split(",")) if queryable.type != "date" else [seen[name]]
        values = []
        for item in raw:
            value = coerce_value(queryable, item)
            if queryable.property == "category" and categories:
                value = _category_key(value, categories)
            values.append(value)
        properties.append((queryable, tuple(values)))
    cql = None
    cql_text = seen.get("filter")
    if cql_text is not None:
        lang = seen.get("filter-lang", "cql2-text")
        if lang != "cql2-text":
            raise InvalidQuery(f"filter-lang {lang!r} is not supported; use cql2-text")
        cql = parse_cql2(cql_text)
    elif "filter-lang" in seen:
        raise InvalidQuery("filter-lang given without filter")
    after = before = matched = None
    if seen.get("cursor"):
        if seen.get("offset"):
            raise InvalidQuery("give either offset or cursor, not both")
        direction, key, matched = decode_cursor(seen["cursor"], collection.key_type)
        if direction == "after":
            after = key
        else:
            before = key
    return ItemQuery(
        bbox=parse_bbox(seen["bbox"]) if seen.get("bbox") is not None else None,
        datetime=parse_datetime(seen["datetime"]) if seen.get("datetime") is not None else None,
        properties=tuple(properties),
        cql=cql,
        cql_text=cql_text,
        limit=parse_limit(seen.get("limit")),
        offset=parse_offset(seen.get("offset")),
        after=after,
        before=before,
        matched=matched,
    )


# --- CQL2 text (OGC API - Features Part 3) ---------------------------------------------------


def parse_cql2(text: str) -> Any:
    """Parse CQL2 text with pygeofilter into its AST.

    Raises
    ------
    InvalidQuery
        When the text is not valid CQL2.
    """
    from lark.exceptions import LarkError
    from pygeofilter.parsers.cql2_text import parse

    if len(text) > 4000:
        raise InvalidQuery("filter is longer than 4,000 characters")
    try:
        return parse(text)
    except (LarkError, ValueError, TypeError, AttributeError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidQuery(f"filter is not valid CQL2 text: {first_line}") from None


def cql2_condition(
    node: Any, collection: Collection, source: Source, categories: Mapping[str, Category]
) -> ColumnElement[Any]:
    """Translate a pygeofilter AST into a SQLAlchemy condition over ``source``.

    Supported: AND, OR, NOT, =, <>, <, <=, >, >=, BETWEEN, IN, IS NULL, on whitelisted
    queryables compared with literals. Anything else (functions, spatial or temporal
    predicates, arithmetic, property-to-property comparisons) is refused with InvalidQuery.
    """
    from pygeofilter import ast

    def attribute(lhs: Any) -> tuple[Queryable, ColumnElement[Any]]:
        if not isinstance(lhs, ast.Attribute):
            raise InvalidQuery("filter: the left side of a comparison must be a property name")
        queryable = collection.queryable(lhs.name)
        return queryable, source.properties[queryable.property]

    def literal(queryable: Queryable, column: ColumnElement[Any], value: Any) -> Any:
        if isinstance(value, ast.Node):
            raise InvalidQuery("filter: compare properties with literal values only")
        coerced = coerce_value(queryable, value)
        if queryable.property == "category" and isinstance(coerced, str):
            coerced = _category_key(coerced, categories)
        return check_range(queryable, column, coerced)

    def walk(n: Any, depth: int = 0) -> ColumnElement[Any]:
        if depth > 50:
            raise InvalidQuery("filter is nested too deeply")
        if isinstance(n, ast.And):
            return sa.and_(walk(n.lhs, depth + 1), walk(n.rhs, depth + 1))
        if isinstance(n, ast.Or):
            return sa.or_(walk(n.lhs, depth + 1), walk(n.rhs, depth + 1))
        if isinstance(n, ast.Not):
            return sa.not_(walk(n.sub_node, depth + 1))
        if isinstance(n, ast.Comparison):
            queryable, column = attribute(n.lhs)
            value = literal(queryable, column, n.rhs)
            ops = {
                ast.Equal: column.__eq__, ast.NotEqual: column.__ne__,
                ast.LessThan: column.__lt__, ast.LessEqual: column.__le__,
                ast.GreaterThan: column.__gt__, ast.GreaterEqual: column.__ge__,
            }
            return ops[type(n)](value)
        if isinstance(n, ast.Between):
            queryable, column = attribute(n.lhs)
            condition = column.between(literal(queryable, column, n.low),
                                       literal(queryable, column, n.high))
            return sa.not_(condition) if n.not_ else condition
        if isinstance(n, ast.In):
            queryable, column = attribute(n.lhs)
            values = [literal(queryable, column, v) for v in n.sub_nodes]
            if not values:
                raise InvalidQuery("filter: IN needs at least one value")
            return column.not_in(values) if n.not_ else column.in_(values)
        if isinstance(n, ast.IsNull):
            _, column = attribute(n.lhs)
            return column.is_not(None) if n.not_ else column.is_(None)
        name = type(n).__name__
        raise InvalidQuery(
            f"filter: {name} is not supported; use =, <>, <, <=, >, >=, BETWEEN, IN, IS NULL "
            "with AND, OR, NOT"
        )

    if isinstance(node, bool | int | float | str) or node is None:
        raise InvalidQuery("filter must be a condition such as severity >= 4")
    return walk(node)


# --- results ---------------------------------------------------------------------------------


@dataclass
class FeaturePage:
    """One page of features: GeoJSON feature texts (built by PostGIS) and paging facts."""

    features: list[str]
    keys: list[Any]
    number_matched: int | None
    next_cursor: str | None
    prev_cursor: str | None
    prev_offset: int | None
    sensitive_keys: list[Any] = field(default_factory=list)

    @property
    def number_returned(self) -> int:
        """Return the number of features on this page."""
        return len(self.features)


@dataclass(frozen=True)
class Extent:
    """Spatial (WGS84 bbox) and temporal extent of what a principal may see."""

    bbox: tuple[float, float, float, float] | None
    interval: tuple[date | None, date | None] | None


class _TTLCache:
    """A tiny thread-safe time-limited cache (per catalog, so per app)."""

    def __init__(self, ttl_s: float, max_items: int = 256) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            hit = self._data.get(key)
            if hit and hit[0] > time.monotonic():
                return hit[1]
            self._data.pop(key, None)
            return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            if len(self._data) >= self.max_items:
                self._data.pop(next(iter(self._data)))
            self._data[key] = (time.monotonic() + self.ttl_s, value)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


RankingProvider = Callable[[Connection, str | None], RankingTable | None]


def default_ranking_provider(conn: Connection, province_code: str | None) -> RankingTable | None:
    """Return subdistrict ranks, scores and hotspot classes from :mod:`com.risk`, if it exists.

    Returns None while ``com.risk`` (issue 4) is not installed; the ranking properties are
    then served as null.
    """
    try:
        from com import risk  # type: ignore[attr-defined]
    except ImportError:
        return None
    return ranking_from_risk(risk, conn, province_code)


def ranking_from_risk(
    risk: Any, conn: Connection, province_code: str | None
) -> RankingTable | None:
    """Adapt :mod:`com.risk`'s subdistrict ranking (a DataFrame) to a :class:`RankingTable`."""
    # risk.hotspots ranks the areas and adds Gi* (gi_z, hotspot_class) in one call, with the
    # model's permutations and seed, so the classes equal those of /api/hotspots.
    function = getattr(risk, "hotspots", None) or getattr(risk, "rank_areas", None)
    if function is None:
        return None
    frame = function(conn, level="subdistrict", province=province_code)
    return _ranking_table(frame)


def _ranking_table(frame: Any) -> RankingTable:
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


def _suppress_ranking(ranking: RankingTable, hidden: frozenset[str]) -> RankingTable:
    """Blank the figures of hidden areas and rank the others again without gaps (issue 8)."""
    import pandas as pd  # deferred: only public rankings with hidden areas need it

    if not hidden.intersection(ranking.codes):
        return ranking
    frame = pd.DataFrame({
        "subdistrict_code": ranking.codes, "risk_score": ranking.risk_score,
        "rank": ranking.rank, "hotspot_class": ranking.hotspot_class, "gi_z": ranking.gi_z,
        "points": ranking.points,
    })
    return _ranking_table(privacy.suppress_areas(frame, hidden, code_column="subdistrict_code"))


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
        Function (conn, province) -> :class:`RankingTable` for the subdistricts' rank,
        score and hotspot class; computed on request and cached for ``ranking_ttl_s``.
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
        self.ranking_provider = ranking_provider
        self._ranking = _TTLCache(ranking_ttl_s, 32)
        self._ranking_flight = SingleFlight()
        self._counts = _TTLCache(COUNT_CACHE_TTL_S)
        self._extents = _TTLCache(EXTENT_CACHE_TTL_S)
        self._available = _TTLCache(30.0)
        self._small = _TTLCache(30.0)
        self._sources: dict[Any, tuple[RankingTable | None, Source]] = {}
        self._sources_lock = threading.Lock()

    # -- catalogue

    def all_collections(self) -> list[Collection]:
        """Return every registered collection, available or not."""
        return list(self._collections.values())

    def available(self, conn: Connection) -> list[Collection]:
        """Return the collections whose source tables exist in this database."""
        result = []
        for collection in self._collections.values():
            if self._is_available(conn, collection):
                result.append(collection)
        return result

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

    # -- sources

    def context(
        self, conn: Connection, collection: Collection, principal: Principal
    ) -> SourceContext:
        """Return what the collection's SQL needs for ``principal``."""
        ranking = None
        if collection.ranked and self.ranking_provider is not None:
            key = principal.province_code
            ranking = self._ranking.get(key)
            if ranking is None:
                # Issue 11: with a cold cache, concurrent readers wait for one computation.
                ranking = self._ranking_flight.run(
                    key, lambda: self._compute_ranking(conn, key)
                )
            if ranking is not None and privacy.applies_to(principal):
                public_key = ("public", key)
                public = self._ranking.get(public_key)
                if public is None or public[0] is not ranking:
                    # Cached with the ranking it came from, so the source cache keeps it too.
                    public = (ranking, _suppress_ranking(ranking, self.hidden_areas(conn)))
                    self._ranking.put(public_key, public)
                ranking = public[1]
        return SourceContext(
            coarsen=not principal.sees_sensitive,
            sensitive=self.sensitive,
            categories=self.categories,
            ranking=ranking,
        )

    def _compute_ranking(self, conn: Connection, province_code: str | None) -> Any:
        assert self.ranking_provider is not None
        ranking = self.ranking_provider(conn, province_code)
        if ranking is not None:
            self._ranking.put(province_code, ranking)
        return ranking

    def source(self, conn: Connection, collection: Collection, principal: Principal) -> Source:
        """Return the collection's SQL for ``principal`` (built once per kind of principal)."""
        context = self.context(conn, collection, principal)
        # SQLAlchemy expressions are immutable once built: share them between requests.
        key = (collection.id, context.coarsen, id(context.ranking))
        with self._sources_lock:
            built = self._sources.get(key)
        if built is None or built[0] is not context.ranking:
            built = (context.ranking, collection.build(context))
            with self._sources_lock:
                if len(self._sources) > 64:
                    self._sources.clear()
                self._sources[key] = built
        return built[1]

    def conditions(
        self, conn: Connection, collection: Collection, source: Source, principal: Principal,
        query: ItemQuery,
    ) -> list[ColumnElement[Any]]:
        """Return the WHERE conditions for a principal and a query.

        The principal's province restriction, the query's datetime, property and CQL2
        filters, then (public callers only) the small-area suppression, then the bbox.
        """
        conditions = list(source.where)
        if principal.province_code:
            if source.province is None:
                conditions.append(sa.false())
            else:
                conditions.append(source.province == principal.province_code)
        if query.datetime and source.temporal is not None:
            start, end = query.datetime
            if start:
                conditions.append(source.temporal >= start)
            if end:
                conditions.append(source.temporal <= end)
        for queryable, values in query.properties:
            column = source.properties[queryable.property]
            values = tuple(check_range(queryable, column, v) for v in values)
            conditions.append(column == values[0] if len(values) == 1 else column.in_(values))
        if query.cql is not None:
            conditions.append(cql2_condition(query.cql, collection, source, self.categories))
        if source.area_code is not None and privacy.applies_to(principal) \
                and self.small_area_k > 1:
            conditions.append(self._public_areas(conn).condition(source.area_code))
        if query.bbox:
            conditions.append(source.bbox(envelope(*query.bbox)))
        return conditions

    def hidden_areas(self, conn: Connection) -> frozenset[str]:
        """Return the subdistricts public outputs hide (``privacy.hidden_areas``)."""
        return self._public_areas(conn).hidden

    def _public_areas(self, conn: Connection) -> PublicAreas:
        """Return which subdistricts public layers show and hide (issue 8 small-area rule).

        Public (anonymous) point layers leave out the points of the subdistricts
        :func:`com.security.privacy.hidden_areas` hides: 1 to k - 1 points over all
        categories and all time. The set does not depend on the layer's filters, bbox or
        tile, so a client that filters the unfiltered public points itself sees what the
        server's filter shows.
        Points outside any subdistrict are left out too. Cached for 30 s.
        """
        cached = self._small.get("subdistrict")
        if cached is None:
            totals = privacy.area_point_totals(conn, level="subdistrict")
            hidden = privacy.hidden_codes(totals, k=self.small_area_k)
            cached = PublicAreas(shown=frozenset(totals) - hidden, hidden=hidden)
            self._small.put("subdistrict", cached)
        return cached

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
        key = (collection.id, principal.province_code)
        cached = self._counts.get(key)
        if cached is None:
            cached = int(conn.execute(statement).scalar_one())
            self._counts.put(key, cached)
        return cached

    def items(
        self, conn: Connection, collection_id: str, principal: Principal, query: ItemQuery
    ) -> FeaturePage:
        """Return one page of features as GeoJSON texts built by PostGIS.

        Paging is keyset on the collection's key: the ``next`` cursor continues after the
        last key of the page, so following it never repeats or skips a feature even while
        rows are added. ``offset`` is accepted for clients that page by position.

        Raises
        ------
        com.errors.NotFoundError
            Unknown or unavailable collection.
        InvalidQuery
            A filter that does not fit the collection.
        """
        collection = self.get(conn, collection_id)
        source = self.source(conn, collection, principal)
        conditions = self.conditions(conn, collection, source, principal, query)
        matched = query.matched
        if matched is None:
            matched = self.count(conn, collection, source, conditions, principal, query)
        feature = _feature_json(source, collection).label("feature")
        flag = (source.sensitive_flag if source.sensitive_flag is not None else sa.false())
        statement = sa.select(source.key.label("key"), feature, flag.label("sensitive")) \
            .select_from(source.from_).where(*conditions)
        n = query.limit
        if query.before is not None:
            statement = statement.where(source.key < query.before) \
                .order_by(source.key.desc()).limit(n + 1)
            rows = conn.execute(statement).all()
            has_prev = len(rows) > n
            rows = list(reversed(rows[:n]))
            has_next = True
        else:
            if query.after is not None:
                statement = statement.where(source.key > query.after)
            statement = statement.order_by(source.key).offset(query.offset).limit(n + 1)
            rows = conn.execute(statement).all()
            has_next = len(rows) > n
            rows = rows[:n]
            has_prev = query.after is not None or query.offset > 0
        keys = [r.key for r in rows]
        next_cursor = (
            encode_cursor(keys[-1], direction="after", matched=matched)
            if rows and has_next else None
        )
        prev_cursor = prev_offset = None
        if has_prev:
            if query.offset > 0 and query.after is None and query.before is None:
                prev_offset = max(0, query.offset - n)
            elif rows:
                prev_cursor = encode_cursor(keys[0], direction="before", matched=matched)
        return FeaturePage(
            features=[r.feature for r in rows],
            keys=keys,
            number_matched=matched,
            next_cursor=next_cursor,
            prev_cursor=prev_cursor,
            prev_offset=prev_offset,
            sensitive_keys=[r.key for r in rows if r.sensitive],
        )

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
        key: Any = feature_id
        if "\x00" in feature_id or len(feature_id) > 200:
            raise NotFoundError(f"no feature {feature_id[:50]!r} in {collection_id}")
        if collection.key_type == "integer":
            if not re.fullmatch(r"\d{1,18}", feature_id):
                raise NotFoundError(f"no feature {feature_id!r} in {collection_id}")
            key = int(feature_id)
        source = self.source(conn, collection, principal)
        conditions = self.conditions(conn, collection, source, principal, ItemQuery())
        flag = source.sensitive_flag if source.sensitive_flag is not None else sa.false()
        row = conn.execute(
            sa.select(_feature_json(source, collection).label("feature"), flag.label("s"))
            .select_from(source.from_)
            .where(*conditions, source.key == key)
        ).first()
        if row is None:
            raise NotFoundError(f"no feature {feature_id!r} in {collection_id}")
        return row.feature, bool(row.s)

    # -- metadata

    def extent(self, conn: Connection, collection: Collection, principal: Principal) -> Extent:
        """Return the bbox (and date range) of what ``principal`` may see; cached a minute."""
        cache_key = (collection.id, principal.province_code, principal.sees_sensitive,
                     privacy.applies_to(principal))
        cached = self._extents.get(cache_key)
        if cached is not None:
            return cached
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
        json_types = {"string": {"type": "string"}, "integer": {"type": "integer"},
                      "number": {"type": "number"}, "boolean": {"type": "boolean"},
                      "date": {"type": "string", "format": "date"}}
        properties: dict[str, Any] = {}
        for name, q in collection.queryables.items():
            schema: dict[str, Any] = {"title": f"{q.title_th} ({q.title_en})",
                                      **json_types[q.type]}
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

    # -- exports

    def export_rows(
        self, conn: Connection, collection_id: str, principal: Principal, query: ItemQuery,
        *, max_features: int = MAX_EXPORT_FEATURES,
    ) -> ExportData:
        """Return the whole selection (no paging) as rows with WKB geometries, for exports.

        Raises
        ------
        InvalidQuery
            When the selection is larger than ``max_features``.
        """
        collection = self.get(conn, collection_id)
        source = self.source(conn, collection, principal)
        conditions = self.conditions(conn, collection, source, principal, query)
        names = list(collection.property_types)
        flag = source.sensitive_flag if source.sensitive_flag is not None else sa.false()
        statement = (
            sa.select(
                source.key.label("__key"),
                *[source.properties[n].label(n) for n in names],
                sa.func.ST_AsBinary(source.geom).label("__wkb"),
                flag.label("__sensitive"),
            )
            .select_from(source.from_)
            .where(*conditions)
            .order_by(source.key)
            .limit(max_features + 1)
        )
        rows = conn.execute(statement).all()
        if len(rows) > max_features:
            raise InvalidQuery(
                f"the export would hold more than {max_features:,} features: narrow it with "
                "bbox, datetime or a property filter"
            )
        return ExportData(
            collection=collection,
            columns=["id", *names],
            types={"id": collection.key_type, **collection.property_types},
            rows=[(r[0], *r[1:-2]) for r in rows],
            wkb=[r[-2] for r in rows],
            sensitive_keys=[r[0] for r in rows if r[-1]],
        )

    # -- vector tiles

    def tile(
        self, conn: Connection, collection_id: str, z: int, x: int, y: int,
        principal: Principal, query: ItemQuery | None = None,
    ) -> bytes:
        """Return a Mapbox Vector Tile of the collection (ST_AsMVT), layer named by its id.

        Points are aggregated on a 64 x 64 grid per tile below zoom 10, and in any tile that
        would otherwise hold more than 20,000 points; aggregated features carry
        ``point_count`` and ``severity_max``. Polygons are simplified to the tile's pixel size.

        Raises
        ------
        com.errors.NotFoundError
            Unknown collection or a tile outside the tile matrix.
        """
        if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
            raise NotFoundError(f"no tile {z}/{x}/{y}: z must be 0-{MAX_ZOOM} and x, y 0-2^z-1")
        collection = self.get(conn, collection_id)
        query = query or ItemQuery()
        source = self.source(conn, collection, principal)
        conditions = self.conditions(conn, collection, source, principal, replace(query, bbox=None))
        size = 2 * WEB_MERCATOR_HALF / 2**z
        tile_env = sa.func.ST_TileEnvelope(z, x, y)
        # Envelope in EPSG:4326 with the tile buffer, for the index-friendly bbox test.
        margin = size * TILE_BUFFER / TILE_EXTENT
        env4326 = sa.func.ST_Transform(sa.func.ST_Expand(tile_env, margin), 4326)
        conditions.append(source.bbox(env4326))
        geom3857 = sa.func.ST_Transform(source.geom, 3857)
        layer = collection.id
        if collection.point_tiles and z >= CLUSTER_BELOW_ZOOM:
            raw = self._raw_tile(conn, source, conditions, collection, geom3857, tile_env, layer)
            if raw is not None:
                return raw
        if collection.point_tiles:
            return self._cluster_tile(conn, source, conditions, geom3857, tile_env, layer, size)
        return self._polygon_tile(conn, source, conditions, collection, geom3857, tile_env,
                                  layer, size)

    def _mvt_columns(self, source: Source, collection: Collection) -> list[ColumnElement[Any]]:
        # MVT values must be strings, numbers or booleans: dates travel as ISO text.
        columns: list[ColumnElement[Any]] = []
        for name, kind in collection.property_types.items():
            expr = source.properties[name]
            columns.append((sa.cast(expr, sa.Text) if kind == "date" else expr).label(name))
        return columns

    def _raw_tile(
        self, conn: Connection, source: Source, conditions: list[ColumnElement[Any]],
        collection: Collection, geom3857: ColumnElement[Any], tile_env: ColumnElement[Any],
        layer: str,
    ) -> bytes | None:
        mvt_geom = sa.func.ST_AsMVTGeom(geom3857, tile_env, TILE_EXTENT, TILE_BUFFER, True)
        inner = (
            sa.select(
                source.key.label("id"), mvt_geom.label("geom"),
                *self._mvt_columns(source, collection),
            )
            .select_from(source.from_)
            .where(*conditions, source.geom.is_not(None))
            .limit(MAX_TILE_FEATURES + 1)
            .subquery("t")
        )
        row = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.ST_AsMVT(sa.literal_column("t"), layer, TILE_EXTENT, "geom", "id"),
            ).select_from(inner).where(inner.c.geom.is_not(None))
        ).one()
        if row[0] > MAX_TILE_FEATURES:
            return None
        return bytes(row[1] or b"")

    def _cluster_tile(
        self, conn: Connection, source: Source, conditions: list[ColumnElement[Any]],
        geom3857: ColumnElement[Any], tile_env: ColumnElement[Any], layer: str, size: float,
    ) -> bytes:
        cell = size / CLUSTER_CELLS_PER_TILE
        snapped = sa.func.ST_SnapToGrid(geom3857, cell)
        severity = source.properties.get("severity")
        incidents = source.properties.get("incident_count")
        grouped = (
            sa.select(
                sa.func.ST_Centroid(sa.func.ST_Collect(geom3857)).label("center"),
                sa.func.count().label("point_count"),
                (sa.func.max(severity) if severity is not None else sa.null()).label(
                    "severity_max"),
                (sa.func.sum(incidents) if incidents is not None else sa.func.count()).label(
                    "incident_count"),
            )
            .select_from(source.from_)
            .where(*conditions, source.geom.is_not(None))
            .group_by(snapped)
            .subquery("g")
        )
        inner = sa.select(
            sa.func.ST_AsMVTGeom(grouped.c.center, tile_env, TILE_EXTENT, TILE_BUFFER, True)
            .label("geom"),
            grouped.c.point_count,
            grouped.c.severity_max,
            sa.cast(grouped.c.incident_count, sa.BigInteger).label("incident_count"),
            sa.literal(True).label("cluster"),
        ).subquery("t")
        data = conn.execute(
            sa.select(sa.func.ST_AsMVT(sa.literal_column("t"), layer, TILE_EXTENT, "geom"))
            .select_from(inner).where(inner.c.geom.is_not(None))
        ).scalar()
        return bytes(data or b"")

    def _polygon_tile(
        self, conn: Connection, source: Source, conditions: list[ColumnElement[Any]],
        collection: Collection, geom3857: ColumnElement[Any], tile_env: ColumnElement[Any],
        layer: str, size: float,
    ) -> bytes:
        pixel = size / 256
        simplified = sa.func.ST_SimplifyPreserveTopology(geom3857, pixel / 2)
        mvt_geom = sa.func.ST_AsMVTGeom(simplified, tile_env, TILE_EXTENT, TILE_BUFFER, True)
        key_is_int = collection.key_type == "integer"
        inner = (
            sa.select(
                *( [source.key.label("id")] if key_is_int else [] ),
                mvt_geom.label("geom"),
                *self._mvt_columns(source, collection),
            )
            .select_from(source.from_)
            .where(*conditions)
            .subquery("t")
        )
        args: list[Any] = [sa.literal_column("t"), layer, TILE_EXTENT, "geom"]
        if key_is_int:
            args.append("id")
        data = conn.execute(
            sa.select(sa.func.ST_AsMVT(*args)).select_from(inner).where(inner.c.geom.is_not(None))
        ).scalar()
        return bytes(data or b"")

    def tilejson_layers(self, collection: Collection) -> list[dict[str, Any]]:
        """Return the TileJSON ``vector_layers`` entry of the collection."""
        kinds = {"string": "String", "integer": "Number", "number": "Number", "date": "String",
                 "boolean": "Boolean"}
        fields = {name: kinds[t] for name, t in collection.property_types.items()}
        if collection.point_tiles:
            fields.update({"point_count": "Number", "severity_max": "Number",
                           "cluster": "Boolean"})
        return [{
            "id": collection.id,
            "description": f"{collection.title}. Below zoom {CLUSTER_BELOW_ZOOM} (or above "
            f"{MAX_TILE_FEATURES:,} points in a tile) points are aggregated: cluster=true, "
            "point_count, severity_max." if collection.point_tiles else collection.title,
            "minzoom": 0,
            "maxzoom": 16,
            "fields": fields,
        }]


@dataclass(frozen=True)
class PublicAreas:
    """Subdistricts with points that public layers show and hide."""

    shown: frozenset[str]
    hidden: frozenset[str]

    def condition(self, area_code: ColumnElement[Any]) -> ColumnElement[Any]:
        """Return the SQL test "this point's subdistrict may be shown".

        The smaller of the two sets is sent. A short list is a plain ``<> ALL``/``= ANY``
        array; a long one is a JSONB object tested with ``?`` (a binary search per row),
        because PostgreSQL's planner estimates a long constant array element by element
        (27 ms of planning for 7,000 codes) while it does not look inside a JSONB value.
        """
        use_shown = len(self.shown) <= len(self.hidden)
        codes = sorted(self.shown if use_shown else self.hidden)
        if use_shown and not codes:
            return sa.false()
        if not codes:
            return area_code.is_not(None)
        if len(codes) <= 64:
            array = sa.bindparam("public_areas", codes, type_=ARRAY(sa.Text))
            test = area_code == sa.any_(array) if use_shown else area_code != sa.all_(array)
        else:
            lookup = sa.bindparam("public_areas", dict.fromkeys(codes, 1), type_=JSONB)
            test = lookup.has_key(area_code)
            test = test if use_shown else sa.not_(test)
        return sa.and_(area_code.is_not(None), test)


@dataclass
class ExportData:
    """A whole selection for exports: typed rows plus WKB geometries."""

    collection: Collection
    columns: list[str]
    types: dict[str, str]
    rows: list[tuple[Any, ...]]
    wkb: list[bytes | None]
    sensitive_keys: list[Any] = field(default_factory=list)

    @property
    def keys(self) -> list[Any]:
        """Return the feature ids in export order."""
        return [r[0] for r in self.rows]


def envelope(west: float, south: float, east: float, north: float) -> ColumnElement[Any]:
    """Return ``ST_MakeEnvelope`` in EPSG:4326 with bound values."""
    return sa.func.ST_MakeEnvelope(
        sa.bindparam(None, west, sa.Float), sa.bindparam(None, south, sa.Float),
        sa.bindparam(None, east, sa.Float), sa.bindparam(None, north, sa.Float), 4326,
    )


def _feature_json(source: Source, collection: Collection) -> ColumnElement[Any]:
    # Property names are code constants checked against _NAME in Collection.__post_init__;
    # splicing them as SQL string literals avoids an untyped bind parameter per name, which
    # json_build_object (a variadic "any" function) cannot type.
    pairs: list[Any] = []
    for name in collection.property_types:
        pairs += [sa.literal_column(f"'{name}'"), source.properties[name]]
    geometry = sa.cast(sa.func.ST_AsGeoJSON(source.geom, 7), JSON)
    return sa.cast(
        sa.func.json_build_object(
            sa.literal_column("'type'"), sa.literal_column("'Feature'"),
            sa.literal_column("'id'"), source.key,
            sa.literal_column("'geometry'"), geometry,
            sa.literal_column("'properties'"), sa.func.json_build_object(*pairs),
        ),
        sa.Text,
    )


#: Sites of a plan get the integer id ``plan_id * PLAN_ID_FACTOR + order`` (stable, sortable).
PLAN_ID_FACTOR = 100_000
#: Target areas get ``target_list_id * LIST_ID_FACTOR + area code`` (codes have 4-6 digits).
LIST_ID_FACTOR = 10_000_000


def _cctv_sites(ctx: SourceContext) -> Source:
    from com.db.tables_siting import cctv_plans as plans

    feature = (
        sa.func.jsonb_array_elements(plans.c.result["features"])
        .table_valued(sa.column("value", JSONB))
        .lateral("site")
    )
    value = feature.c.value
    props = value["properties"]
    order = sa.cast(props["order"].astext, sa.Integer)
    subdistrict = props["subdistrict_code"].astext
    exact = sa.func.ST_SetSRID(sa.func.ST_GeomFromGeoJSON(value["geometry"].astext), 4326)
    from_: sa.FromClause = plans.join(feature, sa.true())
    if ctx.coarsen and ctx.sensitive:
        # Candidate sites can be risk points themselves: a site on a point of a sensitive
        # category, or whose circle holds one, is shown at its subdistrict's representative
        # point (the rule of com.siting.site_is_sensitive, which the CCTV API and the map use).
        sub = Subdistrict.__table__.alias("site_rep")
        from_ = from_.outerjoin(sub, sub.c.code == subdistrict)
        hidden = sa.bindparam("site_sensitive", list(ctx.sensitive), type_=ARRAY(sa.Text))
        covers_sensitive = sa.or_(
            sa.func.coalesce(sa.cast(props["categories"], JSONB).has_any(hidden), sa.false()),
            sa.func.coalesce(
                sa.cast(props["categories_in_radius"], JSONB).has_any(hidden), sa.false()),
            sa.func.coalesce(props["site_category"].astext == sa.any_(hidden), sa.false()),
        )
        geom: ColumnElement[Any] = sa.case((covers_sensitive, sub.c.rep_point), else_=exact)
        coarsened: ColumnElement[Any] = covers_sensitive
    else:
        geom, coarsened = exact, sa.false()
    return Source(
        from_=from_,
        key=plans.c.id * PLAN_ID_FACTOR + order,
        geom=geom,
        properties={
            "plan_id": plans.c.id,
            "plan_name": plans.c.name,
            "order": order,
            "site_id": props["site_id"].astext,
            "gain": sa.cast(props["gain"].astext, sa.Float),
            "cumulative_weight": sa.cast(props["cumulative_weight"].astext, sa.Float),
            "share_covered": sa.cast(props["share_covered"].astext, sa.Float),
            "points_in_radius": sa.cast(props["points_in_radius"].astext, sa.Integer),
            "radius_m": sa.cast(plans.c.result["properties"]["radius_m"].astext, sa.Float),
            "subdistrict_code": subdistrict,
            "subdistrict_th": props["subdistrict_th"].astext,
            "province_code": plans.c.province_code,
            "district_code": plans.c.district_code,
            "method": plans.c.method,
            "created_at": sa.cast(plans.c.created_at, sa.Date),
            "location_coarsened": coarsened,
        },
        province=plans.c.province_code,
        bbox=lambda envelope: geom.op("&&")(envelope),
        where=(props["kind"].astext == "site",),
    )


def _target_areas(ctx: SourceContext) -> Source:
    from com.db.tables_risk import target_areas as areas
    from com.db.tables_risk import target_lists as lists

    s = Subdistrict.__table__.alias("ta_sub")
    d = District.__table__.alias("ta_dist")
    from_ = (
        areas.join(lists, lists.c.id == areas.c.target_list_id)
        .outerjoin(s, sa.and_(lists.c.level == "subdistrict", s.c.code == areas.c.area_code))
        .outerjoin(d, sa.and_(lists.c.level == "district", d.c.code == areas.c.area_code))
    )
    geom = sa.func.coalesce(s.c.geom, d.c.geom)
    return Source(
        from_=from_,
        key=lists.c.id * LIST_ID_FACTOR + sa.cast(areas.c.area_code, sa.BigInteger),
        geom=geom,
        properties={
            "target_list_id": lists.c.id,
            "fiscal_year_be": lists.c.fiscal_year_be,
            "level": lists.c.level,
            "area_code": areas.c.area_code,
            "name_th": sa.func.coalesce(s.c.name_th, d.c.name_th),
            "name_en": sa.func.coalesce(s.c.name_en, d.c.name_en),
            "province_code": lists.c.province_code,
            "rank": areas.c.rank,
            "score": areas.c.score,
            "declared_by": lists.c.declared_by,
            "declared_at": sa.cast(lists.c.declared_at, sa.Date),
            "method": lists.c.method,
        },
        province=lists.c.province_code,
        bbox=lambda envelope: sa.func.ST_Intersects(geom, envelope),
    )


def optional_collections() -> list[Collection]:
    """Return collections whose sources other domains add: CCTV plans and target lists.

    Each one is served only while its tables exist in the database
    (``Collection.requires``); a database without them answers 404 for the collection.
    """
    province = _q("province", "province_code", "string", "จังหวัด", "Province code")
    province_code = _q("province_code", "province_code", "string", "จังหวัด", "Province code")
    return [
        Collection(
            id="cctv-sites",
            title_th="จุดติดตั้งกล้องวงจรปิดที่เสนอ",
            title_en="Proposed CCTV sites",
            description="Sites of the saved CCTV plans, in order of marginal gain (order 1 "
            "covers the most risk). A site covering points of a sensitive category is shown "
            "at its subdistrict's representative point unless the caller holds the "
            "'sensitive' permission.",
            key_type="integer",
            geometry_type="Point",
            build=_cctv_sites,
            property_types={
                "plan_id": "integer", "plan_name": "string", "order": "integer",
                "site_id": "string", "gain": "number", "cumulative_weight": "number",
                "share_covered": "number", "points_in_radius": "integer", "radius_m": "number",
                "subdistrict_code": "string", "subdistrict_th": "string",
                "province_code": "string", "district_code": "string", "method": "string",
                "created_at": "date", "location_coarsened": "boolean",
            },
            queryables={
                "plan_id": _q("plan_id", "plan_id", "integer", "แผน", "Plan id"),
                "order": _q("order", "order", "integer", "ลำดับ", "Order of the site"),
                "province": province,
                "province_code": province_code,
                "subdistrict": _q("subdistrict", "subdistrict_code", "string", "ตำบล",
                                  "Subdistrict code"),
                "subdistrict_code": _q("subdistrict_code", "subdistrict_code", "string",
                                       "ตำบล", "Subdistrict code"),
            },
            table="cctv_plans",
            requires=("cctv_plans",),
            sensitive=True,
        ),
        Collection(
            id="target-areas",
            title_th="พื้นที่เป้าหมาย",
            title_en="Target areas",
            description="Areas of the declared target lists (บัญชีเป้าหมาย), one feature per "
            "area and fiscal year (Buddhist era), with the rank and score they had when the "
            "list was declared.",
            key_type="integer",
            geometry_type="MultiPolygon",
            build=_target_areas,
            property_types={
                "target_list_id": "integer", "fiscal_year_be": "integer", "level": "string",
                "area_code": "string", "name_th": "string", "name_en": "string",
                "province_code": "string", "rank": "integer", "score": "number",
                "declared_by": "string", "declared_at": "date", "method": "string",
            },
            queryables={
                "fiscal_year_be": _q("fiscal_year_be", "fiscal_year_be", "integer",
                                     "ปีงบประมาณ (พ.ศ.)", "Fiscal year (BE)"),
                "target_list_id": _q("target_list_id", "target_list_id", "integer",
                                     "บัญชีเป้าหมาย", "Target list id"),
                "level": _q("level", "level", "string", "ระดับพื้นที่", "Area level",
                            enum=("subdistrict", "district")),
                "area_code": _q("area_code", "area_code", "string", "รหัสพื้นที่", "Area code"),
                "rank": _q("rank", "rank", "integer", "อันดับ", "Rank"),
                "province": province,
                "province_code": province_code,
            },
            table="target_areas",
            requires=("target_areas", "target_lists"),
            point_tiles=False,
        ),
    ]


def timestamp() -> str:
    """Return the current time as RFC 3339 UTC (``timeStamp`` of feature collections)."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def interval_text(interval: tuple[date | None, date | None]) -> list[str | None]:
    """Return a temporal interval as RFC 3339 strings (dates at Thai midnight)."""
    def one(d: date | None, end: bool) -> str | None:
        if d is None:
            return None
        moment = datetime.combine(d + timedelta(days=1) if end else d, datetime.min.time(),
                                  THAI_TZ)
        if end:
            moment -= timedelta(seconds=1)
        return moment.isoformat()

    return [one(interval[0], False), one(interval[1], True)]
