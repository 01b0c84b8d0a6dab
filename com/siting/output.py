"""Plan outputs: the sites GeoJSON, every demand point as CSV, the coverage curve as PNG."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from com.io.escape import escape_formula

if TYPE_CHECKING:  # a plan only as an argument: writing the curve needs no solver (scipy)
    from com.siting.plan import SitingPlan

def write_geojson(plan: SitingPlan, path: Path | str) -> Path:
    """Write the plan's FeatureCollection to ``path`` (UTF-8, Thai readable)."""
    path = Path(path)
    path.write_text(json.dumps(plan.to_geojson(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def write_demand_csv(plan: SitingPlan, path: Path | str) -> Path:
    """Write every demand point (id, lon, lat, weight used, category, covered_by) as CSV.

    With this file and the sites anyone can recompute the covered weight independently.
    """
    path = Path(path)
    frame = plan.demand.copy()
    frame["lon"] = frame["lon"].round(7)
    frame["lat"] = frame["lat"].round(7)
    for column in frame.select_dtypes(include=["object", "string"]).columns:
        frame[column] = frame[column].map(escape_formula)
    frame.to_csv(path, index=False, encoding="utf-8", quoting=csv.QUOTE_MINIMAL)
    return path


_THAI_FONTS = ("Sarabun", "TH Sarabun New", "Noto Sans Thai", "Loma", "Garuda", "Umpush",
               "Kinnari", "Tlwg Typo")


@lru_cache(maxsize=1)
def _thai_font() -> str | None:
    """Return an installed font with Thai glyphs (fonts-tlwg, Sarabun, Noto), or None."""
    from matplotlib import font_manager  # deferred: matplotlib is heavy

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in _THAI_FONTS if name in installed), None)


def curve_png(curve: Sequence[Mapping[str, Any]], *, title: str | None = None) -> bytes:
    """Render the coverage curve (k vs share of risk covered) as a PNG (matplotlib Agg).

    Labels are Thai with English when a Thai font is installed (fonts-tlwg in the image),
    English only otherwise.
    """
    # Deferred: matplotlib is heavy and only the chart needs it.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    font = _thai_font()

    def label(th: str, en: str) -> str:
        return f"{th} ({en})" if font else en

    family = [font, "DejaVu Sans"] if font else ["DejaVu Sans"]
    fig = Figure(figsize=(7, 4.2), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ks = [int(p["k"]) for p in curve]
    share = [100 * float(p["share_covered"]) for p in curve]
    with_existing = [100 * float(p.get("share_with_existing", p["share_covered"])) for p in curve]
    ax.plot([0, *ks], [0, *share], marker="o", ms=3, color="#c0392b",
            label=label("กล้องที่เสนอ", "proposed cameras"))
    if any(abs(a - b) > 1e-9 for a, b in zip(with_existing, share, strict=True)):
        base = with_existing[0] - share[0]
        ax.plot([0, *ks], [base, *with_existing], ls="--", color="#2c3e50",
                label=label("รวมกล้องเดิม", "with installed cameras"))
    if curve and all("optimal_weight" in p for p in curve) and float(curve[-1]["share_covered"]):
        total = float(curve[-1]["covered_weight"]) / float(curve[-1]["share_covered"])
        ax.plot(ks, [100 * float(p["optimal_weight"]) / total for p in curve], ls=":",
                color="#27ae60", label=label("ค่าเหมาะสมที่สุดต่อ k", "optimal for each k"))
    ax.set_xlabel(label("จำนวนกล้อง", "number of cameras"), fontfamily=family)
    ax.set_ylabel(label("สัดส่วนความเสี่ยงที่ครอบคลุม %", "share of risk covered %"),
                  fontfamily=family)
    ax.set_title(title or label("เส้นโค้งการครอบคลุม", "coverage curve"), fontfamily=family)
    ax.set_ylim(0, min(100.0, max([*with_existing, 1.0]) * 1.15 + 5))
    ax.set_xlim(0, max(ks, default=1))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend(loc="best", prop={"family": family})
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
