"""Security headers on every response: a strict Content-Security-Policy with per-response nonces.

Pages may run only scripts served by COM itself and the inline scripts COM wrote, which carry
the response's nonce (folium's map script included, see :func:`nonce_scripts`); no
``eval``, no inline event handlers, nothing from another origin except the configured tile
server's images. Styles allow ``'unsafe-inline'`` because Leaflet and the map's legend and
popups set ``style`` attributes that cannot carry a nonce; a style cannot run code. The app
may not be framed (clickjacking), MIME types are not sniffed, and other sites get no path or
query in the ``Referer`` (it may name a province or a plan).

FastAPI's interactive docs (``/docs``, ``/redoc``) are FastAPI's own pages, which load Swagger
UI / ReDoc from jsDelivr with an inline script; they get a policy that allows exactly that.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from fastapi import Request

from api.middleware import ASGIApp, Message, Receive, Scope, Send

NONCE_KEY = "csp_nonce"
OSM_TILES = "https://tile.openstreetmap.org"  # folium's "OpenStreetMap" tiles (xyzservices)
DOCS_CDN = "https://cdn.jsdelivr.net"
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})

FIXED_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
)


def tile_source(basemap: str) -> str | None:
    """Return the CSP source of the basemap's tiles (``*.host`` for ``{s}`` subdomains)."""
    if basemap == "none":
        return None
    url = OSM_TILES if basemap == "osm" else basemap
    parts = urlsplit(url.replace("{s}", "subdomain"))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    netloc = parts.netloc
    if url.split("://", 1)[-1].startswith("{s}."):
        netloc = "*." + netloc.split(".", 1)[1]
    return f"{parts.scheme}://{netloc}"


def content_security_policy(nonce: str, *, tiles: str | None = None) -> str:
    """Return the policy of a page whose inline scripts carry ``nonce``."""
    images = "'self' data:" + (f" {tiles}" if tiles else "")
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {images}",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


DOCS_POLICY = "; ".join(
    [
        "default-src 'self'",
        f"script-src 'self' 'unsafe-inline' {DOCS_CDN}",
        f"style-src 'self' 'unsafe-inline' {DOCS_CDN}",
        "img-src 'self' data: https://fastapi.tiangolo.com",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


def csp_nonce(request: Request) -> str:
    """Return the nonce of this response's inline scripts (empty outside the middleware)."""
    return str(request.scope.get("state", {}).get(NONCE_KEY, ""))


_SCRIPT_TAG = re.compile(r"<script(?=[\s>])", re.IGNORECASE)


def nonce_scripts(html_text: str, nonce: str) -> str:
    """Return ``html_text`` with ``nonce`` on each ``<script>`` tag.

    Only for markup COM generates (folium's page header); never for text that holds user
    data, which would then run.
    """
    return _SCRIPT_TAG.sub(f'<script nonce="{nonce}"', html_text)


class SecurityHeadersMiddleware:
    """Add the CSP (with a fresh nonce per request) and the other security headers.

    Parameters
    ----------
    app
        The ASGI app.
    basemap
        ``COM_BASEMAP``; its tile server is the one other origin images may come from.
    """

    def __init__(self, app: ASGIApp, *, basemap: str = "none") -> None:
        self.app = app
        self.tiles = tile_source(basemap)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Give the request a nonce, then add the headers to its response."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})[NONCE_KEY] = nonce
        if scope.get("path") in DOCS_PATHS:
            policy = DOCS_POLICY
        else:
            policy = content_security_policy(nonce, tiles=self.tiles)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                added = [(k, v) for k, v in FIXED_HEADERS if k not in present]
                if b"content-security-policy" not in present:
                    added.append((b"content-security-policy", policy.encode("latin-1")))
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        await self.app(scope, receive, send_with_headers)
