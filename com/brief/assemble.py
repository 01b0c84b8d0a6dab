"""Assemble a brief's data once, from the functions ``com kpi`` and ``com rank`` call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy.engine import Connection

from com.analysis.kpi import kpi_report
from com.analysis.risk import HOTSPOT_LABELS
from com.brief.history import last_brief, record_brief
from com.brief.kpi_section import kpi_section
from com.brief.model import Brief, CctvSection, CctvSite, ProvinceBrief, RankedArea, SinceLast
from com.brief.sections import region_summary, village_progress
from com.errors import NotFoundError, ValidationError
from com.feeds.triage import TriageCount, triaged_counts
from com.maps.data import MapFilters, load_map_data, plan_sites
from com.maps.style import category_names
from com.security import privacy
from com.siting.redaction import plan_for
from com.siting.repository import get_plan, list_plans

#: Marks of synthetic data in names (the demo's declarer and prefixes).
SYNTHETIC_MARK = "ข้อมูลสมมติ"
TOP_N_MAX = 50


def assemble_brief(
    conn: Connection,
    *,
    provinces: Sequence[str],
    fiscal_year_be: int,
    principal: Any,
    severity_config: Path | str | None = None,
    small_area_k: int = 5,
    since: dt.date | None = None,
    top: int = 10,
    as_of: dt.date | None = None,
    thai_digits: bool = False,
    record: bool = True,
    region: str | None = None,
    regions_config: Path | str | None = None,
) -> Brief:
    """Gather everything a meeting brief shows, as ``principal`` may see it.

    The KPI figures are :func:`com.analysis.kpi.kpi_report`'s, the ranking and hot spots
    those of the operations map (:func:`com.maps.data.load_map_data`, which ranks with
    :func:`com.analysis.risk.hotspots` over :func:`com.analysis.risk.rank_areas`, coarsens
    sensitive points and suppresses small areas for the public), the CCTV plan the newest
    saved one as :func:`com.siting.redaction.plan_for` shows it.

    Parameters
    ----------
    conn : sqlalchemy.engine.Connection
        Database connection; the brief's ranks are recorded in its transaction.
    provinces : sequence of str
        Province codes (ignored with ``region``).
    fiscal_year_be : int
        Fiscal year (Buddhist era).
    principal : com.security.access.Principal
        Who the brief is made for (their province and sensitive rights apply).
    severity_config : path, optional
        ``settings.severity_config``.
    small_area_k : int
        ``settings.small_area_k``.
    since : datetime.date, optional
        Start of "since the last meeting" (default: the date of the province's last brief).
    top : int
        Rows of the ranked table.
    as_of : datetime.date, optional
        Date of the report and the meeting (default today).
    thai_digits : bool
        Write numbers in Thai digits.
    record : bool
        Record the ranks for the next brief (never for public callers).
    region : str, optional
        A region's key or name: the brief covers each of its provinces with a declared
        target list and adds the region's summary (``com kpi --region``'s totals).
    regions_config : path, optional
        ``settings.regions_config``.

    Returns
    -------
    Brief
        The typed model the renderers lay out.

    Raises
    ------
    com.errors.ValidationError
        Without provinces, or with ``top`` out of 1-50.
    com.errors.NotFoundError
        When a province has no target list for the year.
    """
    if not 1 <= int(top) <= TOP_N_MAX:
        raise ValidationError(f"จำนวนอันดับต้องอยู่ระหว่าง 1-{TOP_N_MAX} / top must be 1-{TOP_N_MAX}")
    today = as_of or dt.date.today()
    summary = None
    reports: dict[str, dict[str, Any] | None] = dict.fromkeys(provinces)
    if region:
        summary = region_summary(conn, region=region, fiscal_year_be=fiscal_year_be,
                                 severity_config=severity_config, as_of=today,
                                 regions_config=regions_config)
        principal_may_see(principal, [p["code"] for p in summary.provinces])
        reports = {r["province_code"]: r for r in summary.report["provinces"]
                   if "missing" not in r}
        if not reports:
            raise NotFoundError(
                f"ไม่มีจังหวัดใดในภาค {summary.name_th} ประกาศพื้นที่เป้าหมายปีงบประมาณ "
                f"{fiscal_year_be} / no province of region {summary.key} declared a target "
                f"list for FY {fiscal_year_be}")
    if not reports:
        raise ValidationError("ระบุจังหวัดอย่างน้อยหนึ่งจังหวัด / give at least one province")
    parts = [
        _province_brief(conn, code, fiscal_year_be=fiscal_year_be, principal=principal,
                        severity_config=severity_config, small_area_k=small_area_k,
                        since=since, top=int(top), as_of=today, report=report)
        for code, report in reports.items()
    ]
    cut_off = max((_cut_off(p.points, today) for p in parts), default=today)
    synthetic = any(_synthetic(p) for p in parts)
    brief = Brief(
        fiscal_year_be=int(fiscal_year_be), meeting_date=today, data_cut_off=cut_off,
        provinces=parts, synthetic=synthetic,
        exact_positions=bool(getattr(principal, "sees_sensitive", False)),
        made_by=str(getattr(principal, "name", "")), top_n=int(top), thai_digits=thai_digits,
        region=summary,
    )
    if record and not privacy.applies_to(principal):
        for part in parts:
            record_brief(conn, province=part.province_code, fiscal_year_be=fiscal_year_be,
                         data_cut_off=cut_off, made_by=brief.made_by, ranks=part.ranks,
                         hotspots=part.hotspot_codes)
    return brief


def _province_brief(
    conn: Connection, province: str, *, fiscal_year_be: int, principal: Any,
    severity_config: Path | str | None, small_area_k: int, since: dt.date | None, top: int,
    as_of: dt.date, report: dict[str, Any] | None = None,
) -> ProvinceBrief:
    if report is None:
        report = kpi_report(conn, province=province, fiscal_year_be=fiscal_year_be,
                            model=severity_config, as_of=as_of)
    data = load_map_data(conn, MapFilters(province_code=report["province_code"]),
                         principal=principal, small_area_k=small_area_k,
                         severity_config=severity_config)
    # The map's loader reads WKB without an SRID; the database stores EPSG:4326.
    areas = data.areas.set_crs(4326, allow_override=True)
    areas["is_target"] = areas["code"].isin(report["target_list"]["codes"])
    ranked_frame = areas[areas["rank"].notna()].sort_values(["rank", "code"])
    ranks = {str(r.code): int(r.rank) for r in ranked_frame.itertuples()}
    hot = sorted(str(c) for c, cls in zip(areas["code"], areas["hotspot_class"], strict=True)
                 if isinstance(cls, str) and cls.startswith("hot"))
    previous = last_brief(conn, province=report["province_code"])
    names = dict(zip(areas["code"], areas["name_th"], strict=True))
    return ProvinceBrief(
        province_code=report["province_code"], name_th=report["province_th"],
        name_en=report["province_en"], kpi=kpi_section(report),
        ranked=_ranked(ranked_frame.head(top), (previous or {}).get("ranks")),
        cctv=_cctv(conn, report["province_code"], principal, severity_config, ranked_frame),
        since=_since(data.points, previous, since, hot, names, severity_config,
                     _alerts(conn, report["province_code"], principal)),
        areas=areas,
        districts=data.districts.set_crs(4326, allow_override=True),
        points=data.points, sites=data.sites,
        ranks=ranks, hotspot_codes=hot,
        village_progress=village_progress(conn, province=report["province_code"],
                                          fiscal_year_be=fiscal_year_be),
    )


def _ranked(frame: pd.DataFrame, previous: dict[str, int] | None) -> list[RankedArea]:
    rows = []
    for r in frame.to_dict("records"):
        explanation = r.get("explanation") or {}
        before = (previous or {}).get(str(r["code"]))
        cls = r.get("hotspot_class")
        rows.append(RankedArea(
            rank=int(r["rank"]), code=str(r["code"]), name_th=str(r["name_th"]),
            district_th=str(r.get("district_name_th") or ""), score=float(r["score"]),
            points=int(r.get("point_count") or 0),
            rank_change=None if before is None else int(before) - int(r["rank"]),
            categories=[c["label"] for c in explanation.get("categories", [])[:3]],
            context=[c["label"] for c in explanation.get("context", [])[:2]],
            hotspot_th=HOTSPOT_LABELS[cls][0] if isinstance(cls, str) and
            cls != "not_significant" and cls in HOTSPOT_LABELS else None,
        ))
    return rows


def _since(
    points: pd.DataFrame, previous: dict[str, Any] | None, since: dt.date | None,
    hot: list[str], names: dict[str, str], severity_config: Path | str | None,
    triaged: Callable[[dt.date | None], list[TriageCount]],
) -> SinceLast:
    source = "option" if since is not None else "none"
    if since is None and previous is not None:
        since, source = previous["made_at"].date(), "last_brief"
    counts: dict[str, int] = {}
    if since is not None and len(points):
        labels = category_names(severity_config)
        dates = pd.to_datetime(points["reported_on"], errors="coerce").dt.date
        recent = points[dates >= since]
        for key, n in recent["category"].value_counts().sort_index().items():
            counts[labels.get(str(key), {}).get("th", str(key))] = int(n)
    before = set((previous or {}).get("hotspots") or [])
    return SinceLast(
        since=since, since_source=source, new_points_by_category=counts,
        new_hotspots=[names.get(c, c) for c in hot if c not in before] if previous else [],
        vanished_hotspots=[names.get(c, c) for c in sorted(before - set(hot))],
        compared_with_brief=previous is not None,
        alerts_triaged=triaged(since),
    )


def _alerts(
    conn: Connection, province: str, principal: Any
) -> Callable[[dt.date | None], list[TriageCount]]:
    """Return the counter of alerts triaged since a day (none for anonymous callers)."""
    if getattr(principal, "kind", None) == "anonymous":
        return lambda since: []  # live detections are for signed-in users (require_alert_reader)
    return lambda since: triaged_counts(conn, province=province, since=since)


def principal_may_see(principal: Any, provinces: Sequence[str]) -> None:
    """Refuse a restricted principal a brief of provinces it may not see (as /api/kpi)."""
    require = getattr(principal, "require_provinces", None)
    if require is not None:
        require(tuple(provinces))


def _cctv(
    conn: Connection, province: str, principal: Any, severity_config: Path | str | None,
    ranked: pd.DataFrame,
) -> CctvSection | None:
    plans = list_plans(conn, province=province, limit=1)
    if not plans:
        return None
    plan = get_plan(conn, plans[0]["id"])
    shown = plan_for(conn, plan["result"], principal, severity_config=severity_config)
    frame = plan_sites(shown, default_radius_m=(plan.get("params") or {}).get("radius_m"))
    sites = []
    for i, row in enumerate(frame.itertuples(), start=1):
        geom = row.geometry
        coarse = bool(getattr(row, "coarsened", False) is True)
        sites.append(CctvSite(
            order=int(getattr(row, "order", i) or i),
            subdistrict_th=str(getattr(row, "subdistrict_th", "") or ""),
            lon=None if geom is None or geom.is_empty else float(geom.x),
            lat=None if geom is None or geom.is_empty else float(geom.y),
            share_covered=_float(getattr(row, "share_covered", None)), coarsened=coarse))
    with_site = {str(c) for c in frame.get("subdistrict_code", pd.Series(dtype=str)).dropna()}
    uncovered = [str(r.name_th) for r in ranked.head(10).itertuples()
                 if str(r.code) not in with_site][:5]
    props = shown.get("properties") or {}
    return CctvSection(
        plan_id=int(plan["id"]), name=str(plan["name"]), created_at=plan.get("created_at"),
        sites=sites, curve=list(props.get("curve") or []),
        total_weight=float(plan.get("total_weight") or 0.0),
        covered_weight=float(plan.get("covered_weight") or 0.0), uncovered_areas=uncovered)


def _float(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if number != number else number  # NaN


def _cut_off(points: pd.DataFrame, today: dt.date) -> dt.date:
    if not len(points):
        return today
    latest = pd.to_datetime(points["reported_on"], errors="coerce").max()
    return today if pd.isna(latest) else min(latest.date(), today)


def _synthetic(part: ProvinceBrief) -> bool:
    points = part.points
    in_points = bool(len(points)) and bool(points["synthetic"].fillna(False).astype(bool).any())
    declared = str(part.kpi.report["target_list"].get("declared_by") or "")
    return in_points or SYNTHETIC_MARK in declared
