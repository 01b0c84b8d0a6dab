"""Projects against the target areas: coverage, storing a project list, upload rows."""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.kpi.targets import parse_target_level
from com.db.tables_risk import projects as projects_table
from com.errors import ValidationError
from com.ingest.areas import plan_status_of
from com.ingest.kinds import BuiltRecord, RowValues
from com.ingest.options import RowRejected
from com.text.thai import clean_text, parse_date

_CODE_LENGTH = {"subdistrict": 6, "district": 4}  # cut a finer code to the level


def project_coverage(
    project_codes: Sequence[str | None],
    target_codes: Iterable[str],
    *,
    level: str = "subdistrict",
    target: float = 0.80,
) -> dict[str, Any]:
    """Share of projects located in target areas, and share of target areas reached.

    Parameters
    ----------
    project_codes : sequence of str or None
        Each project's subdistrict code (or district code for a district list; a subdistrict
        code is cut to its district). None or a coarser code: not located precisely enough.
    target_codes : iterable of str
        The declared target areas.
    level : str
        Level of the list.
    target : float
        The KPI threshold (0.80).

    Returns
    -------
    dict
        ``projects``, ``in_targets``, ``share_in_targets``, ``targets``,
        ``targets_reached``, ``share_targets_reached``, ``too_coarse`` and pass flags.

    Examples
    --------
    >>> project_coverage(["320605", "320605", "320601", "320111", "321001"],
    ...                  ["320605", "320601", "320111", "320701"])["share_in_targets"]
    0.8
    """
    level = parse_target_level(level)
    # A layer's area codes are compared whole (a project is placed in its area beforehand).
    length = _CODE_LENGTH.get(level, 0)
    targets = {str(c) for c in target_codes}
    located: list[str | None] = []
    coarse = 0
    for code in project_codes:
        text = None if code is None else str(code)
        if text is None or len(text) < length:
            coarse += 1
            located.append(None)
        else:
            located.append(text[:length] if length else text)
    n = len(located)
    inside = sum(1 for c in located if c is not None and c in targets)
    reached = {c for c in located if c is not None and c in targets}
    share = inside / n if n else None
    reach = len(reached) / len(targets) if targets else None
    return {
        "projects": n,
        "in_targets": inside,
        "share_in_targets": share,
        "targets": len(targets),
        "targets_reached": len(reached),
        "share_targets_reached": reach,
        "too_coarse": coarse,
        "target_share": target,
        "passed_share_in_targets": None if share is None else share >= target - 1e-12,
        "passed_targets_reached": None if reach is None else reach >= target - 1e-12,
    }


def _parse_fy_value(value: object, what: str) -> int:
    text = clean_text(str(value)).upper()
    text = re.sub(r"^(FY|ปีงบประมาณ|ปีงบ|พ\.ศ\.|พศ)\s*", "", text).strip()
    if not re.fullmatch(r"\d{4}(\.0)?", text):
        raise ValidationError(f"{what}: {value!r} is not a fiscal year such as 2568")
    year = int(float(text))
    if year < 2400:
        raise ValidationError(
            f"{what}: {value!r} looks like a Common-Era year; write the Buddhist-era fiscal "
            f"year (FY {year + 543 + 1} runs 1 Oct {year} - 30 Sep {year + 1})"
        )
    return year


def store_projects(
    conn: Connection,
    frame: pd.DataFrame,
    *,
    source_upload_id: int | None = None,
    province: str | None = None,
) -> list[int]:
    """Store projects given by coordinates or by an area code, in the caller's transaction.

    Columns: ``name``, ``fiscal_year_be`` (Buddhist era, ``FY2568`` and Thai digits accepted)
    and either ``lat`` + ``lon`` or ``area_code`` (a subdistrict, district or province code).
    Points get their subdistrict, district and province as risk points do (the containing
    subdistrict, else the nearest within 1 km).

    Returns
    -------
    list of int
        Ids of the stored projects, in row order.

    Raises
    ------
    com.errors.ValidationError
        Naming the row (1 = first data row) and the problem; nothing is stored then.
    """
    missing = [c for c in ("fiscal_year_be",) if c not in frame.columns]
    if missing:
        raise ValidationError(f"projects need a {missing[0]!r} column")
    has_point = {"lat", "lon"} <= set(frame.columns)
    if not has_point and "area_code" not in frame.columns:
        raise ValidationError("projects need lat and lon columns or an area_code column")
    rows: list[dict[str, Any]] = []
    for number, record in enumerate(frame.to_dict("records"), start=1):
        rows.append(_parse_project_row(number, record, has_point=has_point))
    ids: list[int] = []
    values: list[dict[str, Any]] = []
    for row in rows:
        sub, dist, prov, geom = _place_project(conn, row)
        if province is not None and prov != province:
            raise ValidationError(f"row {row['number']}: not in province {province}")
        values.append({
            "name": row["name"], "fiscal_year_be": row["fy"], "area_code": row["code"],
            "geom": geom, "subdistrict_code": sub, "district_code": dist,
            "province_code": prov, "source_upload_id": source_upload_id,
            "source_row": row["number"], "status": row["status"], "due_on": row["due_on"],
        })
    # Every row is checked before the first is written.
    for record in values:
        ids.append(conn.execute(
            sa.insert(projects_table).values(**record).returning(projects_table.c.id)
        ).scalar_one())
    return ids


def _parse_project_row(number: int, record: dict[str, Any], *, has_point: bool) -> dict[str, Any]:
    """Check one project row: its fiscal year and either a point in Thailand or an area code."""
    fy = _parse_fy_value(record.get("fiscal_year_be"), f"row {number}: fiscal_year_be")
    lat = record.get("lat") if has_point else None
    lon = record.get("lon") if has_point else None
    code = record.get("area_code")
    code = None if code is None or (isinstance(code, float) and math.isnan(code)) else str(
        code).strip().removeprefix("TH")
    point = lat is not None and lon is not None and not (
        isinstance(lat, float) and math.isnan(lat)) and not (
        isinstance(lon, float) and math.isnan(lon))
    if point:
        try:
            lat_f, lon_f = float(lat), float(lon)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValidationError(
                f"row {number}: lat/lon {lat!r}, {lon!r} are not numbers"
            ) from None
        if not (5.0 <= lat_f <= 21.0 and 97.0 <= lon_f <= 106.0):
            raise ValidationError(f"row {number}: {lat_f}, {lon_f} is outside Thailand")
    elif code:
        if not re.fullmatch(r"\d{2}|\d{4}|\d{6}", code):
            raise ValidationError(f"row {number}: area code {code!r} is not 2, 4 or 6 digits")
    else:
        raise ValidationError(f"row {number}: no coordinates and no area code")
    name = record.get("name")
    status, due_on = _plan_of(number, record)
    return {
        "status": status, "due_on": due_on,
        "number": number, "name": None if name is None else str(name), "fy": fy,
        "lat": lat_f if point else None, "lon": lon_f if point else None,
        "code": None if point else code,
    }


def _plan_of(number: int, record: Mapping[str, Any]) -> tuple[str | None, dt.date | None]:
    """Return a project row's plan status and due date (issue 16), both optional."""
    raw_status, raw_due = record.get("status"), record.get("due_on")
    blank = (None, "") if not isinstance(raw_status, float) else (raw_status,)
    try:
        status = None if raw_status in blank else plan_status_of(raw_status)
    except ValidationError as exc:
        raise ValidationError(f"row {number}: {exc}") from None
    due = None
    if raw_due is not None and not (isinstance(raw_due, float) and math.isnan(raw_due)):
        due = parse_date(raw_due)
        if due is None:
            raise ValidationError(f"row {number}: due_on {raw_due!r} is not a date")
    return status, due


def _place_project(
    conn: Connection, row: dict[str, Any]
) -> tuple[str | None, str | None, str, str | None]:
    """Return a project's subdistrict, district, province and point (EWKT, or None)."""
    if row["code"] is not None:
        found = _area_codes(conn, row["code"])
        if found is None:
            raise ValidationError(
                f"row {row['number']}: area code {row['code']} does not exist"
            )
        sub, dist, prov = found
        geom = None
    else:
        hit = conn.execute(
            sa.text(
                "SELECT s.code, s.district_code, s.province_code FROM subdistricts s "
                "WHERE s.code = COALESCE("
                " (SELECT p.subdistrict_code FROM subdistrict_parts p "
                "  WHERE ST_Contains(p.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
                "  LIMIT 1),"
                " (SELECT s2.code FROM subdistricts s2 WHERE ST_DWithin(s2.geom::geography,"
                "  ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography, 1000) "
                "  ORDER BY s2.geom <-> ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) LIMIT 1))"
            ),
            {"lat": row["lat"], "lon": row["lon"]},
        ).first()
        if hit is None:
            raise ValidationError(
                f"row {row['number']}: {row['lat']}, {row['lon']} is in no subdistrict"
            )
        sub, dist, prov = hit
        geom = f"SRID=4326;POINT({row['lon']} {row['lat']})"
    return sub, dist, prov, geom


def _area_codes(conn: Connection, code: str) -> tuple[str | None, str | None, str] | None:
    if len(code) == 6:
        row = conn.execute(sa.text(
            "SELECT code, district_code, province_code FROM subdistricts WHERE code = :c"),
            {"c": code}).first()
    elif len(code) == 4:
        row = conn.execute(sa.text(
            "SELECT NULL, code, province_code FROM districts WHERE code = :c"), {"c": code}
        ).first()
    else:
        row = conn.execute(sa.text("SELECT NULL, NULL, code FROM provinces WHERE code = :c"),
                           {"c": code}).first()
    return None if row is None else (row[0], row[1], row[2])


def build_project(row: RowValues) -> BuiltRecord:
    """Build a project record for the upload machinery (``com.ingest`` kind ``projects``).

    Reads the name and the fiscal year (ปีงบประมาณ, Buddhist era); the upload places the row
    (coordinates, or an address at its subdistrict) like a risk point.

    Raises
    ------
    com.ingest.options.RowRejected
        No fiscal year, or one that is not a Buddhist-era fiscal year such as 2568.
    """
    raw = row.get("fiscal_year_be")
    if raw is None:
        raise RowRejected("no fiscal year (ปีงบประมาณ) given", "fiscal_year_be")
    try:
        fy = _parse_fy_value(raw, "fiscal year")
    except ValidationError as exc:
        raise RowRejected(str(exc), row.columns.get("fiscal_year_be")) from None
    name = row.text("name")
    attributes = dict(row.extra)
    return BuiltRecord(
        values={"name": name, "fiscal_year_be": fy, "attributes": attributes},
        dedupe_key=f"{name or ''}|{fy}",
    )


#: Column names the upload machinery recognises as the fiscal year of a project.
PROJECT_FIELDS: Mapping[str, tuple[str, ...]] = {
    "fiscal_year_be": ("ปีงบประมาณ", "ปีงบ", "ปีงบประมาณ พ.ศ.", "fiscal year", "fiscal_year",
                       "fiscal_year_be", "fy"),
}
