"""The operations map put together: :class:`MapData` in, one ``folium.Map`` out."""

from __future__ import annotations

from collections.abc import Mapping

import folium
import pandas as pd
from branca.element import Element, MacroElement
from folium.template import Template

from com.maps import assets
from com.maps.controls import add_controls, add_legend, add_synthetic_notice
from com.maps.layers import (
    add_cameras,
    add_choropleth,
    add_context,
    add_districts,
    add_heat,
    add_hotspots,
    add_points,
    add_provinces,
    legend_categories,
    new_map,
)
from com.maps.mapdata import MapData
from com.maps.scripts import script
from com.maps.style import NO_TILES_BACKGROUND, compact_json, hotspot_key, score_bins


class _FitView(MacroElement):
    """Fit the areas clear of the side controls, once they exist; ``js/fit_view.js``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        ({{ this.script }})({{ this._parent.get_name() }}, {{ this.bounds_json }});
        {% endmacro %}
        """
    )

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitView"
        self.script = script("fit_view")
        self.bounds_json = compact_json(bounds)


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
        Category names, :func:`com.maps.style.category_names`.
    basemap
        ``osm``, ``none`` or a tile URL template (``settings.basemap``).
    metric
        Choropleth by ``score`` or ``rank``.
    lang
        ``th`` or ``en``.
    asset_prefix
        URL prefix of the local JS/CSS copies (:func:`com.maps.assets.localise`); None keeps
        folium's CDN URLs (notebooks only).
    m
        Map to add to; default a new one.

    Returns
    -------
    folium.Map
        The map, ready for ``m.get_root().render()``.
    """
    # The view is fitted by _FitView once the controls exist (folium's own fit_bounds animates,
    # and the end of that animation undid a later fit).
    m = m or new_map(basemap=basemap, lang=lang)
    bins = data.bins if data.bins is not None else (
        score_bins(data.areas["score"]) if "score" in data.areas else [])
    add_choropleth(data.areas, metric=metric, lang=lang, m=m, bins=bins)
    add_districts(data.districts, lang=lang, m=m)
    if data.provinces is not None:
        add_provinces(data.provinces, lang=lang, m=m)
    add_hotspots(data.areas, lang=lang, m=m)
    add_heat(data.points, lang=lang, m=m)
    add_context(data.land_border, data.mekong, data.crossings, lang=lang, m=m)
    add_cameras(data.cameras, data.sites, lang=lang, m=m)
    add_points(data.points, names=names, lang=lang, m=m)
    hot = {hotspot_key(c) for c in data.areas.get("hotspot_class", pd.Series(dtype=object))}
    add_legend(
        metric=metric,
        bins=bins,
        categories=legend_categories(data.points, names, lang),
        hotspots=sorted(k for k in hot if k),
        lang=lang,
        folded=data.district_code is not None,
        m=m,
    )
    if data.synthetic:
        add_synthetic_notice(lang=lang, m=m)
    add_controls(lang=lang, m=m)
    bounds = data.bounds()
    if bounds is not None:
        _FitView(bounds).add_to(m)
    if basemap == "none":
        m.get_root().header.add_child(  # type: ignore[attr-defined]
            Element(f"<style>.leaflet-container{{background:{NO_TILES_BACKGROUND};}}</style>"),
            name="com_no_tiles",
        )
    if asset_prefix is not None:
        assets.localise(m, prefix=asset_prefix)
    return m

