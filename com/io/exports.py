"""Exports of collections and rankings: CSV, XLSX, GeoJSON and GeoPackage, each audit-logged.

CSV and XLSX are opened by people in spreadsheets, so text cells that begin with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return are neutralised (OWASP "CSV injection"): in CSV with a
leading apostrophe, in XLSX by storing the cell as an explicit text cell with Excel's
``quotePrefix`` flag (it displays unchanged and can never become a formula). Numeric cells are
never touched: a negative number is not a formula.
"""

from __future__ import annotations

import io
import json
import math
import tempfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd
import shapely
from sqlalchemy.engine import Connection

from com.errors import ValidationError
from com.io.escape import escape_formula, needs_escape
from com.io.selection import ExportData
from com.security import audit
from com.security.access import Principal

Format = Literal["csv", "xlsx", "geojson", "gpkg"]
FORMATS: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "geojson": "application/geo+json",
    "gpkg": "application/geopackage+sqlite3",
}
#: The audit row lists the ids of exported records up to this many; beyond it the row keeps
#: the count, the id range and the filter that reproduces the selection.
AUDIT_MAX_IDS = 10_000

#: Thai and English titles of exported columns (XLSX "คำอธิบาย" sheet).
COLUMN_TITLES: dict[str, tuple[str, str]] = {
    "id": ("รหัส", "Identifier"),
    "name": ("ชื่อจุด", "Name"),
    "category": ("ประเด็นปัญหา (รหัส)", "Issue category key"),
    "category_th": ("ประเด็นปัญหา", "Issue category (Thai)"),
    "severity": ("ระดับความรุนแรง (1-5)", "Severity (1-5)"),
    "severity_th": ("ระดับความรุนแรง", "Severity (Thai)"),
    "incident_count": ("จำนวนเหตุ", "Incident count"),
    "reported_on": ("วันที่รายงาน", "Reported on"),
    "address": ("ที่อยู่", "Address"),
    "subdistrict_code": ("รหัสตำบล", "Subdistrict code"),
    "district_code": ("รหัสอำเภอ", "District code"),
    "province_code": ("รหัสจังหวัด", "Province code"),
    "geocode_quality": ("คุณภาพพิกัด", "Geocode quality"),
    "approximate": ("ตำแหน่งโดยประมาณ", "Approximate location"),
    "location_coarsened": ("ตำแหน่งถูกปิดบัง (จุดอ่อนไหว)", "Location coarsened (sensitive)"),
    "synthetic": ("ข้อมูลสังเคราะห์", "Synthetic data"),
    "source_upload_id": ("รหัสไฟล์นำเข้า", "Source upload"),
    "source_row": ("แถวในไฟล์นำเข้า", "Source row"),
    "code": ("รหัสพื้นที่", "Area code"),
    "name_th": ("ชื่อ (ไทย)", "Thai name"),
    "name_en": ("ชื่อ (อังกฤษ)", "English name"),
    "area_km2": ("พื้นที่ (ตร.กม.)", "Area (km²)"),
    "rank": ("อันดับ", "Rank"),
    "risk_score": ("คะแนนความเสี่ยง", "Risk score"),
    "hotspot_class": ("จุดร้อน (Gi*)", "Hotspot class"),
    "gi_z": ("ค่า z ของ Gi*", "Gi* z-score"),
    "points": ("จำนวนจุด", "Points"),
    "kind": ("ประเภท", "Kind"),
    "country": ("ประเทศ", "Country"),
    "lon": ("ลองจิจูด", "Longitude (WGS84)"),
    "lat": ("ละติจูด", "Latitude (WGS84)"),
    "geometry_wkt": ("รูปร่าง (WKT)", "Geometry (WKT, WGS84)"),
}


_PANDAS_TYPES = {"integer": "Int64", "number": "Float64", "boolean": "boolean",
                 "string": "string"}


def to_frame(data: ExportData) -> gpd.GeoDataFrame:
    """Return an export selection as a GeoDataFrame (EPSG:4326) with nullable typed columns."""
    frame = pd.DataFrame.from_records(data.rows, columns=data.columns)
    for column, kind in data.types.items():
        if column not in frame:
            continue
        if kind == "date":
            frame[column] = pd.to_datetime(frame[column])
        elif kind in _PANDAS_TYPES:
            frame[column] = frame[column].astype(_PANDAS_TYPES[kind])
    geometry = shapely.from_wkb([bytes(w) if w is not None else None for w in data.wkb])
    return gpd.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")


def _cell(value: Any) -> Any:
    """Return a plain Python value for a cell (NA -> None, Decimal -> float)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.date() if value == value.normalize() else value.to_pydatetime()
    if isinstance(value, Decimal):
        return float(value)
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value


def _table(
    frame: gpd.GeoDataFrame, *, geometry_columns: bool = True
) -> tuple[list[str], list[list[Any]]]:
    """Return headers and rows for CSV/XLSX: points as lon/lat, other shapes as WKT."""
    columns = [c for c in frame.columns if c != frame.geometry.name]
    geometry = frame.geometry
    points = bool(len(frame)) and bool(
        (geometry.geom_type.isin(["Point"]) | geometry.isna()).all()
    )
    headers = list(columns)
    if geometry_columns:
        headers += ["lon", "lat"] if points or not len(frame) else ["geometry_wkt"]
    rows = []
    values = frame[columns].astype(object).itertuples(index=False, name=None)
    for record, geom in zip(values, geometry, strict=True):
        cells = [_cell(v) for v in record]
        if not geometry_columns:
            pass
        elif points or not len(frame):
            cells += [None, None] if geom is None else [round(geom.x, 7), round(geom.y, 7)]
        else:
            cells.append(None if geom is None else shapely.to_wkt(geom, rounding_precision=7))
        rows.append(cells)
    return headers, rows


def to_csv(frame: gpd.GeoDataFrame, *, geometry_columns: bool = True) -> bytes:
    """Return UTF-8 CSV with a byte-order mark (so Excel shows Thai), formula-safe."""
    import csv

    headers, rows = _table(frame, geometry_columns=geometry_columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else escape_formula(
            v.isoformat() if isinstance(v, date | datetime) else v) for v in row])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(
    frame: gpd.GeoDataFrame, *, sheet: str = "data", geometry_columns: bool = True,
    titles: list[str] | None = None,
) -> bytes:
    """Return an XLSX workbook: the data sheet and a "คำอธิบาย" sheet of column titles.

    ``titles`` replaces the header row (Thai headers for the provincial office); the
    "คำอธิบาย" sheet still lists the column names.
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    headers, rows = _table(frame, geometry_columns=geometry_columns)
    shown = list(titles) + headers[len(titles):] if titles else headers
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet[:31] or "data")
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    header_cells = []
    for name in shown:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        header_cells.append(cell)
    ws.append(header_cells)
    for row in rows:
        out: list[Any] = []
        for value in row:
            if needs_escape(value):
                # An explicit text cell with Excel's own "quote prefix" flag: shown as typed,
                # never evaluated, even after the user edits it.
                cell = WriteOnlyCell(ws, value=value)
                cell.data_type = "s"
                cell.quotePrefix = True
                out.append(cell)
            elif isinstance(value, date) and not isinstance(value, datetime):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = "yyyy-mm-dd"
                out.append(cell)
            else:
                out.append(value)
        ws.append(out)
    about = book.create_sheet("คำอธิบาย")
    about.append([WriteOnlyCell(about, value=v) for v in ("คอลัมน์ / column", "ความหมาย",
                                                           "meaning")])
    for name in headers:
        th, en = COLUMN_TITLES.get(name, (name, name))
        about.append([name, th, en])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_geojson(frame: gpd.GeoDataFrame) -> bytes:
    """Return an RFC 7946 FeatureCollection (feature ids from the ``id`` column)."""
    features = []
    columns = [c for c in frame.columns if c not in (frame.geometry.name, "id")]
    values = frame[columns].astype(object).itertuples(index=False, name=None)
    ids = frame["id"].tolist() if "id" in frame else [None] * len(frame)
    for fid, record, geom in zip(ids, values, frame.geometry, strict=True):
        properties = {}
        for name, value in zip(columns, record, strict=True):
            value = _cell(value)
            properties[name] = value.isoformat() if isinstance(value, date | datetime) else value
        feature: dict[str, Any] = {"type": "Feature"}
        if fid is not None:
            feature["id"] = _cell(fid)
        feature["geometry"] = None if geom is None else json.loads(shapely.to_geojson(geom))
        feature["properties"] = properties
        features.append(feature)
    body = {"type": "FeatureCollection", "features": features}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def to_gpkg(frame: gpd.GeoDataFrame, *, layer: str) -> bytes:
    """Return a GeoPackage (written by GDAL through pyogrio) with one layer."""
    import pyogrio

    with tempfile.TemporaryDirectory(prefix="com-export-") as tmp:
        path = Path(tmp) / "export.gpkg"
        out = frame.copy()
        if "id" in out:
            # GDAL keeps its own integer fid; our id stays an ordinary column.
            out = out.rename(columns={"id": "feature_id"})
        pyogrio.write_dataframe(out, path, layer=layer, driver="GPKG")
        return path.read_bytes()


def render(
    frame: gpd.GeoDataFrame, fmt: str, *, name: str, geometry_columns: bool = True,
    titles: list[str] | None = None,
) -> bytes:
    """Return ``frame`` encoded in ``fmt`` (csv, xlsx, geojson, gpkg).

    ``geometry_columns=False`` leaves the geometry out of CSV and XLSX (area tables);
    ``titles`` are the XLSX header row.

    Raises
    ------
    com.errors.ValidationError
        For an unknown format.
    """
    if fmt == "csv":
        return to_csv(frame, geometry_columns=geometry_columns)
    if fmt == "xlsx":
        return to_xlsx(frame, sheet=name, geometry_columns=geometry_columns, titles=titles)
    if fmt == "geojson":
        return to_geojson(frame)
    if fmt == "gpkg":
        return to_gpkg(frame, layer=name)
    raise ValidationError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")


@dataclass(frozen=True)
class ExportResult:
    """An export ready to send: bytes, media type, file name and how many features."""

    content: bytes
    media_type: str
    filename: str
    count: int


def export_frame(
    conn: Connection,
    frame: gpd.GeoDataFrame,
    fmt: str,
    *,
    name: str,
    principal: Principal,
    details: dict[str, Any] | None = None,
    client: str | None = None,
    titles: list[str] | None = None,
) -> ExportResult:
    """Export an already computed GeoDataFrame (a ranking) and write the audit row.

    CSV and XLSX carry the table without the area polygons (GeoJSON and GeoPackage keep
    them); ``titles`` become the XLSX header row.

    Raises
    ------
    com.errors.ValidationError
        For an unknown format.
    """
    if fmt not in FORMATS:
        raise ValidationError(f"unknown export format {fmt!r}; use one of {', '.join(FORMATS)}")
    content = render(frame, fmt, name=name, geometry_columns=False, titles=titles)
    audit.record(
        conn,
        principal=principal,
        action=f"export.{fmt}",
        target=f"ranking:{name}",
        details={"format": fmt, "count": len(frame), **(details or {})},
        client=client,
    )
    stamp = date.today().strftime("%Y%m%d")
    return ExportResult(content=content, media_type=FORMATS[fmt],
                        filename=f"{name}_{stamp}.{fmt}", count=len(frame))
