"""The brief's typed model: everything the PDF and the DOCX show, computed once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from com.feeds.triage import TriageCount


@dataclass(frozen=True)
class TargetAreaRow:
    """One declared target area: incidents last and this fiscal year, change, verdict."""

    code: str
    name_th: str
    name_en: str
    incidents_previous: int
    incidents_this: int
    change_pct: float | None
    significant: bool
    verdict_th: str


@dataclass(frozen=True)
class Verdict:
    """One named KPI verdict: its question and its answer in plain Thai."""

    key: str
    met: bool | None
    question_th: str
    answer_th: str


@dataclass(frozen=True)
class ThreatSeries:
    """Incidents in the target areas per fiscal year, and the -10%/yr and final-goal paths."""

    fiscal_years: list[int]
    incidents: list[float]
    yearly_path: list[float]
    final_path: list[float]
    path_years: list[int]
    final_fiscal_year_be: int | None
    partial_year: bool


@dataclass(frozen=True)
class KpiSection:
    """The KPI page of one province (from :func:`com.analysis.kpi.kpi_report`)."""

    report: dict[str, Any]
    areas: list[TargetAreaRow]
    verdicts: list[Verdict]
    incidents_previous: int
    incidents_this: int
    change_pct: float | None
    overall_verdict_th: str
    targets_reached_share: float | None
    project_target_share: float
    targets_reached_met: bool | None
    series: ThreatSeries


@dataclass(frozen=True)
class RankedArea:
    """One row of the ranked table (from :func:`com.analysis.risk.hotspots`/``rank_areas``)."""

    rank: int
    code: str
    name_th: str
    district_th: str
    score: float
    points: int
    rank_change: int | None  # positive: moved up since the last brief; None: not ranked then
    categories: list[str]
    context: list[str]
    hotspot_th: str | None


@dataclass(frozen=True)
class CctvSite:
    """One site of the latest saved CCTV plan, as the caller may see it."""

    order: int
    subdistrict_th: str
    lon: float | None
    lat: float | None
    share_covered: float | None
    coarsened: bool


@dataclass(frozen=True)
class CctvSection:
    """The province's latest saved CCTV plan."""

    plan_id: int
    name: str
    created_at: dt.datetime | None
    sites: list[CctvSite]
    curve: list[dict[str, Any]]
    total_weight: float
    covered_weight: float
    uncovered_areas: list[str]

    @property
    def uncovered_share(self) -> float | None:
        """Share of the weighted risk no proposed camera covers."""
        return 1 - self.covered_weight / self.total_weight if self.total_weight else None


@dataclass(frozen=True)
class SinceLast:
    """What changed since the last meeting (the last brief, or ``--since``)."""

    since: dt.date | None
    since_source: str  # "option", "last_brief" or "none"
    new_points_by_category: dict[str, int]
    new_hotspots: list[str]
    vanished_hotspots: list[str]
    compared_with_brief: bool
    #: Alerts triaged since then, by status and kind (:func:`com.feeds.triage.triaged_counts`).
    alerts_triaged: list[TriageCount] = field(default_factory=list)


@dataclass
class ProvinceBrief:
    """Everything the brief shows for one province."""

    province_code: str
    name_th: str
    name_en: str
    kpi: KpiSection
    ranked: list[RankedArea]
    cctv: CctvSection | None
    since: SinceLast
    areas: gpd.GeoDataFrame  # subdistricts with rank, hotspot_class, is_target
    districts: gpd.GeoDataFrame
    points: pd.DataFrame  # risk points as the caller may see them (coarsened)
    sites: gpd.GeoDataFrame | None
    ranks: dict[str, int] = field(default_factory=dict)
    hotspot_codes: list[str] = field(default_factory=list)
    #: Plan progress of the year's village target list (``com kpi --level village``'s
    #: ``progress.total``), None when the province declared none.
    village_progress: dict[str, Any] | None = None


@dataclass(frozen=True)
class RegionSummary:
    """A region's cover and summary page: its provinces and ``com kpi --region``'s totals."""

    key: str
    name_th: str
    name_en: str
    provinces: list[dict[str, Any]]  # code, name_th, name_en, missing (no target list) or None
    report: dict[str, Any]  # :func:`com.analysis.kpi.region_kpi_report`

    @property
    def totals(self) -> dict[str, Any]:
        """The region's totals, as ``com kpi --region`` prints them."""
        return dict(self.report["totals"])


@dataclass
class Brief:
    """A meeting brief: one or more provinces for one fiscal year."""

    fiscal_year_be: int
    meeting_date: dt.date
    data_cut_off: dt.date
    provinces: list[ProvinceBrief]
    synthetic: bool
    exact_positions: bool
    made_by: str
    top_n: int
    thai_digits: bool = False
    region: RegionSummary | None = None

    @property
    def title_th(self) -> str:
        """The region's or the provinces' Thai names, for the cover."""
        if self.region is not None:
            return self.region.name_th
        return " ".join(f"จังหวัด{p.name_th}" for p in self.provinces)
