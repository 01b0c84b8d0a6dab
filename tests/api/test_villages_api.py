"""Villages over the API (issue 16): rankings, explanations, OGC items, targets and KPI."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from dbclean import clean_data_tables
from fastapi.testclient import TestClient
from plannerkit import SIGNED_IN, planner_client

from com.analysis import risk
from com.demo import load_demo_data

pytestmark = pytest.mark.db



@pytest.fixture(scope="module")
def demo(engine, test_settings):
    """The demo (280 points, 24 synthetic villages with their FY 2568 list)."""
    clean_data_tables(engine)
    load_demo_data(engine, test_settings, with_kpi_data=True)
    yield engine
    clean_data_tables(engine)


@pytest.fixture(scope="module")
def client(demo, test_settings) -> Iterator[TestClient]:
    with planner_client(test_settings) as c:
        yield c


def test_rankings_and_explanations_at_village_level(client, demo):
    r = client.get("/api/rankings", params={"province": "32", "level": "village"},
                   headers=SIGNED_IN)
    assert r.status_code == 200, r.text
    areas = r.json()["areas"]
    with demo.connect() as conn:
        expected = risk.rank_areas(conn, level="village", province="32")
    assert [a["village_code"] for a in areas] == list(expected["village_code"])
    top = areas[0]
    explained = client.get(f"/api/rankings/{top['village_code']}", headers=SIGNED_IN).json()
    assert explained["level"] == "village" and explained["rank"] == 1
    assert explained["risk_score"] == pytest.approx(top["risk_score"])
    # Public callers: villages with 1 to k-1 points are suppressed like subdistricts.
    public = client.get("/api/rankings", params={"province": "32", "level": "village"}).json()
    totals = {}
    with demo.connect() as conn:
        totals = risk.layer_point_totals(conn, "village")
    small = {c for c, n in totals.items() if 0 < n < 5}
    shown = {a["village_code"] for a in public["areas"] if a.get("risk_score") is not None}
    assert not small & shown


def test_ogc_villages_items(client, demo):
    doc = client.get("/ogc/collections/villages/items", params={"limit": 100}).json()
    with demo.connect() as conn:
        codes = conn.execute(sa.text(
            "SELECT code FROM area_features WHERE layer = 'villages' ORDER BY code")).scalars()
        expected = list(codes)
    got = sorted(f["properties"]["code"] for f in doc["features"])
    assert got == expected and len(got) == 24
    feature = doc["features"][0]
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert feature["properties"]["catchment_derived"] is True
    assert feature["properties"]["plan_status"] in ("planned", "in_progress", "done")
    one = client.get(f"/ogc/collections/villages/items/{expected[0]}")
    assert one.status_code == 200 and one.json()["properties"]["code"] == expected[0]
    done = client.get("/ogc/collections/villages/items",
                      params={"plan_status": "done", "limit": 100}).json()
    assert {f["properties"]["plan_status"] for f in done["features"]} == {"done"}


def test_village_targets_and_kpi_progress(client):
    listing = client.get("/api/targets", params={"province": "32", "fy": 2568,
                                                 "level": "village"}).json()
    assert listing["count"] == 24 and listing["level"] == "village"
    report = client.get("/api/kpi", params={"province": "32", "fy": 2568, "level": "village"})
    assert report.status_code == 200, report.text
    total = report.json()["progress"]["total"]
    assert (total["areas"], total["done"] + total["remaining"]) == (24, 24)
    assert total["text_en"].startswith(f"{total['done']} of 24 villages done")
    assert client.get("/api/kpi", params={"province": "32", "fy": 2568,
                                          "level": "h3:7"}).status_code == 400


def run_com(*args, database_url, cwd):
    import os
    import subprocess
    import sys

    env = {**os.environ, "COM_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "com.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def test_cli_imports_a_custom_layer_and_ranks_villages_and_layers(demo, database_url,
                                                                    tmp_path):
    import csv
    import json

    zones = tmp_path / "zones.csv"
    zones.write_text(
        "code,name,wkt\nZ1,เขตลาดตระเวนด่าน,\"POLYGON((103.3 14.3,103.9 14.3,103.9 14.6,"
        "103.3 14.6,103.3 14.3))\"\nZ2,จุด,POINT(103.5 14.5)\n", encoding="utf-8")
    done = run_com("import", str(zones), "--kind", "areas", "--layer", "patrol_zones", "-q",
                   database_url=database_url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert (report["stored"], report["rejected"]) == (1, 1)
    assert report["row_reports"][1]["reason_th"].startswith("พื้นที่ของชั้นข้อมูลกำหนดเอง")
    out = tmp_path / "villages.csv"
    ranked = run_com("rank", "--level", "village", "--province", "32", "--out", str(out), "-q",
                     database_url=database_url, cwd=tmp_path)
    assert ranked.returncode == 0, ranked.stderr
    rows = list(csv.DictReader(out.open(encoding="utf-8-sig")))
    assert len(rows) == 24 and "cat_drugs" in rows[0] and "ctx_land_border" in rows[0]
    layer = run_com("rank", "--level", "layer:patrol_zones", "-q",
                    database_url=database_url, cwd=tmp_path)
    assert layer.returncode == 0, layer.stderr
    assert json.loads(layer.stdout)["top"][0]["area_code"] == "Z1"
    bad = run_com("rank", "--level", "layer:nothing", "-q", database_url=database_url,
                  cwd=tmp_path)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr


def test_the_targets_page_shows_plan_progress(client):
    page = client.get("/targets", params={"province": "32"})
    assert page.status_code == 200, page.text
    report = client.get("/api/kpi", params={"province": "32", "fy": 2568, "level": "village"})
    text_th = report.json()["progress"]["total"]["text_th"]
    assert 'id="plan-progress"' in page.text and text_th in page.text
