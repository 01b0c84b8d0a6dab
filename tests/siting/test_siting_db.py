"""CCTV siting and patrol lists against a real PostGIS: demand, cameras, grids, uploaded sites,
site subdistricts, saved plans with their audit row, and the Excel patrol list."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import numpy as np
import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pyproj import Geod

from com.errors import NotFoundError, ValidationError
from com.geodata import assign_subdistricts, where
from com.ingest import ImportOptions, import_upload
from com.security.access import Principal
from com.siting.coverage import coverage_matrix
from com.siting.patrols import patrol_plan, write_patrols
from com.siting.planner import plan_for_area
from com.siting.repository import get_plan, list_plans, load_demand, load_sites, save_plan

pytestmark = pytest.mark.db

GEOD = Geod(ellps="WGS84")
AS_OF = date(2025, 9, 30)
PLANNER = Principal(kind="user", name="planner-surin", role="planner", province_code="32")


def _surin_centres(conn, n: int = 6) -> list[tuple[str, float, float]]:
    """Representative points of Surin subdistricts in different districts (stable order)."""
    rows = conn.execute(sa.text(
        "SELECT DISTINCT ON (district_code) code, ST_X(rep_point), ST_Y(rep_point) "
        "FROM subdistricts WHERE province_code = '32' ORDER BY district_code, code"
    )).all()
    return [(r[0], float(r[1]), float(r[2])) for r in rows[:n]]


def _insert_points(conn, points: list[dict]) -> list[int]:
    ids = []
    for p in points:
        ids.append(conn.execute(sa.text(
            "INSERT INTO risk_points (name, category, severity, incident_count, reported_on, geom) "
            "VALUES (:name, :category, :severity, :count, :reported_on, "
            "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) RETURNING id"
        ), {"name": p.get("name", "p"), "category": p["category"], "severity": p["severity"],
            "count": p.get("count", 1), "reported_on": p.get("reported_on"),
            "lon": p["lon"], "lat": p["lat"]}).scalar_one())
    assign_subdistricts(conn)
    return ids


def _cluster(lon: float, lat: float, n: int, rng, spread_m: float = 80.0, **fields) -> list[dict]:
    az = rng.uniform(0, 360, n)
    dist = np.abs(rng.normal(0, spread_m, n))
    plon, plat, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, dist)
    cats = fields.pop("categories", ["drugs", "smuggling", "flood"])
    return [{"lon": float(x), "lat": float(y), "category": cats[i % len(cats)],
             "severity": int(rng.integers(1, 6)), "reported_on": AS_OF - timedelta(days=int(d)),
             **fields} for i, (x, y, d) in enumerate(zip(plon, plat, rng.integers(0, 700, n),
                                                          strict=True))]


@pytest.fixture
def surin(conn):
    """Six clusters of risk points around Surin subdistrict centres (rolled back after)."""
    rng = np.random.default_rng(5)
    centres = _surin_centres(conn)
    points = []
    for i, (_, lon, lat) in enumerate(centres):
        points += _cluster(lon, lat, 8 + 2 * i, rng)
    ids = _insert_points(conn, points)
    return {"centres": centres, "ids": ids}


def test_demand_weights_come_from_the_severity_model(conn):
    _, lon, lat = _surin_centres(conn, 1)[0]
    ids = _insert_points(conn, [
        {"lon": lon, "lat": lat, "category": "drugs", "severity": 4, "count": 3,
         "reported_on": AS_OF - timedelta(days=365)},
        {"lon": lon + 0.001, "lat": lat, "category": "flood", "severity": 5, "count": 2,
         "reported_on": AS_OF},
    ])
    demand = load_demand(conn, province="32", as_of=AS_OF).set_index("id")
    # drugs 2.0 x 4 x one half-life 0.5 x 3 incidents; flood 0.8 x 5 x 1 x 2
    assert demand.loc[ids[0], "weight"] == pytest.approx(12.0)
    assert demand.loc[ids[1], "weight"] == pytest.approx(8.0)
    assert set(demand["subdistrict_code"]) <= {c for c in demand["subdistrict_code"] if c}


def test_plan_from_stored_points_with_site_subdistricts(conn, surin):
    plan = plan_for_area(conn, province="32", k=4, as_of=AS_OF, existing="none")
    assert plan.solution.status == "optimal"
    assert len(plan.demand) == len(surin["ids"])
    assert len(plan.sites) == 4
    for row in plan.sites.itertuples():
        expected = where(conn, lat=row.lat, lon=row.lon)["subdistrict_code"]
        assert row.subdistrict_code == expected
        assert row.subdistrict_th
    # candidates are the risk points themselves
    assert set(plan.sites["site_id"].astype(int)) <= set(surin["ids"])
    fc = plan.to_geojson()
    assert fc["properties"]["province_code"] == "32"
    assert fc["properties"]["candidate_source"] == "points"


def test_district_plan_uses_only_that_districts_points(conn, surin):
    code = surin["centres"][2][0][:4]
    plan = plan_for_area(conn, province="32", district=code, k=2, as_of=AS_OF,
                         existing="none")
    stored = conn.execute(sa.text("SELECT count(*) FROM risk_points WHERE district_code = :d"),
                          {"d": code}).scalar_one()
    assert len(plan.demand) == stored > 0
    with pytest.raises(ValidationError, match="not in province"):
        plan_for_area(conn, province="33", district=code, k=2)
    with pytest.raises(NotFoundError):
        plan_for_area(conn, province="99", k=2)


def test_cameras_table_counts_as_covered(conn, surin):
    _, lon, lat = surin["centres"][5]  # the biggest cluster
    conn.execute(sa.text(
        "INSERT INTO cameras (name, radius_m, geom) "
        "VALUES ('กล้องเดิม', 400, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))"
    ), {"lon": lon, "lat": lat})
    before = plan_for_area(conn, province="32", k=1, as_of=AS_OF, existing="none")
    after = plan_for_area(conn, province="32", k=1, as_of=AS_OF)
    assert after.existing_cameras == 1
    assert after.existing_covered_weight > 0
    site = after.sites.iloc[0]
    _, _, d = GEOD.inv(lon, lat, site["lon"], site["lat"])
    assert d > 400  # the one new camera goes elsewhere
    assert after.covered_weight < before.covered_weight + after.existing_covered_weight


def test_grid_candidates_lie_in_the_district(conn, surin):
    code = surin["centres"][0][0][:4]
    plan = plan_for_area(conn, province="32", district=code, k=3, as_of=AS_OF,
                         candidates="grid:150", existing="none")
    assert plan.context["candidate_source"] == "grid:150"
    assert plan.candidates > 100
    for row in plan.sites.itertuples():
        inside = conn.execute(sa.text(
            "SELECT ST_Contains(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)) "
            "FROM districts WHERE code = :d"), {"lon": row.lon, "lat": row.lat, "d": code}
        ).scalar_one()
        assert inside
    points = plan_for_area(conn, province="32", district=code, k=3, as_of=AS_OF,
                           existing="none")
    assert plan.covered_weight > 0 and points.covered_weight > 0
    assert plan.solution.model["candidate_sites"] == plan.candidates


def test_uploaded_candidate_sites_and_budget(conn, surin):
    centres = surin["centres"]
    lines = ["ชื่อจุด,ละติจูด,ลองจิจูด,ราคา"]
    for i, (_, lon, lat) in enumerate(centres):
        lines.append(f"เสา {i + 1},{lat:.6f},{lon:.6f},{(i % 3 + 1) * 10000}")
    data = ("\n".join(lines) + "\n").encode("utf-8")
    summary = import_upload(conn, data, "poles.csv",
                            options=ImportOptions(kind="sites", province_code="32"))
    assert summary.stored == len(centres) and summary.rejected == 0
    stored = conn.execute(sa.text(
        "SELECT count(*), min(cost), max(cost), count(subdistrict_code) FROM candidate_sites"
    )).one()
    assert tuple(stored) == (len(centres), 10000, 30000, len(centres))
    plan = plan_for_area(conn, province="32", budget=40000, candidates="sites",
                         as_of=AS_OF, existing="none")
    assert plan.sites["cost"].sum() <= 40000
    # brute force over the uploaded sites
    sites = load_sites(conn, province="32")
    demand = plan.demand
    cover = coverage_matrix(demand["lon"], demand["lat"], sites["lon"], sites["lat"],
                            radius_m=200).toarray()
    best = 0.0
    for r in range(len(sites) + 1):
        for combo in itertools.combinations(range(len(sites)), r):
            if sites["cost"].to_numpy()[list(combo)].sum() <= 40000:
                hit = cover[:, list(combo)].any(axis=1)
                best = max(best, demand["weight"].to_numpy()[hit].sum())
    assert plan.covered_weight == pytest.approx(best)
    by_upload = plan_for_area(conn, province="32", k=2,
                              candidates=f"sites:{summary.upload_id}", as_of=AS_OF,
                              existing="none")
    assert set(by_upload.sites["site_id"]) <= set(sites["site_id"])
    with pytest.raises(ValidationError, match="no uploaded candidate sites"):
        plan_for_area(conn, province="32", k=2, candidates="sites:999999")


def test_save_list_get_and_audit(conn, surin):
    plan = plan_for_area(conn, province="32", k=3, as_of=AS_OF, existing="none")
    plan_id = save_plan(conn, plan, name="แผนทดสอบ", principal=PLANNER,
                        params={"k": 3})
    listed = list_plans(conn, province="32")
    assert [p["id"] for p in listed] == [plan_id]
    assert listed[0]["objective"] == pytest.approx(plan.covered_weight)
    stored = get_plan(conn, plan_id)
    props = stored["result"]["properties"]
    assert props["objective"] == pytest.approx(plan.covered_weight, abs=1e-5)
    assert len(stored["result"]["features"]) == 2 * len(plan.sites)
    audit = conn.execute(sa.text(
        "SELECT actor, action, target FROM audit_log WHERE action = 'cctv.plan'")).one()
    assert tuple(audit) == ("planner-surin", "cctv.plan", f"cctv_plan:{plan_id}")
    with pytest.raises(NotFoundError):
        get_plan(conn, plan_id + 1000)
    with pytest.raises(ValidationError, match="name"):
        save_plan(conn, plan, name="  ", principal=PLANNER)


def test_patrol_list_gives_every_district_its_share(conn, surin, tmp_path):
    table = patrol_plan(conn, province="32", per_district=2, as_of=AS_OF)
    districts = conn.execute(sa.text(
        "SELECT count(*) FROM districts WHERE province_code = '32'")).scalar_one()
    assert table["district_code"].nunique() == districts
    assert (table.groupby("district_code").size() <= 2).all()
    for _, group in table.groupby("district_code"):
        assert group["risk_score"].is_monotonic_decreasing
        assert group["priority"].tolist() == list(range(1, len(group) + 1))
    with_risk = table[table["risk_score"] > 0]
    # each cluster's subdistrict tops its district
    assert {c[0] for c in surin["centres"]} <= set(with_risk["subdistrict_code"])
    total = patrol_plan(conn, province="32", per_district=None, total=25, as_of=AS_OF)
    assert len(total) == 25
    assert total["district_code"].nunique() == min(districts, 25)
    path = write_patrols(table, tmp_path / "patrols.xlsx")
    sheet = load_workbook(path).active
    headers = [c.value for c in sheet[1]]
    assert headers[:4] == ["ลำดับอำเภอ", "รหัสอำเภอ", "อำเภอ", "ลำดับความสำคัญในอำเภอ"]
    assert sheet.max_row == len(table) + 1
    assert sheet.cell(2, 3).value  # Thai district name filled in
