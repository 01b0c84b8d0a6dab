"""Uploads of field data: read, recognise, prepare, store and report (the public entry points)."""

from com.ingest.pipeline import (
    ImportOptions,
    export_risk_points,
    get_upload,
    import_path,
    import_upload,
    list_uploads,
    write_report_csv,
)

__all__ = [
    "ImportOptions",
    "export_risk_points",
    "get_upload",
    "import_path",
    "import_upload",
    "list_uploads",
    "write_report_csv",
]
