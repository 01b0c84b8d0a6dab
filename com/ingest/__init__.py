"""Uploads of field data: read, recognise, prepare, store and report (the public entry points)."""

from com.ingest.cells import tidy_text
from com.ingest.columns import ColumnPlan, ColumnsNotRecognised, plan_columns
from com.ingest.kinds import KINDS, BuiltRecord, Kind, RowValues, lookup_kind, register_kind
from com.ingest.options import ImportOptions, RowRejected, UploadSummary
from com.ingest.prepare import PreparedRow, prepare_rows
from com.ingest.records import parse_report_date
from com.ingest.report import (
    coarsen_report_rows,
    export_risk_points,
    get_upload,
    list_uploads,
    write_report_csv,
)
from com.ingest.uploads import import_path, import_upload

__all__ = [
    "KINDS",
    "BuiltRecord",
    "ColumnPlan",
    "ColumnsNotRecognised",
    "ImportOptions",
    "Kind",
    "PreparedRow",
    "RowRejected",
    "RowValues",
    "UploadSummary",
    "coarsen_report_rows",
    "export_risk_points",
    "get_upload",
    "import_path",
    "import_upload",
    "list_uploads",
    "lookup_kind",
    "parse_report_date",
    "plan_columns",
    "prepare_rows",
    "register_kind",
    "tidy_text",
    "write_report_csv",
]
