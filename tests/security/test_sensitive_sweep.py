"""No route gives the exact place of a sensitive point to a caller without the right to see it.

Issue 7/8: points of sensitive categories (drug hand-off spots, informants) are served at their
subdistrict's representative point to callers without the "sensitive" permission, in the API,
tiles, exports, the map and CCTV plans alike. This test plants a drug point at a known exact
place and sweeps every route that shows points, plans or areas: its coordinates (to 5 decimals,
about 1 m) must appear in no body for anonymous callers, a viewer, a planner and a read key,
and must appear for an admin and a key with the "sensitive" permission (so the sweep can fail).
"""

from __future__ import annotations

import io
import math
import re
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from com.ogc.sources import PLAN_ID_FACTOR
from com.security import users
from com.security.access import CLI
from com.security.apikeys import create_key
from com.siting.planner import plan_for_area
from com.siting.repository import save_plan

pytestmark = pytest.mark.db

NEAR_M = 3.0  # a served location this close to the planted one gives it away
PASSWORD = "รหัสผ่านยาวพอสำหรับทดสอบ-" + uuid.uuid4().hex[:6]
SECRET_NAME = "บ้านสายลับทดสอบ"  # the drug point's name: withheld with its place


@pytest.fixture(scope="module")
def planted(engine) -> Iterator[dict[str, Any]]:
    """A drug point at an exact place (5 decimals) inside a Surin subdistrict, 6 ordinary
    points around it (so public layers do not suppress the area), and a saved CCTV plan whose
    first site stands on the drug point."""
    with engine.begin() as conn:
        # A place well inside a large subdistrict, far from its representative point.
        row = conn.execute(sa.text("""
            SELECT s.code, s.district_code, ST_X(p) AS lon, ST_Y(p) AS lat
            FROM subdistricts s,
                 LATERAL (SELECT (ST_Dump(ST_GeneratePoints(
                     ST_Buffer(s.geom::geography, -800)::geometry, 1, 1234))).geom AS p) g
            WHERE s.province_code = '32'
              AND ST_Distance(p::geography, s.rep_point::geography) > 2000
            ORDER BY ST_Area(s.geom::geography) DESC, s.code LIMIT 1
        """)).one()
        lon, lat = round(row.lon, 5), round(row.lat, 5)
        code, district = row.code, row.district_code
        inside = conn.execute(sa.text(
            "SELECT ST_Contains(geom, ST_SetSRID(ST_MakePoint(:x, :y), 4326)) "
            "FROM subdistricts WHERE code = :c"), {"x": lon, "y": lat, "c": code}).scalar()
        assert inside
        recent = date.today() - timedelta(days=10)
        insert = sa.text("""
            INSERT INTO risk_points (name, category, severity, incident_count, reported_on,
                geom, subdistrict_code, district_code, province_code)
            VALUES (:n, :cat, :sev, :inc, :d, ST_SetSRID(ST_MakePoint(:x, :y), 4326), :c,
                    :dist, '32') RETURNING id""")
        drug = conn.execute(insert, {"n": SECRET_NAME, "cat": "drugs", "sev": 5,
                                     "inc": 200, "d": recent, "x": lon, "y": lat, "c": code,
                                     "dist": district}).scalar_one()
        others = [conn.execute(insert, {
            "n": f"จุดทั่วไป {i}", "cat": "other_crime", "sev": 2, "inc": 1, "d": recent,
            # 0.01 degree rings (about 1 km) around the drug point, inside the subdistrict.
            "x": lon + 0.01 * math.cos(i), "y": lat + 0.01 * math.sin(i), "c": code,
            "dist": district}).scalar_one() for i in range(6)]
        plan = plan_for_area(conn, province="32", district=district, k=1,
                             radius_m=5, candidates="points", existing="none")
        plan_id = save_plan(conn, plan, name="แผนทดสอบจุดลับ", principal=CLI)
        site = plan.sites.iloc[0]
        assert (round(site.lon, 5), round(site.lat, 5)) == (lon, lat), "site not on the point"
        rep = conn.execute(sa.text(
            "SELECT ST_X(rep_point), ST_Y(rep_point) FROM subdistricts WHERE code = :c"),
            {"c": code}).one()
    yield {"lon": lon, "lat": lat, "code": code, "district": district, "drug": drug,
           "plan": plan_id, "rep": tuple(rep)}
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM cctv_plans WHERE id = :i"), {"i": plan_id})
        conn.execute(sa.text("DELETE FROM risk_points WHERE id = ANY(:i)"),
                     {"i": [drug, *others]})


# --------------------------------------------------------------------------- leak detection

_NUMBER = re.compile(r"-?\d{1,3}\.\d{5,}")


def _text_leaks(text: str, lon: float, lat: float, window: int = 300) -> bool:
    """True when a number that rounds to ``lon`` and one that rounds to ``lat`` (5 decimals)
    stand within ``window`` characters of each other (a GeoJSON pair, a CSV row, a map row)."""
    lons, lats = [], []
    for match in _NUMBER.finditer(text):
        value = round(float(match.group()), 5)
        if value == lon:
            lons.append(match.start())
        elif value == lat:
            lats.append(match.start())
    return any(abs(a - b) <= window for a in lons for b in lats)


def _metres(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    dx = math.radians(lon2 - lon1) * math.cos(math.radians(lat1)) * 6_371_000
    dy = math.radians(lat2 - lat1) * 6_371_000
    return math.hypot(dx, dy)


def _tile_lonlats(content: bytes, z: int, x: int, y: int) -> list[tuple[float, float]]:
    import mapbox_vector_tile

    out = []
    layers = mapbox_vector_tile.decode(content, default_options={"y_coord_down": True})
    for layer in layers.values():
        extent = layer.get("extent", 4096)
        for feature in layer["features"]:
            geom = feature["geometry"]
            if geom["type"] != "Point":
                continue
            px, py = geom["coordinates"]
            n = 2**z
            lon = (x + px / extent) / n * 360 - 180
            lat = math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * (y + py / extent) / n))))
            out.append((lon, lat))
    return out


def leaks(response, spot: dict[str, Any], tile: tuple[int, int, int] | None = None) -> bool:
    """True when the response body gives the planted point's exact place (or name) away."""
    if response.status_code != 200:
        return False
    lon, lat = spot["lon"], spot["lat"]
    kind = response.headers.get("content-type", "")
    body = response.content
    if tile is not None:
        return any(_metres(lon, lat, a, b) < NEAR_M for a, b in _tile_lonlats(body, *tile))
    if "spreadsheetml" in kind:
        import openpyxl

        book = openpyxl.load_workbook(io.BytesIO(body), read_only=True)
        lines = [",".join(str(v) for v in row) for sheet in book.worksheets
                 for row in sheet.iter_rows(values_only=True)]
        text = "\n".join(lines)
        return _text_leaks(text, lon, lat) or SECRET_NAME in text
    if "geopackage" in kind:
        import pyogrio

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "x.gpkg"
            path.write_bytes(body)
            frame = pyogrio.read_dataframe(path)
        return any(g is not None and not g.is_empty and g.geom_type == "Point"
                   and _metres(lon, lat, g.x, g.y) < NEAR_M for g in frame.geometry)
    return _text_leaks(response.text, lon, lat) or SECRET_NAME in response.text


# --------------------------------------------------------------------------- callers

def _user(engine, role: str) -> str:
    name = f"s{uuid.uuid4().hex[:10]}"
    with engine.begin() as conn:
        users.create_user(conn, username=name, password=PASSWORD, role=role)
    return name


def _sign_in(client: TestClient, username: str) -> dict[str, str]:
    client.cookies.clear()
    form = client.get("/login")
    token = form.cookies.get("com_login_csrf") or client.cookies.get("com_login_csrf")
    done = client.post("/login", data={"username": username, "password": PASSWORD,
                                       "csrf_token": token, "next": "/"})
    assert done.status_code == 303, done.text
    return {"X-CSRF-Token": client.get("/api/session").json()["csrf_token"]}


def _tile(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def sweep(client: TestClient, spot: dict[str, Any], headers: dict[str, str]) -> dict[str, bool]:
    """Call every route that shows points, plans or areas; return {route: leaked}."""
    code, plan = spot["code"], spot["plan"]
    site = plan * PLAN_ID_FACTOR + 1
    gets: dict[str, str] = {
        "map": "/?province=32",
        "map with plan": f"/?province=32&plan={plan}",
        "map, drugs only": f"/?province=32&district={spot['district']}&category=drugs",
        "targets page": "/targets?province=32",
        "rankings": "/api/rankings?province=32",
        "rankings geojson": "/api/rankings?province=32&format=geojson",
        # Fine cells are refused without the right (403): their scores would pin it down.
        "rankings h3:9": f"/api/rankings?district={spot['district']}&level=h3:9"
                         "&format=geojson",
        "explain": f"/api/rankings/{code}?top=50",
        "hotspots": "/api/hotspots?province=32&format=geojson&seed=1&permutations=9",
        "patrols": "/api/cctv/patrols?province=32",
        "risk-points items": f"/ogc/collections/risk-points/items?subdistrict={code}&limit=1000",
        "risk-points item": f"/ogc/collections/risk-points/items/{spot['drug']}",
        "risk-points collection": "/ogc/collections/risk-points",
        "risk-points items csv": f"/ogc/collections/risk-points/items?subdistrict={code}&f=csv",
        "cctv-sites items": f"/ogc/collections/cctv-sites/items?plan_id={plan}",
        "cctv-sites item": f"/ogc/collections/cctv-sites/items/{site}",
        "cctv plan": f"/api/cctv/plans/{plan}",
        "rankings export": "/api/exports/rankings.csv?province=32",
    }
    for fmt in ("csv", "geojson", "xlsx", "gpkg"):
        gets[f"risk-points export {fmt}"] = f"/api/exports/risk-points.{fmt}?subdistrict={code}"
        gets[f"cctv-sites export {fmt}"] = f"/api/exports/cctv-sites.{fmt}?plan_id={plan}"
    found: dict[str, bool] = {}
    for label, url in gets.items():
        response = client.get(url, headers=headers)
        assert response.status_code in (200, 401, 403), (label, response.status_code,
                                                         response.text[:300])
        found[label] = leaks(response, spot)
    for collection in ("risk-points", "cctv-sites"):
        for z in (12, 16):
            z, x, y = _tile(spot["lon"], spot["lat"], z)
            response = client.get(f"/tiles/{collection}/{z}/{x}/{y}.pbf", headers=headers)
            assert response.status_code in (200, 204), response.text[:300]
            found[f"{collection} tile z{z}"] = leaks(response, spot, tile=(z, x, y))
    body = {"province": "32", "district": spot["district"], "k": 1, "radius_m": 5,
            "existing": "none", "candidates": "points"}
    response = client.post("/api/cctv/plan", json=body, headers=headers)
    assert response.status_code in (200, 401, 403), response.text[:300]
    found["cctv plan (compute)"] = leaks(response, spot)
    return found


@pytest.fixture(scope="module")
def client(engine, test_settings, planted) -> Iterator[TestClient]:
    with TestClient(create_app(test_settings), follow_redirects=False) as c:
        yield c


@pytest.fixture(scope="module")
def keys(engine) -> dict[str, str]:
    with engine.begin() as conn:
        return {
            "read": create_key(conn, name="sweep read", created_by=CLI).key,
            "sensitive": create_key(conn, name="sweep analyst", sensitive=True,
                                    created_by=CLI).key,
        }


@pytest.mark.parametrize("who", ["anonymous", "viewer", "planner", "read key"])
def test_no_route_gives_a_sensitive_point_away(client, engine, planted, keys, who):
    headers: dict[str, str] = {}
    client.cookies.clear()
    if who in ("viewer", "planner"):
        headers = _sign_in(client, _user(engine, who))
    elif who == "read key":
        headers = {"X-API-Key": keys["read"]}
    found = sweep(client, planted, headers)
    print(f"\n{who}: {len(found)} routes swept")
    assert [label for label, leaked in found.items() if leaked] == []


def test_those_with_the_right_see_the_exact_place(client, engine, planted, keys):
    """The sweep can fail: the same routes show the exact place to an admin."""
    client.cookies.clear()
    admin = sweep(client, planted, _sign_in(client, _user(engine, "admin")))
    client.cookies.clear()
    key = sweep(client, planted, {"X-API-Key": keys["sensitive"]})
    exact = {"map", "map with plan", "map, drugs only", "explain", "risk-points items",
             "risk-points item", "risk-points items csv", "cctv-sites items", "cctv-sites item",
             "cctv plan", "cctv plan (compute)", "risk-points tile z16", "cctv-sites tile z16",
             *(f"{c} export {f}" for c in ("risk-points", "cctv-sites")
               for f in ("csv", "geojson", "xlsx", "gpkg"))}
    assert sorted(exact - {label for label, leaked in admin.items() if leaked}) == []
    # Keys read the API (the pages and the CCTV routes are tested with the admin above).
    api_exact = {label for label in exact if "tile" in label or "items" in label
                 or "export" in label or "item" in label}
    assert sorted(api_exact - {label for label, leaked in key.items() if leaked}) == []


def test_coarsened_plan_sites_stand_at_the_representative_point(client, engine, planted):
    client.cookies.clear()
    headers = _sign_in(client, _user(engine, "planner"))
    shown = client.get(f"/api/cctv/plans/{planted['plan']}", headers=headers).json()
    site = next(f for f in shown["features"] if f["properties"]["kind"] == "site")
    circle = next(f for f in shown["features"] if f["properties"]["kind"] == "coverage")
    assert site["properties"]["coarsened"] is True
    assert site["geometry"]["coordinates"] == pytest.approx(list(planted["rep"]))
    assert circle["geometry"] is None
    # The OGC collection puts the same site at the same place.
    ogc = client.get(f"/ogc/collections/cctv-sites/items/{planted['plan'] * PLAN_ID_FACTOR + 1}",
                     headers=headers).json()
    assert ogc["properties"]["location_coarsened"] is True
    assert ogc["geometry"]["coordinates"] == pytest.approx(list(planted["rep"]))


def test_reading_a_saved_plan_with_exact_sites_is_audited(client, engine, planted):
    """PDPA: an admin's read of a plan's exact sites leaves a row naming the plan and the
    risk points its sites cover; a planner's (coarsened) read leaves none."""

    def rows() -> list[Any]:
        with engine.connect() as conn:
            return list(conn.execute(sa.text(
                "SELECT actor, target, record_ids FROM audit_log "
                "WHERE action = 'cctv.plan.read_sensitive' AND target = :t ORDER BY id"),
                {"t": f"cctv_plan:{planted['plan']}"}))

    before = len(rows())
    client.cookies.clear()
    planner = _user(engine, "planner")
    assert client.get(f"/api/cctv/plans/{planted['plan']}",
                      headers=_sign_in(client, planner)).status_code == 200
    assert len(rows()) == before
    client.cookies.clear()
    admin = _user(engine, "admin")
    assert client.get(f"/api/cctv/plans/{planted['plan']}",
                      headers=_sign_in(client, admin)).status_code == 200
    after = rows()
    assert len(after) == before + 1
    assert admin in str(after[-1].actor)
    assert str(planted["drug"]) in [str(i) for i in after[-1].record_ids]
