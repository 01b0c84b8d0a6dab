"""Severity model, point weights, score decomposition, Gi* and emerging hot spots (no database)."""

from __future__ import annotations

import datetime as dt
import math
import warnings

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from openpyxl import load_workbook
from pyproj import Geod

from com.analysis import risk
from com.analysis.risk.hotspots import _periods
from com.config.severity import category_key, load_severity_model
from com.errors import ConfigError, ValidationError

# --------------------------------------------------------------------------- model


def test_packaged_model_loads_with_every_number():
    model = load_severity_model()
    assert model.categories["drugs"].weight == 2.0
    assert model.recency.half_life_days == 365
    assert set(model.context) == {"land_border", "border_crossings", "mekong", "district_towns"}
    assert model.context["land_border"].multipliers == [1.5, 1.3, 1.1, 1.0]
    assert model.hotspots.permutations == 999
    assert model.kpi.final_fiscal_year_be == 2570


def test_override_merges_key_by_key(tmp_path):
    path = tmp_path / "province.toml"
    path.write_text("[categories.drugs]\nweight = 3.5\n[recency]\nhalf_life_days = 180\n",
                    encoding="utf-8")
    model = load_severity_model(path)
    assert model.categories["drugs"].weight == 3.5
    assert model.categories["drugs"].th == "ยาเสพติด"  # kept from the packaged file
    assert model.recency.half_life_days == 180
    assert model.recency.undated_factor == 0.5
    assert model.categories["smuggling"].weight == 1.5


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[categories.drugs]\nweight = -1\n", "categories.drugs.weight"),
        ("[context.mekong]\nbands_m = [5000, 2000]\n", "bands_m must increase"),
        ("[context.mekong]\nmultipliers = [1.3, 1.0]\n", "multipliers needs 3 values"),
        ("[categories.flood]\naliases = ['ยาบ้า']\n", "ยาบ้า"),
        ("[recency]\nhalf_life_days = 'long'\n", "recency.half_life_days"),
        ("not toml = = =", "severity file"),
    ],
)
def test_bad_override_is_a_clear_config_error(tmp_path, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=needle):
        load_severity_model(path)


def test_missing_override_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_severity_model(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ("ยาเสพติด", "drugs"),
        (" ยาเสพติด ", "drugs"),
        ("DRUGS", "drugs"),
        ("Illegal  Entry", "illegal_entry"),
        ("illegal-entry", "illegal_entry"),
        ("อาชญากรรมอื่น ๆ", "other_crime"),
        ("น้ำท่วม", "flood"),
        ("something else", "unknown"),
        (None, "unknown"),
    ],
)
def test_category_key_normalises(raw, key):
    assert category_key(raw) == key


def test_category_key_strict_names_the_value():
    with pytest.raises(ValidationError, match="'ufo'"):
        category_key("ufo", strict=True)


def test_point_weights_by_hand():
    as_of = dt.date(2025, 1, 1)
    df = pd.DataFrame({
        "category": ["drugs", "flood", "mystery", "other_crime"],
        "severity": [5, 2, 3, 4],
        "incident_count": [2, 1, 1, 3],
        "reported_on": [as_of, as_of - dt.timedelta(days=365), None,
                        as_of + dt.timedelta(days=10)],
    })
    w = risk.point_weights(df, as_of=as_of)
    assert w.tolist() == pytest.approx([
        2.0 * 5 * 1.0 * 2,  # today
        0.8 * 2 * 0.5 * 1,  # one half-life old
        1.0 * 3 * 0.5 * 1,  # unknown category, undated
        1.0 * 4 * 1.0 * 3,  # future date counts as today
    ], rel=1e-12)
    flat = risk.point_weights(df, as_of=as_of, use_recency=False)
    assert flat.tolist() == pytest.approx([20.0, 1.6, 3.0, 12.0])


def test_point_weights_rejects_bad_severity():
    with pytest.raises(ValidationError, match=r"row 1 \(index\): severity 9 "):
        risk.point_weights(pd.DataFrame({"category": ["drugs", "drugs"], "severity": [3, 9]}))


def test_levels_parse():
    assert risk.AreaLevel.parse("h3:8") == risk.AreaLevel("h3", 8)
    assert risk.AreaLevel.parse("district").code_column == "district_code"
    assert risk.AreaLevel.parse("h3:8").code_column == "h3_cell"
    for bad in ("h3:16", "tambon", "h3"):
        with pytest.raises(ValidationError):
            risk.AreaLevel.parse(bad)


def test_filters_are_validated():
    with pytest.raises(ValidationError, match="reversed"):
        risk.make_filter(date_from="2025-02-01", date_to="2025-01-01")
    with pytest.raises(ValidationError, match="not in province"):
        risk.make_filter(province="32", district="3301")
    with pytest.raises(ValidationError, match="unknown category"):
        risk.make_filter(categories=["ufo"])
    assert risk.make_filter(categories="ยาเสพติด,smuggling").categories == ("drugs", "smuggling")


# --------------------------------------------------------------------------- scores


def test_band_multipliers_include_the_threshold():
    factor = load_severity_model().context["land_border"]
    got = factor.multiplier(np.array([0, 2000, 2000.5, 5000, 9999, 10001, np.nan]))
    assert got.tolist() == [1.5, 1.5, 1.3, 1.3, 1.1, 1.0, 1.0]


def test_decomposition_adds_up_exactly():
    rng = np.random.default_rng(7)
    n = 200
    base = pd.DataFrame(rng.gamma(1, 5, (n, 4)) * (rng.random((n, 4)) > 0.3),
                        columns=list("abcd"))
    mult = pd.DataFrame({"x": rng.choice([1.0, 1.1, 1.5], n), "y": rng.choice([0.8, 1.0, 1.3], n),
                         "z": np.ones(n)})
    weights = {"x": 1.0, "y": 0.5, "z": 2.0}
    out = risk.combine_scores(base, mult, weights)
    expected = base.sum(axis=1) * np.prod([mult[k] ** w for k, w in weights.items()], axis=0)
    np.testing.assert_allclose(out["risk_score"], expected, rtol=1e-12)
    parts = out.filter(regex="^(cat|ctx)_").sum(axis=1)
    np.testing.assert_allclose(parts, out["risk_score"], rtol=1e-9)
    # A factor's share is proportional to weight x ln(multiplier).
    row = int(np.flatnonzero((mult["x"] == 1.5) & (mult["y"] == 1.3)
                             & (base.sum(axis=1) > 0))[0])
    ratio = out.loc[row, "ctx_x"] / out.loc[row, "ctx_y"]
    assert ratio == pytest.approx(math.log(1.5) / (0.5 * math.log(1.3)), rel=1e-12)
    # Opposite factors cancelling (L = 0) leave the base untouched and still add up.
    flat = risk.combine_scores(pd.DataFrame({"a": [10.0]}),
                               pd.DataFrame({"x": [2.0], "y": [0.5]}), {"x": 1, "y": 1})
    assert flat.loc[0, "risk_score"] == pytest.approx(10.0)
    assert flat.loc[0, "ctx_x"] + flat.loc[0, "ctx_y"] == pytest.approx(0.0, abs=1e-12)


def test_context_distance_matches_the_geodesic():
    # A north-south line at 103.5 E (zone 48) and one at 100.5 E (zone 47).
    geod = Geod(ellps="WGS84")
    lines = [shapely.LineString([(103.5, 14.0), (103.5, 15.0)]),
             shapely.LineString([(100.5, 14.0), (100.5, 15.0)])]
    lon = np.array([103.52, 100.47, 103.9])
    lat = np.array([14.5, 14.5, 14.5])
    got = risk.context_distances(lon, lat, {"line": lines}, max_distance_m={"line": 30_000})
    truth = [geod.inv(103.5, 14.5, 103.52, 14.5)[2], geod.inv(100.5, 14.5, 100.47, 14.5)[2]]
    assert got["line"].iloc[0] == pytest.approx(truth[0], rel=2e-3)
    assert got["line"].iloc[1] == pytest.approx(truth[1], rel=2e-3)
    assert np.isnan(got["line"].iloc[2])  # 43 km away, beyond the 30 km cap


# --------------------------------------------------------------------------- Gi*


def lattice(nx: int, ny: int) -> gpd.GeoDataFrame:
    # Corners computed as k x 0.01 for integer k, so neighbours share exactly equal vertices.
    boxes = [shapely.box(x * 0.01, y * 0.01, (x + 1) * 0.01, (y + 1) * 0.01)
             for y in range(ny) for x in range(nx)]
    frame = gpd.GeoDataFrame(geometry=boxes, crs=4326)
    frame["subdistrict_code"] = [f"{i:06d}" for i in range(len(frame))]
    return frame


def esda_gi(y, w, permutations, seed):
    from esda.getisord import G_Local

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return G_Local(y, w, transform="B", star=True, permutations=permutations, seed=seed,
                       n_jobs=1)


def test_gi_star_equals_esda_at_the_default_999_permutations():
    areas = lattice(12, 12)
    areas["risk_score"] = np.random.default_rng(11).gamma(1.0, 3.0, len(areas))  # no ties
    out = risk.gi_star(areas, level="subdistrict")
    w = risk.spatial_weights(areas, "subdistrict")
    gi = esda_gi(areas["risk_score"].to_numpy(), w, 999, 20240930)
    np.testing.assert_allclose(out["gi_z"], gi.z_sim, rtol=1e-12)
    np.testing.assert_allclose(out["gi_p"], gi.p_sim, rtol=1e-6)
    assert out.attrs["permutations"] == 999
    from scipy.stats import false_discovery_control

    np.testing.assert_allclose(out["gi_p_fdr"], false_discovery_control(gi.p_sim), rtol=1e-6)


def test_planted_cluster_is_a_hot_spot_and_islands_do_not_crash():
    areas = lattice(10, 10)
    values = np.random.default_rng(3).gamma(1.0, 1.0, len(areas))
    centre = 44
    cluster = [centre, centre - 1, centre + 1, centre - 10, centre + 10, centre - 11,
               centre - 9, centre + 9, centre + 11]
    values[cluster] += 30.0
    areas["risk_score"] = values
    island = gpd.GeoDataFrame({"subdistrict_code": ["999999"], "risk_score": [100.0]},
                              geometry=[shapely.box(5, 5, 5.01, 5.01)], crs=4326)
    areas = pd.concat([areas, island], ignore_index=True)
    out = risk.gi_star(areas, level="subdistrict", permutations=9999)
    assert out.loc[centre, "hotspot_class"] == "hot_99"
    assert out.loc[centre, "hotspot_th"].startswith("จุดร้อน")
    assert out.iloc[-1]["hotspot_class"] == "not_significant"
    assert out.iloc[-1]["gi_p"] == 1.0
    far = 99  # the opposite corner is no hot spot
    assert not out.loc[far, "hotspot_class"].startswith("hot")


def test_ties_at_zero_are_not_cold_spots():
    # Sparse data: most areas score 0. esda's folded p_sim calls an all-zero neighbourhood
    # p = 0.001 (a 99% cold spot); the tie-aware p-value does not.
    areas = lattice(10, 10)
    values = np.zeros(len(areas))
    values[[5, 6, 15, 16, 55, 77]] = [8, 9, 7, 6, 3, 4]
    areas["risk_score"] = values
    out = risk.gi_star(areas, level="subdistrict", permutations=999)
    w = risk.spatial_weights(areas, "subdistrict")
    gi = esda_gi(values, w, 999, 20240930)
    zero_corner = 90  # its neighbourhood is all zeros
    assert gi.p_sim[zero_corner] == pytest.approx(0.001)
    assert out.loc[zero_corner, "gi_p"] > 0.1
    assert not out["hotspot_class"].str.startswith("cold").any()


def test_constant_values_give_no_hot_spots():
    areas = lattice(4, 4)
    areas["risk_score"] = 0.0
    out = risk.gi_star(areas, level="subdistrict", permutations=99)
    assert (out["hotspot_class"] == "not_significant").all()
    assert (out["gi_p"] == 1.0).all()


def test_h3_weights_are_rings():
    import h3.api.basic_int as h3int

    centre = h3int.latlng_to_cell(14.9, 103.5, 8)
    cells = [h3int.int_to_str(c) for c in h3int.grid_disk(centre, 2)]
    frame = pd.DataFrame({"h3_cell": cells})
    w = risk.spatial_weights(frame, "h3:8")
    i = cells.index(h3int.int_to_str(centre))
    assert w.cardinalities[i] == 6
    assert min(w.cardinalities.values()) >= 3  # edge cells keep their in-set neighbours


def test_warm_up_runs():
    assert risk.warm_up() >= 0


# --------------------------------------------------------------------------- emerging


@pytest.mark.parametrize(
    ("z", "hot", "pattern"),
    [
        ([0.1, 0.2, 0.0, 3.0], [False, False, False, True], "new"),
        ([2.5, 2.6, 2.4, 2.7, 2.5, 2.6, 2.5, 2.6, 2.4, 2.7], [True] * 10, "persistent"),
        (list(np.linspace(2.0, 6.0, 12)), [True] * 12, "intensifying"),
        (list(np.linspace(6.0, 2.0, 12)), [True] * 12, "diminishing"),
        ([3.0, 0.1, 3.1, 0.2, 2.9], [True, False, True, False, True], "sporadic"),
        ([0.1, 0.3, -0.2], [False, False, False], "no_pattern"),
    ],
)
def test_emerging_patterns(z, hot, pattern):
    assert risk.emerging_pattern(z, hot)[0] == pattern


def test_quarters_follow_the_thai_fiscal_year():
    periods = _periods("quarter", 2568, 2568)
    assert [p[0] for p in periods] == ["2568q1", "2568q2", "2568q3", "2568q4"]
    assert periods[0][1:] == (dt.date(2024, 10, 1), dt.date(2024, 12, 31))
    assert periods[3][1:] == (dt.date(2025, 7, 1), dt.date(2025, 9, 30))


# --------------------------------------------------------------------------- output


def test_xlsx_has_thai_headers_and_no_formulas(tmp_path):
    frame = gpd.GeoDataFrame(
        {"subdistrict_code": ["320605", "320601"], "name_th": ["=HYPERLINK(\"x\")", "กาบเชิง"],
         "name_en": ["Dan", "-Kap"], "risk_score": [-1.5, 2.0], "risk_per_km2": [0.1, 0.2],
         "rank": [2, 1], "points": [3, 4]},
        geometry=[shapely.Point(103.7, 14.4), shapely.Point(103.6, 14.4)], crs=4326,
    )
    path = risk.write_areas(frame, tmp_path / "rank.xlsx", level="subdistrict")
    sheet = load_workbook(path).active
    headers = [c.value for c in sheet[1]]
    assert headers == ["รหัสตำบล", "ชื่อตำบล", "ชื่อภาษาอังกฤษ", "คะแนนความเสี่ยง",
                       "คะแนนต่อ ตร.กม.", "ลำดับ", "จำนวนจุดเสี่ยง"]
    assert sheet["B2"].value == "'=HYPERLINK(\"x\")"
    assert sheet["B2"].data_type == "s"
    assert sheet["C3"].value == "'-Kap"
    assert sheet["D2"].value == -1.5  # numbers stay numbers
    csv_path = risk.write_areas(frame, tmp_path / "rank.csv")
    text = csv_path.read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in text and ",-1.5," in text
    with pytest.raises(ValidationError, match="csv, .geojson or .xlsx"):
        risk.write_areas(frame, tmp_path / "rank.pdf")
