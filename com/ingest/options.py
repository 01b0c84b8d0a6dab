"""What an uploader says about a file, what an upload returns, and how a row is refused."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from com.ingest.reasons import RowReason, describe

__all__ = ["ImportOptions", "RowRejected", "UploadSummary"]


@dataclass(frozen=True)
class ImportOptions:
    """What the uploader said about a file.

    Attributes
    ----------
    kind : str
        A key of ``KINDS``: ``risk_points`` (default), ``cameras`` or ``layer``.
    province_code : str, optional
        The upload's province ("32" or a Thai/English name): address context and a check
        that every point lies in it. Default: ``settings.default_province``.
    sheet : str, optional
        Worksheet (XLSX/XLS), layer (GeoPackage) or shapefile in a zip; default the first.
    mapping : mapping of str to str
        Column name -> field (``{"พิกัดจุด": "location", "Remark": "note"}``); the field
        ``ignore`` drops a column. Overrides recognition by name.
    layer : str, optional
        Context layer name for ``kind="layer"`` and for lines/polygons in other uploads.
    datum : str
        ``wgs84`` (default) or ``indian1975`` for legacy coordinates.
    transformation : str, optional
        Indian 1975 -> WGS 84 operation (``EPSG:1812`` default, or ``EPSG:1304``).
    idempotency_key : str, optional
        A client's retry key: the same key returns the same upload; with other data it is
        refused.
    """

    kind: str = "risk_points"
    province_code: str | None = None
    sheet: str | None = None
    mapping: Mapping[str, str] = field(default_factory=dict)
    layer: str | None = None
    datum: str = "wgs84"
    transformation: str | None = None
    idempotency_key: str | None = None

    def request_key(self, sha256: str) -> str:
        """Hash of the bytes and every option that changes the outcome."""
        payload = json.dumps(
            {
                "sha256": sha256,
                "kind": self.kind,
                "province": self.province_code,
                "sheet": self.sheet,
                "mapping": sorted(dict(self.mapping).items()),
                "layer": self.layer,
                "datum": self.datum,
                "transformation": self.transformation,
            },
            ensure_ascii=False,
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class UploadSummary:
    """The outcome of an upload (what ``com import`` prints)."""

    upload_id: int
    rows: int
    stored: int
    rejected: int
    duplicates: int
    warnings: list[str]
    already_uploaded: bool = False
    kind: str = "risk_points"
    filename: str = ""
    province_code: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Return the JSON summary."""
        return {
            "upload_id": self.upload_id,
            "rows": self.rows,
            "stored": self.stored,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "warnings": self.warnings,
            "already_uploaded": self.already_uploaded,
            "kind": self.kind,
            "filename": self.filename,
            "province_code": self.province_code,
        }


class RowRejected(Exception):  # noqa: N818 - a row outcome, not a program error
    """Raised by row builders: the row cannot be stored (column and reason reported)."""

    def __init__(self, reason: str, column: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.column = column

    @property
    def described(self) -> RowReason:
        """The reason's code and its Thai and English texts (``reasons.describe``)."""
        described = describe(self.reason)
        assert described is not None
        return described
