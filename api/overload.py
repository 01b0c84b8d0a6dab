"""Overload protection (issue 11): bounded concurrency, polite 503s and per-caller rate limits.

Three defences, installed together by :func:`install`:

* :class:`OverloadMiddleware` (ASGI) bounds the requests in flight (by default one per pooled
  database connection, so sync handlers never pile up in the threadpool waiting for the pool)
  and, below that, the heavy ones: rankings, hot spots, KPIs, exports, the map page and CCTV
  plans share ``heavy_concurrency`` slots, vector tiles ``tile_concurrency``. A request waits
  in the event loop (no thread, no connection) for at most ``queue_wait_s``; when no slot
  frees in time, or ``max_queued_requests`` are already waiting, it gets 503 problem+json with
  Retry-After at once.
* :func:`rate_limit`, an app-wide dependency, gives each caller (user, API key, else client
  address) a token bucket for the heavy endpoints that cost the most (CCTV plans, exports,
  hot spots): 429 problem+json with Retry-After when it is empty.
* :func:`shared` runs a computation once for all concurrent requests asking for it (single
  flight, :mod:`com.singleflight`), so a cold ranking is computed once, not fifty times.
"""

from __future__ import annotations

import asyncio
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from typing import Any, TypeVar

from fastapi import Depends, FastAPI, Request
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from api.security import get_principal
from api.web import client_address
from com.config.settings import Settings
from com.security.access import Principal
from com.singleflight import SingleFlight

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
T = TypeVar("T")

#: Seconds a refused client is asked to wait (Retry-After of the 503s).
RETRY_AFTER_S = 5
#: Paths never queued: static files (no database, no threads of ours) and the health check.
UNGATED_PREFIXES = ("/static/", "/assets/", "/api/health")
#: Heavy by path (GET or POST): a ranking, hot spots, KPIs, an export, CCTV siting.
HEAVY_PREFIXES = ("/api/rankings", "/api/hotspots", "/api/kpi", "/api/exports/",
                  "/api/cctv/patrols")
HEAVY_PATHS = frozenset({"/", "/api/cctv/plan"})  # the map page and the MCLP solver
EXPORT_FORMATS = frozenset({"csv", "xlsx", "gpkg"})
#: Rate-limited routes (templates as FastAPI matched them): the costliest per request.
RATE_LIMITED_PATHS = frozenset({"/api/cctv/plan", "/api/hotspots"})


def _query_format(scope: Scope) -> str | None:
    for part in scope.get("query_string", b"").split(b"&"):
        name, _, value = part.partition(b"=")
        if name == b"f":
            return value.decode("latin-1").lower()
    return None


def classify(scope: Scope) -> str | None:
    """Return ``heavy``, ``tile``, ``light`` or None (not gated) for an HTTP request scope."""
    path: str = scope.get("path", "")
    if path.startswith(UNGATED_PREFIXES):
        return None
    if path.startswith("/tiles/") and path.endswith(".pbf"):
        return "tile"
    if path in HEAVY_PATHS or path.startswith(HEAVY_PREFIXES):
        return "heavy"
    if path.startswith("/ogc/collections/") and path.endswith("/items") \
            and _query_format(scope) in EXPORT_FORMATS:
        return "heavy"  # an OGC items request for a whole-selection file is an export
    return "light"


class Gate:
    """A counting semaphore with a bounded, time-limited wait (one per event loop's app)."""

    def __init__(self, slots: int, max_waiting: int) -> None:
        self.slots = slots
        self.max_waiting = max_waiting
        self.waiting = 0
        self.refused = 0
        self._semaphore = asyncio.Semaphore(slots)

    async def enter(self, wait_s: float) -> bool:
        """Take a slot, waiting at most ``wait_s``; return False (and take none) when refused."""
        if self._semaphore.locked() and self.waiting >= self.max_waiting:
            self.refused += 1
            return False
        self.waiting += 1
        try:
            async with asyncio.timeout(wait_s):
                await self._semaphore.acquire()
            return True
        except TimeoutError:
            self.refused += 1
            return False
        finally:
            self.waiting -= 1

    def leave(self) -> None:
        """Give the slot back."""
        self._semaphore.release()


def _problem_503(detail: str) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(
        {"type": "about:blank", "title": "Service Unavailable", "status": 503,
         "detail": detail, "retry_after_s": RETRY_AFTER_S},
        ensure_ascii=False,
    ).encode("utf-8")
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", str(RETRY_AFTER_S).encode()),
    ]
    return headers, body


class OverloadMiddleware:
    """Bound the requests in flight and the heavy ones; refuse the rest with 503 problem+json.

    Parameters
    ----------
    app
        The ASGI app to protect.
    settings
        ``max_concurrent_requests`` (default: pool size + overflow), ``heavy_concurrency``,
        ``tile_concurrency``, ``queue_wait_s`` and ``max_queued_requests``.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        in_flight = settings.max_concurrent_requests or (
            settings.db_pool_size + settings.db_max_overflow
        )
        self.wait_s = settings.queue_wait_s
        queue = settings.max_queued_requests
        self.gates = {
            "light": Gate(in_flight, queue),
            "heavy": Gate(min(settings.heavy_concurrency, in_flight), queue),
            "tile": Gate(min(settings.tile_concurrency, in_flight), queue),
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the request once it has its slots, or answer 503 at once."""
        kind = classify(scope) if scope["type"] == "http" else None
        if kind is None:
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.wait_s
        taken: list[Gate] = []
        # A heavy request first queues for its own slot, and only then takes one of the
        # in-flight slots: heavy requests waiting never crowd out the light ones.
        for name in (kind, "light") if kind != "light" else ("light",):
            gate = self.gates[name]
            if not await gate.enter(max(0.0, deadline - time.monotonic())):
                for held in taken:
                    held.leave()
                await self._refuse(send, name)
                return
            taken.append(gate)
        try:
            await self.app(scope, receive, send)
        finally:
            for held in taken:
                held.leave()

    @staticmethod
    async def _refuse(send: Send, gate: str) -> None:
        what = {"heavy": "heavy requests", "tile": "tile requests"}.get(gate, "requests")
        headers, body = _problem_503(
            f"the service is at capacity for {what}; retry in {RETRY_AFTER_S} seconds "
            "(ระบบกำลังใช้งานเต็มกำลัง กรุณาลองใหม่อีกครั้ง)"
        )
        await send({"type": "http.response.start", "status": 503, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


class TokenBuckets:
    """Token buckets per caller: ``burst`` tokens, refilled at ``per_minute`` a minute."""

    def __init__(self, per_minute: float, burst: int, max_callers: int = 10_000) -> None:
        self.rate_per_s = per_minute / 60.0
        self.burst = float(burst)
        self.max_callers = max_callers
        self._buckets: dict[str, tuple[float, float]] = {}  # caller -> (tokens, at)
        self._lock = threading.Lock()

    def take(self, caller: str, now: float | None = None) -> float:
        """Take a token for ``caller``; return 0 when granted, else seconds until one is due."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, at = self._buckets.get(caller, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate_per_s)
            if tokens >= 1.0:
                if len(self._buckets) >= self.max_callers and caller not in self._buckets:
                    self._forget_full(now)
                self._buckets[caller] = (tokens - 1.0, now)
                return 0.0
            self._buckets[caller] = (tokens, now)
            return (1.0 - tokens) / self.rate_per_s

    def _forget_full(self, now: float) -> None:
        # Callers whose bucket has refilled are indistinguishable from new ones: drop them.
        for caller, (tokens, at) in list(self._buckets.items()):
            if tokens + (now - at) * self.rate_per_s >= self.burst:
                del self._buckets[caller]


def caller_key(principal: Principal, request: Request) -> str:
    """Return whose bucket a request takes from: the user, the API key, else the address."""
    if principal.kind in ("user", "api_key"):
        return f"{principal.kind}:{principal.id if principal.id is not None else principal.name}"
    return f"address:{client_address(request)}"


def is_rate_limited(request: Request) -> bool:
    """Return True for the routes with a per-caller limit: CCTV plans, exports, hot spots."""
    route = request.scope.get("route")
    path = getattr(route, "path", None) or request.url.path
    if path in RATE_LIMITED_PATHS or path.startswith("/api/exports/"):
        return True
    return path.endswith("/items") and path.startswith("/ogc/collections/") \
        and (request.query_params.get("f") or "").lower() in EXPORT_FORMATS


async def rate_limit(request: Request) -> None:
    """App-wide dependency: take a token from the caller's bucket on rate-limited routes.

    Raises
    ------
    starlette.exceptions.HTTPException
        429 with Retry-After (rendered as problem+json by :mod:`api.errors`).
    """
    buckets: TokenBuckets | None = getattr(request.app.state, "rate_buckets", None)
    if buckets is None or not is_rate_limited(request):
        return
    # Resolving the caller may read the database: off the event loop. The principal is cached
    # on the request, so the route's own dependency does not resolve it again.
    principal = await run_in_threadpool(get_principal, request)
    wait_s = buckets.take(caller_key(principal, request))
    if wait_s > 0:
        retry_after = max(1, math.ceil(wait_s))
        raise HTTPException(
            429,
            f"too many heavy requests from {principal.name}; retry in {retry_after} seconds "
            "(ส่งคำขอถี่เกินกำหนด กรุณารอสักครู่)",
            headers={"Retry-After": str(retry_after)},
        )


def flights(request: Request) -> SingleFlight:
    """Return the app's single-flight registry."""
    return request.app.state.flights  # type: ignore[no-any-return]


def shared(request: Request, key: Hashable, function: Callable[[], T]) -> T:
    """Run ``function`` once for the concurrent requests with the same ``key``; share it."""
    return flights(request).run(key, function)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the overload middleware, the rate-limit dependency and the single-flight registry.

    Call before the routers are included: the app-wide dependency applies to the routes
    included after it.
    """
    app.state.flights = SingleFlight()
    if settings.rate_limit_per_minute > 0:
        app.state.rate_buckets = TokenBuckets(settings.rate_limit_per_minute,
                                              settings.rate_limit_burst)
    app.router.dependencies.append(Depends(rate_limit))
    app.add_middleware(OverloadMiddleware, settings=settings)
