"""Choosing a workbook's sheet (or a data source's layer) by name, or by the table it holds."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from com.errors import UploadError
from com.ingest.readers.column_names import header_key, recognise_column
from com.ingest.readers.header_rows import find_header

__all__ = ["best_sheet", "pick_sheet"]


def pick_sheet(names: list[str], visible: list[bool], sheet: str | None) -> int:
    """Return the index of the sheet named ``sheet`` (exactly, else by :func:`header_key`).

    Without a name, the first visible sheet (the first sheet when none is visible).
    """
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


def best_sheet(heads: Sequence[Sequence[Sequence[object]] | None], extra: Mapping | None,
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
