"""Serve the page's own CSS/JS and the local copies of Leaflet and its plugins.

The vendor files come from ``node_modules`` (``npm ci`` in ``scripts/setup.sh``); only the
package directories listed in :data:`com.maps.assets.PACKAGES` are exposed. They never change
between deployments of one lock file, so browsers may cache them for a day.
"""

from __future__ import annotations

import logging
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import Message, Receive, Scope, Send

from com.maps import assets

log = logging.getLogger("api")
OWN_STATIC = Path(__file__).resolve().parent / "static"


class CachedStaticFiles(StaticFiles):
    """StaticFiles that adds a Cache-Control header."""

    def __init__(self, *args: object, max_age_s: int = 86400, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.cache_control = f"public, max-age={max_age_s}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the file, adding the Cache-Control header to successful responses."""

        async def send_with_cache(message: Message) -> None:
            if message["type"] == "http.response.start" and message.get("status") == 200:
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"cache-control", self.cache_control.encode()),
                ]
            await send(message)

        await super().__call__(scope, receive, send_with_cache)


def install(app: FastAPI, *, node_modules: Path = assets.NODE_MODULES) -> None:
    """Mount ``/assets/vendor/<package>/`` per vendor package and ``/static/`` for COM's own."""
    missing = assets.missing_files(node_modules)
    if missing:
        log.warning(
            "web assets missing (run `npm ci` or scripts/setup.sh): %s",
            ", ".join(str(p) for p in missing[:3]),
        )
    for package, directory in assets.PACKAGES.items():
        app.mount(
            f"{assets.VENDOR_PREFIX}/{package}",
            CachedStaticFiles(directory=node_modules / directory, check_dir=False),
            name=f"vendor-{package}",
        )
    app.mount("/static", CachedStaticFiles(directory=OWN_STATIC, max_age_s=3600), name="static")

    # Browsers ask for /favicon.ico on every page whatever the page links: without it each
    # page logged a 404 in the console (issue 15).
    def favicon() -> RedirectResponse:
        return RedirectResponse("/static/favicon.svg", status_code=301,
                                headers={"Cache-Control": "public, max-age=86400"})

    app.add_api_route("/favicon.ico", favicon, methods=["GET"], include_in_schema=False)
