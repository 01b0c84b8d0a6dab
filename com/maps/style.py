"""The map's look: palettes, class bins, symbols, Thai layer names and number/date text."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from com.config.severity import load_severity_model
from com.text.thai import format_thai_date, to_thai_digits

#: Layer names shown in the layer control, Thai first.
LAYER_NAMES: dict[str, dict[str, str]] = {
    "choropleth": {"th": "ระดับความเสี่ยงรายตำบล", "en": "Subdistrict risk"},
    "choropleth_village": {"th": "ระดับความเสี่ยงรายหมู่บ้าน", "en": "Village risk"},
    "choropleth_layer": {"th": "ระดับความเสี่ยงรายพื้นที่", "en": "Area risk"},
    "districts": {"th": "เขตอำเภอ", "en": "District boundaries"},
    "provinces": {"th": "เขตจังหวัด", "en": "Province boundaries"},
    "points": {"th": "จุดเสี่ยง", "en": "Risk points"},
    "heat": {"th": "แผนที่ความหนาแน่นจุดเสี่ยง", "en": "Risk point heat map"},
    "hotspots": {"th": "จุดร้อน/จุดเย็น (Gi*)", "en": "Hot and cold spots (Gi*)"},
    "land_border": {"th": "แนวชายแดน", "en": "Land border"},
    "mekong": {"th": "แม่น้ำโขง", "en": "Mekong River"},
    "crossings": {"th": "จุดผ่านแดน", "en": "Border crossings"},
    "cameras": {"th": "กล้องวงจรปิดที่มีอยู่", "en": "Existing CCTV cameras"},
    "cctv_sites": {"th": "จุดติดตั้งกล้องที่เสนอ", "en": "Proposed CCTV sites"},
    "basemap_osm": {"th": "แผนที่ฐาน OpenStreetMap", "en": "OpenStreetMap"},
    "basemap_local": {"th": "แผนที่ฐานของจังหวัด", "en": "Province basemap"},
}

#: Short texts of the map (legend, popups, notices), Thai first.
TEXT: dict[str, dict[str, str]] = {
    "legend_score": {"th": "คะแนนความเสี่ยง", "en": "Risk score"},
    "legend_rank": {"th": "อันดับความเสี่ยง", "en": "Risk rank"},
    "no_points": {"th": "ไม่มีจุดเสี่ยง", "en": "No risk points"},
    "suppressed": {"th": "จุดน้อยเกินกว่าจะแสดง", "en": "Too few points to show"},
    "categories": {"th": "ประเภทจุดเสี่ยง", "en": "Risk point categories"},
    "hot": {"th": "จุดร้อน", "en": "Hot spot"},
    "cold": {"th": "จุดเย็น", "en": "Cold spot"},
    "rank": {"th": "อันดับ", "en": "Rank"},
    "of": {"th": "จาก", "en": "of"},
    "score": {"th": "คะแนน", "en": "Score"},
    "points": {"th": "จุดเสี่ยง", "en": "Risk points"},
    "unit_points": {"th": "จุด", "en": "points"},
    "by_category": {"th": "คะแนนตามประเภท", "en": "Score by category"},
    "context": {"th": "ปัจจัยแวดล้อม", "en": "Context factors"},
    "top_points": {"th": "จุดที่มีน้ำหนักสูงสุด", "en": "Top points"},
    "severity": {"th": "ความรุนแรง", "en": "Severity"},
    "reported": {"th": "วันที่รายงาน", "en": "Reported"},
    "approximate": {"th": "ตำแหน่งโดยประมาณ", "en": "approximate location"},
    "synthetic": {"th": "ข้อมูลสมมติ / synthetic", "en": "Synthetic data / ข้อมูลสมมติ"},
    "synthetic_long": {
        "th": "ข้อมูลสมมติ / synthetic: จุดเสี่ยงบนแผนที่นี้สร้างขึ้นเพื่อการสาธิต ไม่ใช่ข้อมูลจริง",
        "en": "Synthetic data / ข้อมูลสมมติ: the risk points on this map are made up for the demo",
    },
    "search": {"th": "ค้นหาตำบล/อำเภอ", "en": "Find subdistrict/district"},
    "fullscreen": {"th": "เต็มจอ", "en": "Full screen"},
    "fullscreen_exit": {"th": "ออกจากเต็มจอ", "en": "Exit full screen"},
    "measure": {"th": "วัดระยะทางและพื้นที่", "en": "Measure distance and area"},
    "measure_hint": {"th": "คลิกบนแผนที่เพื่อวัด", "en": "Click the map to measure"},
    "measure_distance": {"th": "ระยะทาง", "en": "Distance"},
    "measure_area": {"th": "พื้นที่", "en": "Area"},
    "camera": {"th": "กล้องวงจรปิด", "en": "CCTV camera"},
    "site": {"th": "จุดติดตั้งที่เสนอ", "en": "Proposed site"},
    "radius": {"th": "รัศมี", "en": "Radius"},
    "crossing": {"th": "จุดผ่านแดน", "en": "Border crossing"},
    "district": {"th": "อ.", "en": "District"},
    "subdistrict": {"th": "ต.", "en": ""},
    "village": {"th": "", "en": ""},  # village names carry บ้าน/หมู่ themselves (issue 16)
    "layer": {"th": "", "en": ""},
    "gi": {"th": "Gi* z", "en": "Gi* z"},
    "legend_show": {"th": "แสดงคำอธิบายสัญลักษณ์", "en": "Show legend"},
    "legend_hide": {"th": "ซ่อนคำอธิบายสัญลักษณ์", "en": "Hide legend"},
    "clusters": {
        "th": "กลุ่มจุด: สีของประเภทที่พบมากที่สุดในกลุ่ม",
        "en": "Clusters: colour of the most frequent category in the group",
    },
    "cluster_tip": {"th": "ประเภทที่พบมากที่สุด", "en": "Most frequent category"},
    "date_invalid": {
        "th": "วันที่ไม่ถูกต้อง: พิมพ์ วว/ดด/ปปปป แบบ พ.ศ. เช่น 15/01/2568",
        "en": "Not a date: write dd/mm/yyyy, e.g. 15/01/2025",
    },
}

#: ColorBrewer YlOrRd, 5 classes (light = low risk).
RISK_PALETTE = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_POINTS_COLOUR = "#f4f4f4"
SUPPRESSED_COLOUR = "#cfcfcf"
#: Rank classes (upper bounds, inclusive) from the riskiest down; the rest take the lightest.
RANK_BINS = (5, 10, 20, 50)
#: Hot (red) and cold (blue) spot colours by confidence (ColorBrewer RdBu).
HOTSPOT_COLOURS = {
    ("hot", 99): "#b2182b",
    ("hot", 95): "#d6604d",
    ("hot", 90): "#f4a582",
    ("cold", 99): "#2166ac",
    ("cold", 95): "#4393c3",
    ("cold", 90): "#92c5de",
}
#: Colours and symbols of risk point categories; unknown keys cycle through EXTRA_STYLES.
CATEGORY_STYLES: dict[str, tuple[str, str]] = {
    "drugs": ("#d62728", "triangle"),
    "illegal_entry": ("#1f77b4", "diamond"),
    "smuggling": ("#ff7f0e", "square"),
    "life_property": ("#9467bd", "circle"),
    "other_crime": ("#8c564b", "hexagon"),
    "forest_encroachment": ("#2ca02c", "star"),
    "flood": ("#17becf", "drop"),
    "unknown": ("#7f7f7f", "circle"),
}
EXTRA_STYLES = (("#e377c2", "square"), ("#bcbd22", "triangle"), ("#393b79", "diamond"))
SHAPES_SVG = {
    "circle": '<circle cx="8" cy="8" r="6"/>',
    "square": '<rect x="2.5" y="2.5" width="11" height="11"/>',
    "triangle": '<polygon points="8,1.5 15,14 1,14"/>',
    "diamond": '<polygon points="8,1 15,8 8,15 1,8"/>',
    "hexagon": '<polygon points="4.5,2 11.5,2 15,8 11.5,14 4.5,14 1,8"/>',
    "star": '<polygon points="8,1 10,6 15,6 11,9.5 12.5,15 8,11.5 3.5,15 5,9.5 1,6 6,6"/>',
    "drop": '<path d="M8 1 C8 1 2.5 8 2.5 10.5 A5.5 5.5 0 0 0 13.5 10.5 C13.5 8 8 1 8 1Z"/>',
}
CROSSING_COLOUR = "#6a3d9a"
BORDER_COLOUR = "#7b3294"
MEKONG_COLOUR = "#2b8cbe"
CAMERA_COLOUR = "#2c7fb8"
SITE_COLOUR = "#e6550d"
NO_TILES_BACKGROUND = "#eef2f3"
OSM_ATTRIBUTION = "&copy; OpenStreetMap contributors"


def text(key: str, lang: str) -> str:
    """Return the map text ``key`` in ``lang`` (Thai when the language is unknown)."""
    entry = TEXT.get(key) or LAYER_NAMES[key]
    return entry.get(lang) or entry["th"]


def layer_name(key: str, lang: str = "th") -> str:
    """Return the layer-control name of layer ``key``."""
    return LAYER_NAMES[key].get(lang) or LAYER_NAMES[key]["th"]


def number(value: float | int | None, lang: str, *, digits: int = 0) -> str:
    """Format a number for the map: Thai digits in Thai, a dash when missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    formatted = f"{value:,.{digits}f}"
    return to_thai_digits(formatted) if lang == "th" else formatted


def date_text(value: date | None, lang: str) -> str:
    """Format a date: Buddhist era in Thai (``8 มิ.ย. 2567``), ISO in English."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or pd.isna(value):
        return "-"
    if lang == "th":
        return format_thai_date(value)
    return value.isoformat()


def category_names(severity_config: Path | str | None = None) -> dict[str, dict[str, str]]:
    """Return ``{category: {"th": ..., "en": ...}}`` of the severity model (unknown included)."""
    model = load_severity_model(severity_config)
    categories = [*model.categories.values(), model.unknown_category]
    return {c.key: {"th": c.th, "en": c.en} for c in categories}


def category_style(category: str, order: Sequence[str] = ()) -> tuple[str, str]:
    """Return ``(colour, shape)`` of a category (stable for unknown keys via ``order``)."""
    if category in CATEGORY_STYLES:
        return CATEGORY_STYLES[category]
    index = list(order).index(category) if category in order else len(category)
    return EXTRA_STYLES[index % len(EXTRA_STYLES)]


def symbol_svg(colour: str, shape: str, size: int = 16) -> str:
    """Return an inline SVG symbol (also used in the legend)."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 16 16" fill="{colour}" stroke="#fff" stroke-width="1.3">'
        f"{SHAPES_SVG.get(shape, SHAPES_SVG['circle'])}</svg>"
    )


def score_bins(scores: Sequence[float] | pd.Series, n: int = len(RISK_PALETTE)) -> list[float]:
    """Return class upper bounds for positive scores (quantiles, duplicates removed).

    Quantiles give each colour about the same number of areas, which reads better than equal
    intervals for the skewed scores of risk data; the last bound is the maximum.
    """
    values = np.asarray(pd.to_numeric(pd.Series(scores), errors="coerce").dropna(), dtype=float)
    values = values[values > 0]
    if values.size == 0:
        return []
    bounds = np.quantile(values, np.linspace(0, 1, n + 1)[1:])
    return sorted({float(round(b, 6)) for b in bounds})


def score_colour(score: float | None, bins: Sequence[float]) -> str:
    """Return the fill colour of a score for ``bins`` from :func:`score_bins`."""
    if score is None or pd.isna(score) or score <= 0 or not bins:
        return NO_POINTS_COLOUR
    offset = len(RISK_PALETTE) - len(bins)
    for i, bound in enumerate(bins):
        if score <= bound + 1e-9:
            return RISK_PALETTE[offset + i]
    return RISK_PALETTE[-1]


def rank_colour(rank: float | None) -> str:
    """Return the fill colour of a rank (1 = riskiest = darkest)."""
    if rank is None or pd.isna(rank):
        return NO_POINTS_COLOUR
    for i, bound in enumerate(RANK_BINS):
        if rank <= bound:
            return RISK_PALETTE[len(RISK_PALETTE) - 1 - i]
    return RISK_PALETTE[0]


def hotspot_key(hotspot_class: str | None) -> tuple[str, int] | None:
    """Parse a Gi* class such as ``hot_99``, ``Hot Spot - 95% Confidence`` or ``cold-90``."""
    if not hotspot_class or not isinstance(hotspot_class, str):
        return None
    lowered = hotspot_class.lower()
    kind = "hot" if "hot" in lowered else "cold" if "cold" in lowered else None
    if kind is None:
        return None
    for level in (99, 95, 90):
        if str(level) in lowered:
            return kind, level
    return kind, 90



def compact_json(value: Any) -> str:
    """Return JSON for embedding in a ``<script>``: UTF-8 text, no spaces, ``</`` escaped."""
    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        .replace("</", "<\\/")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )

