"""Every route that reads or changes sensitive data leaves an audit row; rows cannot be changed.

PDPA and the PDPC's 2022 security notification ask for a trail of access, change, deletion and
transfer: who, what, when, from where and which records.
"""

from __future__ import annotations

import math
import re
import time
import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from api.main import create_app
from com.security import users
from com.security.access import CLI
from com.security.retention import RetentionRule, run_retention

pytestmark = pytest.mark.db

CSV = (
    "ชื่อจุดเสี่ยง,ประเภทปัญหา,ระดับความรุนแรง,ละติจูด,ลองจิจูด,วันที่รายงาน\n"
    "บ้านนายสมชาย,ยาเสพติด,5,14.882,103.493,2024-06-01\n"
    "ตลาดเช้า,ลักทรัพย์,3,14.701,103.705,2024-06-02\n"
    "ท่าน้ำ,ลักลอบเข้าเมือง,4,14.455,103.101,2024-06-03\n"
)


def _user(engine, role: str, province: str | None = "32") -> tuple[str, str]:
    name = f"a{uuid.uuid4().hex[:10]}"
    password = "รหัสผ่านยาวพอ-" + uuid.uuid4().hex[:8]
    with engine.begin() as conn:
        users.create_user(conn, username=name, password=password, role=role,
                          province_code=province)
    return name, password


def _login(client: TestClient, username: str, password: str) -> str:
    """Sign in and return the session's CSRF token for API writes."""
    client.cookies.clear()
    form = client.get("/login")
    token = form.cookies.get("com_login_csrf") or client.cookies.get("com_login_csrf")
    response = client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token, "next": "/"})
    assert response.status_code == 303, response.text
    return client.get("/api/session").json()["csrf_token"]


def _audit_since(engine, first_id: int) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(
            sa.text("SELECT * FROM audit_log WHERE id > :i ORDER BY id"), {"i": first_id}
        ).mappings()]


def test_every_sensitive_route_writes_an_audit_row(engine, test_settings, key_factory):
    with engine.connect() as conn:
        first_id = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar()
    staff, staff_pw = _user(engine, "staff")
    planner, planner_pw = _user(engine, "planner")
    admin, admin_pw = _user(engine, "admin", None)
    key = key_factory(scope="read", province_code="32")
    called: dict[str, str] = {}  # expected action -> the call that must have written it

    with TestClient(create_app(test_settings), follow_redirects=False) as client:
        client.cookies.clear()
        form = client.get("/login")
        bad = client.post("/login", data={"username": staff, "password": "ผิด-ผิด-ผิด-ผิด",
                                          "csrf_token": form.cookies.get("com_login_csrf")})
        assert bad.status_code == 401
        called["login.failure"] = "POST /login (wrong password)"

        csrf = _login(client, staff, staff_pw)
        called["login.success"] = "POST /login"
        content = (CSV + f"# {uuid.uuid4()}\n").encode()  # bytes unique to this run
        up = client.post("/api/uploads", files={"file": ("จุด.csv", content, "text/csv")},
                         data={"province": "32"}, headers={"X-CSRF-Token": csrf})
        assert up.status_code == 201, up.text
        upload_id = up.json()["upload_id"]
        called["upload.create"] = "POST /api/uploads"
        again = client.post("/api/uploads", files={"file": ("จุด.csv", content, "text/csv")},
                            data={"province": "32"}, headers={"X-CSRF-Token": csrf})
        assert again.status_code == 200
        called["upload.repeat"] = "POST /api/uploads (same file)"
        assert client.get(f"/api/uploads/{upload_id}").status_code == 200
        called["upload.read"] = "GET /api/uploads/{id}"
        assert client.get(f"/api/uploads/{upload_id}/report.csv").status_code == 200
        called["upload.report"] = "GET /api/uploads/{id}/report.csv"

        items = client.get("/ogc/collections/risk-points/items", params={"limit": 5})
        assert items.status_code == 200, items.text
        point_id = items.json()["features"][0]["id"]
        assert client.get(f"/ogc/collections/risk-points/items/{point_id}").status_code == 200
        called["features.read"] = "GET /ogc/collections/risk-points/items[/{id}]"
        export = client.get("/api/exports/risk-points.csv")
        assert export.status_code == 200, export.text
        called["export.csv"] = "GET /api/exports/risk-points.csv"
        assert client.get("/ogc/collections/risk-points/items", params={"f": "xlsx"}
                          ).status_code == 200
        called["export.xlsx"] = "GET /ogc/collections/risk-points/items?f=xlsx"
        lon, lat = items.json()["features"][0]["geometry"]["coordinates"]
        z, x, y = _tile_of(lon, lat, 12)
        assert client.get(f"/tiles/risk-points/{z}/{x}/{y}.pbf").status_code == 200
        called["tiles.read"] = "GET /tiles/risk-points/{z}/{x}/{y}.pbf"
        assert client.get("/", params={"province": "32"}).status_code == 200
        called["map.read"] = "GET / (the operations map)"
        logout = client.post("/logout", data={"csrf_token": csrf})
        assert logout.status_code == 303
        called["logout"] = "POST /logout"

        by_key = client.get("/ogc/collections/risk-points/items", headers={"X-API-Key": key})
        assert by_key.status_code == 200
        called["apikey.use"] = "GET /ogc/... with X-API-Key"

        csrf = _login(client, planner, planner_pw)
        declared = client.post(
            "/api/targets", headers={"X-CSRF-Token": csrf},
            json={"province": "32", "fiscal_year_be": 2599, "top": 2, "replace": True},
        )
        assert declared.status_code == 201, declared.text
        called["targets.declare"] = "POST /api/targets"
        saved = client.post(
            "/api/cctv/plan", headers={"X-CSRF-Token": csrf},
            json={"province": "32", "k": 1, "method": "greedy", "existing": "none",
                  "save": True, "name": f"แผนทดสอบ {uuid.uuid4().hex[:4]}"},
        )
        assert saved.status_code == 201, saved.text
        called["cctv.plan"] = "POST /api/cctv/plan (save)"

        csrf = _login(client, admin, admin_pw)
        name = f"n{uuid.uuid4().hex[:8]}"
        made = client.post("/admin/users", data={"username": name, "role": "viewer",
                                                 "csrf_token": csrf})
        assert made.status_code == 200, made.text
        called["user.create"] = "POST /admin/users"
        trail = client.get("/api/admin/audit", params={"limit": 500})
        assert trail.status_code == 200
        called["audit.read"] = "GET /api/admin/audit"

    # Deletion has no route: it is `com retention run` (the library call the CLI makes). It
    # runs in a transaction rolled back afterwards, so other tests keep their points.
    with engine.connect() as conn, conn.begin() as trans:
        report = run_retention(conn, policy={"drugs": RetentionRule("drugs", 1, "delete")},
                               today=date(2099, 1, 1))
        retention_row = conn.execute(sa.text(
            "SELECT * FROM audit_log WHERE action = 'retention.run' AND id > :i"),
            {"i": first_id}).mappings().one()
        trans.rollback()
    assert report.deleted >= 1
    assert retention_row["actor"] == CLI.name and retention_row["record_ids"]
    assert retention_row["details"]["deleted"] == report.deleted

    rows = _audit_since(engine, first_id)
    seen = {r["action"] for r in rows}
    missing = {a: how for a, how in called.items() if a not in seen}
    assert missing == {}, f"no audit row for: {missing}"

    def row(action: str) -> dict:
        return next(r for r in rows if r["action"] == action)

    # Who, what, when, from where, which records.
    for action in ("upload.create", "upload.read", "features.read", "export.csv",
                   "targets.declare", "cctv.plan", "map.read"):
        entry = row(action)
        assert entry["actor"] and entry["at"] and entry["record_ids"], entry
    for action in ("login.success", "login.failure", "upload.create", "export.csv",
                   "features.read", "apikey.use", "targets.declare", "audit.read",
                   "tiles.read"):
        assert row(action)["client"], action  # the address the request came from
    assert row("upload.create")["actor"] == staff
    assert str(upload_id) in row("upload.read")["record_ids"]
    assert str(point_id) in row("features.read")["record_ids"]
    assert row("apikey.use")["actor_kind"] == "api_key"
    assert row("tiles.read")["actor"] == staff
    assert row("tiles.read")["details"]["items"] == [f"{z}/{x}/{y}"]
    print(f"\naudit coverage: {len(called) + 1} actions (with retention.run), each with "
          f"its row: {sorted(called)}")


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, x, y


def test_tile_reads_are_audited_once_a_window_with_a_count(engine, test_settings, key_factory):
    """A map view fetches dozens of tiles: one tiles.read row per caller, collection and
    window (60 s in the app; 1 s here) counts them all, the rest of a window is written when
    the caller's next window starts or the app stops."""
    with engine.connect() as conn:
        first_id = conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM audit_log")).scalar()
    staff, staff_pw = _user(engine, "staff")
    key = key_factory(scope="read", province_code="32")
    # Surin at z10-z11: the tiles a map view of the province fetches.
    tiles = [f"/tiles/risk-points/{z}/{x}/{y}.pbf" for z, x, y in
             [(10, 805, 475), (10, 806, 475), (10, 805, 476), (11, 1611, 951),
              (11, 1612, 951)]]
    with TestClient(create_app(test_settings), follow_redirects=False) as client:
        from api.routers.tiles import tile_reads

        tile_reads(client.app).window_s = 1.0
        for url in tiles:  # anonymous readers leave no row (and are served coarsened data)
            assert client.get(url).status_code == 200
        _login(client, staff, staff_pw)
        for url in tiles:
            assert client.get(url).status_code == 200
        assert client.get("/tiles/subdistricts/10/805/475.pbf").status_code == 200
        rows = [r for r in _audit_since(engine, first_id) if r["action"] == "tiles.read"]
        assert [(r["actor"], r["details"]["reads"]) for r in rows] == [(staff, 1)]
        time.sleep(1.1)
        assert client.get(tiles[0]).status_code == 200  # a new window: the row counts all
        for url in tiles[:2]:
            assert client.get(url, headers={"X-API-Key": key}).status_code == 200
        for url in tiles[1:3]:  # within the window: written when the app stops
            assert client.get(url).status_code == 200
    rows = [r for r in _audit_since(engine, first_id) if r["action"] == "tiles.read"]
    by_actor = [(r["actor_kind"], r["details"]["reads"], r["target"]) for r in rows]
    assert by_actor[:2] == [("user", 1, "collection:risk-points"),
                            ("user", 5, "collection:risk-points")]
    assert rows[1]["details"]["items"] == [u.split("/", 3)[3].removesuffix(".pbf")
                                           for u in tiles[1:] + tiles[:1]]
    assert rows[1]["client"] and rows[1]["details"]["window_s"] == 60.0
    # The key's first tile writes a row at once; its second and the user's last two were
    # within their windows and are written when the app stops.
    assert sorted(by_actor[2:]) == [("api_key", 1, "collection:risk-points"),
                                    ("api_key", 1, "collection:risk-points"),
                                    ("user", 2, "collection:risk-points")]
    assert [r["details"].get("at_shutdown") for r in rows[2:]] == [None, True, True]


def test_audit_rows_cannot_be_changed(engine):
    with engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO audit_log (actor, actor_kind, action) "
                             "VALUES ('tester', 'cli', 'test.append')"))
    with engine.connect() as conn:
        for statement in ("UPDATE audit_log SET actor = 'someone else'",
                          "DELETE FROM audit_log WHERE action = 'test.append'"):
            with pytest.raises(sa.exc.DBAPIError, match="audit_log is append-only"):
                conn.execute(sa.text(statement))
            conn.rollback()
        assert conn.execute(sa.text(
            "SELECT count(*) FROM audit_log WHERE action = 'test.append' AND actor = 'tester'"
        )).scalar_one() >= 1


def test_no_route_changes_the_audit_trail(test_settings):
    from test_access import all_routes

    app = create_app(test_settings)
    audit_routes = [(sorted(r.methods or []), path) for path, r in all_routes(app.routes)
                    if re.search(r"audit", path)]
    assert audit_routes == [(["GET"], "/api/admin/audit")]


def test_audit_page_is_for_admins_only(engine, test_settings, key_factory):
    staff, staff_pw = _user(engine, "staff")
    with TestClient(create_app(test_settings), follow_redirects=False) as client:
        assert client.get("/api/admin/audit").status_code == 401
        key = key_factory(scope="write", province_code="32")
        assert client.get("/api/admin/audit", headers={"X-API-Key": key}).status_code == 403
        _login(client, staff, staff_pw)
        denied = client.get("/api/admin/audit")
    assert denied.status_code == 403
    assert "needs the admin role" in denied.json()["detail"]
