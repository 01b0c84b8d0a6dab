"""ASGI middleware in-process: the body limit, forwarded headers, public URL, security headers."""

from __future__ import annotations

import pydantic
import pytest
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api.headers import SecurityHeadersMiddleware, csp_nonce, nonce_scripts, tile_source
from api.middleware import ENVELOPE_BYTES, BodySizeLimitMiddleware, upload_limit_bytes
from api.proxy import UNKNOWN_CLIENT, ProxyMiddleware, parse_networks, resolve_client
from com.cli import proxy_options
from com.config.settings import Settings

LIMIT = 1000


def _app() -> FastAPI:
    app = FastAPI()
    seen: list[int] = []

    @app.post("/echo")
    async def echo(request: Request) -> dict:
        body = await request.body()
        seen.append(len(body))
        return {"bytes": len(body)}

    @app.post("/form")
    async def form(request: Request) -> dict:
        data = await request.form()  # the multipart parser reads the stream
        return {"fields": len(data)}

    app.add_middleware(BodySizeLimitMiddleware, max_bytes=LIMIT)
    app.state.seen = seen
    return app


def _chunks(total: int, size: int = 100):
    sent = 0
    while sent < total:
        sent += size
        yield b"x" * size


def test_body_at_the_limit_passes():
    with TestClient(_app()) as client:
        response = client.post("/echo", content=b"x" * LIMIT)
    assert response.status_code == 200 and response.json() == {"bytes": LIMIT}


def test_declared_length_over_the_limit_is_refused_unread():
    app = _app()
    with TestClient(app) as client:
        response = client.post("/echo", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"].startswith(f"request body of {LIMIT + 1} bytes is over")
    assert app.state.seen == []  # the handler never ran


def test_streamed_body_is_cut_at_the_limit():
    app = _app()
    with TestClient(app) as client:
        response = client.post("/echo", content=_chunks(LIMIT * 10))
    assert response.status_code == 413
    assert response.json()["detail"] == (
        f"request body is over the limit of {LIMIT} bytes (0 MB); ไฟล์ใหญ่เกินกำหนด"
    )
    assert app.state.seen == []


def test_parser_error_after_the_cut_becomes_413():
    # FastAPI/Starlette turn a failed body read into their own 400/500; the middleware
    # replaces that answer with its 413.
    with TestClient(_app()) as client:
        response = client.post(
            "/form", content=_chunks(LIMIT * 10),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
    assert response.status_code == 413


def test_get_and_small_posts_are_untouched():
    with TestClient(_app()) as client:
        assert client.post("/echo", content=b"abc").json() == {"bytes": 3}
        assert client.get("/docs").status_code == 200


def test_upload_limit_leaves_room_for_the_multipart_envelope():
    assert upload_limit_bytes(50) == 50 * 1024 * 1024 + ENVELOPE_BYTES


# --- issue 11: forwarded headers only from trusted proxies -----------------------------------

PROXIES = parse_networks(["10.0.0.1", "172.16.0.0/12", "::1"])


@pytest.mark.parametrize(
    ("peer", "hops", "trusted", "expected"),
    [
        ("198.51.100.7", [], PROXIES, "198.51.100.7"),
        ("198.51.100.7", ["9.9.9.9"], PROXIES, "198.51.100.7"),  # untrusted peer: ignored
        ("198.51.100.7", ["9.9.9.9"], (), "198.51.100.7"),  # nothing trusted: ignored
        ("10.0.0.1", ["203.0.113.5"], PROXIES, "203.0.113.5"),
        ("10.0.0.1", ["9.9.9.9", "203.0.113.5"], PROXIES, "203.0.113.5"),  # client spoofed 9.9
        ("10.0.0.1", ["203.0.113.5", "172.16.3.4"], PROXIES, "203.0.113.5"),  # two proxies
        ("::1", ["[2001:db8::5]:443"], PROXIES, "2001:db8::5"),
        ("10.0.0.1", ["not-an-address"], PROXIES, "10.0.0.1"),
        ("10.0.0.1", ["172.16.0.9"], PROXIES, "172.16.0.9"),  # all proxies: the first
        ("9.9.9.9", ["9.9.9.9"], (), UNKNOWN_CLIENT),  # the server already swapped the peer
        ("203.0.113.5", ["203.0.113.5"], PROXIES, "203.0.113.5"),  # swapped by the same list
        ("testclient", ["9.9.9.9"], PROXIES, "testclient"),
    ],
)
def test_client_address_trusts_only_configured_proxies(peer, hops, trusted, expected):
    assert resolve_client(peer, hops, trusted) == expected


def _proxied_app(**options) -> FastAPI:
    app = FastAPI()

    @app.get("/who")
    def who(request: Request) -> dict:
        return {"client": request.client.host, "base": str(request.base_url),
                "url": str(request.url)}

    app.add_middleware(ProxyMiddleware, **options)
    return app


def test_proxy_middleware_sets_client_scheme_and_public_host():
    app = _proxied_app(trusted_proxies=["10.0.0.1"], public_url=None)
    spoof = {"X-Forwarded-For": "9.9.9.9", "X-Forwarded-Proto": "https"}
    direct = TestClient(app, client=("198.51.100.7", 5000)).get("/who", headers=spoof).json()
    assert direct["client"] == "198.51.100.7" and direct["base"].startswith("http://")
    proxied = TestClient(app, client=("10.0.0.1", 5000)).get("/who", headers=spoof).json()
    assert proxied["client"] == "9.9.9.9" and proxied["base"].startswith("https://")
    public = _proxied_app(public_url="https://com.example.go.th")
    seen = TestClient(public).get("/who?a=1", headers={"Host": "evil.example.net"}).json()
    assert seen["base"] == "https://com.example.go.th/"
    assert seen["url"] == "https://com.example.go.th/who?a=1"


def test_uvicorn_default_swap_is_refused_when_no_proxy_is_trusted():
    served = ProxyHeadersMiddleware(_proxied_app(), trusted_hosts="127.0.0.1")
    c = TestClient(served, client=("127.0.0.1", 5000))
    assert c.get("/who", headers={"X-Forwarded-For": "9.9.9.9"}).json()["client"] == "unknown"
    assert c.get("/who").json()["client"] == "127.0.0.1"


def test_com_serve_gives_uvicorn_the_same_trusted_list():
    none = Settings(_env_file=None)
    assert none.trusted_proxies == []
    assert proxy_options(none) == {"proxy_headers": False, "forwarded_allow_ips": []}
    some = Settings(trusted_proxies="127.0.0.1, 10.0.0.0/24", _env_file=None)
    assert proxy_options(some) == {
        "proxy_headers": True, "forwarded_allow_ips": ["127.0.0.1", "10.0.0.0/24"]
    }
    with pytest.raises(pydantic.ValidationError, match="not an IP address"):
        Settings(trusted_proxies="proxy.local", _env_file=None)


def test_public_url_is_only_scheme_and_host():
    assert Settings(public_url="https://COM.example.go.th/", _env_file=None).public_url == (
        "https://com.example.go.th"
    )
    with pytest.raises(pydantic.ValidationError, match="only the scheme and host"):
        Settings(public_url="https://com.example.go.th/com", _env_file=None)
    with pytest.raises(pydantic.ValidationError, match="http"):
        Settings(public_url="com.example.go.th", _env_file=None)


# --- issue 11: security headers ------------------------------------------------------------


def _page_app(basemap: str = "none") -> FastAPI:
    app = FastAPI()

    @app.get("/page", response_class=HTMLResponse)
    def page(request: Request) -> str:
        return f'<script nonce="{csp_nonce(request)}">1</script>'

    app.add_middleware(SecurityHeadersMiddleware, basemap=basemap)
    return app


def test_security_headers_and_a_fresh_nonce_per_response():
    c = TestClient(_page_app())
    first, second = c.get("/page"), c.get("/page")
    for response in (first, second):
        policy = response.headers["content-security-policy"]
        nonce = response.text.split('"')[1]
        assert f"script-src 'self' 'nonce-{nonce}'" in policy
        assert "unsafe-eval" not in policy and "frame-ancestors 'none'" in policy
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin"
    assert first.text != second.text
    docs = c.get("/docs")  # FastAPI's own page: Swagger UI from its CDN, still not framable
    assert "cdn.jsdelivr.net" in docs.headers["content-security-policy"]
    assert docs.headers["x-frame-options"] == "DENY"


def test_tile_sources_and_nonced_header():
    assert tile_source("none") is None
    assert tile_source("osm") == "https://tile.openstreetmap.org"
    assert tile_source("https://{s}.tile.example.org/{z}/{x}/{y}.png") == (
        "https://*.tile.example.org"
    )
    assert tile_source("http://10.1.2.3:8080/t/{z}/{x}/{y}.png") == "http://10.1.2.3:8080"
    header = '<style>a{}</style><script src="/a.js"></script><SCRIPT>L_NO_TOUCH=1</SCRIPT>'
    assert nonce_scripts(header, "abc") == (
        '<style>a{}</style><script nonce="abc" src="/a.js"></script>'
        '<script nonce="abc">L_NO_TOUCH=1</SCRIPT>'
    )
