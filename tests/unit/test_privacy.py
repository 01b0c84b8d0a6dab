"""Small-area suppression (k points) for anonymous outputs."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from com.security.access import ANONYMOUS, CLI, Principal
from com.security.privacy import applies_to, hidden_codes, is_small, suppress_areas


def test_applies_to_anonymous_only():
    assert applies_to(ANONYMOUS) and applies_to(None)
    assert not applies_to(CLI)
    assert not applies_to(Principal(kind="user", name="v", role="viewer"))
    assert not applies_to(Principal(kind="api_key", name="k"))


def test_is_small_bounds():
    assert [is_small(n, 5) for n in (0, 1, 4, 5, 6, None, "x")] == [
        False, True, True, False, False, False, False
    ]


def test_hidden_codes_use_all_time_totals():
    assert hidden_codes({"a": 1, "b": 4, "c": 5, "d": 0}, k=5) == {"a", "b"}
    assert hidden_codes({"a": 1}, k=1) == frozenset()


def test_frame_suppression_keeps_identity_and_geometry():
    frame = gpd.GeoDataFrame(
        {
            "code": ["320605", "320606", "320607"],
            "name_th": ["ด่าน", "ตะเคียน", "บักได"],
            "point_count": [3, 5, 0],
            "score": [9.5, 4.0, 0.0],
            "rank": [1, 2, 3],
            "hotspot": ["hot", "not", "cold"],
        },
        geometry=[Point(103.5, 14.9), Point(103.6, 14.8), Point(103.7, 14.7)],
        crs="EPSG:4326",
    )
    frame.attrs["level"] = "subdistrict"
    out = suppress_areas(frame, {"320605"})
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == frame.crs
    assert out.attrs == {"level": "subdistrict"}
    # The hidden area goes last, without figures; the others are ranked again from 1.
    assert out["code"].tolist() == ["320606", "320607", "320605"]
    assert out["suppressed"].tolist() == [False, False, True]
    last = out.iloc[2]
    assert last["code"] == "320605" and last["name_th"] == "ด่าน"
    assert last[["point_count", "score", "rank", "hotspot"]].isna().all()
    assert last.geometry.equals(frame.geometry.iloc[0])
    assert out.iloc[0][["point_count", "score", "rank"]].tolist() == [5, 4.0, 1]
    assert out.iloc[1][["rank", "hotspot"]].tolist() == [2, "cold"]
    assert frame["score"].tolist() == [9.5, 4.0, 0.0]  # input untouched


def test_ranking_has_no_gaps_and_hidden_areas_follow_in_code_order():
    # ranks 1-13, S, S, 16 before the fix; ties keep sharing a rank.
    codes = [f"c{i:02d}" for i in range(1, 19)]
    ranks = [*range(1, 17), 16, 18]
    frame = pd.DataFrame({"code": codes, "rank": ranks, "score": [100 - r for r in ranks]})
    out = suppress_areas(frame, {"c15", "c14", "c18"})
    shown = out[~out["suppressed"]]
    assert shown["rank"].tolist() == [*range(1, 14), 14, 14]
    assert shown["code"].tolist() == [*codes[:13], "c16", "c17"]
    hidden = out[out["suppressed"]]
    assert hidden["code"].tolist() == ["c14", "c15", "c18"]
    assert hidden["rank"].isna().all() and hidden["score"].isna().all()


def test_frame_without_hidden_areas_is_unchanged():
    frame = pd.DataFrame({"code": ["a", "b"], "point_count": [3, 9], "rank": [1, 2]})
    out = suppress_areas(frame, set())
    assert out["suppressed"].tolist() == [False, False]
    assert out["rank"].tolist() == [1, 2] and out["rank"].dtype == frame["rank"].dtype
