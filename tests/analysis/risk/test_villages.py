"""Villages and custom polygon layers as area levels (issue 16): import, catchments, ranking."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import shapely
import sqlalchemy as sa

from com.analysis import risk
from com.demo_villages import grid_points_inside
from com.errors import NotFoundError, ValidationError
from com.ingest.areas import import_areas

DAY = dt.date(2025, 3, 1)
S1, S2 = "320102", "320103"  # ตั้งใจ, เพี้ยราม (Mueang Surin)


@pytest.fixture
def db(conn):
    """The rolled-back connection without risk points or area layers."""
    conn.execute(sa.text("DELETE FROM risk_points"))
    conn.execute(sa.text("DELETE FROM area_features"))
    return conn


def subdistrict(conn, code):
    wkb = conn.execute(sa.text("SELECT ST_AsBinary(geom) FROM subdistricts WHERE code = :c"),
                       {"c": code}).scalar_one()
    return shapely.from_wkb(bytes(wkb))


def village_points(conn):
    """Two villages in S1, one in S2: (code, point)."""
    p1, p2 = grid_points_inside(subdistrict(conn, S1), 2)
    (p3,) = grid_points_inside(subdistrict(conn, S2), 1)
    return [(f"{S1}01", p1), (f"{S1}02", p2), (f"{S2}05", p3)]


def csv_of(rows, extra=""):
    lines = ["code,ชื่อหมู่บ้าน,name_en,lat,lon,สถานะ,กำหนดเสร็จ"]
    lines += [f"{c},บ้าน {c},Ban {c},{p.y},{p.x},{s},{d}" for c, p, s, d in rows]
    return ("\n".join(lines) + "\n" + extra).encode("utf-8")


def add_point(conn, point, *, category="drugs", severity=3, count=1):
    conn.execute(sa.text(
        "INSERT INTO risk_points (category, severity, incident_count, reported_on, geom, "
        "subdistrict_code, district_code, province_code) "
        "SELECT :cat, :sev, :n, :day, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), s.code, "
        "s.district_code, s.province_code FROM subdistricts s "
        "WHERE ST_Covers(s.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
    ), {"cat": category, "sev": severity, "n": count, "day": DAY, "lon": point.x,
        "lat": point.y})


def test_village_points_are_stored_with_catchments_that_tile_the_subdistrict(db):
    villages = village_points(db)
    rows = [(c, p, "done", "31/03/2569") for c, p in villages]
    report = import_areas(db, csv_of(rows), "villages.csv", layer="villages").as_dict()
    assert (report["rows"], report["stored"], report["rejected"]) == (3, 3, 0)
    assert report["catchments_derived"] == 3
    stored = db.execute(sa.text(
        "SELECT code, catchment_derived, plan_status, plan_due, subdistrict_code, "
        "ST_AsBinary(geom) AS geom, ST_AsBinary(point) AS point FROM area_features "
        "WHERE layer = 'villages' ORDER BY code")).all()
    assert [r.code for r in stored] == [c for c, _ in villages]
    assert all(r.catchment_derived and r.plan_status == "done" for r in stored)
    assert stored[0].plan_due == dt.date(2026, 3, 31)  # 31/03/2569 BE
    # The two catchments of S1 cover it without overlap; each holds its own village.
    cells = [shapely.from_wkb(bytes(r.geom)) for r in stored[:2]]
    sub = subdistrict(db, S1)
    assert shapely.union_all(cells).symmetric_difference(sub).area < sub.area * 1e-3
    assert cells[0].intersection(cells[1]).area < sub.area * 1e-6
    for cell, row in zip(cells, stored[:2], strict=True):
        assert cell.covers(shapely.from_wkb(bytes(row.point)))
    # The lone village of S2 gets the whole subdistrict.
    lone = shapely.from_wkb(bytes(stored[2].geom))
    assert abs(lone.area - subdistrict(db, S2).area) < subdistrict(db, S2).area * 1e-3


def test_a_code_disagreeing_with_its_subdistrict_is_rejected_with_the_reason(db):
    villages = village_points(db)
    good = [(c, p, "planned", "") for c, p in villages[:1]]
    s2_point = villages[2][1]
    bad = f"{S1}09,ผิดตำบล,Wrong,{s2_point.y},{s2_point.x},planned,\n"
    bad += "3201021,สั้น,Short,15.0,103.5,planned,\n"
    bad += f"{S1}03,ไม่มีสถานะ,Bad status,{villages[0][1].y},{villages[0][1].x},soon,\n"
    report = import_areas(db, csv_of(good, bad), "v.csv", layer="villages").as_dict()
    assert (report["stored"], report["rejected"]) == (1, 3)
    rejected = {r["row"]: r for r in report["row_reports"] if r["status"] == "rejected"}
    assert rejected[2]["column"] == "code"
    assert rejected[2]["reason_en"] == (
        f"village code {S1}09 says subdistrict {S1}, but its location is in subdistrict {S2}")
    assert rejected[2]["reason_th"] == (
        f"รหัสหมู่บ้าน {S1}09 ระบุตำบล {S1} แต่ตำแหน่งอยู่ในตำบล {S2}")
    assert "8 digits" in rejected[3]["reason_en"] and "8 หลัก" in rejected[3]["reason_th"]
    assert rejected[4]["column"] == "สถานะ" and "soon" in rejected[4]["reason_en"]
    count = db.execute(sa.text("SELECT count(*) FROM area_features")).scalar_one()
    assert count == 1


def test_reimport_is_idempotent_and_upserts_by_code(db):
    villages = village_points(db)
    data = csv_of([(c, p, "planned", "") for c, p in villages])

    def snapshot():
        return db.execute(sa.text(
            "SELECT code, name_th, plan_status, ST_AsText(geom) FROM area_features "
            "ORDER BY code")).all()

    import_areas(db, data, "v.csv", layer="villages")
    first = snapshot()
    import_areas(db, data, "v.csv", layer="villages")
    assert snapshot() == first
    changed = csv_of([(c, p, "done" if c == villages[0][0] else "planned", "")
                      for c, p in villages])
    import_areas(db, changed, "v.csv", layer="villages")
    after = {r.code: r.plan_status for r in snapshot()}
    assert len(after) == 3 and after[villages[0][0]] == "done"


def geojson_of(features):
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geom)}
        for props, geom in features]}).encode()


def test_village_polygons_and_a_custom_layer_from_geojson(db):
    sub = subdistrict(db, S1)
    west, east = sub.bounds[0], sub.bounds[2]
    middle = (west + east) / 2
    half_w = sub.intersection(shapely.box(west, -90, middle, 90))
    half_e = sub.intersection(shapely.box(middle, -90, east, 90))
    data = geojson_of([({"code": f"{S1}01", "name": "ตะวันตก"}, half_w),
                       ({"code": f"{S1}02", "name": "ตะวันออก"}, half_e)])
    report = import_areas(db, data, "villages.geojson", layer="villages").as_dict()
    assert report["stored"] == 2 and report["catchments_derived"] == 0
    zone = shapely.box(103.3, 14.3, 103.6, 14.6)
    layer = geojson_of([({"code": "Z1", "name": "เขตลาดตระเวน 1"}, zone),
                        ({"code": "Z2", "name": "จุด"}, shapely.Point(103.4, 14.4))])
    report = import_areas(db, layer, "zones.geojson", layer="Patrol_Zones").as_dict()
    assert (report["stored"], report["rejected"]) == (1, 1)
    assert "polygons" in report["row_reports"][1]["reason_en"]
    stored = db.execute(sa.text("SELECT layer, code, catchment_derived FROM area_features "
                                "ORDER BY layer, code")).all()
    assert [tuple(r) for r in stored] == [("patrol_zones", "Z1", False),
                                          ("villages", f"{S1}01", False),
                                          ("villages", f"{S1}02", False)]


def test_ranking_at_village_level_matches_a_hand_count(db, flat_model):
    villages = village_points(db)
    import_areas(db, csv_of([(c, p, "planned", "") for c, p in villages]), "v.csv",
                 layer="villages")
    drugs = flat_model.categories["drugs"].weight
    smuggling = flat_model.categories["smuggling"].weight
    v1, v2, v3 = (p for _, p in villages)
    add_point(db, v1, severity=3, count=2)           # 2 x 3 x drugs
    add_point(db, v1, category="smuggling", severity=5)  # 5 x smuggling
    add_point(db, v3, severity=1)                    # 1 x drugs
    ranked = risk.rank_areas(db, level="village", province="32", use_recency=False,
                             model=flat_model).set_index("village_code")
    assert len(ranked) == 3
    assert ranked.loc[villages[0][0], "risk_score"] == pytest.approx(6 * drugs + 5 * smuggling)
    assert ranked.loc[villages[0][0], "points"] == 2
    assert ranked.loc[villages[1][0], "risk_score"] == 0
    assert ranked.loc[villages[2][0], "risk_score"] == pytest.approx(drugs)
    assert ranked.loc[villages[0][0], "rank"] == 1
    assert ranked.loc[villages[0][0], "cat_drugs"] == pytest.approx(6 * drugs)
    explained = risk.explain_area(db, villages[0][0], use_recency=False, model=flat_model)
    assert (explained.level, explained.rank, explained.extent_areas) == ("village", 1, 3)
    assert sorted(p["category"] for p in explained.top_points) == ["drugs", "smuggling"]
    assert risk.layer_point_totals(db, "village") == {villages[0][0]: 2, villages[2][0]: 1}


def test_ranking_a_custom_layer(db, flat_model):
    v1 = grid_points_inside(subdistrict(db, S1), 1)[0]
    zone_a = v1.buffer(0.01)
    zone_b = shapely.box(103.0, 14.0, 103.05, 14.05)
    import_areas(db, geojson_of([({"code": "A", "name": "เขต A"}, zone_a),
                                 ({"code": "B", "name": "เขต B"}, zone_b)]),
                 "zones.geojson", layer="zones")
    add_point(db, v1, severity=2)
    drugs = flat_model.categories["drugs"].weight
    ranked = risk.rank_areas(db, level="layer:zones", use_recency=False, model=flat_model)
    assert list(ranked["area_code"]) == ["A", "B"]
    assert ranked["risk_score"].tolist() == pytest.approx([2 * drugs, 0.0])
    explained = risk.explain_area(db, "A", level="layer:zones", use_recency=False,
                                  model=flat_model)
    assert explained.level == "layer:zones" and explained.points == 1
    assert risk.thai_headers(["area_code", "name_th"], "layer:zones") == [
        "รหัสพื้นที่", "ชื่อพื้นที่"]
    assert risk.thai_headers(["village_code"], "village") == ["รหัสหมู่บ้าน"]
    with pytest.raises(NotFoundError):
        risk.rank_areas(db, level="layer:nothing", model=flat_model)
    with pytest.raises(ValidationError):
        risk.rank_areas(db, level="layer:", model=flat_model)


def add_project(conn, point, *, name, fy, status=None, due=None):
    import pandas as pd

    from com.analysis.kpi.projects import store_projects

    frame = pd.DataFrame([{"name": name, "fiscal_year_be": fy, "lat": point.y, "lon": point.x,
                           "status": status, "due_on": due}])
    return store_projects(conn, frame)


def test_village_kpi_and_plan_progress_by_hand(db, flat_model):
    from scipy.stats import binomtest

    from com.analysis import kpi
    from com.security.access import CLI

    db.execute(sa.text("DELETE FROM projects"))
    db.execute(sa.text("DELETE FROM target_lists"))
    villages = village_points(db)
    (c1, v1), (c2, v2), (c3, v3) = villages
    rows = [(c1, v1, "done", "31/03/2569"), (c2, v2, "", ""), (c3, v3, "", "")]
    import_areas(db, csv_of(rows), "v.csv", layer="villages")
    listing = kpi.declare_targets(db, province="32", fiscal_year_be=2568, principal=CLI,
                                  codes=f"{c1},{c2}", level="village", model=flat_model)
    assert listing["level"] == "village"
    assert [a["village_code"] for a in listing["areas"]] == [c1, c2]
    # FY 2567 (Oct 2023 - Sep 2024): 4 incidents in v1; FY 2568: 1 in v1, 2 in v3 (outside).
    for day, point, count in [(dt.date(2024, 1, 10), v1, 4), (dt.date(2025, 1, 10), v1, 1),
                              (dt.date(2025, 2, 10), v3, 2)]:
        db.execute(sa.text(
            "INSERT INTO risk_points (category, severity, incident_count, reported_on, geom, "
            "subdistrict_code, district_code, province_code) SELECT 'drugs', 3, :n, :day, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), s.code, s.district_code, "
            "s.province_code FROM subdistricts s "
            "WHERE ST_Covers(s.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"),
            {"n": count, "day": day, "lon": point.x, "lat": point.y})
    add_project(db, v1, name="ค่ายเยาวชน", fy=2568, status="done", due="2025-06-30")
    add_project(db, v2, name="ชุมชนยั่งยืน", fy=2568, status="วางแผน", due="2025-09-30")
    add_project(db, v3, name="นอกเป้า", fy=2568, status="in_progress")
    report = kpi.kpi_report(db, province="32", fiscal_year_be=2568, level="village",
                            model=flat_model, as_of=dt.date(2025, 10, 15))
    targets = report["targets"]
    assert (targets["this"]["incidents"], targets["previous"]["incidents"]) == (1, 4)
    assert targets["change_pct"]["incidents"] == pytest.approx(-75.0)
    # 365 days of FY 2568 against 366 of FY 2567 (a leap year).
    expected_p = binomtest(1, 5, 365 / 731).pvalue
    assert report["significance"]["p_value"] == pytest.approx(expected_p)
    per_area = {a["village_code"]: a for a in report["areas"]}
    assert (per_area[c1]["incidents_this"], per_area[c1]["incidents_previous"]) == (1, 4)
    assert (per_area[c2]["incidents_this"], per_area[c2]["incidents_previous"]) == (0, 0)
    projects = report["projects"]
    assert (projects["projects"], projects["in_targets"], projects["targets_reached"]) == (3, 2, 2)
    assert projects["share_in_targets"] == pytest.approx(2 / 3)
    assert projects["passed_targets_reached"] is True
    progress = report["progress"]
    statuses = {a["code"]: a["status"] for a in progress["areas"]}
    assert statuses == {c1: "done", c2: "planned"}  # v2's status comes from its project
    total = progress["total"]
    assert (total["areas"], total["done"], total["remaining"], total["due"]) == (
        2, 1, 1, "2026-03-31")
    assert total["text_en"] == "1 of 2 villages done, 1 remaining, due 31 Mar 2026"
    assert total["text_th"] == "เสร็จ 1 จาก 2 หมู่บ้าน เหลือ 1 กำหนดเสร็จ 31 มี.ค. 2569"


def test_village_pai_of_the_previous_list_by_hand(db, flat_model):
    from com.analysis.kpi.report import _pai
    from com.analysis.kpi.targets import parse_target_level

    villages = village_points(db)
    import_areas(db, csv_of([(c, p, "", "") for c, p in villages]), "v.csv", layer="villages")
    (c1, v1), _, (c3, v3) = villages
    add_point(db, v1, count=3)
    add_point(db, v3, count=1)
    province_area = db.execute(sa.text("SELECT area_km2 FROM provinces WHERE code = '32'")
                               ).scalar_one()
    area1 = db.execute(sa.text("SELECT area_km2 FROM area_features WHERE code = :c"),
                       {"c": c1}).scalar_one()
    pai = _pai(db, province="32", level="village", codes=[c1], period=(DAY, DAY),
               province_area=province_area)
    assert (pai["incidents_in_list"], pai["incidents_total"]) == (3, 4)
    assert pai["pai"] == pytest.approx((3 / 4) / (area1 / province_area))
    assert parse_target_level("layer:zones") == "layer:zones"
    with pytest.raises(ValidationError):
        parse_target_level("h3:7")


@pytest.mark.parametrize("fmt", ["gpkg", "shp.zip", "kml", "xlsx"])
def test_village_polygons_from_other_formats(db, tmp_path, fmt):
    import geopandas as gpd
    import openpyxl

    sub = subdistrict(db, S1)
    west, east = sub.bounds[0], sub.bounds[2]
    middle = (west + east) / 2
    halves = [sub.intersection(shapely.box(west, -90, middle, 90)),
              sub.intersection(shapely.box(middle, -90, east, 90))]
    frame = gpd.GeoDataFrame({"code": [f"{S1}01", f"{S2}02"], "name": ["ตะวันตก", "ตะวันออก"]},
                             geometry=halves, crs=4326)
    path = tmp_path / f"villages.{fmt}"
    if fmt == "gpkg":
        frame.to_file(path, driver="GPKG")
    elif fmt == "shp.zip":
        import zipfile

        frame.to_file(tmp_path / "villages.shp", driver="ESRI Shapefile", encoding="utf-8")
        path = tmp_path / "villages.zip"
        with zipfile.ZipFile(path, "w") as archive:
            for part in tmp_path.glob("villages.*"):
                if part.suffix != ".zip":
                    archive.write(part, part.name)
    elif fmt == "kml":
        frame.to_file(path, driver="KML")
    else:
        book = openpyxl.Workbook()
        book.active.append(["code", "ชื่อหมู่บ้าน", "wkt"])
        for code, name, geom in zip(frame["code"], frame["name"], halves, strict=True):
            book.active.append([code, name, geom.wkt])
        book.save(path)
    report = import_areas(db, path.read_bytes(), path.name, layer="villages").as_dict()
    statuses = {r["code"]: r["status"] for r in report["row_reports"]}
    # The second polygon lies in S1, but its code says S2: rejected.
    assert statuses == {f"{S1}01": "stored", f"{S2}02": "rejected"}


def test_the_demo_villages_never_overwrite_a_real_village(db):
    from com.demo_villages import DEMO_SUBDISTRICTS, store_demo_villages

    first = f"{DEMO_SUBDISTRICTS[0]}01"
    point = grid_points_inside(subdistrict(db, DEMO_SUBDISTRICTS[0]), 1)[0]
    import_areas(db, csv_of([(first, point, "done", "")]), "real.csv", layer="villages")
    codes = store_demo_villages(db)
    assert first not in codes and len(codes) == 23
    name, synthetic = db.execute(sa.text(
        "SELECT name_th, synthetic FROM area_features WHERE code = :c"), {"c": first}).one()
    assert (name, synthetic) == (f"บ้าน {first}", False)
    assert len(store_demo_villages(db)) == 23  # again: the same, nothing added
    count = db.execute(sa.text("SELECT count(*) FROM area_features")).scalar_one()
    assert count == 24
