"""Merged cells of an XLSX sheet: a value merged down over several rows belongs to each of them.

Thai office sheets merge a cell down over a group of rows ("อำเภอปราสาท" once for the eight
points in that district). openpyxl's read-only mode does not report merges, and without them
every row but the first of the group loses its value. The merges are listed at the end of the
sheet's XML (``<mergeCells>`` after ``<sheetData>``), so the sheet is decompressed once more
as a stream and only its tail is searched.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from com.ingest.readers.cells import is_blank_cell
from com.ingest.readers.column_names import recognise_column

__all__ = ["fill_merged_down", "merged_ranges"]

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]{1,3})(\d+):([A-Z]{1,3})(\d+)"')
#: At most this many merges are read (a sheet with more is not a point list).
MAX_MERGES = 20_000
_CHUNK = 1 << 20


def _column_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ch - 64)
    return n - 1


def merged_ranges(archive: zipfile.ZipFile, member: str) -> list[tuple[int, int, int, int]]:
    """Return the merges of a sheet as 0-based ``(first_col, first_row, last_col, last_row)``.

    The member is read as a stream in 1 MB pieces; only the text after ``</sheetData>`` is
    kept, so memory stays small whatever the sheet's size.
    """
    try:
        stream = archive.open(member)
    except KeyError:
        return []
    tail = b""
    found = False
    keep = b""
    with stream:
        while chunk := stream.read(_CHUNK):
            if not found:
                window = keep + chunk
                # "</sheetData>", "</x:sheetData>" or "<sheetData/>"; bytes.find, not a
                # regular expression, as the whole sheet passes through here.
                end = max(window.find(b"/sheetData>"), window.find(b"sheetData/>"))
                if end < 0:
                    keep = window[-16:]  # a closing tag split between two pieces
                    continue
                found = True
                tail = window[end:]
            else:
                tail += chunk
            if len(tail) > 64 * _CHUNK:
                break  # far more than MAX_MERGES could need
    out: list[tuple[int, int, int, int]] = []
    for m in _MERGE.finditer(tail):
        out.append((_column_index(m.group(1)), int(m.group(2)) - 1,
                    _column_index(m.group(3)), int(m.group(4)) - 1))
        if len(out) >= MAX_MERGES:
            break
    return out


def fill_merged_down(
    rows: Iterable[Sequence[Any]], ranges: Sequence[tuple[int, int, int, int]]
) -> Iterator[list[Any]]:
    """Yield the rows with each value merged down copied into the blank cells below it.

    Only the first column of a merge is filled (a merge across columns is one value, not one
    per column). A merge of at most two rows whose value is a column name ("ลำดับ" over a
    two-row header) is a header cell and is left alone.
    """
    # first row -> [(column, last row)]
    starts: dict[int, list[tuple[int, int]]] = {}
    for col, top, _, bottom in ranges:
        if bottom > top:
            starts.setdefault(top, []).append((col, bottom))
    active: dict[int, tuple[Any, int]] = {}  # column -> (value, last row)
    for number, row in enumerate(rows):
        cells = list(row)
        for col, (value, last) in list(active.items()):
            if number > last:
                del active[col]
            elif col < len(cells) and is_blank_cell(cells[col]):
                cells[col] = value
        for col, bottom in starts.get(number, ()):
            value = cells[col] if col < len(cells) else None
            if is_blank_cell(value):
                continue
            if (bottom - number <= 1 and isinstance(value, str)
                    and recognise_column([value]) is not None):
                continue
            active[col] = (value, bottom)
        yield cells
