"""The brief's content as neutral blocks (headings, text, tables, pictures) both renderers lay out.

The numbers are written here once, from the model, so the PDF and the DOCX say the same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from com.brief.figures import insets_png, province_map_png, threat_chart_png
from com.brief.kpi_section import change_words_th
from com.brief.model import (
    Brief,
    CctvSection,
    KpiSection,
    ProvinceBrief,
    RegionSummary,
    SinceLast,
)
from com.feeds.triage import TRIAGED, TriageCount
from com.feeds.views import KIND_TH, STATUS_TH
from com.siting.output import curve_png
from com.text.thai import format_thai_date, to_thai_digits

SYNTHETIC_TH_EN = "ข้อมูลสมมติ / synthetic"
INSETS = 4


@dataclass(frozen=True)
class Heading:
    """A heading (level 0: the title)."""

    text: str
    level: int = 1


@dataclass(frozen=True)
class Text:
    """A paragraph; ``strong`` for a notice."""

    text: str
    strong: bool = False


@dataclass(frozen=True)
class Table:
    """A table: headers, rows of text, relative column widths."""

    headers: list[str]
    rows: list[list[str]]
    widths: list[float] = field(default_factory=list)


@dataclass(frozen=True)
class Picture:
    """A PNG picture at a share of the text width."""

    png: bytes
    width_share: float = 1.0


@dataclass(frozen=True)
class PageBreak:
    """Start a new page."""


Block = Heading | Text | Table | Picture | PageBreak


class Numbers:
    """Number and date formats of one brief (Arabic or Thai digits)."""

    def __init__(self, thai_digits: bool) -> None:
        self.thai = thai_digits

    def __call__(self, value: float | int | None, decimals: int = 0, sign: bool = False) -> str:
        """Return ``value`` with thousands separators (``-`` when None)."""
        if value is None:
            return "-"
        text = f"{value:{'+' if sign else ''},.{decimals}f}"
        return to_thai_digits(text) if self.thai else text

    def year(self, value: int) -> str:
        """Return a year (Buddhist era) without a thousands separator."""
        return to_thai_digits(str(value)) if self.thai else str(value)

    def pct(self, value: float | None, sign: bool = True) -> str:
        """Return a percentage such as ``+12.5%``."""
        return "-" if value is None else f"{self(value, 1, sign)}%"

    def date(self, day: dt.date | None) -> str:
        """Return a Buddhist-era date such as ``3 ธ.ค. 2569``."""
        return "-" if day is None else format_thai_date(day, thai_digits=self.thai)


def brief_blocks(brief: Brief) -> list[Block]:
    """Return the brief's blocks: the cover, then each province's pages."""
    n = Numbers(brief.thai_digits)
    blocks: list[Block] = cover_blocks(brief, n)
    if brief.region is not None:
        blocks += [*region_blocks(brief.region, n), PageBreak()]
    for part in brief.provinces:
        blocks += province_blocks(part, brief, n)
    # The report's own sentences (verdicts) carry Arabic digits: Thai digits everywhere.
    return [thai_digit_block(b) for b in blocks] if brief.thai_digits else blocks


def thai_digit_block(block: Block) -> Block:
    """Return ``block`` with every digit of its text written in Thai digits."""
    if isinstance(block, Heading | Text):
        return dataclasses.replace(block, text=to_thai_digits(block.text))
    if isinstance(block, Table):
        return Table([to_thai_digits(h) for h in block.headers],
                     [[to_thai_digits(c) for c in row] for row in block.rows], block.widths)
    return block


def cover_blocks(brief: Brief, n: Numbers) -> list[Block]:
    """Return the cover: provinces, fiscal year, meeting date and cut-off, synthetic mark."""
    names = ", ".join(f"จังหวัด{p.name_th} ({p.name_en})" for p in brief.provinces)
    where: list[Block] = [Text(names, strong=True)]
    if brief.region is not None:
        region = brief.region
        where = [Text(f"{region.name_th} ({region.name_en})", strong=True),
                 Text("จังหวัดในภาค (provinces): " + ", ".join(
                     f"{p['name_th'] or p['code']} ({p['name_en'] or p['code']})"
                     for p in region.provinces))]
    blocks: list[Block] = [
        Heading("รายงานสรุปสำหรับการประชุมความมั่นคงจังหวัด", 0),
        Heading("Provincial security meeting brief", 2),
        *where,
        Text(f"ปีงบประมาณ {n.year(brief.fiscal_year_be)} (fiscal year {brief.fiscal_year_be} BE)"),
        Text(f"วันที่ประชุม (meeting date): {n.date(brief.meeting_date)}"),
        Text(f"ข้อมูล ณ วันที่ (data cut-off): {n.date(brief.data_cut_off)}"),
        Text(f"จัดทำโดย (made by): {brief.made_by}"),
    ]
    if brief.synthetic:
        blocks.append(Text(f"{SYNTHETIC_TH_EN}: รายงานนี้มีข้อมูลสมมติ ไม่ใช่เหตุการณ์จริง "
                           "(this brief shows synthetic data)", strong=True))
    if not brief.exact_positions:
        blocks.append(Text("ตำแหน่งของหมวดที่อ่อนไหวแสดงที่จุดกลางตำบล และไม่แสดงรายละเอียด"
                           "ผู้แจ้ง (sensitive positions coarsened; no informant details)"))
    return [*blocks, PageBreak()]


def province_blocks(part: ProvinceBrief, brief: Brief, n: Numbers) -> list[Block]:
    """Return one province's pages: KPI, maps, ranking, CCTV, since the last meeting."""
    blocks = kpi_blocks(part, part.kpi, n)
    blocks += [PageBreak(), Heading(f"แผนที่จังหวัด{part.name_th} (map)"),
               Picture(province_map_png(part))]
    top_targets = [a.code for a in sorted(part.kpi.areas, key=lambda a: -a.incidents_this)]
    insets = insets_png(part, top_targets[:INSETS])
    if insets is not None:
        blocks += [PageBreak(), Heading("พื้นที่เป้าหมายสำคัญ (insets of the top target areas)"),
                   Picture(insets)]
    blocks += [PageBreak(), *ranked_blocks(part, brief, n), PageBreak(),
               *cctv_blocks(part.cctv, n), *since_blocks(part.since, n), PageBreak()]
    return blocks


def kpi_blocks(part: ProvinceBrief, kpi: KpiSection, n: Numbers) -> list[Block]:
    """Return the KPI page: target areas' counts and change, verdicts, projects, chart."""
    fy = int(kpi.report["fiscal_year_be"])
    rows = [[a.code, a.name_th, n(a.incidents_previous), n(a.incidents_this),
             n.pct(a.change_pct), a.verdict_th] for a in kpi.areas]
    rows.append(["", "รวมพื้นที่เป้าหมาย (all target areas)", n(kpi.incidents_previous),
                 n(kpi.incidents_this), n.pct(kpi.change_pct), kpi.overall_verdict_th])
    reached = kpi.targets_reached_share
    goal = n(kpi.project_target_share * 100)
    word = {True: "ผ่าน", False: "ไม่ผ่าน", None: "ไม่มีข้อมูล"}[kpi.targets_reached_met]
    blocks: list[Block] = [
        Heading(f"ตัวชี้วัดจังหวัด{part.name_th} ปีงบประมาณ {n.year(fy)} (KPI)"),
        Table(["รหัส", "พื้นที่เป้าหมาย", f"ปีงบ {n.year(fy - 1)}", f"ปีงบ {n.year(fy)}",
               "เปลี่ยนแปลง", "สรุป"], rows, [0.115, 0.19, 0.09, 0.09, 0.14, 0.375]),
        Text(f"พื้นที่เป้าหมายที่มีโครงการ ร้อยละ {n(None if reached is None else reached * 100)}"
             f" (เกณฑ์ร้อยละ {goal}): {word}", strong=True),
    ]
    if kpi.report["period"]["partial"]:
        blocks.append(Text("ปีงบประมาณยังไม่สิ้นสุด: เทียบกับช่วงเวลาเท่ากันของปีก่อน "
                           "(the year is still running)"))
    blocks += [Text(f"{v.question_th}: {v.answer_th}") for v in kpi.verdicts]
    if part.village_progress is not None:
        progress = part.village_progress
        blocks.append(Text(f"ความคืบหน้าแผนหมู่บ้าน (village plans): {progress['text_th']} "
                           f"({progress['text_en']}) กำลังดำเนินการ {n(progress['in_progress'])}"
                           f" วางแผนไว้ {n(progress['planned'])}", strong=True))
    blocks.append(Picture(threat_chart_png(kpi.series), 0.72))
    return blocks


def region_blocks(region: RegionSummary, n: Numbers) -> list[Block]:
    """Return a region's summary page: each province's KPI figures and the region's totals.

    The figures are ``com kpi --region``'s (:func:`com.analysis.kpi.region_kpi_report`).
    """
    fy = int(region.report["fiscal_year_be"])
    names = {p["code"]: p["name_th"] or p["code"] for p in region.provinces}
    rows = []
    for r in region.report["provinces"]:
        name = names.get(r["province_code"], r["province_code"])
        if "missing" in r:
            rows.append([name, "-", "-", "-", "-", "-", "ยังไม่ประกาศพื้นที่เป้าหมาย"])
            continue
        projects, targets = r["projects"], r["targets"]
        rows.append([name, n(projects["targets"]), n(projects["targets_reached"]),
                     n(targets["previous"]["incidents"]), n(targets["this"]["incidents"]),
                     n.pct(targets["change_pct"]["incidents"]), str(targets["verdict_th"])])
    t = region.totals
    test = t.get("significance") or {}
    rows.append(["รวมทั้งภาค", n(t["target_areas"]),
                 n(t["target_areas_reached"]), n(t["incidents"]["previous"]),
                 n(t["incidents"]["this"]), n.pct(t["incidents"]["change_pct"]),
                 change_words_th(int(t["incidents"]["previous"]), int(t["incidents"]["this"]),
                                 bool(test.get("significant")))])
    share = t["share_targets_reached"]
    word = {True: "ผ่าน", False: "ไม่ผ่าน", None: "ไม่มีข้อมูล"}[t["project_coverage_met"]]
    return [
        Heading(f"สรุปภาพรวม{region.name_th} ปีงบประมาณ {n.year(fy)} (region summary)"),
        Table(["จังหวัด", "พื้นที่ เป้าหมาย", "มี โครงการ", f"เหตุ ปีงบ {n.year(fy - 1)}",
               f"เหตุ ปีงบ {n.year(fy)}", "เปลี่ยนแปลง", "สรุป"], rows,
              [0.14, 0.11, 0.11, 0.1, 0.1, 0.13, 0.31]),
        Text(f"พื้นที่เป้าหมายของภาคที่มีโครงการ ร้อยละ "
             f"{n(None if share is None else share * 100)}: {word}", strong=True),
    ]


def ranked_blocks(part: ProvinceBrief, brief: Brief, n: Numbers) -> list[Block]:
    """Return the ranked table: score, rank change since the last brief, categories, context."""
    def change(value: int | None) -> str:
        if value is None:
            return "ใหม่" if part.since.compared_with_brief else "-"
        # Words, not arrows: Laksaman has no arrow glyphs (no tofu on paper).
        return "=" if value == 0 else ("ขึ้น " if value > 0 else "ลง ") + n(abs(value))

    rows = [[n(r.rank), change(r.rank_change), r.name_th, r.district_th, n(r.score, 1),
             n(r.points), ", ".join(r.categories), ", ".join(r.context), r.hotspot_th or ""]
            for r in part.ranked]
    return [
        Heading(f"{n(brief.top_n)} อันดับพื้นที่เสี่ยงสูงสุด (ranked areas)"),
        Table(["อันดับ", "เทียบ ครั้งก่อน", "ตำบล", "อำเภอ", "คะแนน", "จุด", "หมวดหลัก",
               "ปัจจัย แวดล้อม", "จุดร้อน"], rows,
              [0.075, 0.095, 0.11, 0.12, 0.085, 0.06, 0.2, 0.13, 0.125]),
    ]


def cctv_blocks(cctv: CctvSection | None, n: Numbers) -> list[Block]:
    """Return the latest saved CCTV plan: sites, coverage curve, what remains uncovered."""
    head: list[Block] = [Heading("แผนติดตั้งกล้อง CCTV ล่าสุด (latest CCTV plan)")]
    if cctv is None:
        return [*head, Text("ยังไม่มีแผนที่บันทึกไว้ (no saved plan)")]
    created = cctv.created_at.date() if isinstance(cctv.created_at, dt.datetime) else None
    rows = [[n(s.order), s.subdistrict_th,
             "-" if s.lat is None else f"{n(s.lat, 5)}, {n(s.lon, 5)}"
             + (" (โดยประมาณ)" if s.coarsened else ""),
             n.pct(None if s.share_covered is None else s.share_covered * 100, False)]
            for s in cctv.sites]
    uncovered = cctv.uncovered_share
    blocks: list[Block] = [
        *head,
        Text(f"แผน \"{cctv.name}\" (#{n(cctv.plan_id)}) บันทึกเมื่อ {n.date(created)}: "
             f"{n(len(cctv.sites))} จุด ครอบคลุมความเสี่ยงร้อยละ "
             f"{n(None if uncovered is None else (1 - uncovered) * 100, 1)}"),
        Text(f"ยังไม่ครอบคลุม (uncovered): ร้อยละ "
             f"{n(None if uncovered is None else uncovered * 100, 1)}; พื้นที่เสี่ยงสูงที่ไม่มี"
             f"กล้องในแผน: {', '.join(cctv.uncovered_areas) or '-'}"),
        Table(["ลำดับ", "ตำบล", "พิกัด (ละติจูด, ลองจิจูด)", "ครอบคลุมสะสม"], rows,
              [0.1, 0.3, 0.4, 0.2]),
    ]
    if cctv.curve:
        blocks.append(Picture(curve_png(cctv.curve), 0.75))
    return blocks


def since_blocks(since: SinceLast, n: Numbers) -> list[Block]:
    """Return "since the last meeting": new points by category, new and vanished hot spots."""
    source = {"option": "ตามที่ระบุ", "last_brief": "รายงานครั้งก่อน", "none": ""}[since.since_source]
    blocks: list[Block] = [Heading("ตั้งแต่การประชุมครั้งก่อน (since the last meeting)")]
    if since.since is None:
        return [*blocks, Text("ยังไม่มีรายงานครั้งก่อนให้เทียบ (no earlier brief; give --since)"),
                *alert_blocks(since.alerts_triaged, n)]
    blocks += [
        Text(f"ตั้งแต่วันที่ {n.date(since.since)} ({source})"),
        Table(["หมวด (category)", "จุดใหม่ (new points)"],
              [[k, n(v)] for k, v in since.new_points_by_category.items()] or [["-", n(0)]],
              [0.7, 0.3]),
    ]
    if since.compared_with_brief:
        blocks += [
            Text(f"จุดร้อนใหม่ (new hot spots): {', '.join(since.new_hotspots) or '-'}"),
            Text(f"จุดร้อนที่หายไป (vanished hot spots): "
                 f"{', '.join(since.vanished_hotspots) or '-'}"),
        ]
    return blocks + alert_blocks(since.alerts_triaged, n)


def alert_blocks(counts: list[TriageCount], n: Numbers) -> list[Block]:
    """Return the alerts triaged since the last meeting by kind and status (nothing if none)."""
    if not counts:
        return []
    kinds = sorted({c.kind for c in counts})
    table = {(c.kind, c.status): c.count for c in counts}
    rows = [[f"{KIND_TH.get(k, k)} ({k})", *(n(table.get((k, s), 0)) for s in TRIAGED),
             n(sum(table.get((k, s), 0) for s in TRIAGED))] for k in kinds]
    rows.append(["รวม (total)", *(n(sum(table.get((k, s), 0) for k in kinds)) for s in TRIAGED),
                 n(sum(c.count for c in counts))])
    return [
        Text("การแจ้งเตือนที่คัดกรองแล้ว (alerts triaged)", strong=True),
        Table(["ชนิด (kind)", *(f"{STATUS_TH[s]} ({s})" for s in TRIAGED), "รวม"], rows,
              [0.24, 0.2, 0.17, 0.25, 0.14]),
    ]
