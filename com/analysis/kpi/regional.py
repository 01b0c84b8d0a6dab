"""The KPI of a region: each province's report against its own target list, and the totals.

Target lists are declared per province (a province's planners own them), so a region's KPI is
the provinces' reports side by side plus the region's totals: target areas, target areas
reached by a project (the 80% rule) and incidents in the target areas this year and last,
tested for significance like a province's.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Connection

from com.analysis.kpi.report import kpi_report
from com.analysis.kpi.statistics import binomial_change_test
from com.config.regions import cached_regions, regions_in_force
from com.config.severity import SeverityModel, severity_model_of
from com.errors import NotFoundError


def region_kpi_report(
    conn: Connection,
    *,
    region: str,
    fiscal_year_be: int,
    level: str = "subdistrict",
    model: SeverityModel | Path | str | None = None,
    baseline_fy: int | None = None,
    as_of: dt.date | None = None,
    regions_config: Path | str | None = None,
) -> dict[str, Any]:
    """Report the KPIs of a fiscal year for every province of a region, with totals.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Database connection.
    region : str
        Region key or name (:mod:`com.config.regions`).
    fiscal_year_be, level, model, baseline_fy, as_of
        As for :func:`com.analysis.kpi.kpi_report`.
    regions_config : Path or str, optional
        ``COM_REGIONS_CONFIG`` (default: the settings').

    Returns
    -------
    dict
        ``region`` (key, Thai and English names), ``provinces`` (each province's report, or
        ``{"province_code", "missing"}`` when it declared no list for the year) and
        ``totals``.

    Raises
    ------
    com.errors.ValidationError
        For an unknown region.
    """
    model = severity_model_of(model)
    regions = cached_regions(regions_config) if regions_config else regions_in_force()
    found = regions.get(region)
    reports: list[dict[str, Any]] = []
    for code in found.provinces:
        try:
            reports.append(kpi_report(conn, province=code, fiscal_year_be=fiscal_year_be,
                                      level=level, model=model, baseline_fy=baseline_fy,
                                      as_of=as_of))
        except NotFoundError as exc:
            reports.append({"province_code": code, "missing": str(exc)})
    return {
        "region": {"key": found.key, "name_th": found.th, "name_en": found.en,
                   "provinces": list(found.provinces)},
        "fiscal_year_be": int(fiscal_year_be),
        "level": level,
        "provinces": reports,
        "totals": _totals([r for r in reports if "missing" not in r], model),
    }


def _totals(reports: list[dict[str, Any]], model: SeverityModel) -> dict[str, Any]:
    """Sum the provinces' target areas, project reach and target-area incidents."""
    targets = sum(r["projects"]["targets"] for r in reports)
    reached = sum(r["projects"]["targets_reached"] for r in reports)
    now = sum(r["targets"]["this"]["incidents"] for r in reports)
    before = sum(r["targets"]["previous"]["incidents"] for r in reports)
    days = [_days(r) for r in reports]
    test = (binomial_change_test(now, before, days_this=days[0][0], days_previous=days[0][1],
                                 alpha=model.kpi.alpha) if reports else None)
    share = reached / targets if targets else None
    return {
        "provinces_reporting": len(reports),
        "target_areas": targets,
        "target_areas_reached": reached,
        "share_targets_reached": share,
        "project_coverage_met": None if share is None
        else share >= model.kpi.project_coverage - 1e-12,
        "incidents": {"this": now, "previous": before,
                      "change_pct": round(100 * (now - before) / before, 2) if before else None},
        "significance": test,
    }


def _days(report: dict[str, Any]) -> tuple[int, int]:
    this = [dt.date.fromisoformat(d) for d in report["period"]["this"]]
    previous = [dt.date.fromisoformat(d) for d in report["period"]["previous"]]
    return (this[1] - this[0]).days + 1, (previous[1] - previous[0]).days + 1
