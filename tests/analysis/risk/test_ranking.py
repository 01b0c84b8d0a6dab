"""Rankings, explanations, hot spots, target lists and KPIs on constructed data in PostGIS."""

from __future__ import annotations

import datetime as dt

import h3.api.basic_int as h3int
import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from scipy.stats import binomtest

from com.analysis import kpi, risk
from com.config.severity import load_severity_model
from com.errors import ConflictError, NotFoundError, PermissionDenied, ValidationError
from com.security.access import CLI, Principal

DAY = dt.date(2025, 3, 1)
# Interior subdistricts of Surin (Mueang Surin district) used as plain areas.
A, B, C = "320101", "320102", "320103"


def add(conn, code, category="drugs", severity=3, count=1, day=DAY, n=1, point=None):
    """Insert n risk points at the subdistrict's representative point (or at ``point``)."""
    geom = "s.rep_point" if point is None else "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)"
    for _ in range(n):
        conn.execute(
            sa.text(
                "INSERT INTO risk_points (category, severity, incident_count, reported_on, geom,"
                " subdistrict_code, district_code, province_code) "
                f"SELECT :cat, :sev, :n, :day, {geom}, s.code, s.district_code, s.province_code"
                " FROM subdistricts s WHERE s.code = :code"
            ),
            {"cat": category, "sev": severity, "n": count, "day": day, "code": code,
             "lon": point[0] if point else None, "lat": point[1] if point else None},
        )


def by_code(frame, column="subdistrict_code"):
    return frame.set_index(column)


def test_order_is_certain_and_every_area_is_listed(db, flat_model):
    add(db, A, severity=5, n=3)   # 3 x 2 x 5 = 30
    add(db, B, severity=5, n=2)   # 20
    add(db, C, category="other_crime", severity=1)  # 1
    ranked = risk.rank_areas(db, province="32", as_of=DAY, model=flat_model)
    assert list(ranked.columns[:7]) == ["subdistrict_code", "name_th", "name_en", "risk_score",
                                        "risk_per_km2", "rank", "points"]
    assert "cat_drugs" in ranked and "ctx_land_border" in ranked and "geometry" in ranked
    assert len(ranked) == 159
    assert ranked["subdistrict_code"].head(3).tolist() == [A, B, C]
    assert ranked["risk_score"].head(3).tolist() == pytest.approx([30.0, 20.0, 1.0], rel=1e-12)
    assert ranked["rank"].head(4).tolist() == [1, 2, 3, 4]
    assert (ranked["rank"].iloc[3:] == 4).all() and (ranked["risk_score"].iloc[3:] == 0).all()
    areas = dict(db.execute(sa.text(
        "SELECT code, area_km2 FROM subdistricts WHERE code IN (:a, :b)"), {"a": A, "b": B}).all())
    row = by_code(ranked).loc[A]
    assert row["risk_per_km2"] == pytest.approx(30.0 / areas[A])
    assert row["points"] == 3


def test_category_weight_change_swaps_two_areas(db, flat_model, tmp_path):
    add(db, A, category="drugs", severity=3, n=2)       # 2 x 2 x 3 = 12
    add(db, B, category="smuggling", severity=3, n=3)   # 3 x 1.5 x 3 = 13.5
    before = risk.rank_areas(db, province="32", as_of=DAY, model=flat_model)
    assert before["subdistrict_code"].head(2).tolist() == [B, A]
    override = tmp_path / "heavier_drugs.toml"
    override.write_text(
        (tmp_path / "flat.toml").read_text(encoding="utf-8")
        + "[categories.drugs]\nweight = 3.0\n", encoding="utf-8")
    after = risk.rank_areas(db, province="32", as_of=DAY, model=load_severity_model(override))
    assert after["subdistrict_code"].head(2).tolist() == [A, B]
    assert by_code(after).loc[A, "risk_score"] == pytest.approx(18.0)


def test_recency_demotes_old_points(db, flat_model):
    old = DAY - dt.timedelta(days=3 * 365)
    add(db, A, severity=5, n=2, day=old)   # 2 x 2 x 5 x 1/8 = 2.5
    add(db, B, severity=3, n=1, day=DAY)   # 2 x 3 = 6
    ranked = risk.rank_areas(db, province="32", as_of=DAY, model=flat_model)
    assert ranked["subdistrict_code"].head(2).tolist() == [B, A]
    assert by_code(ranked).loc[A, "risk_score"] == pytest.approx(2.5, rel=1e-12)
    flat = risk.rank_areas(db, province="32", as_of=DAY, model=flat_model, use_recency=False)
    assert flat["subdistrict_code"].head(2).tolist() == [A, B]


def test_land_border_lifts_a_border_subdistrict(db, tmp_path):
    # Dan (320605) holds the Chong Chom crossing on the Cambodian border; the other area is
    # the Surin subdistrict farthest from the border, found by measuring, not by name.
    far = db.execute(sa.text(
        "SELECT s.code FROM subdistricts s, context_layers b WHERE s.province_code = '32' "
        "AND b.layer = 'land_border' ORDER BY ST_Distance(s.rep_point::geography, "
        "b.geom::geography) DESC LIMIT 1")).scalar_one()
    dan_distance = db.execute(sa.text(
        "SELECT min(ST_Distance(s.rep_point::geography, b.geom::geography)) FROM subdistricts s,"
        " context_layers b WHERE s.code = '320605' AND b.layer = 'land_border'")).scalar_one()
    path = tmp_path / "border_only.toml"
    path.write_text("".join(f"[context.{k}]\nweight = 0\n" for k in
                            ("border_crossings", "mekong", "district_towns")), encoding="utf-8")
    model = load_severity_model(path)
    add(db, "320605", severity=4, n=2)
    add(db, far, severity=4, n=2)
    ranked = by_code(risk.rank_areas(db, province="32", as_of=DAY, model=model))
    factor = model.context["land_border"]
    expected = float(factor.multiplier(np.array([dan_distance]))[0])
    assert expected > 1.0
    assert ranked.loc["320605", "rank"] == 1 and ranked.loc[far, "rank"] == 2
    assert ranked.loc["320605", "risk_score"] == pytest.approx(16.0 * expected, rel=1e-3)
    assert ranked.loc[far, "risk_score"] == pytest.approx(16.0)
    assert ranked.loc["320605", "ctx_land_border"] == pytest.approx(16.0 * (expected - 1),
                                                                    rel=1e-3)


def test_explanations_add_up_and_match_python_weights(db):
    rng = np.random.default_rng(5)
    cats = ["drugs", "smuggling", "illegal_entry", "flood", "other_crime", "unheard_of"]
    for code in ("320605", "320601", A, B):
        for _ in range(6):
            age = dt.timedelta(days=int(rng.integers(0, 900)))
            add(db, code, category=str(rng.choice(cats)), severity=int(rng.integers(1, 6)),
                count=int(rng.integers(1, 4)), day=DAY - age)
    add(db, A, category="drugs", severity=2, day=None)
    ranked = risk.rank_areas(db, province="32", as_of=DAY)
    parts = ranked.filter(regex="^(cat|ctx)_").sum(axis=1)
    np.testing.assert_allclose(parts, ranked["risk_score"], rtol=1e-9)
    # The SQL weights are the Python point_weights.
    points = pd.DataFrame(db.execute(sa.text(
        "SELECT subdistrict_code, category, severity, incident_count, reported_on "
        "FROM risk_points")).mappings().all())
    points["w"] = risk.point_weights(points, as_of=DAY)
    base = points.groupby("subdistrict_code")["w"].sum()
    cat_sum = ranked.set_index("subdistrict_code").filter(regex="^cat_").sum(axis=1)
    np.testing.assert_allclose(cat_sum.loc[base.index], base, rtol=1e-9)
    explained = risk.explain_area(db, "320605", as_of=DAY, top=3)
    row = by_code(ranked).loc["320605"]
    assert explained.risk_score == pytest.approx(row["risk_score"], rel=1e-12)
    assert explained.rank == row["rank"]
    total = sum(c["contribution"] for c in explained.categories) + sum(
        f["contribution"] for f in explained.factors)
    assert total == pytest.approx(explained.risk_score, rel=1e-9)
    assert explained.points == 6 and len(explained.top_points) == 3
    weights = [p["weight"] for p in explained.top_points]
    assert weights == sorted(weights, reverse=True)
    mine = points[points["subdistrict_code"] == "320605"]["w"].sort_values(ascending=False)
    assert weights == pytest.approx(mine.head(3).tolist(), rel=1e-9)
    assert {"unknown"} <= {c["category"] for c in risk.explain_area(
        db, A, as_of=DAY).categories} or "unheard_of" not in points["category"].tolist()
    hidden = risk.explain_area(db, "320605", as_of=DAY, exact_coordinates=False, top=20)
    for point in hidden.top_points:
        if point["category"] == "drugs":
            assert point["coarsened"] and point["name"] is None
    with pytest.raises(NotFoundError):
        risk.explain_area(db, "329999")


def test_higher_levels_sum_their_subdistricts(db, flat_model):
    add(db, A, severity=5, n=2)
    add(db, "320605", category="smuggling", severity=4)
    sub = risk.rank_areas(db, province="32", as_of=DAY, model=flat_model)
    dist = by_code(risk.rank_areas(db, level="district", province="32", as_of=DAY,
                                   model=flat_model), "district_code")
    assert len(dist) == 17
    assert dist.loc["3201", "risk_score"] == pytest.approx(20.0)
    assert dist.loc["3206", "risk_score"] == pytest.approx(6.0)
    prov = risk.rank_areas(db, level="province", as_of=DAY, model=flat_model)
    assert len(prov) == 77
    assert prov.iloc[0]["province_code"] == "32"
    assert prov.iloc[0]["risk_score"] == pytest.approx(sub["risk_score"].sum())


def test_h3_cells_cover_the_province_and_hold_their_points(db, flat_model):
    add(db, A, severity=5, n=2)
    lat, lon = db.execute(sa.text(
        "SELECT ST_Y(rep_point), ST_X(rep_point) FROM subdistricts WHERE code = :c"),
        {"c": A}).one()
    cell = h3int.int_to_str(h3int.latlng_to_cell(lat, lon, 7))
    ranked = risk.rank_areas(db, level="h3:7", province="32", as_of=DAY, model=flat_model)
    assert ranked.iloc[0]["h3_cell"] == cell
    assert ranked.iloc[0]["risk_score"] == pytest.approx(20.0)
    assert ranked.iloc[0]["name_th"] != ""
    area = h3int.cell_area(h3int.str_to_int(cell), "km^2")
    assert ranked.iloc[0]["risk_per_km2"] == pytest.approx(20.0 / area)
    # Only cells with points are ranked (issue 13); with empty_cells, every cell of the extent.
    assert (ranked["points"] > 0).all()
    surin_km2 = db.execute(sa.text("SELECT area_km2 FROM provinces WHERE code='32'")).scalar_one()
    every = risk.rank_areas(db, level="h3:7", province="32", as_of=DAY, model=flat_model,
                            empty_cells=True)
    # Cells whose centre lies in Surin: their total area is the province's, within a few %.
    assert every.geometry.to_crs(32648).area.sum() / 1e6 == pytest.approx(surin_km2, rel=0.05)
    with_points = every[every["points"] > 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(pd.DataFrame(with_points.drop(columns="geometry")),
                                  pd.DataFrame(ranked.drop(columns="geometry")))
    explained = risk.explain_area(db, cell, as_of=DAY, model=flat_model)
    assert explained.risk_score == pytest.approx(20.0) and explained.points == 2


def test_unknown_province_and_bad_filters(db):
    with pytest.raises(NotFoundError, match="province 99"):
        risk.rank_areas(db, province="99")
    with pytest.raises(ValidationError):
        risk.rank_areas(db, province="Surin")
    with pytest.raises(ValidationError, match="unknown category"):
        risk.rank_areas(db, province="32", categories=["ufo"])


def test_planted_cluster_in_surin_is_a_99_percent_hot_spot(db, flat_model):
    surin = risk.rank_areas(db, province="32", as_of=DAY, model=flat_model)
    w = risk.spatial_weights(surin, "subdistrict")
    centre_i = max(w.neighbors, key=lambda i: len(w.neighbors[i]))
    centre = surin.iloc[centre_i]["subdistrict_code"]
    cluster = [centre] + [surin.iloc[j]["subdistrict_code"] for j in w.neighbors[centre_i]]
    for code in cluster:
        add(db, code, severity=5, n=4)
    rng = np.random.default_rng(1)
    others = [c for c in surin["subdistrict_code"] if c not in cluster]
    for code in rng.choice(others, 25, replace=False):
        add(db, str(code), category="other_crime", severity=int(rng.integers(1, 3)))
    # 159 areas and FDR: 9999 permutations let a 9-area cluster reach 99% (see gi_star).
    hot = by_code(risk.hotspots(db, province="32", as_of=DAY, model=flat_model,
                                permutations=9999))
    assert hot.loc[centre, "hotspot_class"] == "hot_99"
    assert hot.loc[centre, "hotspot_th"] == "จุดร้อน (ความเชื่อมั่น 99%)"
    assert not hot["hotspot_class"].str.startswith("cold").any()
    # At the default 999 permutations the centre sits at the p-value floor.
    default = by_code(risk.hotspots(db, province="32", as_of=DAY, model=flat_model))
    assert default.loc[centre, "gi_p"] == pytest.approx(0.001)
    assert default.loc[centre, "hotspot_class"] in ("hot_99", "hot_95")


def test_emerging_hot_spot_is_new_in_the_last_year(db, flat_model):
    surin = risk.rank_areas(db, province="32", as_of=DAY, model=flat_model)
    w = risk.spatial_weights(surin, "subdistrict")
    centre_i = max(w.neighbors, key=lambda i: len(w.neighbors[i]))
    cluster = [surin.iloc[j]["subdistrict_code"] for j in [centre_i, *w.neighbors[centre_i]]]
    for fy, day in ((2566, dt.date(2023, 3, 1)), (2567, dt.date(2024, 3, 1))):
        for code in surin["subdistrict_code"].sample(20, random_state=fy):
            add(db, code, category="other_crime", severity=2, day=day)
    for code in cluster:
        add(db, code, severity=5, n=4, day=dt.date(2025, 3, 1))
    out = by_code(risk.emerging_hotspots(db, start_fy=2566, end_fy=2568, province="32",
                                         model=flat_model, permutations=9999))
    centre = surin.iloc[centre_i]["subdistrict_code"]
    assert out.loc[centre, "pattern"] == "new"
    assert out.loc[centre, "pattern_th"] == "จุดร้อนใหม่"
    assert {"z_2566", "z_2567", "z_2568"} <= set(out.columns)


def test_heat_surface_peaks_at_the_points(db):
    add(db, A, severity=5, n=5)
    heat = risk.heat_surface(db, province="32", as_of=DAY)
    lon, lat = db.execute(sa.text(
        "SELECT ST_X(rep_point), ST_Y(rep_point) FROM subdistricts WHERE code = :c"),
        {"c": A}).one()
    peak = heat.geometry.iloc[0]
    assert abs(peak.x - lon) < 0.01 and abs(peak.y - lat) < 0.01


# --------------------------------------------------------------------------- KPIs

PLANNER = Principal(kind="user", name="planner1", role="planner")


def test_declare_show_and_audit(db, flat_model):
    add(db, A, severity=5, n=3, day=dt.date(2024, 9, 30))   # FY 2567: counts for the list
    add(db, B, severity=5, n=2, day=dt.date(2024, 9, 1))
    add(db, C, severity=5, n=9, day=dt.date(2024, 10, 1))   # FY 2568: after the list's date
    listing = kpi.declare_targets(db, province="32", fiscal_year_be=2568, principal=PLANNER,
                                  top=2, model=flat_model)
    assert [a["subdistrict_code"] for a in listing["areas"]] == [A, B]
    assert listing["params"]["ranking_as_of"] == "2024-09-30"
    assert listing["areas"][0]["name_th"]
    shown = kpi.get_target_list(db, province="32", fiscal_year_be=2568)
    assert shown["id"] == listing["id"] and shown["count"] == 2
    audit_row = db.execute(sa.text(
        "SELECT actor, target, record_ids FROM audit_log WHERE action = 'targets.declare' "
        "ORDER BY id DESC LIMIT 1")).one()
    assert audit_row.actor == "planner1" and audit_row.record_ids == [A, B]
    with pytest.raises(ConflictError, match="already has"):
        kpi.declare_targets(db, province="32", fiscal_year_be=2568, principal=PLANNER, top=1)
    again = kpi.declare_targets(db, province="32", fiscal_year_be=2568, principal=PLANNER,
                                codes=f"{C},{A}", replace=True, model=flat_model)
    assert {a["subdistrict_code"] for a in again["areas"]} == {A, C}
    with pytest.raises(ValidationError, match="330101"):
        kpi.declare_targets(db, province="32", fiscal_year_be=2569, principal=PLANNER,
                            codes=["330101"])
    with pytest.raises(PermissionDenied):
        kpi.declare_targets(db, province="32", fiscal_year_be=2569,
                            principal=Principal(kind="user", name="v", role="viewer"), top=3)
    with pytest.raises(NotFoundError, match="com targets declare"):
        kpi.get_target_list(db, province="32", fiscal_year_be=2570)


def ring_point(conn, target):
    """A point 500 m outside the target subdistrict, in a neighbouring one."""
    return conn.execute(sa.text(
        "SELECT n.code, ST_X(p), ST_Y(p) FROM subdistricts t JOIN subdistricts n "
        "ON ST_Touches(t.geom, n.geom) AND n.code <> t.code, LATERAL (SELECT ST_PointOnSurface("
        "ST_Intersection(n.geom, ST_Buffer(t.geom::geography, 1000)::geometry)) AS p) q "
        "WHERE t.code = :t AND NOT ST_Intersects(p, t.geom) ORDER BY n.code LIMIT 1"),
        {"t": target}).one()


def test_kpi_report_by_hand(db, flat_model):
    # FY 2567: 20 incidents in A; FY 2568: 15 (a -25% change). B is outside the list.
    add(db, A, severity=3, count=4, n=5, day=dt.date(2024, 3, 1))
    add(db, A, severity=3, count=3, n=5, day=dt.date(2025, 3, 1))
    add(db, B, severity=3, count=1, n=7, day=dt.date(2025, 4, 1))
    ring_code, lon, lat = ring_point(db, A)
    assert ring_code != A
    add(db, ring_code, count=2, day=dt.date(2024, 5, 1), point=(lon, lat))
    add(db, ring_code, count=5, day=dt.date(2025, 5, 1), point=(lon, lat))
    kpi.declare_targets(db, province="32", fiscal_year_be=2567, principal=PLANNER,
                        codes=[A, B], model=flat_model)
    kpi.declare_targets(db, province="32", fiscal_year_be=2568, principal=PLANNER,
                        codes=[A], model=flat_model)
    lon_a, lat_a = db.execute(sa.text(
        "SELECT ST_X(rep_point), ST_Y(rep_point) FROM subdistricts WHERE code = :c"),
        {"c": A}).one()
    nan = float("nan")
    ids = kpi.store_projects(db, pd.DataFrame({
        "name": ["p1", "p2", "p3", "p4", "p5"],
        "fiscal_year_be": ["2568", "FY2568", "๒๕๖๘", 2568, 2568],
        "area_code": [A, A, None, None, "320105"],
        "lat": [nan, nan, lat, lat_a, nan],
        "lon": [nan, nan, lon, lon_a, nan],
    }))
    assert len(ids) == 5
    report = kpi.kpi_report(db, province="32", fiscal_year_be=2568, model=flat_model,
                            as_of=dt.date(2026, 1, 1))
    targets = report["targets"]
    assert targets["previous"]["incidents"] == 20 and targets["this"]["incidents"] == 15
    assert targets["change_pct"]["incidents"] == pytest.approx(-25.0)
    assert targets["change_pct"]["weighted_score"] == pytest.approx(
        (2 * 3 * 15) / (2 * 3 * 20) * 100 - 100)
    assert targets["passed"] is True
    assert report["significance"]["p_value"] == pytest.approx(
        binomtest(15, 35, 365 / (365 + 366)).pvalue)
    assert report["significance"]["significant"] is False
    assert "ไม่มีนัยสำคัญทางสถิติ" in targets["verdict_th"]
    ring = report["displacement"]
    assert (ring["ring_before"], ring["ring_after"]) == (2, 5)
    assert ring["wdd"] == pytest.approx((15 - 20) + (5 - 2))
    # Projects: p1, p2 by code in A, p4 at A's point; p3 in the ring, p5 elsewhere: 3 of 5.
    assert report["projects"]["projects"] == 5
    assert report["projects"]["share_in_targets"] == pytest.approx(0.6)
    assert report["projects"]["passed_share_in_targets"] is False
    # PAI of the FY 2567 list (A, B) for FY 2568: 15 + 7 of 15 + 7 + 5 incidents.
    areas = dict(db.execute(sa.text(
        "SELECT code, area_km2 FROM subdistricts WHERE code IN (:a, :b)"), {"a": A, "b": B}).all())
    surin = db.execute(sa.text("SELECT area_km2 FROM provinces WHERE code='32'")).scalar_one()
    assert report["pai"]["pai"] == pytest.approx(
        (22 / 27) / ((areas[A] + areas[B]) / surin), rel=1e-9)
    assert report["path"]["baseline_fiscal_year_be"] == 2566
    assert report["areas"][0]["summary"].startswith("ไม่มีนัยสำคัญ")


def test_store_projects_names_the_bad_row(db):
    with pytest.raises(ValidationError, match="row 2: area code 329999 does not exist"):
        kpi.store_projects(db, pd.DataFrame({"name": ["a", "b"], "fiscal_year_be": [2568, 2568],
                                             "area_code": [A, "329999"]}))
    with pytest.raises(ValidationError, match="row 1: .*Buddhist-era"):
        kpi.store_projects(db, pd.DataFrame({"fiscal_year_be": ["2025"], "area_code": [A]}))
    assert db.execute(sa.text("SELECT count(*) FROM projects")).scalar_one() == 0


def test_cli_principal_can_declare(db):
    add(db, A, n=1, day=dt.date(2024, 1, 1))
    out = kpi.declare_targets(db, province="32", fiscal_year_be=2568, principal=CLI, top=5)
    assert out["count"] == 1
    assert "only 1 areas" in out["params"]["notes"][0]


def test_projects_upload_through_the_ingest_machinery(clean_engine, tmp_path):
    from com.ingest import ImportOptions, import_path

    with clean_engine.connect() as c:
        lon, lat = c.execute(sa.text(
            "SELECT ST_X(rep_point), ST_Y(rep_point) FROM subdistricts WHERE code = :c"),
            {"c": A}).one()
    path = tmp_path / "projects.csv"
    path.write_text(
        "ชื่อโครงการ,ปีงบประมาณ,ละติจูด,ลองจิจูด\n"
        f"ลาดตระเวนร่วม,2568,{lat},{lon}\n"
        f"อบรมเยาวชน,๒๕๖๘,{lat + 0.001},{lon}\n"
        f"ไม่มีปี,,{lat},{lon}\n",
        encoding="utf-8",
    )
    summary = import_path(clean_engine, path, options=ImportOptions(kind="projects"))
    assert (summary.stored, summary.rejected) == (2, 1), summary.as_dict()
    with clean_engine.connect() as c:
        rows = c.execute(sa.text(
            "SELECT fiscal_year_be, subdistrict_code, province_code, source_row FROM projects "
            "ORDER BY source_row")).all()
        assert [tuple(r) for r in rows] == [(2568, A, "32", 1), (2568, A, "32", 2)]
        reason = c.execute(sa.text(
            "SELECT reason FROM upload_report WHERE status = 'rejected'")).scalar_one()
    assert "ปีงบประมาณ" in reason
