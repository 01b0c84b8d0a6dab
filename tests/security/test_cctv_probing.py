"""The CCTV planner gives a caller without the sensitive right no more than the coarsened data.

Issue 11, item 1: with caller-chosen candidates, ``POST /api/cctv/plan`` answered which
candidate covers the most weight; a coarse grid of candidates at a large radius, then a fine
grid at a small radius inside the cell that won, placed a drug point within metres in two
requests. Callers without the ``sensitive`` permission are now planned on the coarsened
positions (a sensitive point at its subdistrict's representative point, as in the OGC API,
tiles and exports): the answers are the same wherever the point lies in its subdistrict, and
the best estimate they give is the representative point. Every plan computed leaves an audit
row. Item 13: heavy optimisation by viewers and read keys is capped with 422s naming the limit.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from dbclean import clean_data_tables
from fastapi.testclient import TestClient
from pyproj import Geod

from api.main import create_app
from com.geodata import assign_subdistricts
from com.security import users
from com.security.access import CLI
from com.security.apikeys import create_key

pytestmark = pytest.mark.db

GEOD = Geod(ellps="WGS84")
PASSWORD = "รหัสผ่านยาวพอสำหรับทดสอบ-" + uuid.uuid4().hex[:6]
GRID = 30  # candidates per side in each round, as in the report
COARSE_RADIUS_M = 553.0
FINE_RADIUS_M = 60.0  # the smallest radius a viewer may ask with its own candidates (>= 50)


def _metres(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(GEOD.inv(a[0], a[1], b[0], b[1])[2])


@pytest.fixture(scope="module")
def area(engine) -> Iterator[dict[str, Any]]:
    """A drug point (heavy weight) well inside a large Surin subdistrict, more than 2 km from
    its representative point, a second place in the same subdistrict to move it to, and six
    light ordinary points about 1 km around it."""
    clean_data_tables(engine)
    with engine.begin() as conn:
        row = conn.execute(sa.text("""
            SELECT s.code, s.district_code, ST_X(s.rep_point) AS rep_lon,
                   ST_Y(s.rep_point) AS rep_lat,
                   ST_XMin(s.geom) AS x0, ST_YMin(s.geom) AS y0,
                   ST_XMax(s.geom) AS x1, ST_YMax(s.geom) AS y1,
                   ARRAY(SELECT ARRAY[ST_X(p.geom), ST_Y(p.geom)] FROM ST_Dump(ST_GeneratePoints(
                       ST_Buffer(s.geom::geography, -800)::geometry, 40, 77)) p
                         WHERE ST_Distance(p.geom::geography, s.rep_point::geography) > 2000
                   ) AS far
            FROM subdistricts s
            WHERE s.province_code = '32'
            ORDER BY ST_Area(s.geom::geography) DESC, s.code LIMIT 1
        """)).one()
        far = [tuple(p) for p in row.far]
        true = far[0]
        moved = next(p for p in far[1:] if _metres(p, true) > 1500)
        recent = date.today() - timedelta(days=5)
        insert = sa.text("""
            INSERT INTO risk_points (name, category, severity, incident_count, reported_on, geom)
            VALUES (:n, :cat, :sev, :inc, :d, ST_SetSRID(ST_MakePoint(:x, :y), 4326))
            RETURNING id""")
        drug = conn.execute(insert, {"n": "จุดส่งยาทดสอบ", "cat": "drugs", "sev": 5,
                                     "inc": 200, "d": recent, "x": true[0],
                                     "y": true[1]}).scalar_one()
        for i in range(6):
            lon, lat, _ = GEOD.fwd(true[0], true[1], 60 * i, 1000)
            conn.execute(insert, {"n": f"จุดทั่วไป {i}", "cat": "other_crime", "sev": 1,
                                  "inc": 1, "d": recent, "x": lon, "y": lat})
        assign_subdistricts(conn)
        assert conn.execute(sa.text("SELECT subdistrict_code FROM risk_points WHERE id = :i"),
                            {"i": drug}).scalar() == row.code
    yield {"code": row.code, "district": row.district_code, "drug": drug, "true": true,
           "moved": moved, "rep": (row.rep_lon, row.rep_lat),
           "bbox": (row.x0, row.y0, row.x1, row.y1)}
    clean_data_tables(engine)


@pytest.fixture(scope="module")
def client(area, test_settings) -> Iterator[TestClient]:
    with TestClient(create_app(test_settings), follow_redirects=False) as c:
        yield c


def _sign_in(client: TestClient, engine, role: str) -> tuple[str, dict[str, str]]:
    name = f"p{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        users.create_user(conn, username=name, password=PASSWORD, role=role)
    client.cookies.clear()
    form = client.get("/login")
    token = form.cookies.get("com_login_csrf") or client.cookies.get("com_login_csrf")
    done = client.post("/login", data={"username": name, "password": PASSWORD,
                                       "csrf_token": token, "next": "/"})
    assert done.status_code == 303, done.text
    return name, {"X-CSRF-Token": client.get("/api/session").json()["csrf_token"]}


def _read_key(engine, *, sensitive: bool = False) -> tuple[str, dict[str, str]]:
    with engine.begin() as conn:
        created = create_key(conn, name=f"probe {uuid.uuid4().hex[:6]}", scope="read",
                             sensitive=sensitive, created_by=CLI)
    return f"key:{created.info.prefix}", {"X-API-Key": created.key}


def _caller(client: TestClient, engine, who: str) -> tuple[str, dict[str, str]]:
    client.cookies.clear()
    if who == "viewer":
        return _sign_in(client, engine, "viewer")
    if who == "admin":
        return _sign_in(client, engine, "admin")
    return _read_key(engine, sensitive=who == "sensitive key")


def _grid(x0: float, y0: float, x1: float, y1: float) -> list[dict[str, Any]]:
    """GRID x GRID candidates at the centres of the cells of a box; the id holds the place."""
    xs = x0 + (np.arange(GRID) + 0.5) * (x1 - x0) / GRID
    ys = y0 + (np.arange(GRID) + 0.5) * (y1 - y0) / GRID
    return [{"site_id": f"{x:.7f},{y:.7f}", "lon": float(x), "lat": float(y)}
            for x in xs for y in ys]


def _chosen(fc: dict[str, Any]) -> tuple[float, float]:
    site = next(f for f in fc["features"] if f["properties"]["kind"] == "site")
    lon, lat = site["properties"]["site_id"].split(",")
    return float(lon), float(lat)


def _attack(client: TestClient, area: dict[str, Any], headers: dict[str, str]
            ) -> tuple[tuple[float, float], list[dict[str, Any]]]:
    """The two-round candidate-grid attack; return the position learnt and the answers."""
    x0, y0, x1, y1 = area["bbox"]
    body = {"province": "32", "district": area["district"], "k": 1, "existing": "none"}
    first = client.post("/api/cctv/plan", headers=headers, json={
        **body, "radius_m": COARSE_RADIUS_M, "candidates": _grid(x0, y0, x1, y1)})
    assert first.status_code == 200, first.text
    lon, lat = _chosen(first.json())
    half_x, half_y = (x1 - x0) / GRID / 2, (y1 - y0) / GRID / 2
    second = client.post("/api/cctv/plan", headers=headers, json={
        **body, "radius_m": FINE_RADIUS_M,
        "candidates": _grid(lon - half_x, lat - half_y, lon + half_x, lat + half_y)})
    assert second.status_code == 200, second.text
    answers = [first.json(), second.json()]
    for fc in answers:
        fc["properties"].pop("seconds", None)  # wall time: the only figure allowed to vary
    return _chosen(second.json()), answers


def _move_drug_point(engine, area: dict[str, Any], to: tuple[float, float]) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE risk_points SET geom = ST_SetSRID(ST_MakePoint(:x, :y), "
                             "4326) WHERE id = :i"), {"x": to[0], "y": to[1], "i": area["drug"]})


def _audit_count(engine, actor: str) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text(
            "SELECT count(*) FROM audit_log WHERE actor = :a AND action LIKE 'cctv.plan%'"),
            {"a": actor}).scalar_one()


@pytest.mark.parametrize("who", ["viewer", "read key"])
def test_candidate_grids_learn_no_more_than_the_representative_point(client, engine, area,
                                                                     who):
    actor, headers = _caller(client, engine, who)
    try:
        learnt, answers = _attack(client, area, headers)
        _move_drug_point(engine, area, area["moved"])
        learnt_moved, answers_moved = _attack(client, area, headers)
    finally:
        _move_drug_point(engine, area, area["true"])
    # The answers do not depend on where the point lies in its subdistrict ...
    assert answers_moved == answers
    # ... so the best they tell is the representative point, kilometres from the true place.
    assert _metres(learnt, area["rep"]) <= FINE_RADIUS_M
    assert _metres(learnt, area["true"]) > 1500
    for fc in answers:
        for feature in fc["features"]:
            props = feature["properties"]
            assert area["drug"] not in props.get("point_ids", [])
            assert "drugs" not in props.get("categories", {})
    # Every plan computed, saved or not, leaves an audit row.
    assert _audit_count(engine, actor) == 4


@pytest.mark.parametrize("who", ["admin", "sensitive key"])
def test_those_with_the_right_still_plan_on_the_exact_places(client, engine, area, who):
    actor, headers = _caller(client, engine, who)
    learnt, answers = _attack(client, area, headers)
    assert _metres(learnt, area["true"]) <= FINE_RADIUS_M
    first = next(f for f in answers[0]["features"] if f["properties"]["kind"] == "site")
    assert first["properties"]["categories"].get("drugs") == 1
    assert _audit_count(engine, actor) == 2


@pytest.mark.parametrize("who", ["viewer", "read key"])
@pytest.mark.parametrize(("change", "limit"), [
    ({"k": 2000}, "COM_CCTV_MAX_K"),
    ({"time_limit_s": 120}, "COM_CCTV_MAX_TIME_LIMIT_S"),
    ({"candidates": "grid:10"}, "COM_CCTV_MAX_CANDIDATES"),
    ({"radius_m": 19, "candidates": [{"site_id": "a", "lon": 103.5, "lat": 14.9}]},
     "COM_CCTV_MIN_RADIUS_M"),
])
def test_heavy_plans_are_refused_to_non_planners_naming_the_limit(client, engine, area, who,
                                                                  change, limit):
    _, headers = _caller(client, engine, who)
    body = {"province": "32", "k": 3, "existing": "none", **change}
    res = client.post("/api/cctv/plan", headers=headers, json=body)
    assert res.status_code == 422, res.text
    assert res.headers["content-type"].startswith("application/problem+json")
    assert limit in res.json()["detail"]


def test_planners_are_not_capped(client, engine, area):
    _, headers = _caller(client, engine, "admin")
    res = client.post("/api/cctv/plan", headers=headers, json={
        "province": "32", "district": area["district"], "k": 200, "time_limit_s": 60,
        "existing": "none", "radius_m": 19,
        "candidates": [{"site_id": "a", "lon": area["true"][0], "lat": area["true"][1]}]})
    assert res.status_code == 200, res.text
    _, headers = _caller(client, engine, "viewer")
    res = client.post("/api/cctv/plan", headers=headers, json={
        "province": "32", "district": area["district"], "k": 3, "existing": "none"})
    assert res.status_code == 200, res.text  # the default time limit fits the viewer's cap
