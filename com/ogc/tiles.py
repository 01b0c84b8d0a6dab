"""Mapbox vector tiles of a selection (ST_AsMVT, points grouped when dense) and TileJSON."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

from com.errors import InvalidQuery, NotFoundError
from com.ogc.collections import Collection
from com.ogc.results import Extent
from com.ogc.sources import Source

#: Vector tiles: below this zoom points are aggregated on a grid; a tile never holds more
#: than MAX_TILE_FEATURES raw points (a denser tile is aggregated instead).
CLUSTER_BELOW_ZOOM = 10
MAX_TILE_FEATURES = 20_000
TILE_EXTENT = 4096
TILE_BUFFER = 64
#: Aggregation grid: this many cells across a tile (64 cells = 64 px at 4096/256 scale).
CLUSTER_CELLS_PER_TILE = 64
MAX_ZOOM = 22
WEB_MERCATOR_HALF = 20037508.342789244
#: Items parameters that make no sense for a tile (its address is the box and the page).
NOT_FOR_TILES = ("bbox", "limit", "offset", "cursor", "f")
#: Bounds of the TileJSON document while a collection is empty (Thailand).
THAILAND_BOUNDS = [97.3, 5.6, 105.7, 20.5]


def refuse_paging(params: Sequence[tuple[str, str]]) -> None:
    """Raise InvalidQuery when an items parameter that does not apply to tiles is given."""
    names = {name for name, _ in params}
    for name in NOT_FOR_TILES:
        if name in names:
            raise InvalidQuery(f"{name} does not apply to tiles")


def check_address(z: int, x: int, y: int) -> None:
    """Raise NotFoundError for a tile outside the XYZ tile matrix."""
    if not (0 <= z <= MAX_ZOOM and 0 <= x < 2**z and 0 <= y < 2**z):
        raise NotFoundError(f"no tile {z}/{x}/{y}: z must be 0-{MAX_ZOOM} and x, y 0-2^z-1")


# The tile address and the sizes derived from it are bound parameters, so one statement per
# collection and principal serves every tile (com.ogc.tile_cache keeps them compiled).
_Z = sa.bindparam("tile_z", type_=sa.Integer)
_X = sa.bindparam("tile_x", type_=sa.Integer)
_Y = sa.bindparam("tile_y", type_=sa.Integer)
_MARGIN = sa.bindparam("tile_margin", type_=sa.Float)
_CELL = sa.bindparam("tile_cell", type_=sa.Float)
_PIXEL = sa.bindparam("tile_pixel", type_=sa.Float)


@dataclass(frozen=True)
class TileStatements:
    """The statements of one collection's tiles for one selection, the address left unbound.

    ``raw`` (point layers from zoom 10) returns the feature count and the MVT, ``cluster``
    (point layers below zoom 10, or a raw tile over ``MAX_TILE_FEATURES``) and ``polygon``
    the MVT; execute them with :func:`tile_parameters`.
    """

    raw: sa.Select[Any] | None
    cluster: sa.Select[Any] | None
    polygon: sa.Select[Any] | None


def tile_parameters(z: int, x: int, y: int) -> dict[str, Any]:
    """Return the bound values of :class:`TileStatements` for tile z/x/y."""
    size = 2 * WEB_MERCATOR_HALF / 2**z
    return {
        "tile_z": z, "tile_x": x, "tile_y": y,
        "tile_margin": size * TILE_BUFFER / TILE_EXTENT,
        "tile_cell": size / CLUSTER_CELLS_PER_TILE,
        "tile_pixel": size / 256,
    }


def tile_statements(
    collection: Collection, source: Source, conditions: list[ColumnElement[Any]],
) -> TileStatements:
    """Return the tile statements of a selection (``conditions`` without any bbox test)."""
    tile_env = sa.func.ST_TileEnvelope(_Z, _X, _Y)
    # Envelope in EPSG:4326 with the tile buffer, for the index-friendly bbox test.
    env4326 = sa.func.ST_Transform(sa.func.ST_Expand(tile_env, _MARGIN), 4326)
    conditions = [*conditions, source.bbox(env4326)]
    geom3857 = sa.func.ST_Transform(source.geom, 3857)
    layer = collection.id
    if not collection.point_tiles:
        return TileStatements(None, None, _polygon_tile(
            source, conditions, collection, geom3857, tile_env, layer))
    return TileStatements(
        _raw_tile(source, conditions, collection, geom3857, tile_env, layer),
        _cluster_tile(source, conditions, geom3857, tile_env, layer),
        None,
    )


def run_tile(conn: Connection, statements: TileStatements, z: int, x: int, y: int) -> bytes:
    """Execute the statements for tile z/x/y and return its MVT (one query per tile).

    Points are aggregated on a 64 x 64 grid per tile below zoom 10, and in any tile that
    would otherwise hold more than 20,000 points (then a second query); aggregated features
    carry ``point_count`` and ``severity_max``. Polygons are simplified to the tile's pixel
    size.
    """
    params = tile_parameters(z, x, y)
    if statements.polygon is not None:
        return bytes(conn.execute(statements.polygon, params).scalar() or b"")
    if statements.raw is not None and z >= CLUSTER_BELOW_ZOOM:
        count, data = conn.execute(statements.raw, params).one()
        if count <= MAX_TILE_FEATURES:
            return bytes(data or b"")
    assert statements.cluster is not None  # a point layer has both statements
    return bytes(conn.execute(statements.cluster, params).scalar() or b"")


def render_tile(
    conn: Connection, collection: Collection, source: Source,
    conditions: list[ColumnElement[Any]], z: int, x: int, y: int,
) -> bytes:
    """Return the MVT of the selection in tile z/x/y, layer named by the collection's id.

    See :func:`run_tile`. ``conditions`` must not hold a bbox test: the tile adds its own.
    """
    return run_tile(conn, tile_statements(collection, source, conditions), z, x, y)


def _mvt_columns(source: Source, collection: Collection) -> list[ColumnElement[Any]]:
    # MVT values must be strings, numbers or booleans: dates travel as ISO text.
    columns: list[ColumnElement[Any]] = []
    for name, kind in collection.property_types.items():
        expr = source.properties[name]
        columns.append((sa.cast(expr, sa.Text) if kind == "date" else expr).label(name))
    return columns


def _raw_tile(
    source: Source, conditions: list[ColumnElement[Any]], collection: Collection,
    geom3857: ColumnElement[Any], tile_env: ColumnElement[Any], layer: str,
) -> sa.Select[Any]:
    mvt_geom = sa.func.ST_AsMVTGeom(geom3857, tile_env, TILE_EXTENT, TILE_BUFFER, True)
    inner = (
        sa.select(
            source.key.label("id"), mvt_geom.label("geom"),
            *_mvt_columns(source, collection),
        )
        .select_from(source.from_)
        .where(*conditions, source.geom.is_not(None))
        .limit(MAX_TILE_FEATURES + 1)
        .subquery("t")
    )
    return sa.select(
        sa.func.count(),
        sa.func.ST_AsMVT(sa.literal_column("t"), layer, TILE_EXTENT, "geom", "id"),
    ).select_from(inner).where(inner.c.geom.is_not(None))


def _cluster_tile(
    source: Source, conditions: list[ColumnElement[Any]], geom3857: ColumnElement[Any],
    tile_env: ColumnElement[Any], layer: str,
) -> sa.Select[Any]:
    snapped = sa.func.ST_SnapToGrid(geom3857, _CELL)
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
    return sa.select(sa.func.ST_AsMVT(sa.literal_column("t"), layer, TILE_EXTENT, "geom")) \
        .select_from(inner).where(inner.c.geom.is_not(None))


def _polygon_tile(
    source: Source, conditions: list[ColumnElement[Any]], collection: Collection,
    geom3857: ColumnElement[Any], tile_env: ColumnElement[Any], layer: str,
) -> sa.Select[Any]:
    simplified = sa.func.ST_SimplifyPreserveTopology(geom3857, _PIXEL / 2)
    mvt_geom = sa.func.ST_AsMVTGeom(simplified, tile_env, TILE_EXTENT, TILE_BUFFER, True)
    key_is_int = collection.key_type == "integer"
    inner = (
        sa.select(
            *([source.key.label("id")] if key_is_int else []),
            mvt_geom.label("geom"),
            *_mvt_columns(source, collection),
        )
        .select_from(source.from_)
        .where(*conditions)
        .subquery("t")
    )
    args: list[Any] = [sa.literal_column("t"), layer, TILE_EXTENT, "geom"]
    if key_is_int:
        args.append("id")
    return sa.select(sa.func.ST_AsMVT(*args)).select_from(inner) \
        .where(inner.c.geom.is_not(None))


def tilejson_layers(collection: Collection) -> list[dict[str, Any]]:
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


def tilejson_document(collection: Collection, extent: Extent, *, base_url: str) -> dict[str, Any]:
    """Return the TileJSON 3.0.0 document of the collection's tiles.

    Parameters
    ----------
    collection
        The tiled collection.
    extent
        What the caller may see (its bbox becomes ``bounds`` and ``center``).
    base_url
        The service's address without a trailing slash.
    """
    bounds = list(extent.bbox) if extent.bbox else list(THAILAND_BOUNDS)
    center = [round((bounds[0] + bounds[2]) / 2, 5), round((bounds[1] + bounds[3]) / 2, 5), 8]
    cid = collection.id
    return {
        "tilejson": "3.0.0",
        "name": cid,
        "description": collection.title,
        "version": "1.0.0",
        "attribution": "COM; boundaries: OCHA COD-AB (HDX)",
        "scheme": "xyz",
        "tiles": [f"{base_url}/tiles/{cid}/{{z}}/{{x}}/{{y}}.pbf"],
        "minzoom": 0,
        "maxzoom": 16,
        "bounds": bounds,
        "center": center,
        "vector_layers": tilejson_layers(collection),
    }
