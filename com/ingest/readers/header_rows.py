"""Header rows: finding the header under title rows, and building a table from sheet rows.

Rows are scored by how many cells are known column names (:mod:`column_names`); a merged
two-row header ("พิกัด" over "ละติจูด | ลองจิจูด") is joined into each column's header cells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from com.errors import UploadError
from com.ingest.readers.cells import cell_text, is_blank_cell, is_blank_row, is_numberish
from com.ingest.readers.column_names import header_key, recognise_column
from com.ingest.readers.problems import FileTooLarge, with_file_name
from com.ingest.readers.table import ReadLimits, SourceTable

__all__ = ["HEADER_SEARCH_ROWS", "TableReading", "find_header", "table_from_rows", "too_many_rows"]

#: The header is looked for among the first rows of a sheet.
HEADER_SEARCH_ROWS = 30


def _row_fields(row: Sequence[object], extra: Mapping[str, Sequence[str]] | None) -> set[str]:
    """Return the fields a row's cells name.

    One-letter names ("x", "e", "ม") count only beside a longer one or another one-letter
    name ("X | Y"): alone they are as likely a data value under an unknown header ("x" in a
    column of codes) as a header.
    """
    found: set[str] = set()
    short: set[str] = set()
    for value in row:
        if isinstance(value, str) and not is_numberish(value):
            fld = recognise_column([value], extra)
            if fld:
                (short if len(header_key(value)) <= 1 else found).add(fld)
    return found | short if found or len(short) >= 2 else set()


def _combine(upper: Sequence[object], lower: Sequence[object]) -> list[tuple[str, ...]]:
    """Join a two-row header into each column's header cells, most specific first.

    An upper cell merged across columns is carried to the right over the columns that have a
    lower cell (merged cells are empty after the first).
    """
    width = max(len(upper), len(lower))
    out: list[tuple[str, ...]] = []
    carried = ""
    for i in range(width):
        top = cell_text(upper[i]) if i < len(upper) else ""
        bottom = cell_text(lower[i]) if i < len(lower) else ""
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
        1 or 2 (0 when the file has no header and that row is data), and for each column the
        header cells (most specific first).
    """
    scores: list[int] = []
    for row in rows[:HEADER_SEARCH_ROWS]:
        scores.append(len(_row_fields(row, extra)) if any(not is_blank_cell(v) for v in row)
                      else -1)
    if not scores or max(scores) < 0:
        return 0, 1, []
    best = max(scores)
    if best <= 0:
        first = next(i for i, s in enumerate(scores) if s >= 0)
        if sum(is_numberish(v) for v in rows[first]) >= 2:
            # No header at all: the first line is already data (two or more numbers, no
            # known name); columns are named column_1, column_2, ... and their values decide.
            return first, 0, []
        return first, 1, [(cell_text(v),) for v in rows[first]]
    top = scores.index(best)

    def header_like(row: Sequence[object]) -> bool:
        filled = [v for v in row if not is_blank_cell(v)]
        return len(filled) >= 1 and not any(is_numberish(v) for v in filled)

    def pair_score(upper: Sequence[object], lower: Sequence[object]) -> int:
        return len({f for parts in _combine(upper, lower)
                    if (f := recognise_column(parts, extra))})

    if (
        top + 1 < len(rows)
        and header_like(rows[top + 1])
        and _row_fields(rows[top + 1], extra)
        and (pair_score(rows[top], rows[top + 1]) > best
             or _same_fields_again(rows[top], rows[top + 1], extra))
    ):
        return top, 2, _combine(rows[top], rows[top + 1])
    if top >= 1:
        above = rows[top - 1]
        filled = [v for v in above if not is_blank_cell(v)]
        if len(filled) >= 2 and header_like(above) and pair_score(above, rows[top]) >= best:
            return top - 1, 2, _combine(above, rows[top])
    return top, 1, [(cell_text(v),) for v in rows[top]]


def _same_fields_again(header: Sequence[object], below: Sequence[object],
                       extra: Mapping[str, Sequence[str]] | None) -> bool:
    """Whether the row below a header is the header again in another language.

    "ชื่อจุด | ละติจูด | ลองจิจูด" over "Name | Latitude | Longitude": at least two of its cells
    name the same field as the cell above, and none names another.
    """
    same = 0
    for upper, lower in zip(header, below, strict=False):
        if is_blank_cell(lower):
            continue
        text = cell_text(lower)
        if any(ch.isdigit() for ch in text) or "://" in text:
            return False  # "15 พ.ย. 67", a map link: data, however it reads
        field_below = recognise_column([text], extra)
        if field_below is None:
            continue
        # The other language: a data value may name its column's field ("ความปลอดภัย..."
        # under "ประเด็น"), but it is then written in the header's own script.
        if (field_below != recognise_column([cell_text(upper)], extra)
                or _is_thai(text) == _is_thai(cell_text(upper))):
            return False
        same += 1
    return same >= 2


def _is_thai(text: str) -> bool:
    return any("\u0e01" <= ch <= "\u0e5b" for ch in text)


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


def table_from_rows(
    rows: Iterable[Sequence[object]],
    *,
    fmt: str,
    limits: ReadLimits,
    extra: Mapping[str, Sequence[str]] | None,
    details: dict[str, Any],
    row_offset: int = 1,
) -> SourceTable:
    """Turn raw sheet rows (title rows, header, data) into a SourceTable, enforcing the caps."""
    return TableReading(rows, fmt=fmt, limits=limits, extra=extra, details=details,
                        row_offset=row_offset).finish()


class TableReading:
    """A table read as far as it is asked: the header at once, the data rows in parts.

    An upload stores its first rows while the rest of the file is still to be read
    (:mod:`com.ingest.uploads`): the server, idle while a whole file was read, starts
    sooner. ``table`` holds the rows read so far, each padded to the columns found so far;
    :meth:`more` reads more of them, :meth:`finish` the rest. The table is then the one
    :func:`table_from_rows` returns for the same rows, in every case: a data row wider than
    every row before it (``widened``) adds columns, and the earlier rows are padded to them
    when the file is read; what a caller made of the narrower columns is then to be made
    again (the columns were not final).

    A reading made of a table already whole (:meth:`whole`, the formats read at once) is
    done from the start.
    """

    def __init__(
        self,
        rows: Iterable[Sequence[object]],
        *,
        fmt: str,
        limits: ReadLimits,
        extra: Mapping[str, Sequence[str]] | None,
        details: dict[str, Any],
        row_offset: int = 1,
    ) -> None:
        iterator = iter(rows)
        head: list[list[object]] = []
        for row in iterator:
            head.append(_checked_width(row, limits, len(head) + row_offset))
            if len(head) >= HEADER_SEARCH_ROWS:
                break
        first, count, parts = find_header(head, extra)
        data_start = first + count

        def rest() -> Iterator[Sequence[object]]:
            yield from head[data_start:]
            for n, row in enumerate(iterator, start=len(head) + row_offset):
                yield _checked_width(row, limits, n)

        self._numbered = enumerate(rest(), start=1)
        self._limits = limits
        self._parts = parts
        self._width = max((len(r) for r in head), default=0)
        self.widened = False
        self.done = False
        #: The file's name put in front of the errors of the rows read later.
        self.name: str | None = None
        #: Called with the table whenever its columns are made (for the checks of the
        #: columns a format's reader adds: :func:`com.ingest.readers.dispatch.read_table`).
        self.on_columns: Callable[[SourceTable], None] | None = None
        self.table = SourceTable(
            columns=[], rows=[], row_numbers=[], format=fmt,
            details={**details, "header_row": first + row_offset, "header_rows": count},
        )
        self._set_columns()

    @classmethod
    def whole(cls, table: SourceTable) -> TableReading:
        """Return a reading done from the start: ``table`` is the whole file."""
        reading = cls.__new__(cls)
        reading._numbered = enumerate(())
        reading._limits = ReadLimits()
        reading._parts = list(table.header_parts)
        reading._width = len(table.columns)
        reading.widened = False
        reading.done = True
        reading.name = None
        reading.on_columns = None
        reading.table = table
        return reading

    def _set_columns(self) -> None:
        parts = self._parts + [()] * (self._width - len(self._parts))
        columns = _unique_names(parts, self._width)
        self.table.columns = columns
        self.table.header_parts = [p if p else (c,) for p, c in zip(parts, columns, strict=True)]
        if self.on_columns is not None:
            self.on_columns(self.table)

    def more(self, count: int) -> int:
        """Read up to ``count`` more data rows (blank rows are skipped); return how many.

        Raises
        ------
        FileTooLarge
            Over the row cap.
        com.errors.UploadError
            A row the format's reader cannot read.
        """
        table_rows, numbers = self.table.rows, self.table.row_numbers
        start, width, cap = len(table_rows), self._width, self._limits.max_rows
        target = start + count
        try:
            for number, row in self._numbered:
                if is_blank_row(row):
                    continue
                if len(table_rows) >= cap:
                    raise FileTooLarge(too_many_rows(self._limits))
                if len(row) > width:
                    width = len(row)
                table_rows.append(row if type(row) is list else list(row))  # rest()'s are new
                numbers.append(number)
                if len(table_rows) >= target:
                    break
            else:
                self.done = True
        except UploadError as exc:
            if self.name is not None:
                with_file_name(exc, self.name)  # renames the error in place
            raise
        if width > self._width:
            self._width, self.widened = width, True
        for row in table_rows[start:]:
            if len(row) < width:
                row.extend([None] * (width - len(row)))
        if self.done and self.widened:  # the earlier rows padded to the final columns
            for row in table_rows[:start]:
                if len(row) < width:
                    row.extend([None] * (width - len(row)))
            self._set_columns()
        return len(table_rows) - start

    def finish(self) -> SourceTable:
        """Read every row left; return the whole table (see :meth:`more` for the errors)."""
        while not self.done:
            self.more(self._limits.max_rows + 1)
        return self.table


def too_many_rows(limits: ReadLimits) -> str:
    """Say that the file has more data rows than the cap allows."""
    return (f"the file has more than {limits.max_rows:,} data rows (the limit); "
            "split it into smaller files")


def _checked_width(row: Sequence[object], limits: ReadLimits, number: int) -> list[object]:
    values = list(row)  # a copy: readers may hand out the same row object again
    while values and is_blank_cell(values[-1]):
        values.pop()
    if len(values) > limits.max_columns:
        raise FileTooLarge(
            f"row {number} of the file has {len(values)} columns; at most "
            f"{limits.max_columns} are accepted"
        )
    return values
