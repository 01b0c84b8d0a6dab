"""Excel workbooks: XLSX with openpyxl (read-only, defusedxml) and Excel 97-2003 with xlrd."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

from com.errors import UploadError
from com.ingest.readers.formats import check_zip
from com.ingest.readers.header_rows import HEADER_SEARCH_ROWS, table_from_rows
from com.ingest.readers.merged import fill_merged_down, merged_ranges
from com.ingest.readers.problems import FileTooLarge, describe_problem
from com.ingest.readers.sheets import best_sheet, pick_sheet
from com.ingest.readers.table import ReadLimits, SourceTable
from com.ingest.readers.xmltree import refuse_xml_entities

__all__ = ["read_xls", "read_xlsx"]


def read_xlsx(
    data: bytes, limits: ReadLimits, extra: Mapping | None = None, *, sheet: str | None = None
) -> SourceTable:
    """Read an XLSX sheet with openpyxl in read-only mode (defusedxml guards its XML)."""
    # deferred: openpyxl is loaded only when a workbook is read
    import openpyxl
    import openpyxl.xml

    if not openpyxl.xml.DEFUSEDXML:  # pragma: no cover - defusedxml is a dependency
        raise UploadError("XLSX upload needs defusedxml installed (XML bomb protection)")
    archive = check_zip(data, limits, what="workbook")
    try:
        book = openpyxl.load_workbook(
            io.BytesIO(data), read_only=True, data_only=True, keep_links=False
        )
    except Exception as exc:  # openpyxl raises many classes for damaged or hostile files
        refuse_xml_entities(exc, "workbook")
        raise UploadError(
            f"the workbook cannot be opened ({describe_problem(exc)})"
        ) from exc
    try:
        sheets = book.worksheets
        if not sheets:
            raise UploadError("the workbook has no worksheet")
        visible = [getattr(s, "sheet_state", "visible") == "visible" for s in sheets]
        index = pick_sheet([s.title for s in sheets], visible, sheet)
        chosen_why = None
        if sheet is None and sum(visible) > 1:
            heads: list[list[list[Any]] | None] = []
            for ws_i, shown in zip(sheets, visible, strict=True):
                if not shown:
                    heads.append(None)
                    continue
                ws_i.reset_dimensions()
                heads.append([list(r)[: limits.max_columns + 1] for r in
                              ws_i.iter_rows(max_row=HEADER_SEARCH_ROWS, values_only=True)])
            index, chosen_why = best_sheet(heads, extra, index)
        ws = sheets[index]
        # Ignore the dimension the file declares: with it every row, even an empty one, is
        # padded to its width (a sheet claiming A1:XFD1048576 would be a CPU bomb). Rows are
        # then as wide as their last cell (at most 18,278 columns in openpyxl) and the first
        # row wider than the cap stops the read.
        ws.reset_dimensions()
        try:
            rows: Any = ws.iter_rows(values_only=True)
            # openpyxl keeps the sheet's member name only privately; without it no merge is
            # read and the rows stay as they are.
            member = getattr(ws, "_worksheet_path", None)
            merges = merged_ranges(archive, member) if isinstance(member, str) else []
            if merges:
                rows = fill_merged_down(rows, merges)
            details = {"sheet": ws.title, "sheets": [s.title for s in sheets]}
            if chosen_why:
                details["sheet_chosen"] = chosen_why
            return table_from_rows(
                (list(r) for r in rows), fmt="xlsx", limits=limits, extra=extra,
                details=details,
            )
        except UploadError:
            raise
        except Exception as exc:
            refuse_xml_entities(exc, "workbook")
            raise UploadError(
                f"sheet {ws.title!r} cannot be read ({describe_problem(exc)})"
            ) from exc
    finally:
        book.close()


def read_xls(
    data: bytes, limits: ReadLimits, extra: Mapping | None = None, *, sheet: str | None = None
) -> SourceTable:
    """Read an Excel 97-2003 sheet with xlrd (date cells become datetimes)."""
    import xlrd  # deferred: loaded only when an .xls workbook is read

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:  # xlrd raises XLRDError, CompDocError, struct errors...
        raise UploadError(
            f"the .xls workbook cannot be opened ({describe_problem(exc)})"
        ) from exc
    try:
        names = book.sheet_names()
        visible = [book.sheet_by_index(i).visibility == 0 for i in range(len(names))]
        index = pick_sheet(names, visible, sheet)
        chosen_why = None
        if sheet is None and sum(visible) > 1:
            heads: list[list[list[Any]] | None] = []
            for i, shown in enumerate(visible):
                ws_i = book.sheet_by_index(i)
                heads.append([ws_i.row_values(r)[: limits.max_columns + 1]
                              for r in range(min(ws_i.nrows, HEADER_SEARCH_ROWS))]
                             if shown else None)
            index, chosen_why = best_sheet(heads, extra, index)
        ws = book.sheet_by_index(index)
        if ws.nrows > limits.max_rows + HEADER_SEARCH_ROWS:
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
        return table_from_rows(rows, fmt="xls", limits=limits, extra=extra, details=details)
    finally:
        book.release_resources()
