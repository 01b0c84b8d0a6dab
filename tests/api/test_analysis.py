"""The analysis API and the `com rank` command on the synthetic Surin demo data."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from dbclean import clean_data_tables
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from plannerkit import SIGNED_IN, planner_client

from com.demo import load_demo_data


@pytest.fixture(scope="module")
def demo(engine, test_settings):
    """The 280 synthetic Surin points (data tables emptied before and after the module)."""

    clean_data_tables(engine)
    load_demo_data(engine, test_settings)
    yield engine
    clean_data_tables(engine)


@pytest.fixture(scope="module")
def client(demo, test_settings) -> Iterator[TestClient]:
    with planner_client(test_settings) as c:
        yield c


def run_com(*args, database_url, cwd):
    env = {**os.environ, "COM_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "com.cli", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=180)


def test_com_rank_and_api_rankings_agree(client, database_url, tmp_path):
    out = run_com("rank", "--province", "32", "--out", str(tmp_path / "rank.csv"),
                  database_url=database_url, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    with (tmp_path / "rank.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    r = client.get("/api/rankings", params={"province": "32"}, headers=SIGNED_IN)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 159 == len(rows)
    api_rows = body["areas"]
    assert [a["subdistrict_code"] for a in api_rows] == [row["subdistrict_code"] for row in rows]
    for a, row in zip(api_rows, rows, strict=True):
        assert a["risk_score"] == pytest.approx(float(row["risk_score"]), rel=1e-12)
        assert a["rank"] == int(row["rank"])
        assert a["points"] == int(row["points"])
    assert sum(a["points"] for a in api_rows) == 280
    assert api_rows[0]["risk_score"] > 0


def test_xlsx_opens_with_thai_headers(demo, database_url, tmp_path):
    out = run_com("rank", "--province", "32", "--level", "district", "--out",
                  str(tmp_path / "rank.xlsx"), database_url=database_url, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    sheet = load_workbook(tmp_path / "rank.xlsx").active
    headers = [c.value for c in sheet[1]]
    assert headers[:7] == ["รหัสอำเภอ", "ชื่ออำเภอ", "ชื่อภาษาอังกฤษ", "คะแนนความเสี่ยง",
                           "คะแนนต่อ ตร.กม.", "ลำดับ", "จำนวนจุดเสี่ยง"]
    assert "คะแนนจากยาเสพติด" in headers
    assert sheet.max_row == 18  # header + 17 districts of Surin


def test_cli_user_errors_are_one_line(demo, database_url, tmp_path):
    out = run_com("rank", "--level", "h3:99", database_url=database_url, cwd=tmp_path)
    assert out.returncode == 1
    assert out.stderr.strip().startswith("error: level 'h3:99'")
    assert "Traceback" not in out.stderr


def test_public_callers_do_not_see_small_areas(client, test_settings):
    public = client.get("/api/rankings", params={"province": "32"}).json()["areas"]
    signed = client.get("/api/rankings", params={"province": "32"}, headers=SIGNED_IN).json()
    k = test_settings.small_area_k
    small = [a["subdistrict_code"] for a in signed["areas"] if 0 < a["points"] < k]
    assert small
    hidden = {a["subdistrict_code"]: a for a in public if a.get("suppressed")}
    assert set(small) == set(hidden)
    assert all(hidden[c]["risk_score"] is None and hidden[c]["points"] is None for c in small)
    shown = client.get(f"/api/rankings/{small[0]}").json()
    assert shown["suppressed"] is True and "risk_score" not in shown


def test_geojson_and_h3(client):
    r = client.get("/api/rankings", params={"province": "32", "level": "h3:7",
                                            "format": "geojson", "limit": 5},
                   headers=SIGNED_IN)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    doc = r.json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 5
    props = doc["features"][0]["properties"]
    assert props["rank"] == 1 and len(props["h3_cell"]) == 15
    assert doc["features"][0]["geometry"]["type"] == "Polygon"


def test_explain_route(client):
    top = client.get("/api/rankings", params={"province": "32", "limit": 1}).json()["areas"][0]
    assert top["points"] >= 5  # the top area is not a small one
    r = client.get(f"/api/rankings/{top['subdistrict_code']}")
    assert r.status_code == 200
    doc = r.json()
    assert doc["rank"] == 1 and doc["risk_score"] == pytest.approx(top["risk_score"])
    parts = sum(c["contribution"] for c in doc["categories"]) + sum(
        f["contribution"] for f in doc["factors"])
    assert parts == pytest.approx(doc["risk_score"], rel=1e-9)
    for point in doc["top_points"]:  # anonymous callers never see exact sensitive points
        if point["category"] == "drugs":
            assert point.get("coarsened") is True and point["name"] is None
    assert client.get("/api/rankings/99999x").status_code == 422


def test_hotspots_route(client):
    r = client.get("/api/hotspots", params={"province": "32", "permutations": 99, "seed": 7})
    assert r.status_code == 200
    body = r.json()
    assert body["count"] == 159 and body["permutations"] == 99
    assert {"gi_z", "gi_p", "gi_p_fdr", "hotspot_class"} <= set(body["areas"][0])
    again = client.get("/api/hotspots", params={"province": "32", "permutations": 99, "seed": 7})
    assert again.json()["areas"] == body["areas"]  # seeded: the same answer


def test_targets_need_a_planner_then_kpi(client):
    body = {"province": "32", "fiscal_year_be": 2568, "top": 5}
    assert client.post("/api/targets", json=body).status_code == 401
    r = client.post("/api/targets", json=body, headers={"x-test-user": "planner"})
    assert r.status_code == 201, r.text
    assert r.json()["count"] == 5
    assert client.post("/api/targets", json=body,
                       headers={"x-test-user": "planner"}).status_code == 409
    shown = client.get("/api/targets", params={"province": "32", "fy": 2568}).json()
    assert [a["subdistrict_code"] for a in shown["areas"]] == [
        a["subdistrict_code"] for a in r.json()["areas"]]
    lists = client.get("/api/targets").json()["lists"]
    assert any(x["fiscal_year_be"] == 2568 for x in lists)
    report = client.get("/api/kpi", params={"province": "32", "fy": 2568})
    assert report.status_code == 200, report.text
    doc = report.json()
    assert doc["targets"]["this"]["incidents"] >= 0
    assert doc["significance"]["summary"] in (
        "ไม่มีนัยสำคัญทางสถิติ — likely noise", "มีนัยสำคัญทางสถิติ — statistically significant")
    missing = client.get("/api/kpi", params={"province": "32", "fy": 2560})
    assert missing.status_code == 404


def test_province_staff_explain_an_h3_cell_with_their_provinces_points(demo, test_settings):
    """An H3 code is hex, not a province: staff get the cell with their own provinces' points
    (was 403: the code's first two digits were read as a province)."""
    from api.main import create_app
    from com.security.access import Principal

    staff = {p: Principal(kind="user", name=f"staff{p}", role="staff", province_code=p)
             for p in ("31", "32")}
    app = create_app(test_settings)
    app.state.principal_resolvers.insert(
        0, lambda request: staff.get(request.headers.get("x-staff", "")))
    with TestClient(app) as c:
        top = c.get("/api/rankings", params={"province": "32", "level": "h3:7", "limit": 1},
                    headers={"x-staff": "32"}).json()["areas"][0]
        cell = top["h3_cell"]
        assert cell[:2].isdigit() and top["points"] > 0
        mine = c.get(f"/api/rankings/{cell}", headers={"x-staff": "32"})
        assert mine.status_code == 200, mine.text
        assert mine.json()["points"] == top["points"]  # the demo's points are all in Surin
        assert mine.json()["risk_score"] == pytest.approx(top["risk_score"])
        other = c.get(f"/api/rankings/{cell}", headers={"x-staff": "31"})
        assert other.status_code == 200, other.text
        assert other.json()["points"] == 0 and other.json()["top_points"] == []
