"""folium map builders for the Common Operation Map: layers, palettes, bins, Thai names.

Every builder takes plain data (GeoDataFrames, DataFrames), adds to ``m`` (a new map when
``m`` is None) and returns the map; none writes files. :func:`build_map` puts the whole
operations map together; the web app renders it with :func:`com.assets.render_parts`.

Large point sets: a folium ``Marker`` with a popup costs about 750 bytes of page per point, so
risk points are one compact JSON array drawn by a single clustered layer
(:class:`RiskPointLayer`), with popups built in the browser on click.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template
from folium.utilities import JsCode

from com import assets
from com.config.severity import load_severity_model, sensitive_categories
from com.errors import ConfigError
from com.text.thai import format_thai_date, to_thai_digits

# --------------------------------------------------------------------------- names and palettes

#: Layer names shown in the layer control, Thai first.
LAYER_NAMES: dict[str, dict[str, str]] = {
    "choropleth": {"th": "ระดับความเสี่ยงรายตำบล", "en": "Subdistrict risk"},
    "districts": {"th": "เขตอำเภอ", "en": "District boundaries"},
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
    "gi": {"th": "Gi* z", "en": "Gi* z"},
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


# --------------------------------------------------------------------------- map and basemap


def new_map(
    *,
    basemap: str = "none",
    lang: str = "th",
    bounds: Sequence[Sequence[float]] | None = None,
) -> folium.Map:
    """Return an empty map with the configured basemap, scale bar and canvas for points.

    Parameters
    ----------
    basemap
        ``osm`` (OpenStreetMap tiles), ``none`` (no tiles: a plain background, the boundaries
        carry the map) or a tile URL template with ``{z}/{x}/{y}`` (the province's server).
    lang
        ``th`` or ``en`` for the layer names.
    bounds
        ``[[south, west], [north, east]]`` to fit.
    """
    m = folium.Map(
        location=[15.0, 103.5],
        zoom_start=9,
        tiles=None,
        # Without tiles Leaflet has no maximum zoom, and markercluster refuses such a map.
        control_scale=True,
        prefer_canvas=False,
        zoom_snap=0.25,
        # Without tiles Leaflet has no maximum zoom, and markercluster refuses such a map;
        # folium's own max_zoom goes to the tile layer only, so set Leaflet's option directly.
        **{"minZoom": 5, "maxZoom": 19},  # type: ignore[arg-type]
    )
    if basemap == "osm":
        folium.TileLayer(
            "OpenStreetMap", name=layer_name("basemap_osm", lang), attr=OSM_ATTRIBUTION
        ).add_to(m)
    elif basemap and basemap != "none":
        if not all(part in basemap for part in ("{z}", "{x}", "{y}")):
            raise ConfigError(
                f"COM_BASEMAP {basemap!r} is not 'osm', 'none' or a tile URL with {{z}}/{{x}}/{{y}}"
            )
        folium.TileLayer(
            tiles=basemap,
            name=layer_name("basemap_local", lang),
            attr=layer_name("basemap_local", lang),
        ).add_to(m)
    if bounds is not None:
        m.fit_bounds(bounds)
    return m


def _area_popup(row: Mapping[str, Any], lang: str, total: int) -> str:
    """Return the HTML popup of one subdistrict with the ranking's explanation."""
    esc = html.escape
    prefix = text("subdistrict", lang)
    name = row.get("name_th") if lang == "th" else row.get("name_en") or row.get("name_th")
    district = row.get("district_name_th") if lang == "th" else row.get("district_name_en")
    parts = [
        f'<div class="com-popup"><h4>{esc(prefix)}{esc(str(name))}</h4>',
        f'<div class="com-popup-sub">{esc(text("district", lang))} {esc(str(district or ""))}'
        f" · {esc(str(row.get('code', '')))}</div>",
    ]
    if row.get("suppressed"):
        parts.append(f"<p>{esc(text('suppressed', lang))}</p></div>")
        return "".join(parts)
    rank = row.get("rank")
    count = row.get("point_count")
    parts.append('<table class="com-kv">')
    if rank is not None and not pd.isna(rank):
        parts.append(
            f"<tr><th>{esc(text('rank', lang))}</th><td><b>{number(rank, lang)}</b> "
            f"{esc(text('of', lang))} {number(total, lang)}</td></tr>"
        )
    parts.append(
        f"<tr><th>{esc(text('score', lang))}</th>"
        f"<td>{number(row.get('score'), lang, digits=1)}</td></tr>"
        f"<tr><th>{esc(text('points', lang))}</th><td>{number(count, lang)} "
        f"{esc(text('unit_points', lang))}</td></tr>"
    )
    key = hotspot_key(row.get("hotspot_class"))
    if key is not None:
        label = f"{text(key[0], lang)} {number(key[1], lang)}%"
        parts.append(
            f"<tr><th>Gi*</th><td>{esc(label)} "
            f"(z = {number(row.get('gi_z'), lang, digits=2)})</td></tr>"
        )
    parts.append("</table>")
    explanation = row.get("explanation") or {}
    cats = explanation.get("categories") or []
    if cats:
        parts.append(f'<h5>{esc(text("by_category", lang))}</h5><table class="com-tbl">')
        for c in cats:
            parts.append(
                f"<tr><td>{esc(str(c.get('label') or c.get('category')))}</td>"
                f"<td>{number(c.get('points'), lang)} {esc(text('unit_points', lang))}</td>"
                f"<td>{number(c.get('contribution'), lang, digits=1)}</td></tr>"
            )
        parts.append("</table>")
    context = explanation.get("context") or []
    if context:
        parts.append(f'<h5>{esc(text("context", lang))}</h5><table class="com-tbl">')
        for c in context:
            parts.append(
                f"<tr><td>{esc(str(c.get('label') or c.get('factor')))}</td>"
                f"<td>+{number(c.get('contribution'), lang, digits=1)}</td></tr>"
            )
        parts.append("</table>")
    top = explanation.get("top_points") or []
    if top:
        parts.append(f'<h5>{esc(text("top_points", lang))}</h5><ol class="com-top">')
        for p in top[:5]:
            when = p.get("reported_on")
            when_text = date_text(when, lang) if isinstance(when, date) else str(when or "-")
            label = p.get("label") or p.get("category") or ""
            parts.append(
                f"<li>{esc(str(p.get('name') or '-'))} · {esc(str(label))}"
                f" · {esc(text('severity', lang))} {number(p.get('severity'), lang)}"
                f" · {esc(when_text)}</li>"
            )
        parts.append("</ol>")
    parts.append("</div>")
    return "".join(parts)


def _features(frame: gpd.GeoDataFrame, properties: list[dict[str, Any]]) -> dict[str, Any]:
    """Return a GeoJSON FeatureCollection of ``frame``'s geometries with ``properties``."""
    geoms = json.loads(gpd.GeoSeries(frame.geometry.values, crs=frame.crs).to_json(drop_id=True))
    return {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": g["geometry"], "properties": props}
            for g, props in zip(geoms["features"], properties, strict=True)
        ],
    }


def add_choropleth(
    areas: gpd.GeoDataFrame,
    *,
    metric: str = "score",
    lang: str = "th",
    m: folium.Map | None = None,
) -> folium.Map:
    """Add the subdistrict choropleth (by ``score`` or ``rank``) with popups and search.

    ``areas`` holds one row per subdistrict: ``code``, ``name_th``, ``name_en``,
    ``district_name_th``, ``district_name_en``, geometry, and from the ranking ``score``,
    ``rank``, ``point_count``, optionally ``suppressed``, ``hotspot_class``, ``gi_z`` and
    ``explanation`` (``categories``, ``context``, ``top_points`` lists).
    """
    m = m or new_map(lang=lang)
    if metric not in ("score", "rank"):
        raise ConfigError(f"choropleth metric {metric!r} is not 'score' or 'rank'")
    bins = score_bins(areas["score"]) if "score" in areas else []
    ranked = areas["rank"].notna().sum() if "rank" in areas else 0
    props = []
    for row in areas.to_dict("records"):
        if row.get("suppressed"):
            fill = SUPPRESSED_COLOUR
        elif metric == "rank":
            fill = rank_colour(row.get("rank"))
        else:
            fill = score_colour(row.get("score"), bins)
        name_th = str(row.get("name_th") or "")
        name_en = str(row.get("name_en") or "")
        district_th = str(row.get("district_name_th") or "")
        district_en = str(row.get("district_name_en") or "")
        props.append(
            {
                "code": row.get("code"),
                "fill": fill,
                # One searchable label: Thai and English names of the subdistrict and district.
                "search": f"ต.{name_th} อ.{district_th} ({name_en}, {district_en})",
                "popup": _area_popup(row, lang, int(ranked)),
            }
        )
    layer = folium.GeoJson(
        _features(areas, props),
        name=layer_name("choropleth", lang),
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": "#555",
            "weight": 0.7,
            "fillOpacity": 0.72,
        },
        highlight_function=lambda f: {"weight": 2.5, "color": "#000"},
        on_each_feature=JsCode(
            """function(feature, layer) {
                layer.bindPopup(feature.properties.popup,
                    {maxWidth: 360, autoPanPaddingTopLeft: [60, 90]});
                layer.bindTooltip(feature.properties.search, {sticky: true});
            }"""
        ),
        zoom_on_click=False,
    )
    layer.add_to(m)
    if areas.empty:  # folium's Search needs one feature to read the property names from
        return m
    folium.plugins.Search(
        layer=layer,
        search_label="search",
        geom_type="Polygon",
        placeholder=text("search", lang),
        collapsed=False,
        search_zoom=12,
        position="topleft",
        initial=False,
        textErr="ไม่พบ" if lang == "th" else "Not found",
    ).add_to(m)
    return m


def add_districts(
    districts: gpd.GeoDataFrame, *, lang: str = "th", m: folium.Map | None = None
) -> folium.Map:
    """Add district outlines (thick lines, no fill) so areas can be read without tiles."""
    m = m or new_map(lang=lang)
    props = [
        {"name": str(r.get("name_th") if lang == "th" else r.get("name_en"))}
        for r in districts.to_dict("records")
    ]
    folium.GeoJson(
        _features(districts, props),
        name=layer_name("districts", lang),
        style_function=lambda f: {"color": "#333", "weight": 2, "fill": False},
        interactive=False,
    ).add_to(m)
    return m


class RiskPointLayer(JSCSSMixin, Layer):
    """Risk points as one compact array, clustered with Leaflet.markercluster.

    Each point is a row ``[lat, lon, category index, severity, date text, name, flags]``
    (flags: 1 = approximate location, 2 = synthetic); markers and popups are made in the
    browser, so 10,000 points cost a few hundred kilobytes instead of megabytes.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = (function () {
            var cats = {{ this.categories_json }};
            var rows = {{ this.rows_json }};
            var t = {{ this.texts_json }};
            var icons = cats.map(function (c) {
                return L.divIcon({className: "com-point", html: c.svg,
                                  iconSize: [16, 16], iconAnchor: [8, 8], popupAnchor: [0, -6]});
            });
            function popup(r) {
                var c = cats[r[2]];
                var div = document.createElement("div");
                div.className = "com-popup";
                var h = document.createElement("h4");
                h.textContent = r[5] || c.label;
                div.appendChild(h);
                var p = document.createElement("div");
                p.textContent = c.label + " · " + t.severity + " " + r[3] + " · " +
                    t.reported + " " + (r[4] || "-");
                div.appendChild(p);
                if (r[6] & 1) { var a = document.createElement("div");
                    a.className = "com-approx"; a.textContent = t.approximate; div.appendChild(a); }
                if (r[6] & 2) { var s = document.createElement("div");
                    s.className = "com-synthetic-tag"; s.textContent = t.synthetic;
                    div.appendChild(s); }
                return div;
            }
            var group = L.markerClusterGroup({{ this.options|tojavascript }});
            var markers = new Array(rows.length);
            for (var i = 0; i < rows.length; i++) {
                var r = rows[i];
                var mk = L.marker([r[0], r[1]], {icon: icons[r[2]], keyboard: false});
                mk.comRow = r;
                mk.bindPopup(function (layer) { return popup(layer.comRow); });
                markers[i] = mk;
            }
            group.addLayers(markers);
            return group;
        })();
        {% endmacro %}
        """
    )
    default_js = [
        (
            "markerclusterjs",
            "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/leaflet.markercluster.js",
        ),
    ]
    default_css = [
        (
            "markerclustercss",
            "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.css",
        ),
        (
            "markerclusterdefaultcss",
            "https://cdnjs.cloudflare.com/ajax/libs/leaflet.markercluster/1.1.0/MarkerCluster.Default.css",
        ),
    ]

    def __init__(
        self,
        rows: list[list[Any]],
        categories: list[dict[str, str]],
        texts: dict[str, str],
        *,
        name: str,
        show: bool = True,
    ) -> None:
        super().__init__(name=name, overlay=True, control=True, show=show)
        self._name = "RiskPointLayer"
        self.rows_json = compact_json(rows)
        self.categories_json = compact_json(categories)
        self.texts_json = compact_json(texts)
        self.options = {
            "chunkedLoading": True,
            "maxClusterRadius": 45,
            "disableClusteringAtZoom": 16,
            "spiderfyOnMaxZoom": True,
            "showCoverageOnHover": False,
        }


def compact_json(value: Any) -> str:
    """Return JSON for embedding in a ``<script>``: UTF-8 text, no spaces, ``</`` escaped."""
    return (
        json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
        .replace("</", "<\\/")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def point_rows(
    points: pd.DataFrame, categories: Sequence[str], lang: str = "th"
) -> list[list[Any]]:
    """Return the compact rows of :class:`RiskPointLayer` (coordinates rounded to ~1 m)."""
    index = {c: i for i, c in enumerate(categories)}
    rows: list[list[Any]] = []
    for r in points.itertuples(index=False):
        flags = (1 if getattr(r, "approximate", False) else 0) | (
            2 if getattr(r, "synthetic", False) else 0
        )
        reported = getattr(r, "reported_on", None)
        rows.append(
            [
                round(float(r.lat), 5),
                round(float(r.lon), 5),
                index.get(r.category, index.get("unknown", 0)),
                int(r.severity),
                date_text(reported, lang) if reported is not None and not pd.isna(reported) else "",
                str(r.name) if getattr(r, "name", None) and not pd.isna(r.name) else "",
                flags,
            ]
        )
    return rows


def add_points(
    points: pd.DataFrame,
    *,
    names: Mapping[str, Mapping[str, str]],
    lang: str = "th",
    m: folium.Map | None = None,
) -> folium.Map:
    """Add clustered risk points, one symbol and colour per category.

    ``points`` has ``lat``, ``lon``, ``category``, ``severity`` and optionally ``reported_on``,
    ``name``, ``approximate``, ``synthetic``; ``names`` is :func:`category_names`.
    """
    m = m or new_map(lang=lang)
    order = list(names)
    for extra in sorted(set(points["category"]) - set(order)) if len(points) else []:
        order.append(extra)
    cats = []
    for key in order:
        colour, shape = category_style(key, order)
        label = names.get(key, {}).get(lang) or names.get(key, {}).get("th") or key
        cats.append({"key": key, "label": label, "svg": symbol_svg(colour, shape)})
    texts = {k: text(k, lang) for k in ("severity", "reported", "approximate", "synthetic")}
    RiskPointLayer(
        point_rows(points, order, lang), cats, texts, name=layer_name("points", lang)
    ).add_to(m)
    return m


def _legend_categories(
    points: pd.DataFrame, names: Mapping[str, Mapping[str, str]], lang: str
) -> list[tuple[str, str]]:
    """Return ``(svg, label)`` of the categories present in ``points``, in the model's order."""
    present = set(points["category"]) if len(points) else set()
    order = list(names) + sorted(present - set(names))
    out = []
    for key in order:
        if key in present:
            colour, shape = category_style(key, order)
            label = names.get(key, {}).get(lang) or names.get(key, {}).get("th") or key
            out.append((symbol_svg(colour, shape), label))
    return out


def add_heat(points: pd.DataFrame, *, lang: str = "th", m: folium.Map | None = None) -> folium.Map:
    """Add a heat layer of the points weighted by severity (hidden until switched on)."""
    m = m or new_map(lang=lang)
    data = [
        [round(float(r.lat), 5), round(float(r.lon), 5), round(int(r.severity) / 5, 2)]
        for r in points.itertuples(index=False)
    ]
    folium.plugins.HeatMap(
        data, name=layer_name("heat", lang), radius=18, blur=14, min_opacity=0.3, show=False
    ).add_to(m)
    return m


def add_hotspots(
    areas: gpd.GeoDataFrame, *, lang: str = "th", m: folium.Map | None = None
) -> folium.Map:
    """Add Gi* hot (red) and cold (blue) spot areas; areas not significant are left out."""
    m = m or new_map(lang=lang)
    if "hotspot_class" not in areas:
        keys: list[tuple[str, int] | None] = [None] * len(areas)
    else:
        keys = [hotspot_key(c) for c in areas["hotspot_class"]]
    keep = [k is not None for k in keys]
    subset = areas[keep]
    props = []
    for key, row in zip([k for k in keys if k], subset.to_dict("records"), strict=True):
        label = f"{text(key[0], lang)} {key[1]}%"
        name = row.get("name_th") if lang == "th" else row.get("name_en")
        props.append(
            {"colour": HOTSPOT_COLOURS[key], "label": f"{name}: {label}", "z": row.get("gi_z")}
        )
    folium.GeoJson(
        _features(subset, props) if len(subset) else {"type": "FeatureCollection", "features": []},
        name=layer_name("hotspots", lang),
        style_function=lambda f: {
            "color": f["properties"]["colour"],
            "weight": 3,
            "fillColor": f["properties"]["colour"],
            "fillOpacity": 0.25,
            "dashArray": "6 3",
        },
        interactive=False,
        show=False,
    ).add_to(m)
    return m


def add_context(
    land_border: gpd.GeoDataFrame | None,
    mekong: gpd.GeoDataFrame | None,
    crossings: gpd.GeoDataFrame | None,
    *,
    lang: str = "th",
    m: folium.Map | None = None,
) -> folium.Map:
    """Add the land border, the Mekong and the permanent border crossings."""
    m = m or new_map(lang=lang)
    for key, frame, colour, dash in (
        ("land_border", land_border, BORDER_COLOUR, "8 4"),
        ("mekong", mekong, MEKONG_COLOUR, None),
    ):
        data = (
            _features(frame, [{"name": str(n or "")} for n in frame.get("name", [""] * len(frame))])
            if frame is not None and len(frame)
            else {"type": "FeatureCollection", "features": []}
        )
        folium.GeoJson(
            data,
            name=layer_name(key, lang),
            style_function=lambda f, c=colour, d=dash: {
                "color": c,
                "weight": 3.5,
                "dashArray": d,
                "fill": False,
            },
            interactive=False,
        ).add_to(m)
    group = folium.FeatureGroup(name=layer_name("crossings", lang))
    if crossings is not None:
        for row in crossings.to_dict("records"):
            name = row.get("name_th") if lang == "th" and row.get("name_th") else row.get("name_en")
            geom = row["geometry"]
            folium.Marker(
                location=[geom.y, geom.x],
                icon=folium.DivIcon(
                    html=symbol_svg(CROSSING_COLOUR, "diamond", size=20),
                    icon_size=(20, 20),
                    icon_anchor=(10, 10),
                    class_name="com-point",
                ),
                tooltip=f"{text('crossing', lang)}: {name}",
            ).add_to(group)
    group.add_to(m)
    return m


def _circles(
    frame: gpd.GeoDataFrame | None,
    *,
    key: str,
    colour: str,
    label: str,
    lang: str,
    m: folium.Map,
    show: bool = True,
) -> None:
    group = folium.FeatureGroup(name=layer_name(key, lang), show=show)
    if frame is not None:
        for i, row in enumerate(frame.to_dict("records"), start=1):
            geom = row["geometry"]
            radius = row.get("radius_m")
            radius = float(radius) if radius is not None and not pd.isna(radius) else None
            tip = f"{label} {row.get('name') or i}"
            if radius:
                tip += f" · {text('radius', lang)} {number(radius, lang)} ม."
                folium.Circle(
                    location=[geom.y, geom.x],
                    radius=radius,
                    color=colour,
                    weight=1,
                    fill=True,
                    fill_opacity=0.12,
                    interactive=False,
                ).add_to(group)
            folium.CircleMarker(
                location=[geom.y, geom.x],
                radius=5,
                color="#fff",
                weight=1.5,
                fill_color=colour,
                fill_opacity=1,
                tooltip=tip,
            ).add_to(group)
    group.add_to(m)


def add_cameras(
    cameras: gpd.GeoDataFrame | None,
    sites: gpd.GeoDataFrame | None,
    *,
    lang: str = "th",
    m: folium.Map | None = None,
) -> folium.Map:
    """Add existing cameras and proposed CCTV sites, each with its coverage circle."""
    m = m or new_map(lang=lang)
    _circles(
        cameras, key="cameras", colour=CAMERA_COLOUR, label=text("camera", lang), lang=lang, m=m
    )
    _circles(sites, key="cctv_sites", colour=SITE_COLOUR, label=text("site", lang), lang=lang, m=m)
    return m


class _HtmlControl(MacroElement):
    """A fixed Leaflet control holding static HTML (legend, notices)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var ctl = L.control({position: {{ this.position|tojson }}});
            ctl.onAdd = function () {
                var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
                div.innerHTML = {{ this.html_json }};
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            ctl.addTo({{ this._parent.get_name() }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, html_text: str, *, position: str, css_class: str) -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.html_json = compact_json(html_text)
        self.position = position
        self.css_class = css_class


def add_legend(
    *,
    metric: str | None = None,
    bins: Sequence[float] = (),
    categories: Sequence[tuple[str, str]] = (),
    hotspots: Sequence[tuple[str, int]] = (),
    lang: str = "th",
    m: folium.Map,
) -> folium.Map:
    """Add the Thai legend: choropleth classes, point symbols, hot/cold spots, lines.

    Parameters
    ----------
    metric
        ``score`` or ``rank`` of the choropleth; None leaves the classes out.
    bins
        Score class bounds (:func:`score_bins`).
    categories
        ``(svg, label)`` of the point categories shown.
    hotspots
        Gi* classes shown, as :func:`hotspot_key` gives them.
    lang
        ``th`` or ``en``.
    m
        The map.
    """
    esc = html.escape
    parts = ['<div class="com-legend-body">']
    if metric:
        parts.append(f"<h4>{esc(text('legend_' + metric, lang))}</h4>")
        if metric == "rank":
            lower = 1
            for i, bound in enumerate(RANK_BINS):
                colour = RISK_PALETTE[len(RISK_PALETTE) - 1 - i]
                parts.append(_swatch(colour, f"{number(lower, lang)}–{number(bound, lang)}"))
                lower = bound + 1
            parts.append(_swatch(RISK_PALETTE[0], f"{number(lower, lang)}+"))
        else:
            offset = len(RISK_PALETTE) - len(bins)
            low = 0.0
            for i, upper in enumerate(bins):
                label = f"{number(low, lang, digits=1)}–{number(upper, lang, digits=1)}"
                parts.append(_swatch(RISK_PALETTE[offset + i], label))
                low = upper
        parts.append(_swatch(NO_POINTS_COLOUR, text("no_points", lang)))
        parts.append(_swatch(SUPPRESSED_COLOUR, text("suppressed", lang)))
    if categories:
        parts.append(f"<h4>{esc(text('categories', lang))}</h4>")
        for svg, label in categories:
            parts.append(f'<div class="com-legend-row">{svg}<span>{esc(label)}</span></div>')
    if hotspots:
        parts.append(f"<h4>{esc(layer_name('hotspots', lang))}</h4>")
        for key in hotspots:
            parts.append(
                _swatch(HOTSPOT_COLOURS[key], f"{text(key[0], lang)} {number(key[1], lang)}%")
            )
    parts.append(f"<h4>{esc(text('context', lang))}</h4>")
    parts.append(_line(BORDER_COLOUR, layer_name("land_border", lang), dashed=True))
    parts.append(_line(MEKONG_COLOUR, layer_name("mekong", lang)))
    parts.append(
        f'<div class="com-legend-row">{symbol_svg(CROSSING_COLOUR, "diamond")}'
        f"<span>{esc(layer_name('crossings', lang))}</span></div>"
    )
    parts.append(
        f'<div class="com-legend-row">{symbol_svg(CAMERA_COLOUR, "circle")}'
        f"<span>{esc(layer_name('cameras', lang))}</span></div>"
    )
    parts.append(
        f'<div class="com-legend-row">{symbol_svg(SITE_COLOUR, "circle")}'
        f"<span>{esc(layer_name('cctv_sites', lang))}</span></div>"
    )
    parts.append("</div>")
    _HtmlControl("".join(parts), position="bottomright", css_class="com-legend").add_to(m)
    return m


def _swatch(colour: str, label: str) -> str:
    return (
        f'<div class="com-legend-row"><i class="com-swatch" style="background:{colour}"></i>'
        f"<span>{html.escape(label)}</span></div>"
    )


def _line(colour: str, label: str, *, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="5 3"' if dashed else ""
    return (
        f'<div class="com-legend-row"><svg width="16" height="16"><line x1="0" y1="8" x2="16" '
        f'y2="8" stroke="{colour}" stroke-width="3"{dash}/></svg>'
        f"<span>{html.escape(label)}</span></div>"
    )


class _MapNotice(MacroElement):
    """A notice centred at the top of the map, inside its container (so full screen keeps it)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var div = L.DomUtil.create("div", "com-synthetic",
                                       {{ this._parent.get_name() }}.getContainer());
            div.textContent = {{ this.text_json }};
        })();
        {% endmacro %}
        """
    )

    def __init__(self, notice: str) -> None:
        super().__init__()
        self._name = "MapNotice"
        self.text_json = compact_json(notice)


def add_synthetic_notice(*, lang: str = "th", m: folium.Map) -> folium.Map:
    """Add the always-visible "ข้อมูลสมมติ / synthetic" notice at the top of the map."""
    _MapNotice(text("synthetic_long", lang)).add_to(m)
    return m


class _MeasureControl(MacroElement):
    """Click-to-measure distance (km) and area (ha, rai) on the map.

    COM's own rather than folium's MeasureControl: leaflet-measure compiles its templates with
    ``new Function``, which the pages' Content-Security-Policy (no ``'unsafe-eval'``) refuses.
    Distances are geodesic (Leaflet's ``map.distance``, haversine); areas use the spherical
    excess of the ring, as Leaflet.draw does.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var labels = {{ this.labels_json }};
            var map = {{ this._parent.get_name() }};
            var R = 6378137, rad = Math.PI / 180, red = "#d7301f";
            function area(ll) {
                if (ll.length < 3) return 0;
                var sum = 0;
                for (var i = 0; i < ll.length; i++) {
                    var a = ll[i], b = ll[(i + 1) % ll.length];
                    sum += (b.lng - a.lng) * rad
                        * (2 + Math.sin(a.lat * rad) + Math.sin(b.lat * rad));
                }
                return Math.abs(sum * R * R / 2);
            }
            function length(ll) {
                var total = 0;
                for (var i = 1; i < ll.length; i++) total += map.distance(ll[i - 1], ll[i]);
                return total;
            }
            function metres(m) {
                return m >= 1000 ? (m / 1000).toFixed(2) + " km" : Math.round(m) + " m";
            }
            var ctl = L.control({position: "topleft"});
            ctl.onAdd = function () {
                var box = L.DomUtil.create(
                    "div", "leaflet-control-measure leaflet-bar leaflet-control");
                var button = L.DomUtil.create("a", "leaflet-control-measure-toggle", box);
                button.href = "#";
                button.title = labels.measure;
                button.setAttribute("role", "button");
                button.setAttribute("aria-label", labels.measure);
                button.textContent = "\u21A6";
                var out = L.DomUtil.create("div", "com-measure-result", box);
                out.hidden = true;
                L.DomEvent.disableClickPropagation(box);
                var points = [], drawn = L.featureGroup(), active = false;
                function show() {
                    drawn.clearLayers();
                    var off = {color: red, interactive: false};
                    if (points.length > 1) {
                        L.polyline(points, L.extend({weight: 2}, off)).addTo(drawn);
                    }
                    if (points.length > 2) {
                        L.polygon(points, L.extend({weight: 0, fillOpacity: 0.15}, off))
                            .addTo(drawn);
                    }
                    points.forEach(function (p) {
                        L.circleMarker(p, L.extend({radius: 3}, off)).addTo(drawn);
                    });
                    if (!points.length) { out.textContent = labels.hint; return; }
                    var a = area(points);
                    var text = labels.distance + " " + metres(length(points));
                    if (a > 0) {
                        text += " · " + labels.area + " " + (a / 10000).toFixed(2) + " ha ("
                            + (a / 1600).toFixed(1) + " rai)";
                    }
                    out.textContent = text;
                }
                function add(e) { points.push(e.latlng); map.closePopup(); show(); }
                L.DomEvent.on(button, "click", function (e) {
                    L.DomEvent.preventDefault(e);
                    active = !active;
                    var how = active ? "addClass" : "removeClass";
                    L.DomUtil[how](box, "active");
                    // While measuring, shapes and markers let clicks through to the map
                    // (a layer with a popup stops the click from reaching it).
                    L.DomUtil[how](map.getContainer(), "com-measuring");
                    out.hidden = !active;
                    if (active) {
                        drawn.addTo(map);
                        map.on("click", add);
                        show();
                    } else {
                        map.off("click", add);
                        points = [];
                        drawn.clearLayers();
                        drawn.remove();
                    }
                });
                return box;
            };
            ctl.addTo(map);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, *, lang: str = "th") -> None:
        super().__init__()
        self._name = "MeasureControl"
        self.labels_json = compact_json(
            {
                "measure": text("measure", lang),
                "hint": text("measure_hint", lang),
                "distance": text("measure_distance", lang),
                "area": text("measure_area", lang),
            }
        )


def add_controls(*, lang: str = "th", m: folium.Map) -> folium.Map:
    """Add full screen, measure and the layer control (scale comes with :func:`new_map`)."""
    folium.plugins.Fullscreen(
        position="topleft",
        title=text("fullscreen", lang),
        title_cancel=text("fullscreen_exit", lang),
    ).add_to(m)
    _MeasureControl(lang=lang).add_to(m)
    folium.LayerControl(position="topright", collapsed=False).add_to(m)
    return m


@dataclass
class MapData:
    """Everything the operations map shows, already filtered and privacy-checked."""

    areas: gpd.GeoDataFrame
    districts: gpd.GeoDataFrame
    points: pd.DataFrame
    land_border: gpd.GeoDataFrame | None = None
    mekong: gpd.GeoDataFrame | None = None
    crossings: gpd.GeoDataFrame | None = None
    cameras: gpd.GeoDataFrame | None = None
    sites: gpd.GeoDataFrame | None = None
    synthetic: bool = False

    def bounds(self) -> list[list[float]] | None:
        """Return ``[[south, west], [north, east]]`` of the areas, or None when empty."""
        if self.areas is None or self.areas.empty:
            return None
        west, south, east, north = self.areas.total_bounds
        return [[float(south), float(west)], [float(north), float(east)]]


def build_map(
    data: MapData,
    *,
    names: Mapping[str, Mapping[str, str]],
    basemap: str = "none",
    metric: str = "score",
    lang: str = "th",
    asset_prefix: str | None = assets.VENDOR_PREFIX,
    m: folium.Map | None = None,
) -> folium.Map:
    """Build the operations map: choropleth, points, heat, hot spots, context, cameras.

    Parameters
    ----------
    data
        The layers' data (:class:`MapData`).
    names
        Category names, :func:`category_names`.
    basemap
        ``osm``, ``none`` or a tile URL template (``settings.basemap``).
    metric
        Choropleth by ``score`` or ``rank``.
    lang
        ``th`` or ``en``.
    asset_prefix
        URL prefix of the local JS/CSS copies (:func:`com.assets.localise`); None keeps
        folium's CDN URLs (notebooks only).
    m
        Map to add to; default a new one.

    Returns
    -------
    folium.Map
        The map, ready for ``m.get_root().render()``.
    """
    m = m or new_map(basemap=basemap, lang=lang, bounds=data.bounds())
    add_choropleth(data.areas, metric=metric, lang=lang, m=m)
    add_districts(data.districts, lang=lang, m=m)
    add_hotspots(data.areas, lang=lang, m=m)
    add_heat(data.points, lang=lang, m=m)
    add_context(data.land_border, data.mekong, data.crossings, lang=lang, m=m)
    add_cameras(data.cameras, data.sites, lang=lang, m=m)
    add_points(data.points, names=names, lang=lang, m=m)
    hot = {hotspot_key(c) for c in data.areas.get("hotspot_class", pd.Series(dtype=object))}
    add_legend(
        metric=metric,
        bins=score_bins(data.areas["score"]) if "score" in data.areas else [],
        categories=_legend_categories(data.points, names, lang),
        hotspots=sorted(k for k in hot if k),
        lang=lang,
        m=m,
    )
    if data.synthetic:
        add_synthetic_notice(lang=lang, m=m)
    add_controls(lang=lang, m=m)
    if basemap == "none":
        m.get_root().header.add_child(  # type: ignore[attr-defined]
            Element(f"<style>.leaflet-container{{background:{NO_TILES_BACKGROUND};}}</style>"),
            name="com_no_tiles",
        )
    if asset_prefix is not None:
        assets.localise(m, prefix=asset_prefix)
    return m


# --------------------------------------------------------------------------- data for the map


@dataclass(frozen=True)
class MapFilters:
    """The filters of the operations map, kept in the page URL (``?province=32&...``)."""

    province_code: str | None = None
    district_code: str | None = None
    categories: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    min_severity: int | None = None
    metric: str = "score"
    plan_id: int | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, Sequence[str]]) -> MapFilters:
        """Parse URL query parameters (each a list of values) into filters.

        Raises
        ------
        ValidationError
            A value that is not a code, a date, a severity 1-5, or a known metric.
        """
        from com.errors import ValidationError

        def one(key: str) -> str | None:
            values = [v.strip() for v in params.get(key, []) if v and v.strip()]
            return values[-1] if values else None

        def many(key: str) -> list[str]:
            out: list[str] = []
            for value in params.get(key, []):
                out.extend(v.strip() for v in value.split(",") if v.strip())
            return out

        def day(key: str) -> date | None:
            value = one(key)
            if value is None:
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ValidationError(f"{key}={value!r} is not a date like 2024-10-01") from None

        province = one("province")
        district = one("district")
        if province is not None and not (province.isdigit() and len(province) == 2):
            raise ValidationError(f"province={province!r} is not a 2-digit province code")
        if district is not None and not (district.isdigit() and len(district) == 4):
            raise ValidationError(f"district={district!r} is not a 4-digit district code")
        if district and not province:
            province = district[:2]
        severity = one("severity")
        if severity is not None and (not severity.isdigit() or not 1 <= int(severity) <= 5):
            raise ValidationError(f"severity={severity!r} must be a number 1-5 (the lowest shown)")
        metric = one("metric") or "score"
        if metric not in ("score", "rank"):
            raise ValidationError(f"metric={metric!r} is not 'score' or 'rank'")
        plan = one("plan")
        if plan is not None and not plan.isdigit():
            raise ValidationError(f"plan={plan!r} is not a plan number")
        date_from, date_to = day("from"), day("to")
        if date_from and date_to and date_from > date_to:
            raise ValidationError("the 'from' date is after the 'to' date")
        return cls(
            province_code=province,
            district_code=district,
            categories=tuple(sorted(set(many("category")))),
            date_from=date_from,
            date_to=date_to,
            min_severity=int(severity) if severity and int(severity) > 1 else None,
            metric=metric,
            plan_id=int(plan) if plan else None,
        )

    def query_items(self) -> list[tuple[str, str]]:
        """Return the filters as URL query items (the inverse of :meth:`from_query`)."""
        items: list[tuple[str, str]] = []
        if self.province_code:
            items.append(("province", self.province_code))
        if self.district_code:
            items.append(("district", self.district_code))
        items += [("category", c) for c in self.categories]
        if self.date_from:
            items.append(("from", self.date_from.isoformat()))
        if self.date_to:
            items.append(("to", self.date_to.isoformat()))
        if self.min_severity:
            items.append(("severity", str(self.min_severity)))
        if self.metric != "score":
            items.append(("metric", self.metric))
        if self.plan_id is not None:
            items.append(("plan", str(self.plan_id)))
        return items


def _read_geo(conn: Any, query: str, params: Mapping[str, Any]) -> gpd.GeoDataFrame:
    import sqlalchemy as sa

    return gpd.read_postgis(sa.text(query), conn, geom_col="geometry", params=dict(params))


def _point_query(filters: MapFilters, coarsen: Sequence[str]) -> tuple[str, dict[str, Any]]:
    # Sensitive categories are moved to their subdistrict's representative point for viewers
    # without the "sensitive" permission, without their names (issue 7's rule, as the OGC
    # API applies it); one in no subdistrict is left out rather than drawn where it is.
    where = [
        "r.province_code = :province",
        "NOT (r.category = ANY(:coarsen) AND s.rep_point IS NULL)",
    ]
    params: dict[str, Any] = {"province": filters.province_code, "coarsen": list(coarsen)}
    if filters.district_code:
        where.append("r.district_code = :district")
        params["district"] = filters.district_code
    if filters.categories:
        where.append("r.category = ANY(:categories)")
        params["categories"] = list(filters.categories)
    if filters.date_from:
        where.append("r.reported_on >= :date_from")
        params["date_from"] = filters.date_from
    if filters.date_to:
        where.append("r.reported_on <= :date_to")
        params["date_to"] = filters.date_to
    if filters.min_severity:
        where.append("r.severity >= :min_severity")
        params["min_severity"] = filters.min_severity
    query = f"""
        SELECT r.id,
               CASE WHEN r.category = ANY(:coarsen) THEN NULL ELSE r.name END AS name,
               r.category, r.severity, r.incident_count, r.reported_on,
               r.synthetic, r.subdistrict_code,
               (r.approximate OR (r.category = ANY(:coarsen) AND s.rep_point IS NOT NULL))
                   AS approximate,
               ST_Y(CASE WHEN r.category = ANY(:coarsen) AND s.rep_point IS NOT NULL
                         THEN s.rep_point ELSE r.geom END) AS lat,
               ST_X(CASE WHEN r.category = ANY(:coarsen) AND s.rep_point IS NOT NULL
                         THEN s.rep_point ELSE r.geom END) AS lon
        FROM risk_points r LEFT JOIN subdistricts s ON s.code = r.subdistrict_code
        WHERE {" AND ".join(where)}
        ORDER BY r.id
    """  # noqa: S608 - the WHERE parts are fixed strings; values are bound parameters
    return query, params


def load_map_data(
    conn: Any,
    filters: MapFilters,
    *,
    principal: Any,
    small_area_k: int = 5,
    severity_config: Path | str | None = None,
) -> MapData:
    """Read everything the operations map shows for ``filters`` and ``principal``.

    Parameters
    ----------
    conn
        A database connection.
    filters
        Province (required), district, categories, dates, lowest severity, metric, plan.
    principal
        The viewer (:class:`com.security.access.Principal`): sensitive categories are coarsened
        unless it may see them; anonymous viewers get small areas suppressed
        (:mod:`com.security.privacy`).
    small_area_k
        ``settings.small_area_k``.
    severity_config
        ``settings.severity_config``.

    Returns
    -------
    MapData
        The layers' data.
    """
    from com.errors import ValidationError
    from com.security import privacy

    if not filters.province_code:
        raise ValidationError("choose a province (province=32 for Surin)")
    # Issue 8: a province-restricted user sees only their province, whichever page asks.
    principal.require_province(filters.province_code)
    province = {"province": filters.province_code}
    district_clause = " AND s.district_code = :district" if filters.district_code else ""
    area_params = {**province, "district": filters.district_code}
    areas = _read_geo(
        conn,
        f"""SELECT s.code, s.name_th, s.name_en, s.district_code,
                   d.name_th AS district_name_th, d.name_en AS district_name_en,
                   ST_AsBinary(s.geom) AS geometry
            FROM subdistricts s JOIN districts d ON d.code = s.district_code
            WHERE s.province_code = :province{district_clause}
            ORDER BY s.code""",  # noqa: S608 - fixed clause, bound values
        area_params,
    )
    if areas.empty:
        raise ValidationError(f"no subdistricts for province {filters.province_code}")
    districts = _read_geo(
        conn,
        "SELECT code, name_th, name_en, ST_AsBinary(geom) AS geometry FROM districts "
        "WHERE province_code = :province ORDER BY code",
        province,
    )
    coarsen = [] if principal.sees_sensitive else sorted(sensitive_categories(severity_config))
    query, params = _point_query(filters, coarsen)
    import sqlalchemy as sa

    points = pd.DataFrame(conn.execute(sa.text(query), params).mappings().all())
    if points.empty:
        points = pd.DataFrame(
            columns=[
                "id",
                "name",
                "category",
                "severity",
                "incident_count",
                "reported_on",
                "synthetic",
                "subdistrict_code",
                "approximate",
                "lat",
                "lon",
            ]
        )
    areas = attach_ranking(conn, areas, points, filters=filters, severity_config=severity_config)
    if privacy.applies_to(principal):
        # The one small-area rule (all points, all time), so the map hides the areas the
        # rankings, OGC layers, exports and tiles hide, whatever the map's filters.
        hidden = privacy.hidden_areas(conn, k=small_area_k)
        areas = privacy.suppress_areas(areas, hidden, code_column="code")
        points = points[
            points["subdistrict_code"].notna() & ~points["subdistrict_code"].isin(hidden)
        ].reset_index(drop=True)
    envelope = "(SELECT ST_Expand(ST_Envelope(geom), 0.3) FROM provinces WHERE code = :province)"
    context = _read_geo(
        conn,
        f"""SELECT layer, name,
                   ST_AsBinary(ST_Intersection(geom, {envelope})) AS geometry
            FROM context_layers
            WHERE layer IN ('land_border', 'mekong') AND geom && {envelope}""",  # noqa: S608
        province,
    )
    context = context[~context.geometry.is_empty]
    crossings = _read_geo(
        conn,
        f"""SELECT name_en, name_th, kind, ST_AsBinary(geom) AS geometry FROM border_crossings
            WHERE geom && {envelope}""",  # noqa: S608
        province,
    )
    cameras = _read_geo(
        conn,
        "SELECT name, radius_m, ST_AsBinary(geom) AS geometry FROM cameras "
        "WHERE province_code = :province ORDER BY id",
        province,
    )
    return MapData(
        areas=areas,
        districts=districts,
        points=points,
        land_border=context[context["layer"] == "land_border"],
        mekong=context[context["layer"] == "mekong"],
        crossings=crossings,
        cameras=cameras,
        sites=load_plan_sites(
            conn,
            province_code=filters.province_code,
            plan_id=filters.plan_id,
            principal=principal,
            severity_config=severity_config,
        ),
        synthetic=bool(len(points)) and bool(points["synthetic"].fillna(False).any()),
    )


def load_plan_sites(
    conn: Any,
    *,
    province_code: str,
    plan_id: int | None = None,
    principal: Any = None,
    severity_config: Path | str | None = None,
) -> gpd.GeoDataFrame | None:
    """Return the proposed sites of a saved CCTV plan (the newest of the province by default).

    Reads the ``cctv_plans`` table of issue 5 when it exists; the plan's ``result`` is a
    GeoJSON FeatureCollection whose Point features are sites (``radius_m`` from the feature
    or the plan's parameters). Unless ``principal`` may see sensitive categories, sites that
    would give a sensitive point away are shown as the CCTV API shows them
    (:func:`com.siting.redaction.plan_for`: at their subdistrict's representative point,
    without a coverage circle); with no principal given the plan is redacted too.
    """
    import sqlalchemy as sa

    from com.siting.redaction import plan_for

    exists = conn.execute(sa.text("SELECT to_regclass('cctv_plans')")).scalar()
    if exists is None:
        return None
    query = "SELECT id, params, result FROM cctv_plans WHERE province_code = :province"
    params: dict[str, Any] = {"province": province_code}
    if plan_id is not None:
        query += " AND id = :plan"
        params["plan"] = plan_id
    row = conn.execute(
        sa.text(query + " ORDER BY created_at DESC, id DESC LIMIT 1"), params
    ).first()
    if row is None:
        return None
    shown = plan_for(conn, row.result, principal, severity_config=severity_config)
    return plan_sites(shown, default_radius_m=(row.params or {}).get("radius_m"))


def plan_sites(
    result: Mapping[str, Any], *, default_radius_m: float | None = None
) -> gpd.GeoDataFrame:
    """Return the Point features of a plan's GeoJSON result as sites with ``radius_m``."""
    features = [
        f
        for f in (result or {}).get("features", [])
        if (f.get("geometry") or {}).get("type") == "Point"
        and (f.get("properties") or {}).get("kind", "site") in ("site", "proposed", "new")
    ]
    if not features:
        return gpd.GeoDataFrame({"name": [], "radius_m": []}, geometry=[], crs="EPSG:4326")
    frame = gpd.GeoDataFrame.from_features(features, crs="EPSG:4326")
    if "radius_m" not in frame:
        frame["radius_m"] = default_radius_m
    frame["radius_m"] = (
        frame["radius_m"].fillna(default_radius_m) if default_radius_m else frame["radius_m"]
    )
    if "name" not in frame:
        frame["name"] = [str(i) for i in range(1, len(frame) + 1)]
    if "coarsened" in frame:
        # A coarsened site stands at its subdistrict's representative point: no circle there.
        coarse = frame["coarsened"].eq(True)
        frame["radius_m"] = pd.to_numeric(frame["radius_m"], errors="coerce").where(~coarse)
    return frame


def attach_ranking(
    conn: Any,
    areas: gpd.GeoDataFrame,
    points: pd.DataFrame,
    *,
    filters: MapFilters,
    severity_config: Path | str | None = None,
) -> gpd.GeoDataFrame:
    """Add ``score``, ``rank``, ``point_count``, Gi* and ``explanation`` to ``areas``.

    The figures come from :func:`com.risk.hotspots` (the ranking plus Getis-Ord Gi*, with a
    fixed seed so the same view draws the same hot spots); the explanation lists each
    category's and context factor's share of the score and the area's heaviest points among
    the ``points`` shown.
    """
    from com import risk

    ranking = risk.hotspots(
        conn,
        province=filters.province_code,
        district=filters.district_code,
        date_from=filters.date_from,
        date_to=filters.date_to,
        categories=list(filters.categories) or None,
        min_severity=filters.min_severity,
        model=severity_config,
        seed=0,
    )
    ranking = pd.DataFrame(ranking.drop(columns="geometry")).rename(
        columns={"subdistrict_code": "code", "risk_score": "score", "points": "point_count"}
    )
    names = category_names(severity_config)
    context_names = _context_names(severity_config)
    by_area = dict(iter(points.groupby("subdistrict_code")))
    explanations = []
    for row in ranking.to_dict("records"):
        mine = by_area.get(row["code"])
        counts = mine["category"].value_counts().to_dict() if mine is not None else {}
        cats = [
            {
                "category": key[4:],
                "label": names.get(key[4:], {}).get("th", key[4:]),
                "points": int(counts.get(key[4:], 0)),
                "contribution": float(value),
            }
            for key, value in row.items()
            if key.startswith("cat_") and value and value > 0
        ]
        context = [
            {
                "factor": key[4:],
                "label": context_names.get(key[4:], key[4:]),
                "contribution": float(value),
            }
            for key, value in row.items()
            if key.startswith("ctx_") and value and value > 0
        ]
        top = []
        if mine is not None:
            for p in (
                mine.sort_values(["severity", "reported_on"], ascending=False).head(3).itertuples()
            ):
                top.append(
                    {
                        # None for a coarsened (sensitive) point: its name is withheld too.
                        "name": p.name if isinstance(p.name, str) else None,
                        "label": names.get(p.category, {}).get("th", p.category),
                        "severity": int(p.severity),
                        "reported_on": p.reported_on,
                    }
                )
        explanations.append(
            {
                "categories": sorted(cats, key=lambda c: -c["contribution"]),
                "context": sorted(context, key=lambda c: -c["contribution"]),
                "top_points": top,
            }
        )
    ranking["explanation"] = explanations
    keep = ["code", "score", "rank", "point_count", "hotspot_class", "gi_z", "explanation"]
    out = areas.merge(ranking[[c for c in keep if c in ranking]], on="code", how="left")
    out["point_count"] = out["point_count"].fillna(0).astype(int)
    return out


def _context_names(severity_config: Path | str | None) -> dict[str, str]:

    model = load_severity_model(severity_config)
    return {key: factor.th for key, factor in model.context.items()}
