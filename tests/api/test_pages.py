"""The web pages over TestClient: map, filters in the URL, sign-in, roles, CSRF, rate limit."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from dbclean import clean_data_tables
from fastapi import APIRouter
from fastapi.testclient import TestClient

from api.main import create_app
from api.security import PrincipalDep
from com.config.settings import Settings
from com.db.engine import transaction
from com.demo import load_demo_data
from com.maps import assets
from com.maps.data import MapFilters, load_map_data
from com.maps.style import layer_name
from com.security import users
from com.security.audit import entries

pytestmark = pytest.mark.db
PASSWORD = "a long test password"


ACCOUNTS = (
    ("viewer1", "viewer", None),
    ("staff1", "staff", "32"),
    ("staff99", "staff", "10"),
    ("planner1", "planner", None),
    ("admin1", "admin", None),
    ("victim", "viewer", None),
    ("leaver1", "planner", None),
    ("prod1", "viewer", None),
    ("brief1", "viewer", None),
)


@pytest.fixture(scope="module")
def demo(engine, test_settings, pytestconfig):
    """The synthetic Surin data and one account per role, loaded once for this module."""
    clean_data_tables(engine)
    load_demo_data(engine, test_settings)
    with transaction(engine) as conn:
        for name, role, province in ACCOUNTS:
            users.create_user(
                conn, username=name, password=PASSWORD, role=role, province_code=province
            )
    yield engine
    clean_data_tables(engine)


def _app(settings: Settings):
    app = create_app(settings)
    probe = APIRouter()

    @probe.post("/test/write")
    def write(principal: PrincipalDep) -> dict:
        return {"name": principal.name}

    app.include_router(probe)
    return app


@pytest.fixture
def client(demo, test_settings):  # a fresh cookie jar per test
    with TestClient(_app(test_settings)) as c:
        yield c


def login(client: TestClient, username: str, password: str = PASSWORD, **kw):
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/upload"},
        follow_redirects=False,
        **kw,
    )


def test_home_renders_the_map_with_local_assets_and_thai_layer_names(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    assert 'lang="th"' in html and "แผนที่ปฏิบัติการร่วม" in html
    assert assets.external_urls(html) == []
    for key in (
        "choropleth",
        "points",
        "heat",
        "hotspots",
        "land_border",
        "mekong",
        "crossings",
        "cameras",
        "cctv_sites",
    ):
        name = layer_name(key, "th")
        assert name in html or json.dumps(name)[1:-1] in html, key
    assert "ข้อมูลสมมติ / synthetic" in html
    for url in re.findall(r'(?:src|href)="(/(?:assets|static)/[^"]+)"', html):
        assert client.get(url).status_code == 200, url


def test_language_switch_by_query_then_cookie(client):
    english = client.get("/?lang=en")
    assert 'lang="en"' in english.text and "Risk points" in english.text
    assert "Apply" in english.text
    assert english.cookies.get("com_lang") == "en"
    assert 'lang="en"' in client.get("/").text  # remembered
    assert 'lang="th"' in client.get("/?lang=th").text


def test_filters_are_read_from_the_url_and_narrow_the_map(client):
    everything = client.get("/?province=32")
    one_district = client.get("/?province=32&district=3201&severity=5&category=drugs")
    assert one_district.status_code == 200
    assert len(one_district.content) < len(everything.content)
    # The form shows the filters it came with, so the URL reproduces the view.
    assert re.search(r'<option value="3201"\s+selected', one_district.text)
    assert re.search(r'value="drugs"\s+checked', one_district.text)
    assert re.search(r'<option value="5"\s+selected', one_district.text)
    # Issue 15: the Thai form's Buddhist-era dates are read; a day that does not exist is not.
    bad = client.get("/?from=31/02/2568")
    assert bad.status_code == 422 and "not a date" in bad.text
    thai = client.get("/?province=32&from=31/12/2567")
    assert thai.status_code == 200
    assert 'value="31/12/2567"' in thai.text and "from=2024-12-31" in thai.text


def test_anonymous_viewers_get_small_areas_suppressed_and_sensitive_points_coarsened(
    demo, test_settings
):
    anon = MapFilters(province_code="32")
    from com.security.access import ANONYMOUS, CLI

    with demo.connect() as conn:
        public = load_map_data(conn, anon, principal=ANONYMOUS, small_area_k=5)
        full = load_map_data(conn, anon, principal=CLI, small_area_k=5)
        rep = dict(
            conn.execute(
                sa.text("SELECT code, ST_Y(rep_point) FROM subdistricts WHERE province_code = '32'")
            ).all()
        )
    assert len(full.points) == 280
    assert len(public.points) < len(full.points)
    assert public.areas["suppressed"].any()
    small = public.areas.loc[public.areas["suppressed"]]
    assert small["score"].isna().all()
    drugs = public.points[public.points["category"] == "drugs"]
    assert len(drugs) and drugs["approximate"].all()
    assert all(abs(r.lat - rep[r.subdistrict_code]) < 1e-9 for r in drugs.itertuples())
    assert not full.points[full.points["category"] == "drugs"]["approximate"].all()


def test_sign_in_sets_a_strict_session_cookie_and_audits(client, demo):
    response = login(client, "staff1")
    assert response.status_code == 303 and response.headers["location"] == "/upload"
    cookie = response.headers["set-cookie"]
    assert "com_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Secure" not in cookie  # test environment
    assert client.get("/upload").status_code == 200
    with demo.connect() as conn:
        assert entries(conn, action="login.success")[0]["actor"] == "staff1"


def test_wrong_password_then_rate_limit(client, demo):
    for _ in range(users.FREE_FAILURES_PER_CLIENT):
        assert login(client, "victim", "wrong password!").status_code == 401
    blocked = login(client, "victim")
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    with demo.connect() as conn:
        failures = [e for e in entries(conn, action="login.failure") if e["actor"] == "victim"]
    assert len(failures) == users.FREE_FAILURES_PER_CLIENT


def test_login_form_needs_its_csrf_token(client):
    client.get("/login")
    response = client.post(
        "/login",
        data={"username": "staff1", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert response.status_code == 403


def test_roles_gate_the_pages(client):
    assert client.get("/upload", follow_redirects=False).status_code == 303  # anonymous
    login(client, "viewer1")
    assert client.get("/upload").status_code == 403
    assert client.get("/uploads").status_code == 403
    assert client.get("/admin/users").status_code == 403
    assert client.get("/targets").status_code == 200
    assert client.get("/cctv").status_code == 200


def test_staff_see_only_their_province(client):
    login(client, "staff99")
    assert client.get("/?province=32").status_code == 403
    page = client.get("/upload")
    assert page.status_code == 200
    assert 'value="10"' in page.text and 'value="32"' not in page.text


def test_cookie_writes_need_the_csrf_header(client):
    login(client, "planner1")
    assert client.post("/test/write").status_code == 403
    token = client.get("/api/session").json()["csrf_token"]
    ok = client.post("/test/write", headers={"X-CSRF-Token": token})
    assert ok.status_code == 200 and ok.json() == {"name": "planner1"}


def test_logout_revokes_the_session(client, demo):
    login(client, "leaver1")
    token = client.get("/api/session").json()["csrf_token"]
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/api/session").json()["kind"] == "anonymous"
    with demo.connect() as conn:
        assert entries(conn, action="logout")[0]["actor"] == "leaver1"
        live = conn.execute(
            sa.text(
                "SELECT count(*) FROM web_sessions s JOIN users u ON u.id = s.user_id "
                "WHERE u.username = 'leaver1' AND NOT s.revoked"
            )
        ).scalar()
    assert live == 0


def test_admin_creates_a_user_and_sees_the_password_once(client, demo):
    login(client, "admin1")
    token = client.get("/api/session").json()["csrf_token"]
    page = client.post(
        "/admin/users",
        data={"username": "newstaff", "role": "staff", "province_code": "32", "csrf_token": token},
    )
    assert page.status_code == 200
    password = re.search(r"newstaff: <code>([^<]+)</code>", page.text).group(1)
    assert "newstaff" in client.get("/admin/users").text
    assert password not in client.get("/admin/users").text
    with demo.connect() as conn:
        assert users.authenticate(conn, username="newstaff", password=password).ok
    forged = client.post("/admin/users", data={"username": "x2x", "role": "admin"})
    assert forged.status_code == 403


def test_cookies_are_secure_in_production(demo, test_settings):
    settings = test_settings.model_copy(
        update={"environment": "production", "secret_key": "a-real-secret-for-this-test"}
    )
    with TestClient(_app(settings), base_url="https://testserver") as c:
        response = login(c, "prod1")
        assert response.status_code == 303
        assert "Secure" in response.headers["set-cookie"]


def test_sessions_expire_server_side(demo, test_settings):
    settings = test_settings.model_copy(update={"session_max_age_s": 1})
    with TestClient(_app(settings)) as c:
        login(c, "brief1")
        assert c.get("/api/session").json()["kind"] == "user"
        import time

        time.sleep(1.2)
        assert c.get("/api/session").json()["kind"] == "anonymous"


# --- issue 11: security headers on every page, links from COM_PUBLIC_URL --------------------

HTML_PAGES = ("/", "/login", "/upload", "/uploads", "/targets", "/cctv", "/admin/users",
              "/?province=99")  # the last is the error page
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)


def _policy(response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else ""
            for d in (part.strip() for part in policy.split(";"))}


def test_every_html_page_carries_a_strict_content_security_policy(client):
    assert login(client, "admin1").status_code == 303
    nonces = set()
    for path in HTML_PAGES:
        response = client.get(path)
        assert response.headers["content-type"].startswith("text/html"), path
        assert response.status_code in (200, 403, 422), (path, response.status_code)
        policy = _policy(response)
        script_src = policy["script-src"].split()
        assert "'self'" in script_src, path
        assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, path
        nonce = next(s for s in script_src if s.startswith("'nonce-"))[len("'nonce-"):-1]
        nonces.add(nonce)
        # Nothing from another origin (COM_BASEMAP=none: not even tiles).
        for directive, sources in policy.items():
            assert "http" not in sources and "*" not in sources, (path, directive, sources)
        assert policy["default-src"] == "'self'" and policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
        # Every inline script COM writes carries this response's nonce; no inline handlers.
        inline = INLINE_SCRIPT.findall(response.text)
        assert all(f'nonce="{nonce}"' in attrs for attrs in inline), (path, inline)
        assert not EVENT_HANDLER.search(response.text), (path, EVENT_HANDLER.search(response.text))
    assert len(nonces) == len(HTML_PAGES)  # a fresh nonce per response
    home = client.get("/")
    assert len(INLINE_SCRIPT.findall(home.text)) >= 3  # COM's, folium's header, the map


def test_tile_server_is_the_only_other_origin_allowed(demo, test_settings):
    settings = test_settings.model_copy(
        update={"basemap": "https://{s}.tiles.example.go.th/{z}/{x}/{y}.png"}
    )
    with TestClient(_app(settings)) as c:
        policy = _policy(c.get("/"))
    assert policy["img-src"] == "'self' data: https://*.tiles.example.go.th"
    assert "example" not in policy["script-src"] + policy["connect-src"]


HOSTILE = "evil.example.net"


def test_hostile_host_header_is_not_reflected_with_a_public_url(demo, test_settings):
    settings = test_settings.model_copy(update={"public_url": "https://com.surin.example.go.th"})
    with TestClient(_app(settings)) as c:
        headers = {"Host": HOSTILE}
        landing = c.get("/ogc", headers=headers)
        collections = c.get("/ogc/collections", headers=headers)
        items = c.get("/ogc/collections/subdistricts/items?limit=2", headers=headers)
        tilesets = c.get("/tiles", headers=headers)
        page = c.get("/", headers=headers)
    for response in (landing, collections, items, tilesets, page):
        assert response.status_code == 200, response.text[:200]
        assert HOSTILE not in response.text
    hrefs = [link["href"] for link in landing.json()["links"]]
    assert hrefs and all(h.startswith("https://com.surin.example.go.th/") for h in hrefs)
    next_links = [link["href"] for link in items.json()["links"]]
    assert all(h.startswith("https://com.surin.example.go.th/ogc/") for h in next_links)
    share = re.search(r'id="copy-link" data-url="([^"]+)"', page.text).group(1)
    assert share.startswith("https://com.surin.example.go.th/?")


def test_without_a_public_url_links_follow_the_request(client):
    # The default stays as before (development, a single host): the request's own host.
    hrefs = [link["href"] for link in client.get("/ogc").json()["links"]]
    assert all(h.startswith("http://testserver/") for h in hrefs)


def test_favicon_is_served(client):
    """Issue 15: browsers ask for /favicon.ico on every page; it was a 404 in the console."""
    response = client.get("/favicon.ico", follow_redirects=False)
    assert response.status_code == 301
    icon = client.get(response.headers["location"])
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml")
    assert '<link rel="icon" href="/static/favicon.svg"' in client.get("/login").text


def test_cctv_page_offers_the_planners_default_radius(client):
    """Issue 15: the page offered 300 m while `com cctv` and the API used 200 m."""
    from com.siting.coverage import DEFAULT_RADIUS_M

    login(client, "viewer1")
    page = client.get("/cctv").text
    assert f'name="radius_m" value="{int(DEFAULT_RADIUS_M)}"' in page


def test_legend_classes_do_not_depend_on_the_viewer(demo):
    """Issue 15: anonymous and staff saw different score classes (0.0-8.5 ... 23.5-77.7 against
    0.0-1.1 ... 5.1-77.7). The classes come from the areas public outputs show, for everyone."""
    from com.maps.style import score_bins
    from com.security import privacy
    from com.security.access import ANONYMOUS, CLI

    filters = MapFilters(province_code="32")
    with demo.connect() as conn:
        public = load_map_data(conn, filters, principal=ANONYMOUS, small_area_k=5)
        full = load_map_data(conn, filters, principal=CLI, small_area_k=5)
        hidden = privacy.hidden_areas(conn, k=5)
    assert public.bins == full.bins and public.bins
    assert public.areas["suppressed"].any()  # some areas are hidden from the public
    shown = full.areas.loc[~full.areas["code"].isin(hidden), "score"]
    assert full.bins == score_bins(shown)
    # No bound is a suppressed area's own score (the classes do not betray them).
    secret = set(full.areas.loc[full.areas["code"].isin(hidden), "score"].round(6)) - set(
        shown.round(6))
    assert not secret & set(full.bins)


def test_thai_pages_show_labels_not_keys(client):
    """Issue 15: the targets page showed the raw Gi* class (not_significant) and the CCTV page
    the raw solver method (วิธี exact) in the Thai interface."""
    from com.analysis.risk import HOTSPOT_LABELS

    login(client, "planner1")
    page = client.get("/targets?province=32&lang=th").text
    pills = re.findall(r'<span class="pill (?:hot|cold|)">([^<]*)</span>', page)
    assert pills, "the demo's targets list shows Gi* classes"
    thai = {th for th, _ in HOTSPOT_LABELS.values()}
    assert set(pills) <= thai, set(pills) - thai
    cctv = client.get("/cctv?lang=th").text
    config = json.loads(re.search(r'id="cctv-config">(.*?)</script>', cctv, re.S).group(1))
    assert config["methods"]["exact"].startswith("คำตอบแม่นตรง")
    assert "{method}" in config["summary"] and "วิธี {method}" not in config["summary"]
