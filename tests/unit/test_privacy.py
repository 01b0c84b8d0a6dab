"""Small-area suppression (k points) for anonymous outputs."""

from __future__ import annotations

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point

from com.security.access import ANONYMOUS, CLI, Principal
from com.security.privacy import applies_to, is_small, suppress_records, suppress_small_areas


def test_applies_to_anonymous_only():
    assert applies_to(ANONYMOUS) and applies_to(None)
    assert not applies_to(CLI)
    assert not applies_to(Principal(kind="user", name="v", role="viewer"))
    assert not applies_to(Principal(kind="api_key", name="k"))


def test_is_small_bounds():
    assert [is_small(n, 5) for n in (0, 1, 4, 5, 6, None, "x")] == [
        False, True, True, False, False, False, False
    ]


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
    out = suppress_small_areas(frame, k=5)
    assert isinstance(out, gpd.GeoDataFrame) and out.crs == frame.crs
    assert out["suppressed"].tolist() == [True, False, False]
    first = out.iloc[0]
    assert first["code"] == "320605" and first["name_th"] == "ด่าน"
    assert first[["point_count", "score", "rank", "hotspot"]].isna().all()
    assert out.geometry.equals(frame.geometry)
    # Areas at or above k, and empty areas, keep their figures unchanged.
    assert out.iloc[1][["point_count", "score", "rank"]].tolist() == [5, 4.0, 2]
    assert out.iloc[2]["hotspot"] == "cold"
    assert frame["score"].tolist() == [9.5, 4.0, 0.0]  # input untouched


def test_frame_suppression_respects_k_setting():
    frame = pd.DataFrame({"code": ["a", "b"], "point_count": [3, 9], "score": [1.0, 2.0]})
    assert suppress_small_areas(frame, k=3)["suppressed"].tolist() == [False, False]
    assert suppress_small_areas(frame, k=10)["suppressed"].tolist() == [True, True]


def test_records_suppression():
    records = [
        {"code": "320605", "name_th": "ด่าน", "point_count": 1, "score": 3.2, "rank": 1},
        {"code": "320606", "name_th": "ตะเคียน", "point_count": 12, "score": 1.0, "rank": 2},
    ]
    out = suppress_records(records, k=5)
    assert out[0] == {
        "code": "320605", "name_th": "ด่าน", "point_count": None, "score": None, "rank": None,
        "suppressed": True,
    }
    assert out[1] == {**records[1], "suppressed": False}
