"""The brief's data beyond one province's KPI: village plan progress and a region's summary."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from com.analysis.kpi import region_kpi_report
from com.analysis.kpi.progress import plan_progress
from com.analysis.kpi.targets import find_target_list, get_target_list, target_code_key
from com.boundaries import describe_regions
from com.brief.model import RegionSummary
from com.config.regions import RegionSet, cached_regions, regions_in_force

VILLAGE_LEVEL = "village"


def village_progress(
    conn: Connection, *, province: str, fiscal_year_be: int
) -> dict[str, Any] | None:
    """Return the plan progress of a province's village target list of the year, or None.

    The same call, on the same codes, as ``com kpi --level village``'s ``progress.total``
    (:func:`com.analysis.kpi.report.kpi_report`), so the brief says what ``com kpi`` says.
    """
    if find_target_list(conn, province, int(fiscal_year_be), VILLAGE_LEVEL) is None:
        return None
    listing = get_target_list(conn, province=province, fiscal_year_be=fiscal_year_be,
                              level=VILLAGE_LEVEL)
    codes = [a[target_code_key(VILLAGE_LEVEL)] for a in listing["areas"]]
    return dict(plan_progress(conn, level=VILLAGE_LEVEL, codes=codes,
                              fiscal_year_be=int(fiscal_year_be), province=province)["total"])


def region_summary(
    conn: Connection, *, region: str, fiscal_year_be: int,
    severity_config: Path | str | None = None, as_of: dt.date | None = None,
    regions_config: Path | str | None = None,
) -> RegionSummary:
    """Return a region's provinces (with names) and ``com kpi --region``'s report.

    Raises
    ------
    com.errors.ValidationError
        For an unknown region.
    """
    report = region_kpi_report(conn, region=region, fiscal_year_be=fiscal_year_be,
                               model=severity_config, as_of=as_of,
                               regions_config=regions_config)
    regions = cached_regions(regions_config) if regions_config else regions_in_force()
    found = regions.get(report["region"]["key"])
    named = describe_regions(conn, RegionSet((found,), frozenset()))[0]["provinces"]
    missing = {r["province_code"]: r["missing"] for r in report["provinces"] if "missing" in r}
    provinces = [{**p, "missing": missing.get(p["code"])} for p in named]
    return RegionSummary(key=found.key, name_th=found.th, name_en=found.en,
                         provinces=provinces, report=report)
