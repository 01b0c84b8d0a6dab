"""The KPI report's verdicts, each named for the question it answers and explained in Thai/English.

A report answers four different questions, and they can disagree without contradiction: a
year can cut incidents by the yearly 10% (the yearly target met) and still be above the level
the path to an 80% reduction by FY 2570 requires (that path asks a steeper yearly cut when the
baseline is recent). Each verdict therefore carries its own name, the question in both
languages and the answer in words.
"""

from __future__ import annotations

from typing import Any

from com.config.severity import KpiSettings

#: What readers should know before comparing two verdicts.
VERDICTS_NOTE_TH = (
    "แต่ละข้อตอบคำถามต่างกัน จึงอาจผ่านข้อหนึ่งแต่ไม่ผ่านอีกข้อหนึ่งได้โดยไม่ขัดกัน "
    "เช่น ลดลงถึงเป้าหมายรายปีแล้ว แต่ยังไม่อยู่บนเส้นทางสู่เป้าหมายปลายทาง "
    "ซึ่งต้องลดลงปีละมากกว่า"
)
VERDICTS_NOTE_EN = (
    "Each verdict answers a different question, so one can be met while another is not "
    "without contradiction: e.g. the yearly reduction target met, yet off the path to the "
    "final target, which needs a steeper cut every year."
)


def _pct(value: float) -> str:
    return f"{value * 100:g}"


def annual_reduction_verdict(
    met: bool | None, verdict_th: str, verdict_en: str, settings: KpiSettings
) -> dict[str, Any]:
    """Return the verdict on the yearly reduction target (``targets.annual_target_met``)."""
    goal = _pct(settings.annual_reduction)
    return {
        "met": met,
        "question_th": f"เหตุในพื้นที่เป้าหมายลดลงอย่างน้อยร้อยละ {goal} "
                       "เมื่อเทียบกับปีงบประมาณก่อนหรือไม่ (เป้าหมายรายปี)",
        "question_en": f"Did incidents in the target areas fall by at least {goal}% against "
                       "the previous fiscal year? (the yearly target)",
        "answer_th": verdict_th,
        "answer_en": verdict_en,
        "source": "targets.annual_target_met",
    }


def path_verdict(path: dict[str, Any] | None, fiscal_year_be: int) -> dict[str, Any]:
    """Return the verdict on the path to the final reduction (``path.on_path_to_final_target``).

    Also writes ``verdict_th``/``verdict_en`` into ``path``.
    """
    if path is None:
        return {
            "met": None,
            "question_th": "ปีนี้อยู่บนเส้นทางสู่เป้าหมายปลายทางหรือไม่",
            "question_en": "Is this year on the path to the final target?",
            "answer_th": "เลยปีเป้าหมายปลายทางแล้ว ไม่มีเส้นทางให้เทียบ",
            "answer_en": "after the final target year: no path to compare with",
            "source": "path",
        }
    final = _pct(path["final_reduction"])
    final_fy = path["final_fiscal_year_be"]
    base_fy = path["baseline_fiscal_year_be"]
    rate = _pct(round(path["required_annual_reduction"], 3))
    met = bool(path["on_path_to_final_target"])
    actual, required = path["actual_value"], path["required_level"]
    answer_th = (
        f"{'อยู่บนเส้นทาง' if met else 'ยังไม่อยู่บนเส้นทาง'}: ปีงบประมาณ {fiscal_year_be} "
        f"มีเหตุ {actual:,.1f} ครั้ง เส้นทางกำหนดไม่เกิน {required:,.1f} ครั้ง "
        f"(ปีฐาน {base_fy}: {path['baseline_value']:,.0f} ครั้ง)"
    )
    answer_en = (
        f"{'on' if met else 'off'} the path: {actual:,.1f} incidents in FY {fiscal_year_be} "
        f"against at most {required:,.1f} the path requires "
        f"(baseline FY {base_fy}: {path['baseline_value']:,.0f})"
    )
    path["verdict_th"], path["verdict_en"] = answer_th, answer_en
    return {
        "met": met,
        "question_th": f"จำนวนเหตุปีนี้ไม่เกินระดับบนเส้นทางสู่การลดลงร้อยละ {final} "
                       f"ภายในปีงบประมาณ {final_fy} (นับจากปีฐาน {base_fy} ต้องลดลงปีละประมาณ"
                       f"ร้อยละ {rate}) หรือไม่",
        "question_en": f"Is this year's count at or below the level on the path to an "
                       f"{final}% reduction by FY {final_fy} (from baseline FY {base_fy}: "
                       f"about {rate}% a year)?",
        "answer_th": answer_th,
        "answer_en": answer_en,
        "source": "path.on_path_to_final_target",
    }


def project_verdicts(coverage: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return the two project verdicts: projects in target areas, target areas reached."""
    goal = _pct(coverage["target_share"])
    share, reach = coverage["share_in_targets"], coverage["share_targets_reached"]

    def answer(met: bool | None, value: float | None, th: str, en: str) -> tuple[str, str]:
        if met is None or value is None:
            return "ไม่มีข้อมูลให้ประเมิน", "nothing to assess"
        word_th = "ผ่าน" if met else "ไม่ผ่าน"
        word_en = "met" if met else "not met"
        return f"{word_th}: {th} ร้อยละ {value * 100:.0f}", f"{word_en}: {en} {value:.0%}"

    in_th, in_en = answer(coverage["passed_share_in_targets"], share,
                          "โครงการอยู่ในพื้นที่เป้าหมาย", "projects in target areas")
    reach_th, reach_en = answer(coverage["passed_targets_reached"], reach,
                                "พื้นที่เป้าหมายมีโครงการ", "target areas reached")
    return {
        "projects_in_target_areas": {
            "met": coverage["passed_share_in_targets"],
            "question_th": f"โครงการของปีอยู่ในพื้นที่เป้าหมายอย่างน้อยร้อยละ {goal} หรือไม่",
            "question_en": f"Are at least {goal}% of the year's projects in target areas?",
            "answer_th": in_th, "answer_en": in_en,
            "source": "projects.passed_share_in_targets",
        },
        "target_areas_reached": {
            "met": coverage["passed_targets_reached"],
            "question_th": f"พื้นที่เป้าหมายอย่างน้อยร้อยละ {goal} มีโครงการของปีหรือไม่",
            "question_en": f"Do the year's projects reach at least {goal}% of the target "
                           "areas?",
            "answer_th": reach_th, "answer_en": reach_en,
            "source": "projects.passed_targets_reached",
        },
    }


def explain_verdicts(
    *, targets: dict[str, Any], path: dict[str, Any] | None, projects: dict[str, Any],
    fiscal_year_be: int, settings: KpiSettings,
) -> dict[str, Any]:
    """Return the report's ``verdicts``: each one named, with its question and answer.

    Parameters
    ----------
    targets : dict
        The report's ``targets`` section (with ``annual_target_met`` and the verdict texts).
    path : dict or None
        The report's ``path`` section (with ``on_path_to_final_target``); updated in place
        with ``verdict_th`` and ``verdict_en``.
    projects : dict
        The report's ``projects`` section (:func:`com.analysis.kpi.project_coverage`).
    fiscal_year_be : int
        The year of the report.
    settings : KpiSettings
        The ``[kpi]`` targets.

    Returns
    -------
    dict
        ``note_th``, ``note_en`` and one entry per verdict: ``met`` (True, False or None when
        there is nothing to assess), ``question_th/en``, ``answer_th/en`` and ``source``, the
        report field it summarises.
    """
    return {
        "note_th": VERDICTS_NOTE_TH,
        "note_en": VERDICTS_NOTE_EN,
        "annual_reduction_target": annual_reduction_verdict(
            targets["annual_target_met"], targets["verdict_th"], targets["verdict_en"],
            settings),
        "path_to_final_target": path_verdict(path, fiscal_year_be),
        **project_verdicts(projects),
    }
