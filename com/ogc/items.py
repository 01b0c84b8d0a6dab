"""Reading a selection: pages of GeoJSON items, single features and whole exports."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSON
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from com.errors import InvalidQuery, NotFoundError
from com.io.selection import ExportData
from com.ogc.collections import Collection
from com.ogc.query import ItemQuery, encode_cursor
from com.ogc.results import FeaturePage
from com.ogc.sources import Source

#: Largest selection one export returns; narrow it with bbox, datetime or a property filter.
MAX_EXPORT_FEATURES = 250_000


def feature_json(source: Source, collection: Collection) -> ColumnElement[Any]:
    """Return the SQL that builds each row's GeoJSON Feature text in PostGIS."""
    # Property names are code constants checked against _NAME in Collection.__post_init__;
    # splicing them as SQL string literals avoids an untyped bind parameter per name, which
    # json_build_object (a variadic "any" function) cannot type.
    pairs: list[Any] = []
    for name, kind in collection.property_types.items():
        value = source.properties[name]
        pairs += [sa.literal_column(f"'{name}'"),
                  _number_json(value) if kind == "number" else value]
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


def _number_json(value: ColumnElement[Any]) -> ColumnElement[Any]:
    """Return a number property as JSON that reads as a number with a fraction: 0.0, not 0.

    Clients that type a field from the values they see first (GDAL before it read the
    collection's schema, so QGIS on Debian 12) made a whole-looking risk score of 0 an
    integer field and cut every later 9.34 to 9. Other values are written as PostgreSQL
    writes them (the shortest exact form).
    """
    whole = sa.and_(value == sa.func.trunc(value), sa.func.abs(value) < 1e15)
    return sa.case((whole, sa.func.to_json(sa.cast(value, sa.Numeric(17, 1)))),
                   else_=sa.func.to_json(value))


def _sensitive_flag(source: Source) -> ColumnElement[Any]:
    return source.sensitive_flag if source.sensitive_flag is not None else sa.false()


def read_page(
    conn: Connection, collection: Collection, source: Source,
    conditions: list[ColumnElement[Any]], query: ItemQuery, *, matched: int | None,
) -> FeaturePage:
    """Return one page of the selection as GeoJSON texts built by PostGIS.

    Paging is keyset on the collection's key: the ``next`` cursor continues after the
    last key of the page, so following it never repeats or skips a feature even while
    rows are added. ``offset`` is accepted for clients that page by position.
    """
    feature = feature_json(source, collection).label("feature")
    statement = sa.select(source.key.label("key"), feature,
                          _sensitive_flag(source).label("sensitive")) \
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


def feature_key(collection: Collection, feature_id: str) -> Any:
    """Return the key a feature id names, or raise NotFoundError for an impossible id."""
    if "\x00" in feature_id or len(feature_id) > 200:
        raise NotFoundError(f"no feature {feature_id[:50]!r} in {collection.id}")
    if collection.key_type == "integer":
        if not re.fullmatch(r"\d{1,18}", feature_id):
            raise NotFoundError(f"no feature {feature_id!r} in {collection.id}")
        return int(feature_id)
    return feature_id


def read_feature(
    conn: Connection, collection: Collection, source: Source,
    conditions: list[ColumnElement[Any]], key: Any,
) -> tuple[str, bool] | None:
    """Return one feature's GeoJSON text and its sensitive flag, or None when not selected."""
    row = conn.execute(
        sa.select(feature_json(source, collection).label("feature"),
                  _sensitive_flag(source).label("s"))
        .select_from(source.from_)
        .where(*conditions, source.key == key)
    ).first()
    if row is None:
        return None
    return row.feature, bool(row.s)


def read_export_rows(
    conn: Connection, collection: Collection, source: Source,
    conditions: list[ColumnElement[Any]], *, max_features: int = MAX_EXPORT_FEATURES,
) -> ExportData:
    """Return the whole selection (no paging) as rows with WKB geometries, for exports.

    Raises
    ------
    com.errors.InvalidQuery
        When the selection is larger than ``max_features``.
    """
    names = list(collection.property_types)
    statement = (
        sa.select(
            source.key.label("__key"),
            *[source.properties[n].label(n) for n in names],
            sa.func.ST_AsBinary(source.geom).label("__wkb"),
            _sensitive_flag(source).label("__sensitive"),
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
        collection_id=collection.id,
        columns=["id", *names],
        types={"id": collection.key_type, **collection.property_types},
        rows=[(r[0], *r[1:-2]) for r in rows],
        wkb=[r[-2] for r in rows],
        sensitive_keys=[r[0] for r in rows if r[-1]],
    )
