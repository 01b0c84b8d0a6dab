"""The table every reader returns (:class:`SourceTable`) and the caps applied while reading."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["ReadLimits", "SourceTable"]


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
