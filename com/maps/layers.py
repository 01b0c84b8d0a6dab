"""The map's layers: basemap, subdistrict choropleth, districts, points, heat, hotspots, context."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import pandas as pd
from branca.element import MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template
from folium.utilities import JsCode

from com.errors import ConfigError
from com.maps.basemap import TILE_URL, cached_basemap
from com.maps.scripts import script
from com.maps.style import (
    BORDER_COLOUR,
    CAMERA_COLOUR,
    CROSSING_COLOUR,
    HOTSPOT_COLOURS,
    MEKONG_COLOUR,
    OSM_ATTRIBUTION,
    SITE_COLOUR,
    SUPPRESSED_COLOUR,
    category_style,
    compact_json,
    date_text,
    hotspot_key,
    layer_name,
    number,
    rank_colour,
    score_bins,
    score_colour,
    symbol_svg,
    text,
)


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
        carry the map), a tile URL template with ``{z}/{x}/{y}`` (the province's server) or
        ``file:/path/x.mbtiles`` (the province's file, served by COM at ``/basemap/``).
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
    elif (local := cached_basemap(basemap)) is not None:
        # Issue 15: the province's MBTiles file, served by COM itself (same origin, offline).
        west, south, east, north = local.bounds
        label = layer_name("basemap_local", lang)
        attribution = local.metadata.get("attribution")
        folium.TileLayer(
            tiles=TILE_URL.replace("{ext}", local.format),
            name=label,
            attr=html.escape(attribution) if attribution else label,
            max_zoom=19,
            max_native_zoom=local.maxzoom,
            minNativeZoom=local.minzoom,
            bounds=[[south, west], [north, east]],
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
    prefix = text(str(row.get("area_kind") or "subdistrict"), lang)
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
    bins: Sequence[float] | None = None,
) -> folium.Map:
    """Add the subdistrict choropleth (by ``score`` or ``rank``) with popups and search.

    ``bins`` are the score class bounds (default: :func:`score_bins` of these areas; the map
    page passes the viewer-independent bounds of :class:`com.maps.build.MapData`).

    ``areas`` holds one row per subdistrict: ``code``, ``name_th``, ``name_en``,
    ``district_name_th``, ``district_name_en``, geometry, and from the ranking ``score``,
    ``rank``, ``point_count``, optionally ``suppressed``, ``hotspot_class``, ``gi_z`` and
    ``explanation`` (``categories``, ``context``, ``top_points`` lists).
    """
    m = m or new_map(lang=lang)
    if metric not in ("score", "rank"):
        raise ConfigError(f"choropleth metric {metric!r} is not 'score' or 'rank'")
    if bins is None:
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
                "search": f"{text(str(row.get('area_kind') or 'subdistrict'), 'th')}{name_th} "
                          f"อ.{district_th} ({name_en}, {district_en})",
                "label": name_th if lang == "th" else (name_en or name_th),
                "popup": _area_popup(row, lang, int(ranked)),
            }
        )
    layer = folium.GeoJson(
        _features(areas, props),
        name=layer_name(_CHOROPLETH_NAMES.get(_area_kind(areas), "choropleth"), lang),
        style_function=lambda f: {
            "fillColor": f["properties"]["fill"],
            "color": "#555",
            "weight": 0.7,
            "fillOpacity": 0.72,
        },
        highlight_function=lambda f: {"weight": 2.5, "color": "#000"},
        on_each_feature=JsCode(script("area_feature")),
        zoom_on_click=False,
    )
    layer.add_to(m)
    _AreaLabels(layer).add_to(m)
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


#: Zoom from which subdistrict names are written on the map: a province fits at about 8-9, a
#: district at about 10-11; below 11 the names of a province's ~150 subdistricts overlap.
LABEL_ZOOM = 11


class _AreaLabels(MacroElement):
    """Subdistrict names as map labels from :data:`LABEL_ZOOM` on; ``js/area_labels.js``."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        ({{ this.script }})({{ this._parent.get_name() }}, {{ this.areas.get_name() }},
            {{ this.min_zoom }});
        {% endmacro %}
        """
    )

    def __init__(self, areas: folium.GeoJson, *, min_zoom: int = LABEL_ZOOM) -> None:
        super().__init__()
        self._name = "AreaLabels"
        self.script = script("area_labels")
        self.areas = areas
        self.min_zoom = min_zoom


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


def add_provinces(
    provinces: gpd.GeoDataFrame, *, lang: str = "th", m: folium.Map | None = None
) -> folium.Map:
    """Add the outlines of a region's provinces (thicker than districts, no fill; issue 16)."""
    m = m or new_map(lang=lang)
    props = [
        {"code": str(r.get("code")),
         "name": str(r.get("name_th") if lang == "th" else r.get("name_en"))}
        for r in provinces.to_dict("records")
    ]
    folium.GeoJson(
        _features(provinces, props),
        name=layer_name("provinces", lang),
        style_function=lambda f: {"color": "#111", "weight": 4, "fill": False,
                                  "className": "com-province-outline"},
        interactive=False,
    ).add_to(m)
    return m


class RiskPointLayer(JSCSSMixin, Layer):
    """Risk points as one compact array, clustered with Leaflet.markercluster.

    Each point is a row ``[lat, lon, category index, severity, date text, name, flags]``
    (flags: 1 = approximate location, 2 = synthetic); markers and popups are made in the
    browser (``com/maps/js/risk_points.js``), so 10,000 points cost a few hundred kilobytes
    instead of the megabytes of folium ``Marker`` objects (about 750 bytes each with a popup).
    """

    # The browser side is com/maps/js/risk_points.js, inlined into folium's map script.
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = ({{ this.script }})(
            {{ this.categories_json }}, {{ this.rows_json }}, {{ this.texts_json }},
            {{ this.options|tojavascript }});
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
        self.script = script("risk_points")
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
        cats.append(
            {"key": key, "label": label, "svg": symbol_svg(colour, shape), "colour": colour}
        )
    texts = {
        k: text(k, lang)
        for k in ("severity", "reported", "approximate", "synthetic", "cluster_tip")
    }
    RiskPointLayer(
        point_rows(points, order, lang), cats, texts, name=layer_name("points", lang)
    ).add_to(m)
    return m


def legend_categories(
    points: pd.DataFrame, names: Mapping[str, Mapping[str, str]], lang: str
) -> list[tuple[str, str]]:
    """Return ``(svg, label)`` of the categories present in ``points``, in the model's order.

    Parameters
    ----------
    points
        The risk points (a ``category`` column).
    names
        Category names, :func:`com.maps.style.category_names`.
    lang
        ``th`` or ``en``.

    Returns
    -------
    list of tuple
        ``(svg, label)`` for :func:`com.maps.controls.add_legend`.
    """
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


#: The choropleth's layer-control name by the kind of its areas (issue 16: villages, layers).
_CHOROPLETH_NAMES = {"village": "choropleth_village", "layer": "choropleth_layer"}


def _area_kind(areas: gpd.GeoDataFrame) -> str:
    """Return the kind of the areas drawn (``subdistrict`` unless the map is at another level)."""
    if "area_kind" not in areas or areas.empty:
        return "subdistrict"
    return str(areas["area_kind"].iloc[0] or "subdistrict")
