"""Patrol and checkpoint lists: the riskiest subdistricts of every district, in Thai."""

from __future__ import annotations

import csv
import math
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.db.tables import District
from com.errors import ValidationError
from com.io.escape import escape_formula
from com.siting.repository import check_area
from com.siting.scalars import plain_scalar
from com.text.thai import format_thai_date

PATROL_COLUMNS = (
    "district_rank", "district_code", "district_th", "priority", "subdistrict_code",
    "subdistrict_th", "name_en", "risk_score", "points", "province_rank", "share_of_district",
    "note",
)
PATROL_HEADERS_TH = {
    "district_rank": "ลำดับอำเภอ",
    "district_code": "รหัสอำเภอ",
    "district_th": "อำเภอ",
    "priority": "ลำดับความสำคัญในอำเภอ",
    "subdistrict_code": "รหัสตำบล",
    "subdistrict_th": "ตำบล",
    "name_en": "ชื่อตำบลภาษาอังกฤษ",
    "risk_score": "คะแนนความเสี่ยง",
    "points": "จำนวนจุดเสี่ยง",
    "province_rank": "ลำดับในจังหวัด",
    "share_of_district": "สัดส่วนความเสี่ยงของอำเภอ (%)",
    "note": "หมายเหตุ",
}
_NO_RISK_NOTE = "ไม่มีจุดเสี่ยงในช่วงเวลานี้"


def _largest_remainder(scores: np.ndarray, capacity: np.ndarray, total: int) -> np.ndarray:
    """Split ``total`` slots over groups in proportion to ``scores`` (Hamilton's method).

    Every group with capacity gets one slot first when ``total`` allows, so every district
    gets its share; no group gets more than its capacity.
    """
    slots = np.zeros(scores.size, dtype=int)
    remaining = int(min(total, capacity.sum()))
    if remaining <= 0:
        return slots
    order = np.lexsort((np.arange(scores.size), -scores))
    for i in order:
        if remaining and capacity[i] > 0:
            slots[i], remaining = 1, remaining - 1
    while remaining > 0:
        room = capacity - slots
        weights = np.where(room > 0, np.maximum(scores, 0.0), 0.0)
        if weights.sum() <= 0:
            weights = (room > 0).astype(float)
        quota = weights / weights.sum() * remaining
        whole = np.minimum(np.floor(quota).astype(int), room)
        if whole.sum() == 0:
            frac = np.where(room > 0, quota - np.floor(quota), -1.0)
            pick = int(np.lexsort((np.arange(frac.size), -frac))[0])
            whole[pick] = 1
        slots += whole
        remaining -= int(whole.sum())
    return slots


def allocate_patrols(
    areas: pd.DataFrame,
    *,
    per_district: int | None = 3,
    total: int | None = None,
    districts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Rank patrol/checkpoint areas per district so every district gets its share.

    Parameters
    ----------
    areas
        Subdistrict scores: ``subdistrict_code``, ``name_th``, ``risk_score`` and optionally
        ``name_en``, ``points``, ``rank`` (as from :func:`com.analysis.risk.rank_areas`).
    per_district
        The top N subdistricts of every district (used when ``total`` is None).
    total
        Instead: this many areas in all, shared among districts in proportion to their total
        risk (largest remainders), at least one per district while slots last.
    districts
        ``district_code`` and ``district_th`` for the names; default: codes only.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PATROL_COLUMNS`, districts by total risk, areas by score within each.

    Examples
    --------
    >>> areas = pd.DataFrame({"subdistrict_code": ["320101", "320102", "320201"],
    ...                       "name_th": ["a", "b", "c"], "risk_score": [5.0, 1.0, 0.5]})
    >>> allocate_patrols(areas, per_district=1)["subdistrict_code"].tolist()
    ['320101', '320201']
    """
    if total is None and (per_district is None or per_district < 1):
        raise ValidationError("give at least one area per district (--per-district 1 or more)")
    if total is not None and total < 1:
        raise ValidationError(f"the total number of areas must be at least 1, not {total}")
    frame = pd.DataFrame(areas).copy()
    for column in ("subdistrict_code", "name_th", "risk_score"):
        if column not in frame.columns:
            raise ValidationError(f"area scores: missing column {column}")
    frame["subdistrict_code"] = frame["subdistrict_code"].astype(str)
    frame["district_code"] = frame["subdistrict_code"].str[:4]
    frame["risk_score"] = pd.to_numeric(frame["risk_score"], errors="coerce").fillna(0.0)
    if "points" not in frame.columns:
        frame["points"] = np.nan
    if "name_en" not in frame.columns:
        frame["name_en"] = None
    frame = frame.sort_values(["risk_score", "subdistrict_code"], ascending=[False, True])
    frame["province_rank"] = np.arange(1, len(frame) + 1)
    by_district = frame.groupby("district_code", sort=False)["risk_score"].agg(["sum", "size"])
    by_district = by_district.sort_values("sum", ascending=False, kind="stable")
    by_district["district_rank"] = np.arange(1, len(by_district) + 1)
    if total is not None:
        by_district["slots"] = _largest_remainder(
            by_district["sum"].to_numpy(float), by_district["size"].to_numpy(int), int(total)
        )
    else:
        by_district["slots"] = np.minimum(by_district["size"], int(per_district))  # type: ignore[arg-type]
    frame["priority"] = frame.groupby("district_code").cumcount() + 1
    frame = frame.join(by_district[["sum", "district_rank", "slots"]], on="district_code")
    chosen = frame[frame["priority"] <= frame["slots"]].copy()
    chosen["share_of_district"] = np.where(
        chosen["sum"] > 0, 100 * chosen["risk_score"] / chosen["sum"].where(chosen["sum"] > 0, 1),
        0.0,
    ).round(1)
    chosen["note"] = np.where(chosen["risk_score"] > 0, "", _NO_RISK_NOTE)
    names = {}
    if districts is not None and len(districts):
        names = dict(zip(districts["district_code"].astype(str), districts["district_th"],
                         strict=False))
    chosen["district_th"] = chosen["district_code"].map(names)
    chosen = chosen.rename(columns={"name_th": "subdistrict_th"})
    chosen["risk_score"] = chosen["risk_score"].round(4)
    chosen = chosen.sort_values(["district_rank", "priority"]).reset_index(drop=True)
    return chosen[list(PATROL_COLUMNS)]


def patrol_plan(
    conn: Connection,
    *,
    province: str,
    per_district: int | None = 3,
    total: int | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    as_of: date | None = None,
    settings: Any = None,
) -> pd.DataFrame:
    """Patrol/checkpoint list for a province from the subdistrict risk ranking (issue 4).

    See :func:`allocate_patrols`; the scores are :func:`com.analysis.risk.rank_areas` at subdistrict
    level with the same severity model and filters.
    """
    from com.analysis import risk  # deferred: com.analysis.risk imports geopandas

    check_area(conn, province=str(province))
    ranking = risk.rank_areas(
        conn, level="subdistrict", province=str(province), date_from=date_from,
        date_to=date_to, as_of=as_of, model=getattr(settings, "severity_config", None),
    )
    districts = pd.DataFrame(
        conn.execute(
            sa.select(District.code.label("district_code"), District.name_th.label("district_th"))
            .where(District.province_code == str(province))
        ).mappings().all(),
        columns=["district_code", "district_th"],
    )
    plan = allocate_patrols(
        pd.DataFrame(ranking.drop(columns="geometry", errors="ignore")),
        per_district=per_district, total=total, districts=districts,
    )
    plan.attrs.update(
        {"province_code": str(province), "as_of": str(ranking.attrs.get("as_of", as_of or "")),
         "per_district": per_district, "total": total}
    )
    return plan


def write_patrols(plan: pd.DataFrame, path: Path | str) -> Path:
    """Write a patrol list as XLSX (Thai headers, a sheet explaining it) or CSV (UTF-8 BOM).

    Text cells a spreadsheet would run as a formula get a leading apostrophe.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    headers = [PATROL_HEADERS_TH[c] for c in plan.columns]

    def cell(value: Any) -> Any:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return None
        return escape_formula(plain_scalar(value))

    if suffix == ".csv":
        with path.open("w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(headers)
            for row in plan.itertuples(index=False):
                writer.writerow(["" if cell(v) is None else cell(v) for v in row])
        return path
    if suffix != ".xlsx":
        raise ValidationError(f"{path.name}: write the patrol list as .xlsx or .csv")
    from openpyxl import Workbook  # deferred: only the XLSX list needs openpyxl
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "จุดตรวจ-สายตรวจ"
    sheet.append(headers)
    for c in sheet[1]:
        c.font = Font(bold=True)
    for row in plan.itertuples(index=False):
        sheet.append([cell(v) for v in row])
    for i, header in enumerate(headers, start=1):
        sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(10, len(header) + 2)
    sheet.freeze_panes = "A2"
    about = book.create_sheet("คำอธิบาย")
    attrs = plan.attrs
    rule = (
        f"{attrs['per_district']} ตำบลแรกของทุกอำเภอ" if attrs.get("total") is None
        else f"รวม {attrs['total']} ตำบล แบ่งตามสัดส่วนความเสี่ยงของอำเภอ (อย่างน้อยอำเภอละ 1)"
    )
    as_of = attrs.get("as_of")
    try:
        as_of_th = format_thai_date(date.fromisoformat(str(as_of)), month_style="full")
    except ValueError:
        as_of_th = str(as_of or "")
    for line in (
        ("รายการพื้นที่ลาดตระเวน/ตั้งจุดตรวจ", "Patrol and checkpoint list"),
        ("จังหวัด", attrs.get("province_code", "")),
        ("วิธีเลือก", rule),
        ("คะแนนความเสี่ยง", "ผลรวมของ น้ำหนักประเภท x ระดับความรุนแรง x ความใหม่ x จำนวนเหตุ "
                           "และปัจจัยแวดล้อม (แบบจำลองเดียวกับการจัดอันดับพื้นที่)"),
        ("คำนวณ ณ วันที่", as_of_th),
    ):
        about.append([escape_formula(v) for v in line])
    about.column_dimensions["A"].width = 24
    about.column_dimensions["B"].width = 90
    book.save(path)
    return path
