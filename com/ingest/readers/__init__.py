"""Reading uploaded point lists safely: CSV, XLSX/XLS, KML/KMZ, GeoJSON, GeoPackage, zipped SHP.

Every reader returns a :class:`SourceTable` (column names, data rows with their 1-based row
numbers, and geometries for vector formats). Before anything is parsed the bytes are checked:
the file must be what its extension says (magic bytes), zip containers (XLSX, KMZ, zipped
Shapefile) must not expand beyond :class:`ReadLimits` (total size and compression ratio, read
from the zip directory before any member is opened), XML is parsed with defusedxml (no
entities, no external references) and rows and columns are capped. CSV and KML are read as
streams that stop at the row cap; GeoJSON is counted (features, coordinates) before GDAL
parses it, because GDAL holds several hundred bytes per coordinate of a feature.

Column recognition lives here too because finding the header row under title rows means
scoring rows by how many cells are known column names (Thai or English, see ``FIELD_ALIASES``).
"""

from __future__ import annotations

import contextlib
import csv
import html
import io
import itertools
import math
import re
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any

from com.errors import UploadError
from com.ingest.readers.headers import guess_field
from com.text.thai import clean_text

__all__ = [
    "FIELD_ALIASES",
    "FileTooLarge",
    "ReadLimits",
    "SourceTable",
    "UnsupportedFileType",
    "check_zip",
    "describe_problem",
    "detect_format",
    "find_header",
    "header_key",
    "read_table",
    "recognise_column",
    "upload_name",
    "with_file_name",
]


class UnsupportedFileType(UploadError):
    """The file is not of a supported type, or not the type its name says (HTTP 415)."""


class FileTooLarge(UploadError):
    """The file, or what it expands to, is over a configured limit (HTTP 413)."""


# --------------------------------------------------------------------------- error text

#: Library messages that mean "damaged", said in the uploader's words (the originals quote
#: SQL run on the file, server paths or driver hints that tell the uploader nothing).
_KNOWN_PROBLEMS = (
    ("malformed", "the file is damaged: cut short or overwritten"),
    ("file is not a database", "the file is damaged or is not a database file"),
    ("not recognized as being in a supported file format",
     "the file is damaged or is not in the format its name says"),
    ("no valid workbook part", "the workbook part is missing"),
    ("little-endian", "the file is damaged: its header is not an Excel 97-2003 header"),
    ("unsupported format, or corrupt file", "the file is damaged or not an Excel workbook"),
)
#: Text that must never reach an uploader: SQL, server paths, byte and exception reprs.
_INTERNAL_TEXT = re.compile(
    r"\b(?:SELECT|INSERT|UPDATE|DELETE|CREATE|PRAGMA|sqlite\w*)\b"
    r"|(?:^|[\s'\"(=])(?:/vsi\w+)?/(?:tmp|var|home|usr|proc|work|root|opt|etc|srv|run|dev)\b"
    r"|[A-Za-z]:\\|b'|b\"|\\x[0-9a-f]{2}|<DRIVER>|\w+(?:Error|Exception)\(|Traceback",
    re.IGNORECASE,
)
#: A class's repr, ``EntitiesForbidden(name='x')`` (case matters, so kept apart).
_REPR = re.compile(r"\b[A-Z][a-z]+[A-Z]\w*\(")


def describe_problem(exc: BaseException, fallback: str = "the file is damaged") -> str:
    """Say what a reading library found wrong, without its internals (issue 11).

    Known messages become plain words; otherwise the parts of the message (split at ``;``)
    that quote SQL, a server path, bytes or an exception's repr are dropped, and when
    nothing is left ``fallback`` is said.

    Examples
    --------
    >>> describe_problem(ValueError("sqlite3_prepare_v2(SELECT 1) failed: database disk "
    ...                             "image is malformed"))
    'the file is damaged: cut short or overwritten'
    >>> describe_problem(ValueError("At line 1, character 36: Missing value"))
    'At line 1, character 36: Missing value'
    """
    text = str(exc)
    lower = text.lower()
    for needle, problem in _KNOWN_PROBLEMS:
        if needle in lower:
            return problem
    kept: list[str] = []
    for part in re.split(r";\s*|\n", text):
        part = part.strip()
        if (part and not _INTERNAL_TEXT.search(part) and not _REPR.search(part)
                and part not in kept):
            kept.append(part)
    out = "; ".join(kept)
    return (out[:300] + "...") if len(out) > 300 else (out or fallback)


def with_file_name(exc: UploadError, name: str) -> UploadError:
    """Put the uploader's file name in front of the error's message (once), in place; return it."""
    message = str(exc)
    if message.startswith(f"{name}:"):
        return exc
    # The same object with a new message: subclasses may carry more than the message (the
    # column descriptions of ColumnsNotRecognised) and take other constructor arguments.
    exc.args = (f"{name}: {message}", *exc.args[1:])
    return exc


@dataclass(frozen=True)
class ReadLimits:
    """Caps applied while reading an upload.

    Attributes
    ----------
    max_rows, max_columns : int
        Data rows and columns a table may have.
    max_uncompressed_mb : float
        Total uncompressed size of a zip container's members.
    max_ratio : float
        Uncompressed / compressed size of a zip container (checked above ``ratio_floor_mb``:
        a tiny, very compressible file is harmless).
    max_zip_members : int
        Entries in a zip container.
    max_vertices : int
        Coordinates in one line or polygon (a row with more is rejected).
    max_file_vertices : int
        Coordinates in a whole GeoJSON file, counted before GDAL reads it (GDAL holds
        several hundred bytes per coordinate of the feature it is reading).
    """

    max_rows: int = 200_000
    max_columns: int = 200
    max_uncompressed_mb: float = 200.0
    max_ratio: float = 100.0
    ratio_floor_mb: float = 1.0
    max_zip_members: int = 10_000
    max_vertices: int = 250_000
    max_file_vertices: int = 1_000_000

    @classmethod
    def from_settings(cls, settings: object) -> ReadLimits:
        """Build the limits from settings fields when present (``max_upload_rows`` ...)."""
        defaults = cls()
        return cls(
            max_rows=int(getattr(settings, "max_upload_rows", defaults.max_rows)),
            max_columns=int(getattr(settings, "max_upload_columns", defaults.max_columns)),
            max_uncompressed_mb=float(
                getattr(settings, "max_uncompressed_mb", defaults.max_uncompressed_mb)
            ),
            max_ratio=float(getattr(settings, "max_compression_ratio", defaults.max_ratio)),
            max_file_vertices=int(
                getattr(settings, "max_upload_vertices", defaults.max_file_vertices)
            ),
        )


@dataclass
class SourceTable:
    """A table read from an upload, before any value is interpreted.

    Attributes
    ----------
    columns : list of str
        Column names, unique, in file order (merged two-row headers joined with a space).
    rows : list of list
        Data rows (fully empty rows left out), each as long as ``columns``.
    row_numbers : list of int
        1-based data row number of each row: header and title rows are not counted; for KML
        the placemark's order; for vector files the feature's order.
    geometries : list or None
        Shapely geometry of each row (vector formats), None for tables.
    header_parts : list of tuple
        For each column, the header cells it was built from, lowest first (for recognition).
    format : str
        ``csv``, ``xlsx``, ``xls``, ``kml``, ``kmz``, ``geojson``, ``gpkg`` or ``shp``.
    details : dict
        How the file was read: encoding, delimiter, sheet, header rows, source CRS, ...
    """

    columns: list[str]
    rows: list[list[Any]]
    row_numbers: list[int]
    format: str
    geometries: list[Any] | None = None
    header_parts: list[tuple[str, ...]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)


# --------------------------------------------------------------------------- column names

#: Recognised column names per field, Thai first. Names are compared after
#: :func:`header_key` (case, spaces, punctuation and Thai digits do not matter).
FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "row_id": ("ลำดับ", "ลำดับที่", "ที่", "no", "no.", "number", "id", "fid", "objectid", "seq",
               "index", "item"),
    "name": ("ชื่อจุด", "ชื่อจุดเสี่ยง", "ชื่อ", "ชื่อสถานที่", "สถานที่", "จุดเสี่ยง", "ชื่อพื้นที่",
             "ชื่อกล้อง", "name", "title", "place", "place name", "label", "point name"),
    "category": ("ประเภท", "ประเภทปัญหา", "ประเด็น", "ประเด็นปัญหา", "ปัญหา", "ลักษณะปัญหา",
                 "ประเภทความเสี่ยง", "ประเภทจุดเสี่ยง", "ประเภทเหตุ", "ประเภทคดี", "หมวด",
                 "หมวดหมู่", "issue", "category", "type", "risk type", "problem", "class"),
    "severity": ("ระดับ", "ระดับความรุนแรง", "ความรุนแรง", "ระดับความเสี่ยง", "ระดับปัญหา",
                 "severity", "level", "risk level", "priority"),
    "lat": ("ละติจูด", "ลติจูด", "ละติจูต", "ละติจูท", "lat", "latitude", "y", "พิกัด y"),
    "lon": ("ลองจิจูด", "ลองติจูด", "ลองกิจูด", "ลองจิจูต", "ลองจิจูท", "lon", "lng", "long",
            "longitude", "x", "พิกัด x"),
    "location": ("พิกัด", "ตำแหน่ง", "ตำแหน่งพิกัด", "พิกัดภูมิศาสตร์", "พิกัดจุด", "ค่าพิกัด",
                 "location", "coordinates", "coordinate", "coord", "coords", "lat,lon",
                 "lat long", "latlng", "lat/lng", "ละติจูด ลองจิจูด", "gps", "พิกัด gps",
                 "google maps", "google map", "map link", "link", "url", "ลิงก์", "ลิ้งค์",
                 "plus code", "pluscode", "open location code", "รหัสพลัส",
                 "ลิงค์", "แผนที่", "utm", "พิกัด utm", "พิกัดกริด", "grid", "position", "point"),
    "easting": ("utm e", "easting", "east", "e", "utm x", "พิกัด e", "ค่า e", "ค่าพิกัด e"),
    "northing": ("utm n", "northing", "north", "n", "utm y", "พิกัด n", "ค่า n", "ค่าพิกัด n"),
    "zone": ("โซน", "zone", "utm zone", "โซน utm", "กริดโซน", "grid zone"),
    "mgrs": ("mgrs", "พิกัด mgrs", "usng", "military grid"),
    "address": ("ที่อยู่", "ที่ตั้ง", "สถานที่ตั้ง", "ที่อยู่จุด", "address", "addr", "full address"),
    "village": ("หมู่บ้าน", "บ้าน", "ชุมชน", "village", "ban", "muban"),
    "moo": ("หมู่", "หมู่ที่", "ม", "moo", "village no"),
    "subdistrict": ("ตำบล", "ต", "ตำบล/แขวง", "แขวง", "tambon", "subdistrict", "sub-district"),
    "district": ("อำเภอ", "อ", "อำเภอ/เขต", "เขต", "amphoe", "amphur", "district"),
    "province": ("จังหวัด", "จ", "changwat", "province"),
    "postcode": ("รหัสไปรษณีย์", "postcode", "post code", "postal code", "zip", "zipcode"),
    "date": ("วันที่", "วันที่รายงาน", "วันที่เกิดเหตุ", "วันเกิดเหตุ", "วันที่บันทึก", "วันเดือนปี",
             "ว/ด/ป", "date", "report date", "reported", "reported on", "date reported"),
    "note": ("หมายเหตุ", "รายละเอียด", "note", "notes", "remark", "remarks", "description",
             "comment", "comments", "details"),
    "count": ("จำนวน", "จำนวนครั้ง", "จำนวนเหตุ", "จำนวนคดี", "count", "incidents",
              "incident count"),
    "wkt": ("wkt", "geometry", "geom", "the_geom", "shape"),
}

_KEEP = re.compile(r"[^0-9a-z\u0e01-\u0e3a\u0e40-\u0e4e]+")
_BRACKETS = re.compile(r"[(\[{（](.*?)[)\]}）]")
_MAX_HEADER_CHARS = 60


def header_key(text: object) -> str:
    """Return the comparison key of a column name.

    Lower case, Thai digits as Arabic digits, and only Thai letters, Latin letters and digits.

    Examples
    --------
    >>> header_key(" UTM  E ")
    'utme'
    """
    return _KEEP.sub("", clean_text(str(text)).lower())


def _alias_index(extra: Mapping[str, Sequence[str]] | None) -> dict[str, str]:
    index: dict[str, str] = {}
    for fld, names in list(FIELD_ALIASES.items()) + list((extra or {}).items()):
        for name in names:
            key = header_key(name)
            if key:
                index.setdefault(key, fld)
    return index


def _name_candidates(text: str) -> list[str]:
    """Keys to try for one header cell: whole, without brackets, bracket contents, '/' parts."""
    cleaned = clean_text(text)
    out = [header_key(cleaned)]
    outer = _BRACKETS.sub(" ", cleaned)
    out.append(header_key(outer))
    out += [header_key(m) for m in _BRACKETS.findall(cleaned)]
    if "/" in outer:
        out += [header_key(p) for p in outer.split("/")]
    return [k for k in dict.fromkeys(out) if k]


def recognise_column(
    parts: Sequence[str], extra: Mapping[str, Sequence[str]] | None = None
) -> str | None:
    """Return the field a column holds, judged by its header cell(s), or None.

    Parameters
    ----------
    parts : sequence of str
        The header cells of the column, most specific first (for a two-row header, the lower
        cell, then both joined, then the upper cell).
    extra : mapping, optional
        Additional ``field -> names`` (kinds such as cameras add ``radius_m``).

    Returns
    -------
    str or None
        A key of ``FIELD_ALIASES`` (or of ``extra``).
    """
    from rapidfuzz import fuzz, process

    index = _alias_index_cached(extra)
    for part in parts:
        if not part or len(part) > _MAX_HEADER_CHARS:
            continue
        if part.strip() == "#":
            return "row_id"
        if len(part) <= _MAX_HEADER_CHARS and "utm" in part.lower():
            # "X (UTM)": the UTM hint turns the axis letter into an easting or northing.
            guess = guess_field(part)
            if guess is not None and guess.utm:
                return guess.field
        keys = _name_candidates(part)
        for key in keys:
            if key in index:
                return index[key]
        # Near-misses of longer names ("ลองจิจุด", "latitute"); short keys must match exactly.
        for key in keys:
            if len(key) >= 5:
                hit = process.extractOne(
                    key, [k for k in index if len(k) >= 5], scorer=fuzz.ratio, score_cutoff=85
                )
                if hit is not None:
                    return index[hit[0]]
    # Phrases ("ที่อยู่จุดเกิดเหตุ", "X (UTM)"): the words of the header, scored.
    for part in parts:
        if part and len(part) <= _MAX_HEADER_CHARS and not _is_numberish(part):
            guess = guess_field(part)
            if guess is not None:
                return guess.field
    return None


_INDEX_CACHE: dict[tuple, dict[str, str]] = {}


def _alias_index_cached(extra: Mapping[str, Sequence[str]] | None) -> dict[str, str]:
    key = tuple(sorted((k, tuple(v)) for k, v in (extra or {}).items()))
    if key not in _INDEX_CACHE:
        _INDEX_CACHE[key] = _alias_index(extra)
    return _INDEX_CACHE[key]


# --------------------------------------------------------------------------- header rows

_HEADER_SEARCH_ROWS = 30


def _is_blank_cell(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _is_numberish(value: object) -> bool:
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return True
    if isinstance(value, datetime | date):
        return True
    if isinstance(value, str):
        try:
            float(clean_text(value).replace(",", ""))
        except ValueError:
            return False
        return True
    return False


def _cell_text(value: object) -> str:
    return "" if _is_blank_cell(value) else clean_text(str(value))


def _row_fields(row: Sequence[object], extra: Mapping[str, Sequence[str]] | None) -> set[str]:
    found = set()
    for value in row:
        if isinstance(value, str) and not _is_numberish(value):
            fld = recognise_column([value], extra)
            if fld:
                found.add(fld)
    return found


def _combine(upper: Sequence[object], lower: Sequence[object]) -> list[tuple[str, ...]]:
    """Join a two-row header into each column's header cells, most specific first.

    An upper cell merged across columns is carried to the right over the columns that have a
    lower cell (merged cells are empty after the first).
    """
    width = max(len(upper), len(lower))
    out: list[tuple[str, ...]] = []
    carried = ""
    for i in range(width):
        top = _cell_text(upper[i]) if i < len(upper) else ""
        bottom = _cell_text(lower[i]) if i < len(lower) else ""
        if top:
            carried = top
        elif bottom and carried:
            top = carried
        else:
            carried = ""
        if top and bottom:
            out.append((bottom, f"{top} {bottom}", top))
        else:
            out.append((top or bottom,))
    return out


def find_header(
    rows: Sequence[Sequence[object]], extra: Mapping[str, Sequence[str]] | None = None
) -> tuple[int, int, list[tuple[str, ...]]]:
    """Find the header under any title rows and detect a two-row (merged) header.

    Rows among the first 30 are scored by how many known fields their cells name; the best
    row is the header (the earliest on a tie). The row below (or above) joins it when the
    pair names more fields and it holds no numbers, as with a merged group cell "พิกัด" over
    "ละติจูด | ลองจิจูด".

    Parameters
    ----------
    rows : sequence of sequences
        The first rows of the sheet (at least the first 30 when available).
    extra : mapping, optional
        Additional field names to recognise.

    Returns
    -------
    tuple
        ``(first_header_row, header_row_count, parts)``: 0-based index of the first header row,
        1 or 2, and for each column the header cells (most specific first).
    """
    scores: list[int] = []
    for row in rows[:_HEADER_SEARCH_ROWS]:
        scores.append(len(_row_fields(row, extra)) if any(not _is_blank_cell(v) for v in row)
                      else -1)
    if not scores or max(scores) < 0:
        return 0, 1, []
    best = max(scores)
    if best <= 0:
        first = next(i for i, s in enumerate(scores) if s >= 0)
        return first, 1, [(_cell_text(v),) for v in rows[first]]
    top = scores.index(best)

    def header_like(row: Sequence[object]) -> bool:
        filled = [v for v in row if not _is_blank_cell(v)]
        return len(filled) >= 1 and not any(_is_numberish(v) for v in filled)

    def pair_score(upper: Sequence[object], lower: Sequence[object]) -> int:
        return len({f for parts in _combine(upper, lower)
                    if (f := recognise_column(parts, extra))})

    if (
        top + 1 < len(rows)
        and header_like(rows[top + 1])
        and _row_fields(rows[top + 1], extra)
        and pair_score(rows[top], rows[top + 1]) > best
    ):
        return top, 2, _combine(rows[top], rows[top + 1])
    if top >= 1:
        above = rows[top - 1]
        filled = [v for v in above if not _is_blank_cell(v)]
        if len(filled) >= 2 and header_like(above) and pair_score(above, rows[top]) >= best:
            return top - 1, 2, _combine(above, rows[top])
    return top, 1, [(_cell_text(v),) for v in rows[top]]


def _unique_names(parts: list[tuple[str, ...]], width: int) -> list[str]:
    names: list[str] = []
    seen: dict[str, int] = {}
    for i in range(width):
        cell = parts[i] if i < len(parts) else ()
        base = (cell[1] if len(cell) > 1 else (cell[0] if cell else "")) or f"column_{i + 1}"
        name = base
        if name in seen:
            seen[name] += 1
            name = f"{base} ({seen[base]})"
        else:
            seen[name] = 1
        names.append(name)
    return names


def _table_from_rows(
    rows: Iterable[Sequence[object]],
    *,
    fmt: str,
    limits: ReadLimits,
    extra: Mapping[str, Sequence[str]] | None,
    details: dict[str, Any],
    row_offset: int = 1,
) -> SourceTable:
    """Turn raw sheet rows (title rows, header, data) into a SourceTable, enforcing the caps."""
    iterator = iter(rows)
    head: list[list[object]] = []
    for row in iterator:
        head.append(_checked_width(row, limits, len(head) + row_offset))
        if len(head) >= _HEADER_SEARCH_ROWS:
            break
    first, count, parts = find_header(head, extra)
    data_start = first + count
    width = max((len(r) for r in head), default=0)
    table_rows: list[list[Any]] = []
    numbers: list[int] = []

    def rest() -> Iterator[Sequence[object]]:
        yield from head[data_start:]
        for n, row in enumerate(iterator, start=len(head) + row_offset):
            yield _checked_width(row, limits, n)

    for number, row in enumerate(rest(), start=1):
        if _blank_row(row):
            continue
        if len(table_rows) >= limits.max_rows:
            raise FileTooLarge(_too_many_rows(limits))
        width = max(width, len(row))
        table_rows.append(list(row))
        numbers.append(number)
    for row in table_rows:
        if len(row) < width:
            row.extend([None] * (width - len(row)))
    parts = parts + [()] * (width - len(parts))
    columns = _unique_names(parts, width)
    details = {**details, "header_row": first + row_offset, "header_rows": count}
    return SourceTable(
        columns=columns,
        rows=table_rows,
        row_numbers=numbers,
        format=fmt,
        header_parts=[p if p else (c,) for p, c in zip(parts, columns, strict=True)],
        details=details,
    )


def _blank_row(row: Sequence[object]) -> bool:
    """Whether every cell is blank; decided by the first filled cell in most rows."""
    for value in row:
        if value is None:
            continue
        return _is_blank_cell(value) and all(_is_blank_cell(v) for v in row)
    return True


def _too_many_rows(limits: ReadLimits) -> str:
    return (f"the file has more than {limits.max_rows:,} data rows (the limit); "
            "split it into smaller files")


def _checked_width(row: Sequence[object], limits: ReadLimits, number: int) -> list[object]:
    values = list(row)
    while values and _is_blank_cell(values[-1]):
        values.pop()
    if len(values) > limits.max_columns:
        raise FileTooLarge(
            f"row {number} of the file has {len(values)} columns; at most "
            f"{limits.max_columns} are accepted"
        )
    return values


# --------------------------------------------------------------------------- type detection

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
EXTENSIONS = {
    ".csv": "csv", ".txt": "csv", ".tsv": "csv",
    ".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls",
    ".kml": "kml", ".kmz": "kmz", ".gpx": "gpx",
    ".geojson": "geojson", ".json": "geojson",
    ".gpkg": "gpkg",
    ".zip": "shp",
}
_NAMES = {
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
        actual = _NAMES.get(content, {
            "text": "plain text", "binary": "binary data", "xml": "XML", "zip":
            "a zip archive without a known file inside", "corrupt-zip": "a damaged zip archive",
        }.get(content, content))
        raise UnsupportedFileType(
            f"{name}: the name says {_NAMES[expected]} but the content is {actual}; "
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


# --------------------------------------------------------------------------- CSV


_DECODE_CHUNK = 1 << 20


def _decodes(data: bytes, encoding: str) -> int | None:
    """Return None when all of ``data`` decodes, else the offset of the first bad byte.

    Decoded chunk by chunk and thrown away: checking a 50 MB file never holds its text.
    """
    import codecs

    decoder = codecs.getincrementaldecoder(encoding)()
    view = memoryview(data)
    for start in range(0, len(data), _DECODE_CHUNK):
        try:
            decoder.decode(view[start:start + _DECODE_CHUNK], final=False)
        except UnicodeDecodeError as exc:
            return start + exc.start
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return len(data)
    return None


def _mostly_thai_cp874(data: bytes) -> bool:
    """Whether the bytes read as cp874 and at least 90% of the non-ASCII letters are Thai.

    Counted on the bytes in chunks (numpy), without decoding the whole file: cp874 maps
    0xA1-0xDA and 0xDF-0xFB to Thai letters, digits and signs (U+0E01-U+0E5B).
    """
    import numpy as np

    if _decodes(data, "cp874") is not None:
        return False
    high = thai = 0
    for start in range(0, len(data), _DECODE_CHUNK):
        chunk = np.frombuffer(data, dtype=np.uint8, count=min(_DECODE_CHUNK, len(data) - start),
                              offset=start)
        high += int(np.count_nonzero(chunk >= 0x80))
        thai += int(np.count_nonzero((chunk >= 0xA1) & (chunk <= 0xFB)))
    return high > 0 and thai >= 0.9 * high


def detect_encoding(data: bytes) -> tuple[str, str]:
    """Tell the text encoding of CSV bytes without decoding them into one string.

    UTF-8 wins whenever the bytes are valid UTF-8. Otherwise cp874 (Windows Thai, a superset
    of TIS-620, what old Thai Excel writes) is used when it decodes to Thai letters, and
    charset-normalizer's guess after that.

    Returns
    -------
    tuple of str
        The Python codec to decode with (``utf-8-sig`` drops a BOM) and the encoding name
        to report.

    Raises
    ------
    UploadError
        When no encoding reads the bytes.
    """
    if data.startswith(b"\xef\xbb\xbf"):
        bad = _decodes(data, "utf-8")
        if bad is not None:
            raise UploadError(f"the file says UTF-8 but byte {bad} is not UTF-8")
        return "utf-8-sig", "utf-8-sig"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        if _decodes(data, "utf-16") is not None:
            raise UploadError("the file says UTF-16 but cannot be decoded")
        return "utf-16", "utf-16"
    if _decodes(data, "utf-8") is None:
        return "utf-8", "utf-8"
    if _mostly_thai_cp874(data):
        return "cp874", "cp874"
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    if best is not None and best.encoding:
        try:
            if _decodes(data, best.encoding) is None:
                return best.encoding, best.encoding
        except LookupError:
            pass
    raise UploadError(
        "cannot tell the text encoding of the file; save it as CSV UTF-8 from Excel"
    )


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode CSV bytes (see :func:`detect_encoding`); return the text and the encoding."""
    codec, name = detect_encoding(data)
    return data.decode(codec), name


def _line_bound(data: bytes) -> int:
    """Return an upper bound on the lines of a text file, from byte counts (no decoding).

    Every line break is a LF, a CR or a CRLF; in UTF-16 they hold the same bytes.
    """
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") + 1


_DELIMITERS = ",;\t|"


def _delimiter(sample: str) -> str:
    """Pick the delimiter: csv.Sniffer first, checked by column-count consistency."""
    lines = [ln for ln in sample.splitlines() if ln.strip()][:50]
    if not lines:
        return ","

    def consistency(delim: str) -> tuple[float, int]:
        counts = [len(r) for r in csv.reader(lines, delimiter=delim)]
        if not counts:
            return 0.0, 0
        width = max(set(counts), key=counts.count)
        return (counts.count(width) / len(counts) if width > 1 else 0.0), width

    try:
        sniffed = csv.Sniffer().sniff("\n".join(lines), delimiters=_DELIMITERS).delimiter
    except csv.Error:
        sniffed = None
    if sniffed and consistency(sniffed)[0] >= 0.8:
        return sniffed
    scored = sorted(_DELIMITERS, key=lambda d: consistency(d), reverse=True)
    return scored[0] if consistency(scored[0])[0] > 0 else ","


def read_csv(data: bytes, limits: ReadLimits, extra: Mapping | None = None) -> SourceTable:
    """Read a delimited text file (any of , ; tab |) in UTF-8, UTF-16 or TIS-620/cp874.

    The text is decoded as it is read, never held whole, and reading stops at the row cap:
    a file with far more lines than the cap is counted first without keeping any row.
    """
    import codecs

    codec, encoding = detect_encoding(data)
    head = codecs.getincrementaldecoder(codec)().decode(data[:65536 + 4], final=False)
    first_line, _, rest = head.partition("\n")
    delimiter = None
    skip_first = False
    if re.fullmatch(r"\s*sep=(.)\s*", first_line):
        delimiter = first_line.strip()[4]
        head, skip_first = rest, True
    delimiter = delimiter or _delimiter(head[:65536])

    def records() -> Iterator[list[str]]:
        stream = io.TextIOWrapper(io.BytesIO(data), encoding=codec, newline="")
        if skip_first:
            stream.readline()
        reader = csv.reader(stream, delimiter=delimiter)
        try:
            yield from reader
        except csv.Error as exc:
            raise UploadError(
                f"line {reader.line_num} of the CSV cannot be read ({describe_problem(exc)})"
            ) from exc

    # Far more lines than the cap: count the records (nothing kept) and refuse before any
    # row is built. The cap counts data rows; the header lies within the first rows searched.
    allowance = _HEADER_SEARCH_ROWS + 2
    if _line_bound(data) > limits.max_rows + allowance:
        filled = 0
        for record in records():
            if any(v.strip() for v in record):
                filled += 1
                if filled > limits.max_rows + allowance:
                    raise FileTooLarge(_too_many_rows(limits))

    def rows() -> Iterator[list[str | None]]:
        for record in records():
            yield [v.strip() or None for v in record]

    return _table_from_rows(
        rows(), fmt="csv", limits=limits, extra=extra,
        details={"encoding": encoding, "delimiter": delimiter},
    )


# --------------------------------------------------------------------------- Excel


def _pick_sheet(names: list[str], visible: list[bool], sheet: str | None) -> int:
    if sheet is None:
        for i, shown in enumerate(visible):
            if shown:
                return i
        return 0
    for i, name in enumerate(names):
        if name == sheet:
            return i
    for i, name in enumerate(names):
        if header_key(name) == header_key(sheet):
            return i
    raise UploadError(f"the workbook has no sheet {sheet!r}; sheets: {', '.join(names)}")


_PLACE_FIELDS = frozenset({"lat", "lon", "location", "easting", "northing", "mgrs", "address",
                           "subdistrict", "district", "wkt"})


def _sheet_score(rows: Sequence[Sequence[object]], extra: Mapping | None) -> tuple[int, int]:
    """Score a sheet's first rows as a table: (holds a place field, fields recognised)."""
    if not rows:
        return 0, 0
    _, _, parts = find_header(rows, extra)
    fields = {f for p in parts if p and (f := recognise_column(p, extra)) is not None}
    return int(bool(fields & _PLACE_FIELDS)), len(fields)


def _best_sheet(heads: Sequence[Sequence[Sequence[object]] | None], extra: Mapping | None,
                default: int) -> tuple[int, str | None]:
    """Pick the visible sheet that holds a recognisable table (a cover or notes sheet first).

    The first visible sheet is kept unless another one scores better: a place column
    (coordinates or an address) first, then the number of recognised column names.
    """
    scores = {i: _sheet_score(rows, extra) for i, rows in enumerate(heads) if rows is not None}
    if not scores:
        return default, None
    best = max(scores, key=lambda i: (scores[i], -i))
    if best == default or scores[best] <= scores.get(default, (0, 0)):
        return default, None
    return best, (f"sheet {best + 1} holds the table ({scores[best][1]} columns recognised); "
                  f"sheet {default + 1} does not")


def read_xlsx(
    data: bytes, limits: ReadLimits, extra: Mapping | None = None, *, sheet: str | None = None
) -> SourceTable:
    """Read an XLSX sheet with openpyxl in read-only mode (defusedxml guards its XML)."""
    import openpyxl
    import openpyxl.xml

    if not openpyxl.xml.DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise UploadError("XLSX upload needs defusedxml installed (XML bomb protection)")
    check_zip(data, limits, what="workbook")
    try:
        book = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except Exception as exc:  # openpyxl raises many classes for damaged or hostile files
        _refuse_xml_entities(exc, "workbook")
        raise UploadError(
            f"the workbook cannot be opened ({describe_problem(exc)})"
        ) from exc
    try:
        sheets = book.worksheets
        if not sheets:
            raise UploadError("the workbook has no worksheet")
        visible = [getattr(s, "sheet_state", "visible") == "visible" for s in sheets]
        index = _pick_sheet([s.title for s in sheets], visible, sheet)
        chosen_why = None
        if sheet is None and sum(visible) > 1:
            heads: list[list[list[Any]] | None] = []
            for ws_i, shown in zip(sheets, visible, strict=True):
                if not shown:
                    heads.append(None)
                    continue
                ws_i.reset_dimensions()
                heads.append([list(r)[: limits.max_columns + 1] for r in
                              ws_i.iter_rows(max_row=_HEADER_SEARCH_ROWS, values_only=True)])
            index, chosen_why = _best_sheet(heads, extra, index)
        ws = sheets[index]
        # Ignore the dimension the file declares: with it every row, even an empty one, is
        # padded to its width (a sheet claiming A1:XFD1048576 would be a CPU bomb). Rows are
        # then as wide as their last cell (at most 18,278 columns in openpyxl) and the first
        # row wider than the cap stops the read.
        ws.reset_dimensions()
        try:
            rows = ws.iter_rows(values_only=True)
            details = {"sheet": ws.title, "sheets": [s.title for s in sheets]}
            if chosen_why:
                details["sheet_chosen"] = chosen_why
            return _table_from_rows(
                (list(r) for r in rows), fmt="xlsx", limits=limits, extra=extra,
                details=details,
            )
        except UploadError:
            raise
        except Exception as exc:
            _refuse_xml_entities(exc, "workbook")
            raise UploadError(
                f"sheet {ws.title!r} cannot be read ({describe_problem(exc)})"
            ) from exc
    finally:
        book.close()


def _xml_refusal(exc: BaseException) -> str:
    """Name what defusedxml refused, without its repr (which quotes system ids)."""
    name = getattr(exc, "name", None)
    return f"entity {name!r}" if isinstance(name, str) and name else "an external reference"


def _refuse_xml_entities(exc: BaseException, what: str) -> None:
    """Raise a clear UploadError when defusedxml refused entities somewhere in ``exc``'s chain.

    openpyxl wraps the refusal in a generic "invalid XML" ValueError; say what it was (issue 8).
    """
    from defusedxml import DefusedXmlException

    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return
        if isinstance(seen, DefusedXmlException):
            raise UploadError(
                f"the {what} declares XML entities or external references, which are refused "
                f"(possible XML bomb or file disclosure: {_xml_refusal(seen)})"
            ) from exc
        seen = seen.__cause__ or seen.__context__


def read_xls(
    data: bytes, limits: ReadLimits, extra: Mapping | None = None, *, sheet: str | None = None
) -> SourceTable:
    """Read an Excel 97-2003 sheet with xlrd (date cells become datetimes)."""
    import xlrd

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:  # xlrd raises XLRDError, CompDocError, struct errors...
        raise UploadError(
            f"the .xls workbook cannot be opened ({describe_problem(exc)})"
        ) from exc
    try:
        names = book.sheet_names()
        visible = [book.sheet_by_index(i).visibility == 0 for i in range(len(names))]
        index = _pick_sheet(names, visible, sheet)
        chosen_why = None
        if sheet is None and sum(visible) > 1:
            heads: list[list[list[Any]] | None] = []
            for i, shown in enumerate(visible):
                ws_i = book.sheet_by_index(i)
                heads.append([ws_i.row_values(r)[: limits.max_columns + 1]
                              for r in range(min(ws_i.nrows, _HEADER_SEARCH_ROWS))]
                             if shown else None)
            index, chosen_why = _best_sheet(heads, extra, index)
        ws = book.sheet_by_index(index)
        if ws.nrows > limits.max_rows + _HEADER_SEARCH_ROWS:
            raise FileTooLarge(
                f"sheet {ws.name!r} has {ws.nrows:,} rows; at most {limits.max_rows:,} accepted"
            )

        def value(cell: Any) -> object:
            if cell.ctype == xlrd.XL_CELL_DATE:
                try:
                    return xlrd.xldate.xldate_as_datetime(cell.value, book.datemode)
                except (ValueError, OverflowError):
                    return cell.value
            if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK, xlrd.XL_CELL_ERROR):
                return None
            if cell.ctype == xlrd.XL_CELL_BOOLEAN:
                return bool(cell.value)
            if cell.ctype == xlrd.XL_CELL_NUMBER and float(cell.value).is_integer():
                return int(cell.value)
            return cell.value

        rows = (
            [value(c) for c in ws.row(i)[: limits.max_columns + 1]] for i in range(ws.nrows)
        )
        details: dict[str, Any] = {"sheet": ws.name, "sheets": names}
        if chosen_why:
            details["sheet_chosen"] = chosen_why
        return _table_from_rows(rows, fmt="xls", limits=limits, extra=extra, details=details)
    finally:
        book.release_resources()


# --------------------------------------------------------------------------- KML / KMZ


def _local(tag: object) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _child(elem: Any, name: str) -> Any:
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def _text_of(elem: Any) -> str:
    return "".join(elem.itertext()).strip() if elem is not None else ""


_TAGS = re.compile(r"<[^>]+>")
_ROW = re.compile(r"<tr[^>]*>(.*?)</tr>", re.IGNORECASE | re.DOTALL)
_CELL = re.compile(r"<t[dh][^>]*>(.*?)</t[dh]>", re.IGNORECASE | re.DOTALL)


def _description_fields(text: str) -> dict[str, str]:
    """Key/value pairs of an HTML table in a description (how ArcGIS and QGIS export fields).

    Hand-written with regular expressions: only two-cell rows matter and the stdlib HTML
    parser would need as much code to walk them.
    """
    out: dict[str, str] = {}
    for row in _ROW.findall(text):
        cells = [html.unescape(_TAGS.sub(" ", c)).strip() for c in _CELL.findall(row)]
        if len(cells) == 2 and cells[0] and len(cells[0]) <= _MAX_HEADER_CHARS:
            out.setdefault(cells[0], cells[1])
    return out


class _GeometryError(ValueError):
    pass


def _kml_coords(text: str, limits: ReadLimits) -> list[tuple[float, float]]:
    points = []
    for token in text.split():
        parts = token.split(",")
        if len(parts) < 2:
            raise _GeometryError(f"coordinate {token[:40]!r} is not lon,lat")
        try:
            lon, lat = float(parts[0]), float(parts[1])
        except ValueError:
            raise _GeometryError(f"coordinate {token[:40]!r} is not lon,lat numbers") from None
        points.append((lon, lat))
        if len(points) > limits.max_vertices:
            raise _GeometryError(
                f"geometry has more than {limits.max_vertices:,} vertices (the limit)"
            )
    return points


def _kml_geometry(elem: Any, limits: ReadLimits) -> Any:
    import shapely

    kind = _local(elem.tag)
    if kind == "Point":
        pts = _kml_coords(_text_of(_child(elem, "coordinates")), limits)
        if len(pts) != 1:
            raise _GeometryError("a Point needs exactly one lon,lat coordinate")
        return shapely.Point(pts[0])
    if kind == "LineString":
        pts = _kml_coords(_text_of(_child(elem, "coordinates")), limits)
        if len(pts) < 2:
            raise _GeometryError("a LineString needs at least two coordinates")
        return shapely.LineString(pts)
    if kind == "LinearRing":
        return shapely.Polygon(_kml_coords(_text_of(_child(elem, "coordinates")), limits))
    if kind == "Polygon":
        rings = []
        for part in elem:
            if _local(part.tag) in ("outerBoundaryIs", "innerBoundaryIs"):
                ring = _child(part, "LinearRing")
                if ring is not None:
                    coords = _kml_coords(_text_of(_child(ring, "coordinates")), limits)
                    if len(coords) < 3:
                        raise _GeometryError("a polygon ring needs at least three coordinates")
                    rings.append((_local(part.tag), coords))
        outer = [c for k, c in rings if k == "outerBoundaryIs"]
        if not outer:
            raise _GeometryError("a Polygon has no outer boundary")
        return shapely.Polygon(outer[0], [c for k, c in rings if k == "innerBoundaryIs"])
    if kind == "MultiGeometry":
        parts = [
            _kml_geometry(c, limits)
            for c in elem
            if _local(c.tag) in ("Point", "LineString", "LinearRing", "Polygon", "MultiGeometry")
        ]
        if not parts:
            raise _GeometryError("an empty MultiGeometry")
        if sum(shapely.get_num_coordinates(p) for p in parts) > limits.max_vertices:
            raise _GeometryError(
                f"geometry has more than {limits.max_vertices:,} vertices (the limit)"
            )
        if len(parts) == 1:
            return parts[0]
        types = {p.geom_type for p in parts}
        if types == {"Point"}:
            return shapely.MultiPoint(parts)
        if types == {"LineString"}:
            return shapely.MultiLineString(parts)
        if types <= {"Polygon", "MultiPolygon"}:
            return shapely.union_all(parts)
        return shapely.GeometryCollection(parts)
    raise _GeometryError(f"unsupported KML geometry {kind}")


_GEOMETRY_TAGS = ("Point", "LineString", "LinearRing", "Polygon", "MultiGeometry")


def _placemark(
    pm: Any, folder_name: str | None, limits: ReadLimits, columns: dict[str, None]
) -> tuple[dict[str, object], Any, str | None]:
    """Return a placemark's record, its geometry (or None) and the geometry's problem."""
    record: dict[str, object] = {
        "name": _text_of(_child(pm, "name")) or None,
    }
    desc = _text_of(_child(pm, "description"))
    fields = _description_fields(desc) if "<t" in desc.lower() else {}
    record["description"] = (
        None if fields else (html.unescape(_TAGS.sub(" ", desc)).strip() or None)
    )
    if folder_name:
        record["folder"] = folder_name
        columns.setdefault("folder", None)
    ext = _child(pm, "ExtendedData")
    if ext is not None:
        for item in ext.iter():
            tag = _local(item.tag)
            if tag == "Data" and item.get("name"):
                fields[item.get("name")] = _text_of(_child(item, "value"))
            elif tag == "SimpleData" and item.get("name"):
                fields[item.get("name")] = (item.text or "").strip()
    for key, value in fields.items():
        if key in ("name", "description"):
            key = f"{key} (data)"
        columns.setdefault(key, None)
        record[key] = value or None
    if len(columns) > limits.max_columns:
        raise FileTooLarge(
            f"the KML has more than {limits.max_columns} fields; at most "
            f"{limits.max_columns} accepted"
        )
    gelem = next((c for c in pm if _local(c.tag) in _GEOMETRY_TAGS), None)
    if gelem is None:
        return record, None, None
    try:
        return record, _kml_geometry(gelem, limits), None
    except _GeometryError as exc:
        return record, None, str(exc)
    except Exception as exc:  # shapely refuses some degenerate shapes
        return record, None, f"geometry cannot be built ({exc})"


def read_kml(data: bytes, limits: ReadLimits, *, fmt: str = "kml") -> SourceTable:
    """Read KML placemarks (name, description, ExtendedData) with defusedxml.

    DTD entity declarations (billion laughs) and external entities are refused. Each
    placemark is one row numbered in document order; a placemark whose geometry cannot be
    read keeps its row with geometry None and the problem in ``details["geometry_errors"]``.

    The document is parsed as a stream (``iterparse``): each placemark is read when it ends
    and then dropped from the tree, so memory holds one placemark at a time, and reading
    stops at the first placemark over the row cap.
    """
    from xml.etree.ElementTree import ParseError as XMLParseError

    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    columns: dict[str, None] = {"name": None, "description": None}
    records: list[dict[str, object]] = []
    geometries: list[Any] = []
    errors: dict[int, str] = {}
    # The open elements, root first, and for each the folder name in force inside it (the
    # innermost Folder with a <name>). No recursion: deep nesting cannot exhaust the stack.
    path: list[Any] = []
    folders: list[str | None] = []
    in_placemark = 0
    events = iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=False,
                       forbid_entities=True, forbid_external=True)
    try:
        for event, elem in events:
            tag = _local(elem.tag)
            if event == "start":
                if not path and tag != "kml":
                    raise UnsupportedFileType(f"the XML root is <{tag}>, not <kml>")
                path.append(elem)
                folders.append(folders[-1] if folders else None)
                in_placemark += tag == "Placemark"
                continue
            path.pop()
            folders.pop()
            parent = path[-1] if path else None
            if tag == "Placemark":
                in_placemark -= 1
                if in_placemark == 0:  # a placemark nested in another one is not a row
                    if len(records) >= limits.max_rows:
                        raise FileTooLarge(
                            f"the KML has more than {limits.max_rows:,} placemarks (the limit)"
                        )
                    record, geom, problem = _placemark(elem, folders[-1] if folders else None,
                                                       limits, columns)
                    records.append(record)
                    geometries.append(geom)
                    if problem:
                        errors[len(records)] = problem
            elif (tag == "name" and parent is not None and not in_placemark
                  and _local(parent.tag) == "Folder"):
                folders[-1] = _text_of(elem) or folders[-1]
            if parent is not None and not in_placemark:
                parent.remove(elem)  # read: drop it, so the tree never grows
    except DefusedXmlException as exc:
        raise UploadError(
            "the KML declares XML entities or external references, which are refused "
            f"({_xml_refusal(exc)})"
        ) from exc
    except XMLParseError as exc:
        raise UploadError(
            f"the KML is not well-formed XML ({describe_problem(exc)})"
        ) from exc
    names = list(columns)
    return SourceTable(
        columns=names,
        rows=[[r.get(c) for c in names] for r in records],
        row_numbers=list(range(1, len(records) + 1)),
        format=fmt,
        geometries=geometries,
        header_parts=[(c,) for c in names],
        details={"geometry_errors": errors},
    )


def read_kmz(data: bytes, limits: ReadLimits) -> SourceTable:
    """Read the main KML of a KMZ (``doc.kml`` or the first ``.kml``) after the zip checks."""
    archive = check_zip(data, limits, what="KMZ")
    kmls = [n for n in archive.namelist() if n.lower().endswith(".kml")]
    if not kmls:
        raise UploadError("the KMZ holds no .kml file")
    main = next((n for n in kmls if PurePosixPath(n).name.lower() == "doc.kml"), kmls[0])
    table = read_kml(archive.read(main), limits, fmt="kmz")
    table.details["member"] = main
    return table


# --------------------------------------------------------------------------- GPX

_GPX_POINTS = {"wpt": "waypoint", "trkpt": "track point", "rtept": "route point"}
_GPX_COLUMNS = ("name", "description", "comment", "time", "type", "symbol", "elevation_m",
                "point", "track")
#: Header cells for recognition: a GPX ``time`` is the report date, ``desc`` the note.
_GPX_PARTS = {"time": ("time", "date"), "description": ("description", "note"),
              "comment": ("comment",), "symbol": ("symbol (GPS)",),
              "elevation_m": ("elevation (m)",), "point": ("GPX point",),
              "track": ("track or route",)}


def read_gpx(data: bytes, limits: ReadLimits) -> SourceTable:
    """Read the waypoints of a GPX file (handheld GPS units) with defusedxml.

    Each ``<wpt>`` is a row: name, description (``desc``), comment (``cmt``), time, type,
    symbol (``sym``) and elevation, its geometry the point at ``lat``/``lon``. Track and
    route points (``trkpt``, ``rtept``) become rows only when the file has no waypoint (a
    logged track is thousands of positions, not places); they carry their track's name.
    Parsed as a stream, each point dropped once read; entities and DTDs are refused.
    """
    from xml.etree.ElementTree import ParseError as XMLParseError

    import shapely
    from defusedxml import DefusedXmlException
    from defusedxml.ElementTree import iterparse

    waypoints: list[tuple[dict[str, object], Any, str | None]] = []
    others: list[tuple[dict[str, object], Any, str | None]] = []
    depth = 0
    track: str | None = None
    stack: list[str] = []
    events = iterparse(io.BytesIO(data), events=("start", "end"), forbid_dtd=True,
                       forbid_entities=True, forbid_external=True)
    try:
        for event, elem in events:
            tag = _local(elem.tag)
            if event == "start":
                if depth == 0 and tag != "gpx":
                    raise UnsupportedFileType(f"the XML root is <{tag}>, not <gpx>")
                depth += 1
                stack.append(tag)
                if tag in ("trk", "rte"):
                    track = None
                continue
            depth -= 1
            stack.pop()
            parent = stack[-1] if stack else ""
            if tag == "name" and parent in ("trk", "rte"):
                track = _text_of(elem) or None
            elif tag in _GPX_POINTS:
                target = waypoints if tag == "wpt" else others
                if len(target) >= limits.max_rows:
                    if tag == "wpt":
                        raise FileTooLarge(
                            f"the GPX has more than {limits.max_rows:,} waypoints (the limit)"
                        )
                    elem.clear()
                    continue
                record: dict[str, object] = {
                    "name": _text_of(_child(elem, "name")) or None,
                    "description": _text_of(_child(elem, "desc")) or None,
                    "comment": _text_of(_child(elem, "cmt")) or None,
                    "time": _text_of(_child(elem, "time")) or None,
                    "type": _text_of(_child(elem, "type")) or None,
                    "symbol": _text_of(_child(elem, "sym")) or None,
                    "elevation_m": _text_of(_child(elem, "ele")) or None,
                    "point": _GPX_POINTS[tag],
                    "track": track if tag != "wpt" else None,
                }
                geom, problem = None, None
                try:
                    lat, lon = float(elem.get("lat", "")), float(elem.get("lon", ""))
                    if not (math.isfinite(lat) and math.isfinite(lon)):
                        raise ValueError
                    geom = shapely.Point(lon, lat)
                except ValueError:
                    problem = (f"coordinate {elem.get('lat')!r}, {elem.get('lon')!r} is not "
                               "lon,lat numbers (GPX lat/lon attributes)")
                target.append((record, geom, problem))
            if tag in _GPX_POINTS or tag in ("trk", "rte", "trkseg"):
                elem.clear()
    except DefusedXmlException as exc:
        raise UploadError(
            f"the GPX declares XML entities or a DTD, which are refused ({exc})"
        ) from exc
    except XMLParseError as exc:
        raise UploadError(f"the GPX is not well-formed XML ({exc})") from exc
    points = waypoints or others
    details: dict[str, Any] = {
        "waypoints": len(waypoints), "track_points": len(others),
        "geometry_errors": {n: p for n, (_, _, p) in enumerate(points, start=1) if p},
    }
    if waypoints and others:
        details["skipped"] = (f"{len(others):,} track/route points left out (the waypoints "
                              "are the places)")
    columns = list(_GPX_COLUMNS)
    return SourceTable(
        columns=columns,
        rows=[[r.get(c) for c in columns] for r, _, _ in points],
        row_numbers=list(range(1, len(points) + 1)),
        format="gpx",
        geometries=[g for _, g, _ in points],
        header_parts=[_GPX_PARTS.get(c, (c,)) for c in columns],
        details=details,
    )


# --------------------------------------------------------------------------- OGR formats


def _plain(value: object) -> object:
    """Numpy and pandas scalars to plain Python; missing values to None."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if type(value).__name__ in ("NaTType", "NAType"):
        return None
    if isinstance(value, bytes):
        return value.hex()
    return value


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


def _read_ogr(
    source: object, limits: ReadLimits, *, fmt: str, layer: str | None,
    encoding: str | None = None, geometry_errors: Mapping[int, str] | None = None,
) -> SourceTable:
    """Read one layer through GDAL (pyogrio), once.

    Attributes come as arrays and geometries as WKB; each geometry is built on its own so a
    broken one (an unclosed ring) rejects only its row. GeoJSON holds one layer and was
    counted by :func:`_scan_geojson`, so it is opened only once (GDAL parses JSON twice
    internally on open and read; listing layers and reading their info would add passes).
    """
    import warnings

    import pyogrio
    import pyogrio.raw

    details: dict[str, Any] = {}
    chosen: str | None = None
    if fmt != "geojson":
        try:
            layers = [str(row[0]) for row in pyogrio.list_layers(source)]
        except Exception as exc:  # pyogrio raises DataSourceError and GDAL errors
            raise UploadError(
                f"the {_NAMES[fmt]} cannot be opened ({describe_problem(exc)})"
            ) from exc
        if not layers:
            raise UploadError(f"the {_NAMES[fmt]} holds no layer")
        chosen = layers[_pick_sheet(layers, [True] * len(layers), layer)] if layer else layers[0]
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
        details.update(layer=chosen, layers=layers)
    name = repr(chosen) if chosen else f"the {_NAMES[fmt]}"
    try:
        with warnings.catch_warnings():
            # GDAL warns of unclosed rings; the row reports them (see _geometries_from_wkb).
            warnings.simplefilter("ignore", RuntimeWarning)
            meta, _, wkb, field_data = pyogrio.raw.read(source, layer=chosen, encoding=encoding)
    except Exception as exc:
        what = f"layer {name}" if chosen else name
        raise UploadError(f"{what} cannot be read ({describe_problem(exc)})") from exc
    columns = [str(c) for c in meta["fields"]]
    if len(columns) > limits.max_columns:
        raise FileTooLarge(
            f"the {_NAMES[fmt]} has {len(columns)} fields; at most {limits.max_columns} accepted"
        )
    count = len(wkb) if wkb is not None else (len(field_data[0]) if field_data else 0)
    if count > limits.max_rows:
        raise FileTooLarge(
            f"the {_NAMES[fmt]} has {count:,} features; at most {limits.max_rows:,} accepted"
        )
    geoms, problems = _geometries_from_wkb(wkb if wkb is not None else [None] * count)
    problems.update(geometry_errors or {})
    for number in problems:
        geoms[number - 1] = None
    crs = meta.get("crs")
    if crs:
        import pyproj

        try:
            source_crs = pyproj.CRS.from_user_input(crs)
        except pyproj.exceptions.CRSError as exc:
            raise UploadError(
                f"{name}: unknown coordinate system ({describe_problem(exc, 'not recognised')})"
            ) from exc
        details["source_crs"] = source_crs.to_string()
        if source_crs.to_epsg() != 4326:
            import geopandas as gpd

            try:
                geoms = list(gpd.GeoSeries(geoms, crs=source_crs).to_crs(4326).values)
            except Exception as exc:
                raise UploadError(
                    f"{name}: cannot convert {source_crs} to WGS 84 "
                    f"({describe_problem(exc, 'no transformation')})"
                ) from exc
            geoms = [None if g is None or g.is_empty else g for g in geoms]
            details["converted"] = (
                f"{source_crs.to_string()} -> EPSG:4326 (PROJ default operation)"
            )
    values = [[_plain(v) for v in array.tolist()] for array in field_data]
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


# Possessive quantifiers (Python 3.11): no backtracking, the scan stays linear and quick.
_JSON_STRING = rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
_JSON_FLAT = rb'\{(?:[^{}\[\]"]++|' + _JSON_STRING + rb")*+\}"  # an object of scalars only
#: A feature's type member: counts features cheaply (an upper bound, checked exactly when over).
_FEATURE_TYPE = re.compile(rb'"type"\s*:\s*"Feature"')
#: Tokens of a GeoJSON text for the pre-check: a key (with its value when that is a scalar
#: or a flat object), a flat object, a string, a position (an array of numbers only) or a
#: bracket. Whole keys and values as single tokens keep the Python loop short.
_GEOJSON_TOKEN = re.compile(
    rb'"(?P<key>[^"\\]*+(?:\\.[^"\\]*+)*+)"\s*+:\s*+(?P<value>' + _JSON_STRING + rb"|"
    + _JSON_FLAT + rb"|[-+.0-9eE]++|true|false|null)?"
    + rb"|(?P<flat>" + _JSON_FLAT + rb")|" + _JSON_STRING
    + rb"|(?P<pos>\[\s*+[-+.0-9][^\[\]{}\"]*+\])"
    + rb"|(?P<open>[\[{])|(?P<close>[\]}])"
)


def _too_many_features(limits: ReadLimits) -> str:
    return (f"the GeoJSON has more than {limits.max_rows:,} features (the limit); "
            "split it into smaller files")


def _scan_geojson(data: bytes, limits: ReadLimits) -> tuple[bytes, dict[int, str]]:
    """Count features and coordinates before GDAL reads the file; set aside huge geometries.

    GDAL holds several hundred bytes per coordinate of the feature it is reading (its JSON
    object tree) and parses the file more than once, so a 50 MB GeoJSON of one enormous
    polygon could take gigabytes. Byte counts bound the work first (every coordinate opens
    a ``[``, every feature says ``"type": "Feature"``); only a file above those bounds is tokenised
    (strings skipped, so brackets in text do not count) to count exactly, stopping at the
    first feature or coordinate over a cap. Hand-written: no JSON library both streams and
    reports byte offsets, which are needed to set a geometry aside.

    Returns
    -------
    tuple
        The bytes for GDAL (a geometry of more than ``max_vertices`` coordinates replaced
        by ``null``) and the reasons of the rows whose geometry was set aside.

    Raises
    ------
    FileTooLarge
        More features than ``max_rows`` or more coordinates than ``max_file_vertices``.
    """
    typed = sum(1 for _ in itertools.islice(_FEATURE_TYPE.finditer(data), limits.max_rows + 1))
    if typed <= limits.max_rows and data.count(b"[") <= limits.max_vertices:
        return data, {}
    stack: list[tuple[bytes, bytes | None]] = []  # open brackets and the key they follow
    key: bytes | None = None
    total = features = 0
    feature_depth = geometry_depth = 0
    geometry_start = geometry_vertices = 0
    spans: list[tuple[int, int]] = []
    problems: dict[int, str] = {}
    for m in _GEOJSON_TOKEN.finditer(data):
        kind = m.lastgroup
        if kind == "pos":
            total += 1
            geometry_vertices += 1
            if total > limits.max_file_vertices:
                raise FileTooLarge(
                    f"the GeoJSON holds more than {limits.max_file_vertices:,} coordinates "
                    "(the limit for one file); split it or simplify the geometries"
                )
        elif kind == "key":
            key = m.group("key")
            continue
        elif kind == "flat" and len(stack) == 2 and stack[1] == (b"[", b"features"):
            features += 1  # a feature without geometry or properties objects
            if features > limits.max_rows:
                raise FileTooLarge(_too_many_features(limits))
        elif kind == "open":
            bracket = m.group("open")
            depth = len(stack)
            if (bracket == b"{" and depth == 2 and stack[1] == (b"[", b"features")
                    and stack[0][0] == b"{"):
                features += 1
                if features > limits.max_rows:
                    raise FileTooLarge(_too_many_features(limits))
                feature_depth = depth + 1
            elif bracket == b"{" and depth == 0:
                feature_depth = 1  # a bare Feature: the whole file is its one row
            if (bracket == b"{" and key == b"geometry" and depth == feature_depth
                    and not geometry_depth):
                geometry_depth, geometry_start, geometry_vertices = depth + 1, m.start(), 0
            stack.append((bracket, key))
        elif kind == "close" and stack:
            stack.pop()
            if geometry_depth and len(stack) == geometry_depth - 1:
                if geometry_vertices > limits.max_vertices:
                    spans.append((geometry_start, m.end()))
                    problems[max(features, 1)] = (
                        f"geometry has {geometry_vertices:,} vertices; at most "
                        f"{limits.max_vertices:,} accepted"
                    )
                geometry_depth = 0
        key = None
    if not spans and total > limits.max_vertices and features == 0 and not problems:
        raise FileTooLarge(
            f"the GeoJSON geometry has {total:,} vertices; at most {limits.max_vertices:,} "
            "accepted"
        )
    if not spans:
        return data, problems
    pieces, last = [], 0
    for start, end in spans:
        pieces += [data[last:start], b"null"]
        last = end
    pieces.append(data[last:])
    return b"".join(pieces), problems


def read_geojson(data: bytes, limits: ReadLimits, *, layer: str | None = None) -> SourceTable:
    """Read GeoJSON through pyogrio (a declared "crs" is honoured and converted to WGS 84).

    Counted first (:func:`_scan_geojson`): too many features or coordinates are refused
    before GDAL parses anything, and a geometry over the vertex cap is set aside as its
    row's rejection.
    """
    data, problems = _scan_geojson(data, limits)
    with tempfile.TemporaryDirectory(prefix="com-geojson-") as tmp:
        path = Path(tmp) / "upload.geojson"
        path.write_bytes(data)
        del data
        return _read_ogr(str(path), limits, fmt="geojson", layer=layer,
                         geometry_errors=problems)


def read_gpkg(data: bytes, limits: ReadLimits, *, layer: str | None = None) -> SourceTable:
    """Read one layer (the first, or ``layer``) of a GeoPackage."""
    with tempfile.TemporaryDirectory(prefix="com-gpkg-") as tmp:
        path = Path(tmp) / "upload.gpkg"
        path.write_bytes(data)
        return _read_ogr(str(path), limits, fmt="gpkg", layer=layer)


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
        table = _read_ogr(path, limits, fmt="shp", layer=None)
        if ".cpg" not in members and _looks_misdecoded(table):
            table = _read_ogr(path, limits, fmt="shp", layer=None, encoding="cp874")
            table.details["encoding"] = "cp874 (no .cpg file; Thai text detected)"
    table.details["layer"] = PurePosixPath(main).stem
    table.details["shapefiles"] = [PurePosixPath(n).stem for n in shps]
    return table


# --------------------------------------------------------------------------- entry point


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


def upload_name(filename: str) -> str:
    """Return the file name an uploader gave, without any folders (Windows ones too)."""
    return PurePosixPath(filename.replace("\\", "/")).name or "upload"


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
        from com.ingest.readers.forms import recognise_form_export

        recognise_form_export(table)
    return table


def json_safe(value: object) -> object:
    """Return a cell value as JSON: numbers and text as they are, dates as ISO text."""
    value = _plain(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
