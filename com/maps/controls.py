"""The map's controls: legend, synthetic-data notice, full screen, measuring, layer switcher."""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import folium
import folium.plugins
from branca.element import MacroElement
from folium.template import Template
from folium.utilities import JsCode

from com.maps.scripts import script
from com.maps.style import (
    BORDER_COLOUR,
    CAMERA_COLOUR,
    CROSSING_COLOUR,
    HOTSPOT_COLOURS,
    MEKONG_COLOUR,
    NO_POINTS_COLOUR,
    RANK_BINS,
    RISK_PALETTE,
    SITE_COLOUR,
    SUPPRESSED_COLOUR,
    compact_json,
    layer_name,
    number,
    symbol_svg,
    text,
)


class _HtmlControl(MacroElement):
    """A fixed Leaflet control holding static HTML (the legend); ``js/html_control.js``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        ({{ this.script }})({{ this._parent.get_name() }},
            {{ this.position|tojson }}, {{ this.css_class|tojson }}, {{ this.html_json }},
            {{ this.toggle_json }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        html_text: str,
        *,
        position: str,
        css_class: str,
        toggle: dict[str, Any] | None = None,
    ) -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.script = script("html_control")
        self.html_json = compact_json(html_text)
        self.position = position
        self.css_class = css_class
        self.toggle_json = compact_json(toggle)


def add_legend(
    *,
    metric: str | None = None,
    bins: Sequence[float] = (),
    categories: Sequence[tuple[str, str]] = (),
    hotspots: Sequence[tuple[str, int]] = (),
    lang: str = "th",
    folded: bool = False,
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
    folded
        Start folded behind its button (it always does on a small map).
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
        parts.append(
            f'<div class="com-legend-row"><i class="com-cluster-swatch"></i>'
            f"<span>{esc(text('clusters', lang))}</span></div>"
        )
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
    toggle: dict[str, Any] = {
        "show": text("legend_show", lang), "hide": text("legend_hide", lang), "folded": folded,
    }
    # Bottom left, above the scale bar: the layer list fills the right-hand side, and the
    # attribution sits bottom right.
    _HtmlControl(
        "".join(parts), position="bottomleft", css_class="com-legend", toggle=toggle
    ).add_to(m)
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
        ({{ this.script }})({{ this._parent.get_name() }}, {{ this.text_json }});
        {% endmacro %}
        """
    )

    def __init__(self, notice: str) -> None:
        super().__init__()
        self._name = "MapNotice"
        self.script = script("map_notice")
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
    excess of the ring, as Leaflet.draw does. The browser side is ``js/measure_control.js``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        ({{ this.script }})({{ this._parent.get_name() }}, {{ this.labels_json }});
        {% endmacro %}
        """
    )

    def __init__(self, *, lang: str = "th") -> None:
        super().__init__()
        self._name = "MeasureControl"
        self.script = script("measure_control")
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
    # Open on a laptop; folded behind its icon on a phone, where it would hide the map.
    folium.LayerControl(
        position="topright",
        collapsed=JsCode("window.innerWidth < 600"),  # type: ignore[arg-type]
    ).add_to(m)
    add_date_filters(lang=lang, m=m)
    return m



class _DateFilters(MacroElement):
    """Buddhist-era date fields of the Thai filter form, sent as ISO; ``js/date_filters.js``.

    It rides in the map's script because that script is the page's nonce-carrying one.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        ({{ this.script }})("filters", ["f-from", "f-to"], {{ this.message_json }});
        {% endmacro %}
        """
    )

    def __init__(self, message: str) -> None:
        super().__init__()
        self._name = "DateFilters"
        self.script = script("date_filters")
        self.message_json = compact_json(message)


def add_date_filters(*, lang: str = "th", m: folium.Map) -> folium.Map:
    """Let the Thai filter form take Buddhist-era dates (the English form keeps ISO fields)."""
    if lang == "th":
        _DateFilters(text("date_invalid", lang)).add_to(m)
    return m
