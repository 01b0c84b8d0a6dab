"""Pure rules behind the protection of sensitive points: plan redaction, H3 limits, tile audit."""

from __future__ import annotations

import pandas as pd
import pytest

from com.analysis import risk
from com.errors import PermissionDenied, ValidationError
from com.maps.data import plan_sites as map_sites
from com.security.access import Principal
from com.security.audit import ReadSummaries
from com.siting.plan import plan_sites
from com.siting.redaction import redact_plan, site_is_sensitive

EXACT = [103.512345, 14.876543]
REP = (103.4, 14.8)


def _plan(site_category=None, categories=None, in_radius=None) -> dict:
    props = {"kind": "site", "order": 1, "site_id": "7", "subdistrict_code": "320101",
             "categories": categories or {"smuggling": 2}, "site_category": site_category}
    if in_radius is not None:
        props["categories_in_radius"] = in_radius
    return {"type": "FeatureCollection", "properties": {"radius_m": 300}, "features": [
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": EXACT},
         "properties": props},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[EXACT] * 4]},
         "properties": {"kind": "coverage", "order": 1}},
    ]}


@pytest.mark.parametrize(("kwargs", "hidden"), [
    ({}, False),
    ({"site_category": "drugs"}, True),  # the site is the drug point itself
    ({"categories": {"drugs": 1}}, True),  # it newly covers one
    ({"in_radius": ["drugs", "smuggling"]}, True),  # one within reach, covered before
    ({"site_category": "smuggling", "in_radius": ["smuggling"]}, False),
])
def test_redact_plan_moves_revealing_sites_to_the_representative_point(kwargs, hidden):
    plan = _plan(**kwargs)
    out = redact_plan(plan, {"drugs"}, rep_points={"320101": REP})
    site, circle = out["features"]
    assert plan["features"][0]["geometry"]["coordinates"] == EXACT  # the input is untouched
    if hidden:
        assert site["geometry"]["coordinates"] == list(REP)
        assert site["properties"]["coarsened"] is True
        assert circle["geometry"] is None
    else:
        assert site["geometry"]["coordinates"] == EXACT
        assert circle["geometry"] is not None
    # With no representative point known, a revealing site has no geometry at all.
    bare = redact_plan(plan, {"drugs"})["features"][0]
    assert (bare["geometry"] is None) is hidden


def test_plans_record_every_category_within_reach():
    demand = pd.DataFrame({"id": [1, 2, 3], "lon": [103.5, 103.5005, 103.6],
                           "lat": [14.8, 14.8, 14.8], "weight": [10.0, 1.0, 5.0],
                           "category": ["smuggling", "drugs", "smuggling"]})
    sites = pd.DataFrame({"site_id": ["a", "b"], "lon": [103.5, 103.6], "lat": [14.8, 14.8]})
    plan = plan_sites(demand, sites, k=2, radius_m=100)
    first = plan.to_geojson()["features"][0]["properties"]
    assert first["site_id"] == "a"
    assert first["categories_in_radius"] == ["drugs", "smuggling"]
    assert site_is_sensitive(first, {"drugs"})


def test_the_map_draws_no_circle_around_a_coarsened_site():
    shown = redact_plan(_plan(site_category="drugs"), {"drugs"},
                        rep_points={"320101": REP})
    frame = map_sites(shown, default_radius_m=300)
    assert list(frame.geometry.x) == [REP[0]] and frame["radius_m"].isna().all()


def test_fine_h3_levels_need_the_sensitive_permission():
    assert risk.check_level_for("h3:7", sees_sensitive=False) == risk.AreaLevel("h3", 7)
    assert risk.check_level_for("subdistrict", sees_sensitive=False).kind == "subdistrict"
    assert risk.check_level_for("h3:12", sees_sensitive=True).resolution == 12
    with pytest.raises(PermissionDenied, match="H3 resolution 9"):
        risk.check_level_for("h3:9", sees_sensitive=False)
    # An area code names its level: a resolution-15 cell is refused the same way.
    with pytest.raises(PermissionDenied, match="H3 resolution 15"):
        risk.check_level_for("8f6598ca255cc26", sees_sensitive=False)
    assert risk.check_level_for("320101", sees_sensitive=False).kind == "subdistrict"
    with pytest.raises(ValidationError):
        risk.check_level_for("h3:99", sees_sensitive=True)


def test_read_summaries_write_one_row_per_window_with_the_count():
    reads = ReadSummaries(window_s=60, max_items=3)
    staff = Principal(kind="user", name="staff")
    other = Principal(kind="api_key", name="com_abcd")
    target = "collection:risk-points"
    first = reads.note(staff, target, "10/1/1", now=0)
    assert first is not None and first["reads"] == 1 and first["items"] == ["10/1/1"]
    assert [reads.note(staff, target, f"10/1/{i}", now=i) for i in range(2, 7)] == [None] * 5
    assert reads.note(other, target, "10/9/9", now=5)["reads"] == 1  # per caller
    due = reads.note(staff, target, "10/2/2", now=61)
    assert due["reads"] == 6  # the five within the window and this one
    assert due["items"] == ["10/1/2", "10/1/3", "10/1/4"] and due["items_complete"] is False
    assert reads.note(staff, target, "10/3/3", now=70) is None
    assert [(p.name, t, s["reads"]) for p, t, s in reads.drain()] == [("staff", target, 1)]
    assert reads.drain() == []


def test_redacted_plans_name_no_sensitive_point_and_count_no_sensitive_category():
    plan = _plan(site_category="drugs", categories={"drugs": 1, "smuggling": 2})
    plan["features"][0]["properties"]["point_ids"] = [7, 8, 9]
    plan["features"][1]["properties"]["site_id"] = "7"
    shown = redact_plan(plan, {"drugs"}, rep_points={"320101": REP}, sensitive_ids={"7"})
    site, circle = (f["properties"] for f in shown["features"])
    assert site["point_ids"] == [8, 9]
    assert site["categories"] == {"smuggling": 2}
    assert site["site_id"] is None and circle["site_id"] is None  # the site was point 7
    assert plan["features"][0]["properties"]["point_ids"] == [7, 8, 9]  # input untouched
