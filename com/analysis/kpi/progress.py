"""Plan progress of a target list (issue 16): how many target areas' plans are done.

A target area's status is its own plan's (a village plan, ``area_features.plan_status``) when
it has one; otherwise it follows from the year's projects in it: ``done`` when it has projects
and all are done, ``in_progress`` when any is in progress or done, ``planned`` when all are
planned; ``none`` without plan or project (or only projects without a status). The due date
of the whole list is the latest due date of its areas' plans and projects.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.kpi.layers import layer_project_areas
from com.analysis.kpi.targets import list_target_lists, target_codes
from com.analysis.risk.filters import AreaLevel
from com.text.thai import format_thai_date

_NOUNS = {"village": ("หมู่บ้าน", "villages"), "subdistrict": ("ตำบล", "subdistricts"),
          "district": ("อำเภอ", "districts")}


def area_status(own: str | None, project_statuses: Iterable[str | None]) -> str:
    """Return a target area's status from its own plan's and its projects' statuses.

    Examples
    --------
    >>> area_status(None, ["done", "planned"]), area_status("planned", ["done"])
    ('in_progress', 'planned')
    >>> area_status(None, ["done", "done"]), area_status(None, [])
    ('done', 'none')
    """
    if own:
        return own
    known = [s for s in project_statuses if s]
    if not known:
        return "none"
    if all(s == "done" for s in known):
        return "done"
    if any(s in ("done", "in_progress") for s in known):
        return "in_progress"
    return "planned"


def progress_summary(
    statuses: Sequence[str], due: dt.date | None, *, level: str
) -> dict[str, Any]:
    """Return the counts of a list's statuses and the sentence saying them (Thai, English).

    Examples
    --------
    >>> s = progress_summary(["done"] * 13 + ["planned"] * 34, dt.date(2026, 3, 31),
    ...                      level="village")
    >>> s["text_en"]
    '13 of 47 villages done, 34 remaining, due 31 Mar 2026'
    >>> s["text_th"]
    'เสร็จ 13 จาก 47 หมู่บ้าน เหลือ 34 กำหนดเสร็จ 31 มี.ค. 2569'
    """
    counts = Counter(statuses)
    total, done = len(statuses), counts["done"]
    th_noun, en_noun = _NOUNS.get(AreaLevel.parse(level).kind, ("พื้นที่", "areas"))
    text_en = f"{done} of {total} {en_noun} done, {total - done} remaining"
    text_th = f"เสร็จ {done} จาก {total} {th_noun} เหลือ {total - done}"
    if due is not None:
        text_en += f", due {due.day} {due:%b %Y}"
        text_th += f" กำหนดเสร็จ {format_thai_date(due)}"
    return {
        "areas": total, "done": done, "in_progress": counts["in_progress"],
        "planned": counts["planned"], "none": counts["none"], "remaining": total - done,
        "share_done": done / total if total else None,
        "due": due.isoformat() if due else None, "text_th": text_th, "text_en": text_en,
    }


def _projects_by_area(
    conn: Connection, *, level: str, province: str, fiscal_year_be: int
) -> list[tuple[str | None, str | None, dt.date | None]]:
    """Return (area code, status, due date) of each project of the year, in id order."""
    rows = conn.execute(sa.text(
        "SELECT subdistrict_code, district_code, status, due_on FROM projects "
        "WHERE province_code = :p AND fiscal_year_be = :fy ORDER BY id"
    ), {"p": province, "fy": fiscal_year_be}).all()
    parsed = AreaLevel.parse(level)
    if parsed.is_layer:
        codes = layer_project_areas(conn, province=province, fy=fiscal_year_be, level=level)
    else:
        codes = [r.subdistrict_code if parsed.kind == "subdistrict" else r.district_code
                 for r in rows]
    return [(c, r.status, r.due_on) for c, r in zip(codes, rows, strict=True)]


def plan_progress(
    conn: Connection, *, level: str, codes: Sequence[str], fiscal_year_be: int, province: str,
) -> dict[str, Any]:
    """Return the plan progress of a target list per area and in total.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Database connection.
    level : str
        Level of the list (``village``, ``layer:NAME``, ``subdistrict``, ``district``).
    codes : sequence of str
        The list's area codes.
    fiscal_year_be : int
        The year whose projects count.
    province : str
        The list's province.

    Returns
    -------
    dict
        ``areas`` (code, status, due, projects per status) and ``total``
        (:func:`progress_summary`).
    """
    parsed = AreaLevel.parse(level)
    own: dict[str, tuple[str | None, dt.date | None]] = {}
    if parsed.is_layer:
        own = {r.code: (r.plan_status, r.plan_due) for r in conn.execute(sa.text(
            "SELECT code, plan_status, plan_due FROM area_features "
            "WHERE layer = :layer AND code = ANY(:codes)"
        ), {"layer": parsed.layer, "codes": list(codes)})}
    projects = _projects_by_area(conn, level=level, province=province,
                                 fiscal_year_be=fiscal_year_be)
    areas: list[dict[str, Any]] = []
    dues: list[dt.date] = []
    for code in codes:
        status_own, due_own = own.get(code, (None, None))
        mine = [(s, d) for c, s, d in projects if c == code]
        status = area_status(status_own, [s for s, _ in mine])
        due_dates = [d for d in [due_own, *(d for _, d in mine)] if d is not None]
        due = max(due_dates) if due_dates else None
        dues.extend(due_dates)
        areas.append({"code": code, "status": status, "due": due.isoformat() if due else None,
                      "projects": dict(Counter(s or "unknown" for s, _ in mine))})
    total = progress_summary([a["status"] for a in areas], max(dues) if dues else None,
                             level=level)
    return {"areas": areas, "total": total}


def list_progress(conn: Connection, *, province: str, years: int = 2) -> list[dict[str, Any]]:
    """Return the plan progress of a province's target lists of its newest ``years`` years.

    One entry per list: ``fiscal_year_be``, ``level`` and the total of :func:`plan_progress`
    (for the targets page).
    """
    lists = list_target_lists(conn, province=province)
    newest = sorted({x["fiscal_year_be"] for x in lists}, reverse=True)[:years]
    out = []
    for item in lists:
        if item["fiscal_year_be"] not in newest:
            continue
        codes = target_codes(conn, item["id"])
        total = plan_progress(conn, level=item["level"], codes=codes,
                              fiscal_year_be=item["fiscal_year_be"], province=province)["total"]
        out.append({"fiscal_year_be": item["fiscal_year_be"], "level": item["level"], **total})
    return out
