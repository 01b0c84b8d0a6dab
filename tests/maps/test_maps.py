"""The folium builders: layers with Thai names, local assets only, compact points, filters."""

from __future__ import annotations

import json
import re
from datetime import date

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import LineString, Point, box

from com.errors import ConfigError, ValidationError
from com.maps import assets
from com.maps.build import MapData, build_map
from com.maps.data import MapFilters, plan_sites
from com.maps.layers import RiskPointLayer, add_points, new_map, point_rows
from com.maps.scripts import script
from com.maps.style import (
    NO_POINTS_COLOUR,
    RISK_PALETTE,
    category_names,
    hotspot_key,
    layer_name,
    rank_colour,
    score_bins,
    score_colour,
)


def _areas() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "code": ["320101", "320102", "320103"],
            "name_th": ["ในเมือง", "ตั้งใจ", "เพี้ยราม"],
            "name_en": ["Nai Mueang", "Tang Chai", "Phia Ram"],
            "district_name_th": ["เมืองสุรินทร์"] * 3,
            "district_name_en": ["Mueang Surin"] * 3,
            "score": [12.5, 3.0, 0.0],
            "rank": [1, 2, None],
            "point_count": [7, 2, 0],
            "hotspot_class": ["hot_99", None, "cold_90"],
            "gi_z": [3.1, 0.2, -1.7],
            "explanation": [
                {
                    "categories": [
                        {"category": "drugs", "label": "ยาเสพติด", "points": 5, "contribution": 10.0}
                    ],
                    "context": [
                        {"factor": "land_border", "label": "ใกล้แนวชายแดน", "contribution": 2.5}
                    ],
                    "top_points": [
                        {
                            "name": "จุด ก",
                            "label": "ยาเสพติด",
                            "severity": 5,
                            "reported_on": date(2024, 6, 8),
                        }
                    ],
                },
                {},
                {},
            ],
        },
        geometry=[
            box(103.4, 14.8, 103.5, 14.9),
            box(103.5, 14.8, 103.6, 14.9),
            box(103.6, 14.8, 103.7, 14.9),
        ],
        crs="EPSG:4326",
    )


def _points(n: int = 4, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cats = ["drugs", "smuggling", "flood", "illegal_entry"]
    return pd.DataFrame(
        {
            "lat": rng.uniform(14.8, 14.9, n),
            "lon": rng.uniform(103.4, 103.7, n),
            "category": [cats[i % 4] for i in range(n)],
            "severity": rng.integers(1, 6, n),
            "reported_on": [date(2024, 1, 1 + i % 28) for i in range(n)],
            "name": [f"จุดเสี่ยงที่ {i}" for i in range(n)],
            "approximate": [i % 2 == 0 for i in range(n)],
            "synthetic": [True] * n,
            "subdistrict_code": ["320101"] * n,
        }
    )


def _data(points: pd.DataFrame | None = None) -> MapData:
    areas = _areas()
    return MapData(
        areas=areas,
        districts=gpd.GeoDataFrame(
            {"code": ["3201"], "name_th": ["เมืองสุรินทร์"], "name_en": ["Mueang Surin"]},
            geometry=[box(103.4, 14.8, 103.7, 14.9)],
            crs="EPSG:4326",
        ),
        points=_points() if points is None else points,
        land_border=gpd.GeoDataFrame(
            {"name": ["border"]},
            geometry=[LineString([(103.4, 14.8), (103.7, 14.8)])],
            crs="EPSG:4326",
        ),
        mekong=gpd.GeoDataFrame({"name": []}, geometry=[], crs="EPSG:4326"),
        crossings=gpd.GeoDataFrame(
            {"name_en": ["Chong Chom"], "name_th": ["ช่องจอม"]},
            geometry=[Point(103.55, 14.81)],
            crs="EPSG:4326",
        ),
        cameras=gpd.GeoDataFrame(
            {"name": ["cam 1"], "radius_m": [100.0]},
            geometry=[Point(103.45, 14.85)],
            crs="EPSG:4326",
        ),
        sites=plan_sites(
            {
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [103.5, 14.85]},
                        "properties": {"kind": "site", "order": 1},
                    },
                    {
                        "type": "Feature",
                        "geometry": {
                            "type": "Polygon",
                            "coordinates": [
                                [[103.5, 14.85], [103.51, 14.85], [103.51, 14.86], [103.5, 14.85]]
                            ],
                        },
                        "properties": {"kind": "coverage"},
                    },
                ]
            },
            default_radius_m=300.0,
        ),
        synthetic=True,
    )


def _render(lang: str = "th", **kwargs) -> str:
    m = build_map(_data(), names=category_names(), lang=lang, **kwargs)
    return m.get_root().render()


def test_map_is_a_folium_map_and_loads_nothing_from_other_hosts():
    m = build_map(_data(), names=category_names())
    assert isinstance(m, folium.Map)
    page = m.get_root().render()
    assert assets.external_urls(page) == []
    for name in ("cdn.jsdelivr", "cdnjs", "unpkg", "code.jquery", "bootstrapcdn"):
        assert name not in page
    # jQuery is not loaded, so nothing on the page may use it.
    assert "$(" not in page
    local = re.findall(r'(?:src|href)="(/assets/vendor/[^"]+)"', page)
    assert len(local) >= 10
    for url in local:
        package, path = url.removeprefix("/assets/vendor/").split("/", 1)
        assert (assets.NODE_MODULES / assets.PACKAGES[package] / path).is_file(), url


def _overlays(lang: str) -> list[str]:
    m = build_map(_data(), names=category_names(), lang=lang)
    m.get_root().render()
    control = next(c for c in m._children.values() if isinstance(c, folium.LayerControl))
    return list(control.overlays)


def test_layer_control_lists_every_layer_by_its_thai_name():
    overlays = _overlays("th")
    for key in (
        "choropleth",
        "points",
        "heat",
        "hotspots",
        "land_border",
        "mekong",
        "crossings",
        "cameras",
        "cctv_sites",
        "districts",
    ):
        assert layer_name(key, "th") in overlays, key
    assert "Risk points" in _overlays("en")


def test_controls_legend_search_and_synthetic_notice_are_present():
    page = _render("th")
    assert "L.control.fullscreen" in page
    assert "leaflet-control-measure" in page  # COM's own: leaflet-measure needs eval
    assert "L.control.scale" in page
    assert "new L.Control.Search" in page
    assert "คะแนนความเสี่ยง" in page  # legend title
    assert "ข้อมูลสมมติ / synthetic" in page

    def embedded(text: str) -> bool:  # folium's GeoJSON writes non-ASCII as \\uXXXX
        return text in page or json.dumps(text)[1:-1] in page

    assert embedded("ต.ในเมือง อ.เมืองสุรินทร์")  # search label
    assert embedded("ใกล้แนวชายแดน") and embedded("ยาเสพติด")  # popup explanation


def test_no_tiles_by_default_and_configured_tiles_otherwise():
    assert "L.tileLayer" not in _render(basemap="none")
    assert "tile.openstreetmap.org" in _render(basemap="osm")
    local = _render(basemap="https://tiles.example.go.th/{z}/{x}/{y}.png")
    assert "tiles.example.go.th" in local
    with pytest.raises(ConfigError, match="tile URL"):
        new_map(basemap="https://tiles.example.go.th/no-placeholders.png")


def test_an_asset_without_a_local_copy_is_refused():
    m = new_map()
    folium.plugins.Draw().add_to(m)
    with pytest.raises(ConfigError, match="no local copy"):
        assets.localise(m)


def test_points_are_compact_enough_for_ten_thousand():
    small = build_map(_data(_points(10)), names=category_names()).get_root().render()
    big = build_map(_data(_points(10_010)), names=category_names()).get_root().render()
    per_point = (len(big.encode()) - len(small.encode())) / 10_000
    # Markers with popups cost ~750 bytes each; the compact rows (plus the heat layer's copy)
    # must stay far below that.
    assert per_point < 150, per_point
    assert big.count("L.marker(") == small.count("L.marker(")  # a loop, not 10,000 markers


def test_point_rows_encode_category_flags_and_thai_dates():
    rows = point_rows(_points(2), ["drugs", "smuggling"], "th")
    assert rows[0][2] == 0 and rows[1][2] == 1
    assert rows[0][4] == "1 ม.ค. 2567"
    assert rows[0][6] == 3 and rows[1][6] == 2  # approximate + synthetic, synthetic


def test_score_bins_and_colours():
    bins = score_bins([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert bins[-1] == 10
    assert score_colour(0, bins) == NO_POINTS_COLOUR
    assert score_colour(10, bins) == RISK_PALETTE[-1]
    assert score_colour(0.5, bins) == RISK_PALETTE[0]
    assert score_bins([0, 0]) == []
    assert rank_colour(1) == RISK_PALETTE[-1]
    assert rank_colour(500) == RISK_PALETTE[0]
    assert rank_colour(None) == NO_POINTS_COLOUR
    assert hotspot_key("Hot Spot - 95% Confidence") == ("hot", 95)
    assert hotspot_key("cold_99") == ("cold", 99)
    assert hotspot_key("not_significant") is None


def test_filters_round_trip_through_the_url():
    query = {
        "province": ["32"],
        "district": ["3201"],
        "category": ["drugs,flood"],
        "from": ["2024-01-01"],
        "to": ["2024-12-31"],
        "severity": ["4"],
        "metric": ["rank"],
        "plan": ["7"],
    }
    filters = MapFilters.from_query(query)
    assert filters.categories == ("drugs", "flood")
    assert filters.min_severity == 4
    again: dict[str, list[str]] = {}
    for key, value in filters.query_items():
        again.setdefault(key, []).append(value)
    assert MapFilters.from_query(again) == filters
    assert MapFilters.from_query({"district": ["3201"]}).province_code == "32"


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"province": ["Surin"]}, "2-digit"),
        ({"from": ["31/02/2568"]}, "not a date"),
        ({"from": ["last week"]}, "not a date"),
        ({"severity": ["9"]}, "1-5"),
        ({"metric": ["colour"]}, "metric"),
        ({"from": ["2024-12-31"], "to": ["2024-01-01"]}, "after"),
    ],
)
def test_bad_filters_name_the_problem(query, message):
    with pytest.raises(ValidationError, match=message):
        MapFilters.from_query(query)


def test_builders_accept_an_existing_map():
    m = new_map()
    same = add_points(_points(3), names=category_names(), m=m)
    assert same is m
    assert any(isinstance(c, RiskPointLayer) for c in m._children.values())


@pytest.mark.parametrize("lang", ["th", "en"])
def test_each_map_script_is_inlined_once(lang):
    # com/maps/js/*.js run inside folium's map script, which the page gives its CSP nonce.
    page = _render(lang)
    for name in ("area_feature", "html_control", "map_notice", "measure_control", "risk_points"):
        assert page.count(script(name).splitlines()[0]) == 1, name


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("15/01/2568", date(2025, 1, 15)),
        ("๓๑/๑๒/๒๕๖๗", date(2024, 12, 31)),
        ("2025-01-15", date(2025, 1, 15)),
    ],
)
def test_filters_read_buddhist_era_dates_and_link_them_in_iso(typed, expected):
    # Issue 15: the Thai form's dates are Buddhist era (Thai digits too); links stay ISO.
    filters = MapFilters.from_query({"province": ["32"], "from": [typed], "to": [typed]})
    assert filters.date_from == filters.date_to == expected
    assert ("from", expected.isoformat()) in filters.query_items()


@pytest.mark.parametrize(("lang", "label"), [("th", "คำอธิบายสัญลักษณ์"), ("en", "legend")])
def test_legend_folds_behind_a_labelled_button(lang, label):
    html_text = _render(lang)
    found = re.search(r'\{"show":[^{}]*\}', html_text)
    assert found is not None
    toggle = json.loads(found.group(0))
    assert label in toggle["show"] and label in toggle["hide"]
    assert toggle["folded"] is False


def test_clusters_are_coloured_by_category_and_the_legend_says_how():
    html_text = _render()
    assert "iconCreateFunction: clusterIcon" in html_text
    cats = json.loads(re.search(r'\(\s*(\[\{"key".*?\}\]),', html_text, re.S).group(1))
    assert all(re.fullmatch(r"#[0-9a-fA-F]{6}", c["colour"]) for c in cats)
    assert "กลุ่มจุด: สีของประเภทที่พบมากที่สุด" in html_text


def test_subdistrict_names_are_labels_from_district_zoom():
    html_text = _render()
    assert re.search(r"function comAreaLabels\(.*?\}\)\(map_\w+, geo_json_\w+,\s*11\);",
                     html_text, re.S)
    assert '"label":' in html_text


@pytest.mark.parametrize(("lang", "present"), [("th", True), ("en", False)])
def test_thai_form_takes_buddhist_era_dates(lang, present):
    assert ("function comDateFilters(" in _render(lang)) is present


@pytest.mark.parametrize(("kind", "th", "en"), [
    (None, "ระดับความเสี่ยงรายตำบล", "Subdistrict risk"),
    ("village", "ระดับความเสี่ยงรายหมู่บ้าน", "Village risk"),
    ("layer", "ระดับความเสี่ยงรายพื้นที่", "Area risk"),
])
def test_the_choropleth_is_named_by_its_level(kind, th, en):
    from com.maps.layers import add_choropleth

    areas = _areas()
    if kind:
        areas["area_kind"] = kind
    for lang, name in (("th", th), ("en", en)):
        m = add_choropleth(areas, lang=lang)
        names = [c.layer_name for c in m._children.values() if isinstance(c, folium.GeoJson)]
        assert names == [name]
