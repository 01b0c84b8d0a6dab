"""Output of rankings and hot spots: JSON-ready records, GeoJSON, Thai headers, files."""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from com.analysis.risk.filters import AreaLevel
from com.analysis.risk.h3cells import with_polygons
from com.config.severity import SeverityModel, severity_model_of
from com.errors import ValidationError
from com.io.escape import escape_formula


def json_ready(value: Any) -> Any:
    """Return ``value`` with numpy scalars, dates and non-finite floats made JSON-ready."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


_LEVEL_TH = {
    "subdistrict": ("รหัสตำบล", "ชื่อตำบล"),
    "district": ("รหัสอำเภอ", "ชื่ออำเภอ"),
    "province": ("รหัสจังหวัด", "ชื่อจังหวัด"),
    "h3": ("รหัสเซลล์ H3", "ตำบลที่ตั้ง"),
    "village": ("รหัสหมู่บ้าน", "ชื่อหมู่บ้าน"),
    "layer": ("รหัสพื้นที่", "ชื่อพื้นที่"),
}


_FIXED_TH = {
    "name_en": "ชื่อภาษาอังกฤษ",
    "risk_score": "คะแนนความเสี่ยง",
    "risk_per_km2": "คะแนนต่อ ตร.กม.",
    "rank": "ลำดับ",
    "points": "จำนวนจุดเสี่ยง",
    "gi_z": "ค่า z ของ Gi*",
    "gi_p": "ค่า p",
    "gi_p_fdr": "ค่า p (ปรับ FDR)",
    "hotspot_class": "ประเภทจุดร้อน",
    "hotspot_th": "จุดร้อน/จุดเย็น",
    "hotspot_en": "Hot/cold spot",
    "pattern": "รูปแบบ",
    "pattern_th": "รูปแบบจุดร้อน",
    "pattern_en": "Hot spot pattern",
    "hot_periods": "จำนวนช่วงที่เป็นจุดร้อน",
    "periods": "จำนวนช่วงเวลา",
    "mk_p": "ค่า p แนวโน้ม (Mann-Kendall)",
    "mk_tau": "ค่า tau แนวโน้ม",
    "base_score": "คะแนนพื้นฐาน",
    "incidents": "จำนวนเหตุการณ์",
    "area_km2": "พื้นที่ (ตร.กม.)",
}


def thai_headers(
    columns: Sequence[str], level: AreaLevel | str, model: SeverityModel | None = None
) -> list[str]:
    """Thai column headers for the provincial office's spreadsheets.

    Examples
    --------
    >>> thai_headers(["rank", "subdistrict_code", "name_th", "risk_score"], "subdistrict")
    ['ลำดับ', 'รหัสตำบล', 'ชื่อตำบล', 'คะแนนความเสี่ยง']
    """
    level = AreaLevel.parse(level)
    model = severity_model_of(model)
    code_th, name_th = _LEVEL_TH[level.kind]
    out = []
    for column in columns:
        if column == level.code_column:
            out.append(code_th)
        elif column == "name_th":
            out.append(name_th)
        elif column.startswith("cat_"):
            out.append(f"คะแนนจาก{model.category(column[4:]).th}")
        elif column.startswith("ctx_") and column[4:] in model.context:
            out.append(f"คะแนนเพิ่มจากปัจจัย{model.context[column[4:]].th}")
        elif column.startswith("z_"):
            out.append(f"ค่า z ช่วง {column[2:]}")
        else:
            out.append(_FIXED_TH.get(column, column))
    return out


def _plain(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(frame.drop(columns=[c for c in frame.columns if c == "geometry"]))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dictionaries of Python values (no geometry; missing and non-finite as None).

    Made column-wise: a national ranking's 7,425 records come out in a third of the time of one
    :func:`json_ready` call per value. Object columns may still hold dates or numpy scalars.
    """
    plain = _plain(frame)
    numbers = plain.select_dtypes("number").columns
    values = plain.astype(object).where(plain.notna(), None)
    if len(numbers):
        bad = ~np.isfinite(plain[numbers].to_numpy(dtype=float))
        values[numbers] = values[numbers].mask(bad, None)
    return values.to_dict("records")  # type: ignore[return-value]


def areas_to_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-ready dictionaries (no geometry; NaN as None)."""
    return json_ready(_records(frame))  # type: ignore[no-any-return]


def areas_to_json(frame: pd.DataFrame, **meta: Any) -> str:
    """Return ``{**meta, "count": n, "areas": records}`` as JSON text (what the API sends).

    The values of :func:`areas_to_records`, the rest of :func:`json_ready` applied by
    ``json.dumps`` only to the values that need it.
    """
    records = _records(frame)
    document = {**json_ready(meta), "count": len(records), "areas": records}
    return json.dumps(document, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    """Numpy scalars and dates left in object columns (json.dumps calls this for them)."""
    ready = json_ready(value)
    if ready is value:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable")
    return ready


def areas_to_geojson(frame: gpd.GeoDataFrame) -> dict[str, Any]:
    """Return the areas as a GeoJSON FeatureCollection (EPSG:4326, NaN as null).

    The cells of a large H3 ranking get their polygons here (those written only).
    """
    frame = with_polygons(frame)
    features = []
    for props, geom in zip(_records(frame), frame.geometry, strict=True):
        features.append({
            "type": "Feature",
            "geometry": None if geom is None else shapely.geometry.mapping(geom),
            "properties": json_ready(props),
        })
    return {"type": "FeatureCollection", "features": features,
            "metadata": json_ready(dict(frame.attrs))}


def write_areas(
    frame: gpd.GeoDataFrame,
    path: Path | str,
    *,
    level: AreaLevel | str | None = None,
    model: SeverityModel | None = None,
) -> Path:
    """Write a ranking or hot spot table as CSV, GeoJSON or XLSX (by the file's suffix).

    CSV is UTF-8 with a byte-order mark (Excel reads Thai correctly) and English column keys;
    XLSX has Thai headers, a second sheet explaining each column in English and the analysis
    settings. Text cells that a spreadsheet would run as a formula are prefixed with ``'``.

    Raises
    ------
    com.errors.ValidationError
        For another suffix.
    """
    path = Path(path)
    level = AreaLevel.parse(level or frame.attrs.get("level", "subdistrict"))
    suffix = path.suffix.lower()
    if suffix == ".csv":
        plain = _plain(frame)
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(plain.columns)
            for row in plain.itertuples(index=False):
                writer.writerow([escape_formula(json_ready(v)) if not isinstance(v, float)
                                 or math.isfinite(v) else "" for v in row])
    elif suffix in (".geojson", ".json"):
        path.write_text(json.dumps(areas_to_geojson(frame), ensure_ascii=False),
                        encoding="utf-8")
    elif suffix == ".xlsx":
        _write_xlsx(frame, path, level, severity_model_of(model))
    else:
        raise ValidationError(f"{path.name}: output must end in .csv, .geojson or .xlsx")
    return path


def _write_xlsx(frame: gpd.GeoDataFrame, path: Path, level: AreaLevel,
                model: SeverityModel) -> None:
    # Deferred: openpyxl is needed only for spreadsheets.
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    plain = _plain(frame)
    columns = list(plain.columns)
    book = Workbook()
    sheet = book.active
    sheet.title = "อันดับพื้นที่"
    sheet.append(thai_headers(columns, level, model))
    for row in plain.itertuples(index=False):
        values = []
        for v in row:
            v = json_ready(v)
            values.append(escape_formula(v) if isinstance(v, str) else v)
        sheet.append(values)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for i, column in enumerate(columns, start=1):
        width = 14 if column.startswith(("cat_", "ctx_", "gi_", "z_")) else 18
        sheet.column_dimensions[get_column_letter(i)].width = width
    sheet.freeze_panes = "A2"
    legend = book.create_sheet("คำอธิบาย")
    legend.append(["หัวตาราง", "column", "meaning"])
    meanings = {
        "risk_score": "base score x context multipliers (sum of the cat_ and ctx_ columns)",
        "risk_per_km2": "risk_score / area in km2",
        "rank": "1 = highest risk_score (ties share a rank)",
        "points": "risk points counted",
        "gi_z": "Getis-Ord Gi* z-score",
        "gi_p": "pseudo p-value of the conditional permutations",
        "gi_p_fdr": "p-value adjusted for the false discovery rate (Benjamini-Hochberg)",
    }
    for th, column in zip(thai_headers(columns, level, model), columns, strict=True):
        meaning = meanings.get(column, "")
        if column.startswith("cat_"):
            meaning = f"part of the score from category {column[4:]}"
        elif column.startswith("ctx_"):
            meaning = f"uplift of the score attributed to context factor {column[4:]}"
        legend.append([th, column, meaning])
    legend.append([])
    for key, value in frame.attrs.items():
        legend.append(["การตั้งค่า", str(key), escape_formula(json.dumps(json_ready(value),
                                                                      ensure_ascii=False))])
    book.save(path)
