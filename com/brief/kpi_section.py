"""The brief's KPI page from the KPI report, in plain Thai (no p-values on paper)."""

from __future__ import annotations

from typing import Any

from com.brief.model import KpiSection, TargetAreaRow, ThreatSeries, Verdict

#: The verdicts of :func:`com.analysis.kpi.verdicts.explain_verdicts`, in the brief's order.
VERDICT_KEYS = ("annual_reduction_target", "path_to_final_target", "target_areas_reached",
                "projects_in_target_areas")


def change_words_th(before: int, now: int, significant: bool) -> str:
    """Say in plain Thai whether a change of incidents is real or likely noise."""
    if before == 0 and now == 0:
        return "ไม่มีเหตุทั้งสองปี"
    if before == now:
        return "เท่าเดิม"
    direction = "ลดลง" if now < before else "เพิ่มขึ้น"
    if significant:
        return f"{direction}จริง (มีนัยสำคัญทางสถิติ)"
    return f"{direction} แต่ยังบอกไม่ได้ว่าเปลี่ยนจริง อาจเป็นความผันผวนตามปกติ"


def kpi_section(report: dict[str, Any]) -> KpiSection:
    """Return the KPI page of a :func:`com.analysis.kpi.kpi_report` report (numbers unchanged)."""
    areas = [
        TargetAreaRow(
            code=str(a.get("subdistrict_code") or a.get("district_code")),
            name_th=str(a["name_th"]), name_en=str(a["name_en"]),
            incidents_previous=int(a["incidents_previous"]),
            incidents_this=int(a["incidents_this"]), change_pct=a["change_pct"],
            significant=bool(a["significant"]),
            verdict_th=change_words_th(int(a["incidents_previous"]), int(a["incidents_this"]),
                                       bool(a["significant"])),
        )
        for a in report["areas"]
    ]
    verdicts = [
        Verdict(key=key, met=v["met"], question_th=v["question_th"], answer_th=v["answer_th"])
        for key in VERDICT_KEYS if (v := report["verdicts"].get(key))
    ]
    targets, projects = report["targets"], report["projects"]
    return KpiSection(
        report=report, areas=areas, verdicts=verdicts,
        incidents_previous=int(targets["previous"]["incidents"]),
        incidents_this=int(targets["this"]["incidents"]),
        change_pct=targets["change_pct"]["incidents"],
        overall_verdict_th=str(targets["verdict_th"]),
        targets_reached_share=projects.get("share_targets_reached"),
        project_target_share=float(projects.get("target_share") or 0.8),
        targets_reached_met=projects.get("passed_targets_reached"),
        series=threat_series(report),
    )


def threat_series(report: dict[str, Any]) -> ThreatSeries:
    """Return the target areas' incidents by fiscal year and the paths to compare them with.

    The years are the report's own: the path's baseline year, last year and this year; the
    -10%/yr path starts from the baseline, the final path is ``reduction_path``'s.
    """
    fy = int(report["fiscal_year_be"])
    targets, path = report["targets"], report.get("path")
    values = {fy - 1: float(targets["previous"]["incidents"]),
              fy: float(targets["this"]["incidents"])}
    yearly_rate = float(targets["reduction_target_pct"]) / 100
    if not path:
        years = sorted(values)
        return ThreatSeries(years, [values[y] for y in years], [], [], [], None,
                            bool(report["period"]["partial"]))
    base_fy, base = int(path["baseline_fiscal_year_be"]), float(path["baseline_value"])
    values.setdefault(base_fy, base)
    final_fy = int(path["final_fiscal_year_be"])
    rate = float(path["required_annual_reduction"])
    path_years = list(range(base_fy, final_fy + 1))
    years = sorted(values)
    return ThreatSeries(
        fiscal_years=years, incidents=[values[y] for y in years],
        yearly_path=[base * (1 - yearly_rate) ** (y - base_fy) for y in path_years],
        final_path=[base * (1 - rate) ** (y - base_fy) for y in path_years],
        path_years=path_years, final_fiscal_year_be=final_fy,
        partial_year=bool(report["period"]["partial"]),
    )
