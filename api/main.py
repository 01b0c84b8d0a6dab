"""FastAPI application factory: `uvicorn api.main:create_app --factory`."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.middleware.gzip import GZipMiddleware

from api import errors, openapi, overload, pages_deps, static, web
from api.apikeys import api_key_principal
from api.headers import SecurityHeadersMiddleware
from api.middleware import BodySizeLimitMiddleware, upload_limit_bytes
from api.proxy import ProxyMiddleware
from api.routers import (
    admin,
    analysis,
    auth,
    basemap,
    briefs,
    cctv,
    health,
    ogc,
    pages,
    tiles,
    uploads,
)
from api.routers import alerts as feed_alerts  # issue 17
from api.routers import feeds_pages as feed_pages  # issue 17
from com import __version__
from com.analysis.risk.ranking import prepare_h3
from com.config.settings import Settings, get_settings
from com.db.engine import make_engine
from com.db.rollup import RollupFolder


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the COM web app and API for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings)
        # Rollup sums of uploads, after their commit; first what a stopped process left.
        # Then what the H3 rankings read is brought up to the data (ranking.prepare_h3).
        # The severity model is loaded at each call (a bad file fails only this work).
        app.state.rollup_folder = RollupFolder(app.state.engine, after_upload=functools.partial(
            prepare_h3, model=settings.severity_config,
            resolutions=settings.h3_prepared_resolutions))
        app.state.rollup_folder.submit()
        feed_alerts.start_background(app)  # issue 17: MQTT subscriber, webhook deliverer
        try:
            yield
        finally:
            feed_alerts.stop_background(app)
            app.state.rollup_folder.close()
            tiles.flush_tile_reads(app)  # issue 8: tile reads counted since the last row
            app.state.engine.dispose()

    app = FastAPI(
        title="COM - Common Operation Map API",
        version=__version__,
        description="Risk points, target-area rankings, hotspots, KPIs and CCTV plans "
        "for Thai provincial security work.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    # Functions Request -> Principal | None, tried in order (sessions, then API keys).
    app.state.principal_resolvers = []
    # Issue 6: the web session cookie comes first (see api/web.py).
    app.state.principal_resolvers.append(web.session_principal)
    # Issue 7: then an API key (X-API-Key or Authorization: Bearer), see api/apikeys.py.
    app.state.principal_resolvers.append(api_key_principal)
    errors.install(app)
    pages_deps.install(app)  # a page dependency may end the request with a redirect or 403
    overload.install(app, settings)  # issue 11: bounded concurrency, 503/429, single flight
    for module in (health, auth, uploads, analysis, briefs, cctv, ogc, tiles, admin, pages):
        app.include_router(module.router)
    app.include_router(feed_alerts.router)  # issue 17: alerts, devices, webhooks
    app.include_router(feed_pages.router)
    basemap.install(app, settings)  # issue 15: the province's MBTiles file, opened at start-up
    openapi.install(app)  # issue 11: every error status and problem+json documented
    static.install(app)  # issue 6: local Leaflet/plugins from node_modules, own CSS/JS
    # Issue 6: the map page and Leaflet compress 5-10x; slow provincial links need it.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    if settings.cors_origins:  # issue 7: dashboards on other origins; keys, never cookies
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "HEAD", "OPTIONS", "POST"],
            allow_headers=["X-API-Key", "Authorization", "Content-Type", "If-None-Match",
                           "Idempotency-Key"],
            expose_headers=["ETag", "Content-Disposition", "X-Feature-Count"],
            max_age=600,
        )
    # Issue 11: CSP with per-response nonces, nosniff, no framing, referrer policy.
    app.add_middleware(SecurityHeadersMiddleware, basemap=settings.basemap)
    # Issue 11: client address and scheme from trusted proxies only; links from COM_PUBLIC_URL.
    app.add_middleware(
        ProxyMiddleware, trusted_proxies=settings.trusted_proxies, public_url=settings.public_url
    )
    # Issue 8: the body-size limit must be the OUTERMOST middleware (added last), so no other
    # middleware, parser or authentication reads a byte of an oversized body first.
    app.add_middleware(
        BodySizeLimitMiddleware, max_bytes=upload_limit_bytes(settings.max_upload_mb)
    )
    return app
