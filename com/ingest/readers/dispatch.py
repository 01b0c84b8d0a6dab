"""The entry point: check an upload's type and caps, then read it with its format's reader."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from com.errors import UploadError
from com.ingest.readers.delimited import read_csv
from com.ingest.readers.excel import read_xls, read_xlsx
from com.ingest.readers.formats import detect_format
from com.ingest.readers.forms import recognise_form_export
from com.ingest.readers.geojson import read_geojson
from com.ingest.readers.gpx import read_gpx
from com.ingest.readers.kml import read_kml, read_kmz
from com.ingest.readers.ogr import read_gpkg, read_zipped_shapefile
from com.ingest.readers.problems import FileTooLarge, upload_name, with_file_name
from com.ingest.readers.table import ReadLimits, SourceTable

__all__ = ["read_table"]


def read_table(
    data: bytes,
    filename: str,
    *,
    sheet: str | None = None,
    limits: ReadLimits | None = None,
    extra_fields: Mapping[str, Sequence[str]] | None = None,
) -> SourceTable:
    r"""Read an uploaded file into a :class:`SourceTable` after the type and size checks.

    Parameters
    ----------
    data : bytes
        The file's bytes.
    filename : str
        Its name; the extension chooses the reader and must match the content.
    sheet : str, optional
        Worksheet (XLSX/XLS), layer (GeoPackage) or shapefile name (zip); default the first.
    limits : ReadLimits, optional
        Row, column and container caps (defaults: 200,000 rows, 200 columns, 200 MB, ratio 100).
    extra_fields : mapping, optional
        Additional ``field -> names`` used when finding the header row.

    Returns
    -------
    SourceTable
        Columns, data rows with their numbers and, for vector formats, geometries.

    Raises
    ------
    UnsupportedFileType
        Unknown extension or content of another type.
    FileTooLarge
        Over a row, column or container limit (zip bombs included).
    com.errors.UploadError
        A damaged or hostile file (XML entities, corrupt zip, unreadable text).

    Examples
    --------
    >>> t = read_table("ชื่อ,lat,lon\\nA,14.88,103.49\\n".encode(), "a.csv")
    >>> t.columns, t.rows[0]
    (['ชื่อ', 'lat', 'lon'], ['A', '14.88', '103.49'])
    """
    try:
        return _read_table(data, filename, sheet=sheet, limits=limits or ReadLimits(),
                           extra_fields=extra_fields)
    except UploadError as exc:
        # Every message names the file as the uploader called it, never a server copy.
        with_file_name(exc, upload_name(filename))  # renames the error in place
        raise


def _read_table(
    data: bytes, filename: str, *, sheet: str | None, limits: ReadLimits,
    extra_fields: Mapping[str, Sequence[str]] | None,
) -> SourceTable:
    fmt = detect_format(filename, data)
    if fmt == "csv":
        table = read_csv(data, limits, extra_fields)
    elif fmt == "xlsx":
        table = read_xlsx(data, limits, extra_fields, sheet=sheet)
    elif fmt == "xls":
        table = read_xls(data, limits, extra_fields, sheet=sheet)
    elif fmt == "kml":
        table = read_kml(data, limits)
    elif fmt == "kmz":
        table = read_kmz(data, limits)
    elif fmt == "gpx":
        table = read_gpx(data, limits)
    elif fmt == "geojson":
        table = read_geojson(data, limits, layer=sheet)
    elif fmt == "gpkg":
        table = read_gpkg(data, limits, layer=sheet)
    else:
        table = read_zipped_shapefile(data, limits, layer=sheet)
    if len(table.columns) > limits.max_columns:
        raise FileTooLarge(
            f"the file has {len(table.columns)} columns; at most {limits.max_columns} accepted"
        )
    if fmt in ("csv", "xlsx", "xls"):
        recognise_form_export(table)
    return table
