"""The entry point: check an upload's type and caps, then read it with its format's reader."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial

from com.errors import UploadError
from com.ingest.readers.delimited import open_csv
from com.ingest.readers.excel import read_xls, read_xlsx
from com.ingest.readers.formats import detect_format
from com.ingest.readers.forms import recognise_form_export
from com.ingest.readers.geojson import read_geojson
from com.ingest.readers.gpx import read_gpx
from com.ingest.readers.header_rows import TableReading
from com.ingest.readers.kml import read_kml, read_kmz
from com.ingest.readers.ogr import read_gpkg, read_zipped_shapefile
from com.ingest.readers.problems import FileTooLarge, upload_name, with_file_name
from com.ingest.readers.table import ReadLimits, SourceTable

__all__ = ["open_table", "read_table"]


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
    return open_table(data, filename, sheet=sheet, limits=limits,
                      extra_fields=extra_fields).finish()


def open_table(
    data: bytes,
    filename: str,
    *,
    sheet: str | None = None,
    limits: ReadLimits | None = None,
    extra_fields: Mapping[str, Sequence[str]] | None = None,
) -> TableReading:
    """Check the file and read its header; a CSV's rows are then read as asked.

    The same checks and errors as :func:`read_table`, whose table
    :meth:`~com.ingest.readers.header_rows.TableReading.finish` returns; the other formats
    are read whole at once. A delimited file's later rows may still be refused (row cap, a
    line the CSV reader cannot read) when they are read.
    """
    name = upload_name(filename)
    limits = limits or ReadLimits()
    try:
        fmt = detect_format(filename, data)
        if fmt == "csv":
            reading = open_csv(data, limits, extra_fields)
        else:
            reading = TableReading.whole(_read_whole(fmt, data, sheet=sheet, limits=limits,
                                                     extra_fields=extra_fields))
        _check_columns(reading.table, limits)
    except UploadError as exc:
        # Every message names the file as the uploader called it, never a server copy.
        with_file_name(exc, name)  # renames the error in place
        raise
    reading.name = name
    reading.on_columns = partial(_check_columns, limits=limits)  # columns made again
    return reading


def _read_whole(
    fmt: str, data: bytes, *, sheet: str | None, limits: ReadLimits,
    extra_fields: Mapping[str, Sequence[str]] | None,
) -> SourceTable:
    if fmt == "xlsx":
        return read_xlsx(data, limits, extra_fields, sheet=sheet)
    if fmt == "xls":
        return read_xls(data, limits, extra_fields, sheet=sheet)
    if fmt == "kml":
        return read_kml(data, limits)
    if fmt == "kmz":
        return read_kmz(data, limits)
    if fmt == "gpx":
        return read_gpx(data, limits)
    if fmt == "geojson":
        return read_geojson(data, limits, layer=sheet)
    if fmt == "gpkg":
        return read_gpkg(data, limits, layer=sheet)
    return read_zipped_shapefile(data, limits, layer=sheet)


def _check_columns(table: SourceTable, limits: ReadLimits) -> None:
    """Check the column cap; rewrite a survey app export's header cells (CSV and Excel)."""
    if len(table.columns) > limits.max_columns:
        raise FileTooLarge(
            f"the file has {len(table.columns)} columns; at most {limits.max_columns} accepted"
        )
    if table.format in ("csv", "xlsx", "xls"):
        recognise_form_export(table)
