"""CCTV plan API and `com cctv` / `com patrols` over a real PostGIS: roles, saving, listing,
the curve PNG, sensitive sites, bad requests, and the CLI giving the same answer as the API."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from dbclean import clean_data_tables
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pyproj import Geod

from api.main import create_app
from com.geodata import assign_subdistricts
from com.security.access import Principal

pytestmark = pytest.mark.db

GEOD = Geod(ellps="WGS84")
AS_OF = date(2025, 9, 30)
USERS = {
    "viewer": Principal(kind="user", name="viewer", role="viewer"),
    "planner": Principal(kind="user", name="planner-surin", role="planner", province_code="32"),
    "planner33": Principal(kind="user", name="planner-sisaket", role="planner",
                           province_code="33"),
    "admin": Principal(kind="user", name="admin", role="admin"),
}


def _seed(engine) -> None:
    """Clusters of risk points in Surin; the heaviest is all drugs (a sensitive category)."""
    rng = np.random.default_rng(11)
    with engine.begin() as conn:
        centres = conn.execute(sa.text(
            "SELECT DISTINCT ON (district_code) ST_X(rep_point), ST_Y(rep_point) "
            "FROM subdistricts WHERE province_code = '32' ORDER BY district_code, code LIMIT 5"
        )).all()
        for i, (lon, lat) in enumerate(centres):
            n = 20 if i == 0 else 6
            az, dist = rng.uniform(0, 360, n), np.abs(rng.normal(0, 60, n))
            plon, plat, _ = GEOD.fwd(np.full(n, lon), np.full(n, lat), az, dist)
            for x, y in zip(plon, plat, strict=True):
                conn.execute(sa.text(
                    "INSERT INTO risk_points (category, severity, reported_on, geom) VALUES "
                    "(:c, :s, :d, ST_SetSRID(ST_MakePoint(:x, :y), 4326))"
                ), {"c": "drugs" if i == 0 else "smuggling", "s": int(rng.integers(2, 6)),
                    "d": AS_OF - timedelta(days=int(rng.integers(0, 400))), "x": float(x),
                    "y": float(y)})
        assign_subdistricts(conn)


@pytest.fixture(scope="module")
def client(engine, test_settings) -> Iterator[TestClient]:

    clean_data_tables(engine)
    _seed(engine)
    app = create_app(test_settings)
    app.state.principal_resolvers.append(lambda request: USERS.get(
        request.headers.get("x-test-user", "")))
    with TestClient(app) as c:
        yield c
    clean_data_tables(engine)


def _as(user: str) -> dict[str, str]:
    return {"x-test-user": user}


BODY = {"province": "32", "k": 3, "radius_m": 200, "as_of": AS_OF.isoformat(),
        "existing": "none"}


def test_plan_returns_geojson_with_the_figures(client):
    res = client.post("/api/cctv/plan", json=BODY, headers=_as("admin"))
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("application/geo+json")
    fc = res.json()
    props = fc["properties"]
    assert fc["type"] == "FeatureCollection"
    assert props["method"] == "exact" and props["gap"] <= 1e-6
    assert props["k"] == 3 and props["radius_m"] == 200
    assert 0 < props["covered_weight"] <= props["total_weight"]
    assert props["share_covered"] == pytest.approx(
        props["covered_weight"] / props["total_weight"], abs=1e-6)
    assert props["curve"][-1]["covered_weight"] == pytest.approx(props["covered_weight"])
    sites = [f for f in fc["features"] if f["properties"]["kind"] == "site"]
    assert len(sites) == 3
    assert all(s["properties"]["subdistrict_code"].startswith("32") for s in sites)
    assert not any(s["properties"].get("coarsened") for s in sites)


def test_who_may_plan_and_save(client, engine):
    assert client.post("/api/cctv/plan", json=BODY).status_code == 401
    assert client.post("/api/cctv/plan", json={**BODY, "save": True, "name": "x"},
                       headers=_as("viewer")).status_code == 403
    assert client.post("/api/cctv/plan", json={**BODY, "province": "33"},
                       headers=_as("planner")).status_code == 403
    res = client.post("/api/cctv/plan", json={**BODY, "save": True, "name": "แผนกล้อง 2568"},
                      headers=_as("planner"))
    assert res.status_code == 201, res.text
    plan_id = res.json()["properties"]["plan_id"]
    listed = client.get("/api/cctv/plans", headers=_as("planner")).json()["plans"]
    assert plan_id in [p["id"] for p in listed]
    assert client.get("/api/cctv/plans", headers=_as("planner33")).json()["plans"] == []
    one = client.get(f"/api/cctv/plans/{plan_id}", headers=_as("planner"))
    assert one.status_code == 200
    assert one.json()["properties"]["name"] == "แผนกล้อง 2568"
    assert one.json()["properties"]["objective"] == res.json()["properties"]["objective"]
    assert client.get(f"/api/cctv/plans/{plan_id}", headers=_as("planner33")).status_code == 403
    assert client.get("/api/cctv/plans/999999", headers=_as("admin")).status_code == 404
    png = client.get(f"/api/cctv/plans/{plan_id}/curve.png", headers=_as("viewer"))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    with engine.connect() as conn:
        audit = conn.execute(sa.text(
            "SELECT actor, target FROM audit_log WHERE action = 'cctv.plan'")).all()
    assert [tuple(a) for a in audit] == [("planner-surin", f"cctv_plan:{plan_id}")]


def test_sites_on_sensitive_points_are_coarsened_for_viewers(client, engine):
    body = {**BODY, "k": 1}
    exact = client.post("/api/cctv/plan", json=body, headers=_as("admin")).json()
    shown = client.post("/api/cctv/plan", json=body, headers=_as("viewer")).json()
    site = next(f for f in exact["features"] if f["properties"]["kind"] == "site")
    hidden = next(f for f in shown["features"] if f["properties"]["kind"] == "site")
    assert site["properties"]["site_category"] == "drugs"
    # At the subdistrict's representative point, as the OGC API, tiles and the map show it.
    with engine.connect() as conn:
        rep = conn.execute(sa.text(
            "SELECT ST_X(rep_point), ST_Y(rep_point) FROM subdistricts WHERE code = :c"),
            {"c": site["properties"]["subdistrict_code"]}).one()
    assert hidden["geometry"]["coordinates"] == pytest.approx(list(rep))
    assert hidden["geometry"]["coordinates"] != site["geometry"]["coordinates"]
    assert hidden["properties"]["coarsened"] is True
    circle = next(f for f in shown["features"] if f["properties"]["kind"] == "coverage")
    assert circle["geometry"] is None
    assert shown["properties"]["objective"] == exact["properties"]["objective"]


def test_budget_with_inline_sites_and_costs(client):
    exact = client.post("/api/cctv/plan", json={**BODY, "k": 5}, headers=_as("admin")).json()
    sites = [{"site_id": f["properties"]["site_id"], "lon": f["geometry"]["coordinates"][0],
              "lat": f["geometry"]["coordinates"][1]}
             for f in exact["features"] if f["properties"]["kind"] == "site"]
    body = {**BODY, "k": None, "budget": 25000, "candidates": sites,
            "costs": {sites[0]["site_id"]: 20000}, "default_cost": 10000}
    res = client.post("/api/cctv/plan", json=body, headers=_as("admin"))
    assert res.status_code == 200, res.text
    chosen = [f["properties"] for f in res.json()["features"]
              if f["properties"]["kind"] == "site"]
    assert sum(s["cost"] for s in chosen) <= 25000
    assert res.json()["properties"]["budget"] == 25000


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({**BODY, "budget": 100}, 422, "either k"),
        ({**BODY, "k": None}, 422, "either k"),
        ({**BODY, "candidates": "/etc/passwd"}, 422, "uploaded with POST /api/uploads"),
        ({**BODY, "candidates": "grid:abc"}, 422, "grid:SPACING"),
        ({**BODY, "radius_m": 0}, 422, "radius_m"),
        ({**BODY, "save": True}, 422, "name"),
        ({**BODY, "district": "3301"}, 422, "not in province"),
    ],
)
def test_bad_requests_are_4xx_with_a_reason(client, body, status, text):
    res = client.post("/api/cctv/plan", json=body, headers=_as("admin"))
    assert res.status_code == status, res.text
    assert text in res.text


def test_patrol_list_json_and_xlsx(client, tmp_path):
    res = client.get("/api/cctv/patrols?province=32&per_district=2", headers=_as("viewer"))
    assert res.status_code == 200
    rows = res.json()["patrols"]
    assert rows[0]["risk_score"] == max(r["risk_score"] for r in rows)
    assert max(r["priority"] for r in rows) == 2
    xlsx = client.get("/api/cctv/patrols?province=32&format=xlsx", headers=_as("viewer"))
    assert xlsx.status_code == 200
    path = tmp_path / "p.xlsx"
    path.write_bytes(xlsx.content)
    assert load_workbook(path).active.cell(1, 5).value == "รหัสตำบล"


def test_cli_gives_the_api_answer(client, database_url, geodata_dir, tmp_path):
    env = {**os.environ, "COM_DATABASE_URL": database_url, "COM_GEODATA_DIR": str(geodata_dir)}
    cams = tmp_path / "cameras.csv"
    cams.write_text("name,lat,lon,radius_m\nไกล,6.0,101.0,200\n", encoding="utf-8")
    # as a user runs it: a subprocess configured by COM_ variables
    out = subprocess.run(
        [sys.executable, "-m", "com.cli", "cctv", "--province", "32", "--k", "3", "--existing",
         str(cams), "--out", "sites.geojson", "--demand-out", "demand.csv", "--chart",
         "curve.png"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=180)
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    fc = json.loads((tmp_path / "sites.geojson").read_text(encoding="utf-8"))
    assert fc["properties"]["objective"] == summary["objective"]
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"
    demand = pd.read_csv(tmp_path / "demand.csv", keep_default_na=False)
    assert demand["weight"][demand["covered_by"] != ""].sum() == pytest.approx(
        summary["covered_weight"], rel=1e-6)
    api = client.post("/api/cctv/plan", json={**BODY, "as_of": date.today().isoformat()},
                      headers=_as("admin")).json()
    assert api["properties"]["objective"] == pytest.approx(summary["objective"], rel=1e-9)


def test_cli_patrols_and_one_line_errors(database_url, tmp_path, monkeypatch, capsys):
    from com.cli import main
    from com.config.settings import get_settings

    monkeypatch.setenv("COM_DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    try:
        monkeypatch.setattr(sys, "argv", ["com", "cctv", "--province", "32", "--k", "3",
                                          "--budget", "5"])
        with pytest.raises(SystemExit) as exc:
            main()
        assert exc.value.code == 1
        assert capsys.readouterr().err.strip().splitlines() == [
            "error: give either the number of cameras (k) or a budget, not both"]
        monkeypatch.setattr(sys, "argv", ["com", "patrols", "--province", "32",
                                          "--per-district", "3", "--out", "p.xlsx"])
        main()
        assert json.loads(capsys.readouterr().out)["districts"] == 17
        assert load_workbook(tmp_path / "p.xlsx").active.cell(1, 1).value == "ลำดับอำเภอ"
    finally:
        get_settings.cache_clear()
