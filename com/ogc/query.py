"""Query parameters of an items request, validated into a typed :class:`ItemQuery`."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from com.config.regions import province_codes_of
from com.config.severity import Category
from com.db.integers import BIGINT
from com.errors import InvalidQuery, ValidationError
from com.ogc.collections import Collection, Queryable
from com.ogc.cql2 import parse_cql2
from com.ogc.values import category_filter_key, coerce_value, parse_instant, parse_number
from com.text.thai import to_arabic_digits

#: Items per page when the client gives no ``limit``, and the largest page served. A larger
#: ``limit`` is capped silently, as OGC API - Features Part 1 (/req/core/fc-limit-response-1)
#: asks, rather than refused. Both are declared in the OpenAPI document (``default``,
#: ``maximum`` of the ``limit`` parameter) so that GDAL/QGIS page at full size (issue 13: with
#: neither declared GDAL fetched 10 features a request); 10,000 is tipg's maximum too.
DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000

ITEM_PARAMETERS = (
    "bbox", "datetime", "limit", "offset", "cursor", "filter", "filter-lang", "crs", "bbox-crs",
)
#: The queryable a ``region`` parameter filters: the collections with a province accept one.
REGION_QUERYABLE = "province"
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
    west, south, east, north = (parse_number(p, "bbox") for p in parts)
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
        day = parse_instant(text)
        return (day, day)
    parts = text.split("/")
    if len(parts) != 2:
        raise InvalidQuery(f"datetime: {text!r} has more than one '/'")
    start_text, end_text = (p.strip() for p in parts)
    start = None if start_text in ("", "..") else parse_instant(start_text)
    end = None if end_text in ("", "..") else parse_instant(end_text)
    if start is None and end is None:
        raise InvalidQuery("datetime: an interval needs at least one end ('../..' is open on both)")
    if start and end and start > end:
        raise InvalidQuery(f"datetime: the start {start} is after the end {end}")
    return (start, end)


def parse_limit(text: str | None) -> int:
    """Return the page size: by default :data:`DEFAULT_LIMIT`, capped at :data:`MAX_LIMIT`."""
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
    regional = ("region",) if REGION_QUERYABLE in collection.queryables else ()
    seen = _single_values(
        params, {*ITEM_PARAMETERS, *collection.queryables, *regional, *allowed_extra},
    )
    for name in ("crs", "bbox-crs"):
        if name in seen and seen[name].strip() not in CRS84_NAMES:
            raise InvalidQuery(f"{name}: only {CRS84} (WGS84 longitude, latitude) is served")
    if "datetime" in seen and not collection.temporal:
        raise InvalidQuery(f"{collection.id} has no time: datetime cannot be used")
    properties = _property_filters(collection, seen, categories)
    cql_text = seen.get("filter")
    cql = _cql_filter(seen)
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
        properties=properties,
        cql=cql,
        cql_text=cql_text,
        limit=parse_limit(seen.get("limit")),
        offset=parse_offset(seen.get("offset")),
        after=after,
        before=before,
        matched=matched,
    )


def _single_values(params: Sequence[tuple[str, str]], allowed: set[str]) -> dict[str, str]:
    """Return the parameters by name, refusing NULs, unknown names and repeats."""
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
    return seen


def _property_filters(
    collection: Collection, seen: Mapping[str, str], categories: Mapping[str, Category] | None,
) -> tuple[tuple[Queryable, tuple[Any, ...]], ...]:
    """Return the queryables given as parameters with their values in the queryable's type."""
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
                value = category_filter_key(value, categories)
            values.append(value)
        properties.append((queryable, tuple(values)))
    region = _region_filter(collection, seen)
    if region is not None:
        properties.append(region)
    return tuple(properties)


def _region_filter(
    collection: Collection, seen: Mapping[str, str],
) -> tuple[Queryable, tuple[Any, ...]] | None:
    """Return ``region=`` as a filter on the province queryable (None without one).

    A region is a set of provinces (com/config/regions.toml); the one rule that turns it into
    provinces (``province_codes_of``) also refuses a ``province`` outside the region given
    with it, so ``region`` and ``province`` together narrow rather than contradict.
    """
    name = seen.get("region", "").strip()
    if not name:
        return None
    try:
        provinces = province_codes_of(region=name)
        for code in (seen.get(REGION_QUERYABLE) or "").split(","):
            if code.strip():
                province_codes_of(region=name, province=code)
    except ValidationError as exc:
        raise InvalidQuery(f"region: {exc}") from None
    return (collection.queryables[REGION_QUERYABLE], tuple(provinces or ()))


def _cql_filter(seen: Mapping[str, str]) -> Any:
    """Return the parsed ``filter`` (None without one); only cql2-text is understood."""
    cql_text = seen.get("filter")
    if cql_text is not None:
        lang = seen.get("filter-lang", "cql2-text")
        if lang != "cql2-text":
            raise InvalidQuery(f"filter-lang {lang!r} is not supported; use cql2-text")
        return parse_cql2(cql_text)
    if "filter-lang" in seen:
        raise InvalidQuery("filter-lang given without filter")
    return None
