"""Vector files read through GDAL (pyogrio): GeoPackage, zipped Shapefile, and GeoJSON's core.

One layer is read once; each geometry is built on its own so a broken one rejects only its
row, and a declared coordinate system is converted to WGS 84.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from com.errors import UploadError
from com.ingest.readers.cells import plain_value
from com.ingest.readers.formats import FORMAT_NAMES, check_zip
from com.ingest.readers.problems import FileTooLarge, describe_problem
from com.ingest.readers.sheets import pick_sheet
from com.ingest.readers.table import ReadLimits, SourceTable

__all__ = ["read_gpkg", "read_ogr", "read_zipped_shapefile"]


_GEOS_PROBLEMS = (
    ("do not form a closed linestring", "polygon ring is not closed (its first and last points "
     "differ)"),
    ("Invalid number of points in LinearRing", "polygon ring has too few points (a ring needs "
     "at least 4, the last repeating the first)"),
    ("point array must contain 0 or >1 elements", "a line needs at least two points"),
)


def _geometry_problem(exc: Exception) -> str:
    """Say in the uploader's words why GEOS refused a geometry."""
    text = str(exc)
    for needle, reason in _GEOS_PROBLEMS:
        if needle in text:
            return reason
    return f"geometry cannot be read ({text.removeprefix('IllegalArgumentException: ')})"


def _geometries_from_wkb(wkb: Any) -> tuple[list[Any], dict[int, str]]:
    """Build each row's geometry on its own: one bad geometry rejects its row, not the file.

    Returns the geometries (None for missing, empty or unreadable ones) and, by 1-based row
    number, why a geometry could not be read.
    """
    # deferred: numpy and GEOS load only when a vector file is read
    import numpy as np
    import shapely

    wkb = np.asarray(wkb, dtype=object)
    geoms = shapely.from_wkb(wkb, on_invalid="ignore") if len(wkb) else np.array([], object)
    problems: dict[int, str] = {}
    for i in np.flatnonzero(shapely.is_missing(geoms)):
        if wkb[i] is None:
            continue
        try:
            shapely.from_wkb(wkb[i])
            problems[int(i) + 1] = "geometry cannot be read (damaged WKB)"
        except Exception as exc:  # GEOSException and ValueError name the problem
            problems[int(i) + 1] = _geometry_problem(exc)
    out = [None if g is None or g.is_empty else g for g in geoms]
    return out, problems


def _choose_layer(
    source: object, limits: ReadLimits, *, fmt: str, layer: str | None, encoding: str | None
) -> tuple[str, list[str]]:
    """Return the layer to read (``layer`` or the first) and all layers, within the caps."""
    import pyogrio  # deferred: GDAL loads only when a vector file is read

    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(source)]
    except Exception as exc:  # pyogrio raises DataSourceError and GDAL errors
        raise UploadError(
            f"the {FORMAT_NAMES[fmt]} cannot be opened ({describe_problem(exc)})"
        ) from exc
    if not layers:
        raise UploadError(f"the {FORMAT_NAMES[fmt]} holds no layer")
    chosen = layers[pick_sheet(layers, [True] * len(layers), layer)] if layer else layers[0]
    try:
        info = pyogrio.read_info(source, layer=chosen, encoding=encoding)
    except Exception as exc:
        raise UploadError(
            f"layer {chosen!r} cannot be read ({describe_problem(exc)})"
        ) from exc
    if info.get("features", 0) > limits.max_rows:
        raise FileTooLarge(
            f"layer {chosen!r} has {info['features']:,} features; at most "
            f"{limits.max_rows:,} accepted"
        )
    if len(info.get("fields", ())) > limits.max_columns:
        raise FileTooLarge(
            f"layer {chosen!r} has {len(info['fields'])} fields; at most "
            f"{limits.max_columns} accepted"
        )
    return chosen, layers


def _read_layer(
    source: object, chosen: str | None, name: str, encoding: str | None
) -> tuple[dict[str, Any], Any, Any]:
    """Read a layer's metadata, geometries (WKB) and attribute arrays in one GDAL pass."""
    import pyogrio.raw  # deferred: GDAL loads only when a vector file is read

    try:
        with warnings.catch_warnings():
            # GDAL warns of unclosed rings; the row reports them (see _geometries_from_wkb).
            warnings.simplefilter("ignore", RuntimeWarning)
            meta, _, wkb, field_data = pyogrio.raw.read(source, layer=chosen, encoding=encoding)
    except Exception as exc:
        what = f"layer {name}" if chosen else name
        raise UploadError(f"{what} cannot be read ({describe_problem(exc)})") from exc
    return meta, wkb, field_data


def _to_wgs84(geoms: list[Any], crs: object, name: str, details: dict[str, Any]) -> list[Any]:
    """Convert the geometries from the layer's declared CRS to WGS 84, noting it in ``details``."""
    if not crs:
        return geoms
    import pyproj  # deferred: PROJ loads only when a vector file declares a CRS

    try:
        source_crs = pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise UploadError(
            f"{name}: unknown coordinate system ({describe_problem(exc, 'not recognised')})"
        ) from exc
    details["source_crs"] = source_crs.to_string()
    if source_crs.to_epsg() == 4326:
        return geoms
    import geopandas as gpd  # deferred: heavy, needed only to reproject

    try:
        geoms = list(gpd.GeoSeries(geoms, crs=source_crs).to_crs(4326).values)
    except Exception as exc:
        raise UploadError(
            f"{name}: cannot convert {source_crs} to WGS 84 "
            f"({describe_problem(exc, 'no transformation')})"
        ) from exc
    details["converted"] = f"{source_crs.to_string()} -> EPSG:4326 (PROJ default operation)"
    return [None if g is None or g.is_empty else g for g in geoms]


def read_ogr(
    source: object, limits: ReadLimits, *, fmt: str, layer: str | None,
    encoding: str | None = None, geometry_errors: Mapping[int, str] | None = None,
) -> SourceTable:
    """Read one layer through GDAL (pyogrio), once.

    Attributes come as arrays and geometries as WKB; each geometry is built on its own so a
    broken one (an unclosed ring) rejects only its row. GeoJSON holds one layer and was
    counted by :func:`com.ingest.readers.geojson.read_geojson`, so it is opened only once (GDAL
    parses JSON twice internally on open and read; listing layers and reading their info
    would add passes).

    Parameters
    ----------
    source : object
        A path GDAL can open.
    limits : ReadLimits
        Row and column caps.
    fmt : str
        ``geojson``, ``gpkg`` or ``shp``.
    layer : str, optional
        The layer to read (default the first); ignored for GeoJSON.
    encoding : str, optional
        The attribute encoding, when GDAL's guess is wrong (a DBF in cp874).
    geometry_errors : mapping, optional
        Rows whose geometry was already set aside, by 1-based number, with the reason.

    Returns
    -------
    SourceTable
        Columns, rows and WGS 84 geometries; ``details["geometry_errors"]`` says why a
        row has none.
    """
    details: dict[str, Any] = {}
    chosen: str | None = None
    if fmt != "geojson":
        chosen, layers = _choose_layer(source, limits, fmt=fmt, layer=layer, encoding=encoding)
        details.update(layer=chosen, layers=layers)
    name = repr(chosen) if chosen else f"the {FORMAT_NAMES[fmt]}"
    meta, wkb, field_data = _read_layer(source, chosen, name, encoding)
    columns = [str(c) for c in meta["fields"]]
    if len(columns) > limits.max_columns:
        raise FileTooLarge(
            f"the {FORMAT_NAMES[fmt]} has {len(columns)} fields; at most {limits.max_columns} "
            "accepted"
        )
    count = len(wkb) if wkb is not None else (len(field_data[0]) if field_data else 0)
    if count > limits.max_rows:
        raise FileTooLarge(
            f"the {FORMAT_NAMES[fmt]} has {count:,} features; at most {limits.max_rows:,} accepted"
        )
    geoms, problems = _geometries_from_wkb(wkb if wkb is not None else [None] * count)
    problems.update(geometry_errors or {})
    for number in problems:
        geoms[number - 1] = None
    geoms = _to_wgs84(geoms, meta.get("crs"), name, details)
    values = [[plain_value(v) for v in array.tolist()] for array in field_data]
    rows = [list(r) for r in zip(*values, strict=True)] if values else [[] for _ in range(count)]
    details["geometry_errors"] = problems
    return SourceTable(
        columns=columns,
        rows=rows,
        row_numbers=list(range(1, count + 1)),
        format=fmt,
        geometries=geoms,
        header_parts=[(c,) for c in columns],
        details=details,
    )


def read_gpkg(data: bytes, limits: ReadLimits, *, layer: str | None = None) -> SourceTable:
    """Read one layer (the first, or ``layer``) of a GeoPackage."""
    with tempfile.TemporaryDirectory(prefix="com-gpkg-") as tmp:
        path = Path(tmp) / "upload.gpkg"
        path.write_bytes(data)
        return read_ogr(str(path), limits, fmt="gpkg", layer=layer)


def _looks_misdecoded(table: SourceTable) -> bool:
    """Latin-1 letters where Thai was meant: a DBF in cp874 without a .cpg file."""
    text = "".join(str(v) for row in table.rows[:200] for v in row if isinstance(v, str))
    text += "".join(table.columns)
    return any("\u00a1" <= ch <= "\u00fb" for ch in text) and not any(
        "\u0e01" <= ch <= "\u0e5b" for ch in text
    )


def read_zipped_shapefile(
    data: bytes, limits: ReadLimits, *, layer: str | None = None
) -> SourceTable:
    """Read a Shapefile from a zip (checked first); a DBF without .cpg may be Thai cp874."""
    archive = check_zip(data, limits, what="zip")
    shps = sorted(n for n in archive.namelist() if n.lower().endswith(".shp"))
    if not shps:
        raise UploadError("the zip holds no .shp file")
    if layer:
        match = [n for n in shps if PurePosixPath(n).stem == layer]
        if not match:
            names = ", ".join(PurePosixPath(n).stem for n in shps)
            raise UploadError(f"the zip has no shapefile {layer!r}; it has {names}")
        shps = match
    main = shps[0]
    stem = main[: -len(".shp")]
    members = {
        n[len(stem):].lower(): n for n in archive.namelist()
        if n.startswith(stem) and n[len(stem):].lower() in (".shp", ".shx", ".dbf", ".prj", ".cpg")
    }
    missing = [ext for ext in (".shx", ".dbf") if ext not in members]
    if missing:
        raise UploadError(f"the zip lacks {' and '.join(missing)} for {PurePosixPath(main).name}")
    with tempfile.TemporaryDirectory(prefix="com-shp-") as tmp:
        # Members are written under fixed names: no path from the archive touches the disk.
        for ext, member in members.items():
            (Path(tmp) / f"upload{ext}").write_bytes(archive.read(member))
        path = str(Path(tmp) / "upload.shp")
        table = read_ogr(path, limits, fmt="shp", layer=None)
        if ".cpg" not in members and _looks_misdecoded(table):
            table = read_ogr(path, limits, fmt="shp", layer=None, encoding="cp874")
            table.details["encoding"] = "cp874 (no .cpg file; Thai text detected)"
    table.details["layer"] = PurePosixPath(main).stem
    table.details["shapefiles"] = [PurePosixPath(n).stem for n in shps]
    return table
