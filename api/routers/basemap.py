"""The offline basemap: tiles and TileJSON of the province's MBTiles or PMTiles file (issue 15).

With ``COM_BASEMAP=file:/path/x.mbtiles`` (or ``.pmtiles``) the map's tile layer asks COM itself for
``/basemap/{z}/{x}/{y}.{ext}`` (same origin: the CSP needs no other image source and nothing
leaves the machine). The file is opened once at start-up by :func:`install`, which fails naming
the path when it is missing or unreadable. The basemap is public reference data (roads,
villages), so the routes ask for no principal.

A tile carries a strong ETag (hash of its stored bytes) and ``Cache-Control: public``; a
request whose ``If-None-Match`` names it gets 304. A tile outside the file's zoom range or the
XYZ grid, or with the wrong extension, is 404; a tile inside the range that the file does not
hold (beyond the province's bounds) is 204, so Leaflet draws nothing there and the browser
logs no error. Stored gzip data (vector tiles) goes out as is with ``Content-Encoding: gzip``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.responses import JSONResponse, Response

from api.routers.tiles import etag_matches, etag_of
from com.config.settings import Settings
from com.errors import ConfigError, NotFoundError
from com.maps.basemap import TILEJSON_URL, BasemapFile, open_basemap

router = APIRouter(tags=["basemap"])
BASEMAP_MAX_AGE_S = 3600  # the province may replace the file; the ETag makes revalidation cheap


def install(app: FastAPI, settings: Settings) -> None:
    """Open the configured basemap file (ConfigError naming it if unusable) and add the routes.

    Raises
    ------
    ConfigError
        When ``COM_BASEMAP`` names a file that is missing, unreadable or of vector tiles
        (Leaflet draws raster tiles only; a vector renderer is not bundled yet).
    """
    app.state.basemap = open_basemap(settings.basemap)
    if app.state.basemap is not None and app.state.basemap.format == "pbf":
        raise ConfigError(
            f"COM_BASEMAP: {app.state.basemap.path} holds vector tiles; the map draws raster "
            "(PNG, JPEG or WebP) MBTiles only"
        )
    app.include_router(router)


def _basemap(request: Request) -> BasemapFile:
    """Return the app's basemap file; 404 when none is configured."""
    basemap: BasemapFile | None = getattr(request.app.state, "basemap", None)
    if basemap is None:
        raise NotFoundError("no basemap file is configured (COM_BASEMAP=file:/path/x.mbtiles)")
    return basemap


@router.get(TILEJSON_URL)
def basemap_tilejson(request: Request) -> JSONResponse:
    """Return the TileJSON 3.0.0 document of the basemap file (bounds, zooms, attribution)."""
    doc = _basemap(request).tilejson(str(request.base_url).rstrip("/"))
    return JSONResponse(doc, headers={"Cache-Control": f"public, max-age={BASEMAP_MAX_AGE_S}"})


#: Deepest zoom a tile address may name (the grid's rows and columns are bounded by it).
MAX_BASEMAP_ZOOM = 30


@router.get("/basemap/{z}/{x}/{y}.{ext}")
def basemap_tile(
    request: Request,
    z: Annotated[int, Path(ge=0, le=MAX_BASEMAP_ZOOM, description="Zoom level")],
    x: Annotated[int, Path(ge=0, le=2**MAX_BASEMAP_ZOOM - 1, description="Column")],
    y: Annotated[int, Path(ge=0, le=2**MAX_BASEMAP_ZOOM - 1, description="Row (XYZ)")],
    ext: str,
) -> Response:
    """Return one tile of the basemap file (XYZ numbering; 204 where the file has none)."""
    basemap = _basemap(request)
    if ext.lower() not in {basemap.format, "jpeg" if basemap.format == "jpg" else ""}:
        raise NotFoundError(f"the basemap's tiles are .{basemap.format}, not .{ext}")
    if not basemap.covers(z, x, y):
        raise NotFoundError(
            f"tile {z}/{x}/{y} is outside the basemap (zoom {basemap.minzoom}-{basemap.maxzoom})"
        )
    tile = basemap.tile(z, x, y)
    headers = {"Cache-Control": f"public, max-age={BASEMAP_MAX_AGE_S}"}
    if tile is None:
        return Response(status_code=204, headers=headers)
    headers["ETag"] = etag_of(tile.data)
    if etag_matches(request.headers.get("if-none-match"), headers["ETag"]):
        return Response(status_code=304, headers=headers)
    if tile.encoding:
        headers["Content-Encoding"] = tile.encoding
    return Response(tile.data, media_type=tile.media_type, headers=headers)
