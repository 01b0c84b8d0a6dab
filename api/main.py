"""FastAPI application factory: `uvicorn api.main:create_app --factory`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.routers import admin, analysis, auth, cctv, health, ogc, pages, tiles, uploads
from com import __version__
from com.db.engine import make_engine
from com.settings import Settings, get_settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the COM web app and API for ``settings`` (default: from the environment)."""
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.engine = make_engine(settings)
        try:
            yield
        finally:
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
    errors.install(app)
    for module in (health, auth, uploads, analysis, cctv, ogc, tiles, admin, pages):
        app.include_router(module.router)
    return app
