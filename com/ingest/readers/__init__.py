"""Reading uploaded point lists safely: CSV, XLSX/XLS, KML/KMZ, GPX, GeoJSON, GeoPackage, SHP.

Every reader returns a :class:`SourceTable` (column names, data rows with their 1-based row
numbers, and geometries for vector formats). Before anything is parsed the bytes are checked:
the file must be what its extension says (magic bytes), zip containers (XLSX, KMZ, zipped
Shapefile) must not expand beyond :class:`ReadLimits` (total size and compression ratio, read
from the zip directory before any member is opened), XML is parsed with defusedxml (no
entities, no external references) and rows and columns are capped. CSV and KML are read as
streams that stop at the row cap; GeoJSON is counted (features, coordinates) before GDAL
parses it, because GDAL holds several hundred bytes per coordinate of a feature.

The modules, one idea each:

- :mod:`.dispatch` -- :func:`read_table`, the entry point (:func:`open_table`: a CSV's rows
  read as asked, :class:`TableReading`);
- :mod:`.table` -- :class:`SourceTable` and :class:`ReadLimits`;
- :mod:`.problems` -- the errors and how a library's message is said to the uploader;
- :mod:`.formats` -- the type check by magic bytes and the zip container check;
- :mod:`.cells`, :mod:`.column_names`, :mod:`.header_rows`, :mod:`.sheets` -- cell values,
  known column names (``FIELD_ALIASES``), finding the header under title rows (scored by how
  many cells are known names), choosing the sheet;
- :mod:`.merged` -- XLSX values merged down over several rows, given to each row;
- :mod:`.delimited`, :mod:`.excel`, :mod:`.kml`, :mod:`.gpx`, :mod:`.geojson`, :mod:`.ogr`
  -- the readers of each format (:mod:`.xmltree` holds their XML helpers);
- :mod:`.headers` and :mod:`.forms` -- header phrases and values, survey-app exports.
"""

from __future__ import annotations

from com.ingest.readers.cells import json_safe
from com.ingest.readers.column_names import FIELD_ALIASES, header_key, recognise_column
from com.ingest.readers.delimited import decode_text, detect_encoding, read_csv
from com.ingest.readers.dispatch import open_table, read_table
from com.ingest.readers.excel import read_xls, read_xlsx
from com.ingest.readers.formats import EXTENSIONS, SUPPORTED, check_zip, detect_format
from com.ingest.readers.geojson import read_geojson
from com.ingest.readers.gpx import read_gpx
from com.ingest.readers.header_rows import TableReading, find_header
from com.ingest.readers.kml import read_kml, read_kmz
from com.ingest.readers.ogr import read_gpkg, read_zipped_shapefile
from com.ingest.readers.problems import (
    FileTooLarge,
    UnsupportedFileType,
    describe_problem,
    upload_name,
    with_file_name,
)
from com.ingest.readers.table import ReadLimits, SourceTable

__all__ = [
    "EXTENSIONS",
    "FIELD_ALIASES",
    "SUPPORTED",
    "FileTooLarge",
    "ReadLimits",
    "SourceTable",
    "TableReading",
    "UnsupportedFileType",
    "check_zip",
    "decode_text",
    "describe_problem",
    "detect_encoding",
    "detect_format",
    "find_header",
    "header_key",
    "json_safe",
    "open_table",
    "read_csv",
    "read_geojson",
    "read_gpkg",
    "read_gpx",
    "read_kml",
    "read_kmz",
    "read_table",
    "read_xls",
    "read_xlsx",
    "read_zipped_shapefile",
    "recognise_column",
    "upload_name",
    "with_file_name",
]
