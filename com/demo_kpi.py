"""The demo's target lists and projects, so `com kpi` and the targets page work on a fresh demo.

The lists are declared from the ranking of the synthetic points, as a planner would, by a
declarer named :data:`DEMO_DECLARER`; the projects are invented, named with the synthetic
prefix and tagged ``{"synthetic": true}`` like the demo's points. A list a real planner
declared is never replaced.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from com.analysis.kpi import declare_targets, store_projects
from com.analysis.kpi.targets import find_target_list
from com.config.severity import SeverityModel
from com.db.tables_risk import projects as projects_table
from com.security.access import CLI

#: Fiscal years given a demo target list: FY 2568's report then has last year's list (PAI)
#: and a baseline year (FY 2566) with data for the path to FY 2570.
TARGET_YEARS_BE = (2567, 2568)
TARGET_TOP = 10
#: Who the audit trail and the list name as declarer: says the list is demo data.
DEMO_DECLARER = "demo [ข้อมูลสมมติ]"
DEMO_PRINCIPAL = dataclasses.replace(CLI, name=DEMO_DECLARER)
#: Projects of each year: five in the first five target areas, one elsewhere, so the KPI
#: shows one project verdict met (5 of 6 in targets) and one not (5 of 10 areas reached).
PROJECT_NAMES = (
    "โครงการตั้งจุดตรวจร่วม",
    "โครงการติดตั้งไฟส่องสว่าง",
    "โครงการหมู่บ้านสีขาวปลอดยาเสพติด",
    "โครงการลาดตระเวนชายแดน",
    "โครงการติดตั้งกล้อง CCTV ชุมชน",
    "โครงการอบรมอาสาสมัครเฝ้าระวัง",
)
PROJECTS_IN_TARGETS = 5


def declare_demo_targets(
    conn: Connection, *, province_code: str, model: SeverityModel, prefix: str
) -> dict[str, Any]:
    """Declare the demo target lists and store the demo projects, in the caller's transaction.

    Parameters
    ----------
    conn
        Connection of the demo's transaction (the synthetic points already stored).
    province_code
        The demo province.
    model
        Severity model of the ranking behind the lists.
    prefix
        Name prefix marking synthetic records (:data:`com.demo.SYNTHETIC_PREFIX`).

    Returns
    -------
    dict
        ``target_lists``: fiscal year to the number of areas and whether the list was
        ``declared`` or ``kept`` (a planner's own list); ``projects``: how many were stored.
    """
    conn.execute(sa.delete(projects_table).where(
        projects_table.c.attributes["synthetic"].as_boolean().is_(True)))
    lists: dict[int, dict[str, Any]] = {}
    stored = 0
    for fy in TARGET_YEARS_BE:
        existing = find_target_list(conn, province_code, fy, "subdistrict")
        if existing is not None and existing["declared_by"] != DEMO_DECLARER:
            lists[fy] = {"status": "kept", "declared_by": existing["declared_by"]}
            continue
        listing = declare_targets(
            conn, province=province_code, fiscal_year_be=fy, principal=DEMO_PRINCIPAL,
            top=TARGET_TOP, model=model, replace=existing is not None,
        )
        codes = [a["subdistrict_code"] for a in listing["areas"]]
        lists[fy] = {"status": "declared", "areas": len(codes)}
        stored += _store_demo_projects(conn, fy=fy, codes=codes, province_code=province_code,
                                       prefix=prefix)
    return {"target_lists": lists, "projects": stored}


def _store_demo_projects(
    conn: Connection, *, fy: int, codes: list[str], province_code: str, prefix: str
) -> int:
    """Store one year's synthetic projects by area code; return how many."""
    outside = conn.execute(
        sa.text("SELECT min(code) FROM subdistricts WHERE province_code = :p "
                "AND NOT (code = ANY(:codes))"),
        {"p": province_code, "codes": codes},
    ).scalar_one()
    area_codes = codes[:PROJECTS_IN_TARGETS] + ([outside] if outside else [])
    frame = pd.DataFrame({
        "name": [f"{prefix} {PROJECT_NAMES[i % len(PROJECT_NAMES)]} ปีงบประมาณ {fy}"
                 for i in range(len(area_codes))],
        "fiscal_year_be": [fy] * len(area_codes),
        "area_code": area_codes,
    })
    ids = store_projects(conn, frame, province=province_code)
    conn.execute(
        sa.update(projects_table).where(projects_table.c.id.in_(ids))
        .values(attributes={"synthetic": True})
    )
    return len(ids)
