"""File formats, checked before anything is parsed: the type by magic bytes, zip containers.

The file must be what its extension says, and a zip container (XLSX, KMZ, zipped Shapefile)
must not expand beyond :class:`ReadLimits` (total size and compression ratio, read from the
zip directory before any member is opened).
"""

from __future__ import annotations

import io
import zipfile
from pathlib import PurePosixPath

from com.errors import UploadError
from com.ingest.readers.problems import (
    FileTooLarge,
    UnsupportedFileType,
    describe_problem,
    upload_name,
)
from com.ingest.readers.table import ReadLimits

__all__ = ["EXTENSIONS", "FORMAT_NAMES", "SUPPORTED", "check_zip", "detect_format"]


_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_SQLITE_MAGIC = b"SQLite format 3\x00"
_OTHER_MAGIC = {
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"Rar!": "a RAR archive",
    b"7z\xbc\xaf": "a 7-Zip archive",
    b"\x1f\x8b": "a gzip archive",
    b"MZ": "a Windows program",
    b"\x7fELF": "a program",
}
#: The reader of each file name extension.
EXTENSIONS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls",
    ".kml": "kml", ".kmz": "kmz", ".gpx": "gpx",
    ".geojson": "geojson", ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shp",
}
#: Each format as messages name it.
FORMAT_NAMES = {
    "csv": "CSV text", "xlsx": "Excel workbook (.xlsx)", "xls": "Excel 97-2003 workbook (.xls)",
    "kml": "KML", "kmz": "KMZ (zipped KML)", "gpx": "GPX (GPS waypoints)",
    "geojson": "GeoJSON", "gpkg": "GeoPackage",
    "shp": "zipped Shapefile",
}
SUPPORTED = "CSV, XLSX, XLS, KML, KMZ, GPX, GeoJSON, GeoPackage or a zipped Shapefile (.zip)"


def _sniff_content(data: bytes) -> str:
    """Name what the bytes look like (for messages and the type check)."""
    if data.startswith(_ZIP_MAGIC):
        try:
            names = zipfile.ZipFile(io.BytesIO(data)).namelist()
        except (zipfile.BadZipFile, ValueError, OSError):
            return "corrupt-zip"
        lower = [n.lower() for n in names]
        if "xl/workbook.xml" in lower or "xl/workbook.bin" in lower:
            return "xlsx"
        if any(n.endswith(".kml") for n in lower):
            return "kmz"
        if any(n.endswith(".shp") for n in lower):
            return "shp"
        if "word/document.xml" in lower:
            return "a Word document"
        return "zip"
    if data.startswith(_OLE2_MAGIC):
        return "xls"
    if data.startswith(_SQLITE_MAGIC):
        return "gpkg"
    for magic, name in _OTHER_MAGIC.items():
        if data.startswith(magic):
            return name
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "text"
    if b"\x00" in data[:65536]:
        return "binary"
    if head.startswith(b"<"):
        if b"<kml" in data[:65536] or b"opengis.net/kml" in data[:65536]:
            return "kml"
        if b"<gpx" in data[:65536] or b"topografix.com/GPX" in data[:65536]:
            return "gpx"
        return "xml"
    if head.startswith((b"{", b"[")):
        return "geojson"
    return "text"


def detect_format(filename: str, data: bytes) -> str:
    """Return the reader for a file, refusing a type that does not match its extension.

    Parameters
    ----------
    filename : str
        The uploaded file's name; its extension says what it should be.
    data : bytes
        The file's bytes.

    Returns
    -------
    str
        ``csv``, ``xlsx``, ``xls``, ``kml``, ``kmz``, ``gpx``, ``geojson``, ``gpkg`` or
        ``shp``.

    Raises
    ------
    UnsupportedFileType
        For an unknown extension or content that is not what the extension says.
    UploadError
        For an empty file.
    """
    name = upload_name(filename)
    lower = name.lower()
    ext = ".shp.zip" if lower.endswith(".shp.zip") else PurePosixPath(lower).suffix
    if ext == ".shp.zip":
        ext = ".zip"
    if not data:
        raise UploadError(f"{name}: the file is empty")
    if ext == ".shp":
        raise UnsupportedFileType(
            f"{name}: a Shapefile needs its .shx and .dbf files; upload them together as a .zip"
        )
    expected = EXTENSIONS.get(ext)
    if expected is None:
        raise UnsupportedFileType(
            f"{name}: unsupported file type {ext or '(no extension)'}; send {SUPPORTED}"
        )
    content = _sniff_content(data)
    ok = {
        "csv": content == "text",
        "xlsx": content == "xlsx",
        "xls": content == "xls",
        "kml": content in ("kml", "xml"),
        "gpx": content in ("gpx", "xml"),
        "kmz": content == "kmz",
        "geojson": content == "geojson",
        "gpkg": content == "gpkg",
        "shp": content == "shp",
    }[expected]
    if not ok:
        actual = FORMAT_NAMES.get(content, {
            "text": "plain text", "binary": "binary data", "xml": "XML", "zip":
            "a zip archive without a known file inside", "corrupt-zip": "a damaged zip archive",
        }.get(content, content))
        raise UnsupportedFileType(
            f"{name}: the name says {FORMAT_NAMES[expected]} but the content is {actual}; "
            "save the file in the format its name says"
        )
    return expected


# --------------------------------------------------------------------------- zip containers


def check_zip(data: bytes, limits: ReadLimits, *, what: str = "file") -> zipfile.ZipFile:
    """Open a zip container only after checking its directory against the limits.

    The sizes come from the central directory; Python's zipfile never inflates a member past
    its recorded size, so the check bounds what any later read can produce.

    Raises
    ------
    FileTooLarge
        When the members would expand beyond ``max_uncompressed_mb`` or the compression
        ratio is above ``max_ratio`` (a zip bomb), or there are too many members.
    UploadError
        For a damaged zip.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise UploadError(
            f"the {what} is a damaged zip container ({describe_problem(exc)})"
        ) from exc
    if len(infos) > limits.max_zip_members:
        raise FileTooLarge(
            f"the {what} holds {len(infos):,} files; at most {limits.max_zip_members:,} accepted"
        )
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos)
    limit = limits.max_uncompressed_mb * 1024 * 1024
    if total > limit:
        raise FileTooLarge(
            f"the {what} expands to {total / 1048576:,.0f} MB; at most "
            f"{limits.max_uncompressed_mb:,.0f} MB uncompressed is accepted"
        )
    ratio = total / max(packed, 1)
    if total > limits.ratio_floor_mb * 1024 * 1024 and ratio > limits.max_ratio:
        raise FileTooLarge(
            f"the {what} is compressed {ratio:,.0f} times (limit {limits.max_ratio:,.0f}); "
            "refused as a possible zip bomb"
        )
    return archive
