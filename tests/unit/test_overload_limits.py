"""Issue 11 building blocks without a database: single flight, token buckets, the gates."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest
from sqlalchemy import exc as sa_exc

from api.overload import OverloadMiddleware, TokenBuckets, classify
from com.config.settings import Settings
from com.db.engine import translate_db_errors
from com.errors import ServerBusy, ValidationError
from com.singleflight import SingleFlight


def _wait_until(predicate: Any, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.005)


def test_concurrent_callers_of_one_key_share_one_run():
    flights = SingleFlight()
    release = threading.Event()
    runs: list[int] = []

    def compute() -> dict[str, int]:
        runs.append(1)
        release.wait(10)
        return {"answer": 42}

    results: list[Any] = []
    threads = [threading.Thread(target=lambda: results.append(flights.run("k", compute)))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    _wait_until(lambda: flights.shared == 7)  # the seven followers are waiting on the leader
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(runs) == 1
    assert len(results) == 8 and all(r is results[0] for r in results)
    # Not a cache: once the run is over, the next caller computes again (fresh data).
    assert flights.run("k", lambda: {"answer": 43}) == {"answer": 43}
    assert flights.in_flight() == 0


def test_the_leaders_error_reaches_every_follower_and_other_keys_run_apart():
    flights = SingleFlight()
    release = threading.Event()

    def failing() -> None:
        release.wait(10)
        raise ValidationError("bad level")

    errors: list[BaseException] = []

    def call() -> None:
        try:
            flights.run("bad", failing)
        except ValidationError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(3)]
    for thread in threads:
        thread.start()
    _wait_until(lambda: flights.shared == 2)
    assert flights.run("other", lambda: "separate") == "separate"
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(errors) == 3


def test_a_follower_gives_up_with_server_busy():
    flights = SingleFlight()
    release = threading.Event()
    leader = threading.Thread(target=flights.run, args=("slow", lambda: release.wait(10)))
    leader.start()
    _wait_until(lambda: flights.in_flight() == 1)
    with pytest.raises(ServerBusy):
        flights.run("slow", lambda: None, wait_s=0.05)
    release.set()
    leader.join(10)


def test_token_bucket_per_caller():
    buckets = TokenBuckets(per_minute=60, burst=2)  # one token a second
    assert buckets.take("user:1", now=100.0) == 0
    assert buckets.take("user:1", now=100.0) == 0
    assert buckets.take("user:1", now=100.0) == pytest.approx(1.0)
    assert buckets.take("address:10.0.0.9", now=100.0) == 0  # another caller, its own bucket
    assert buckets.take("user:1", now=100.5) == pytest.approx(0.5)
    assert buckets.take("user:1", now=101.0) == 0


def test_token_buckets_forget_refilled_callers_when_full():
    buckets = TokenBuckets(per_minute=60, burst=1, max_callers=2)
    buckets.take("a", now=0.0)
    buckets.take("b", now=0.0)
    assert buckets.take("c", now=5.0) == 0
    assert len(buckets._buckets) == 1  # a and b had refilled: indistinguishable from new


@pytest.mark.parametrize(("path", "query", "kind"), [
    ("/", b"", "heavy"),
    ("/api/rankings", b"province=32", "heavy"),
    ("/api/rankings/320101", b"", "heavy"),
    ("/api/hotspots", b"", "heavy"),
    ("/api/kpi", b"fy=2567", "heavy"),
    ("/api/exports/risk-points.csv", b"", "heavy"),
    ("/api/cctv/plan", b"", "heavy"),
    ("/api/cctv/plans", b"", "light"),
    ("/ogc/collections/risk-points/items", b"f=csv", "heavy"),
    ("/ogc/collections/risk-points/items", b"limit=10", "light"),
    ("/tiles/risk-points/8/201/117.pbf", b"", "tile"),
    ("/tiles/risk-points.json", b"", "light"),
    ("/static/com.css", b"", None),
    ("/api/health", b"", None),
])
def test_classify(path, query, kind):
    assert classify({"type": "http", "path": path, "query_string": query}) == kind


def test_pool_timeout_becomes_server_busy():
    with pytest.raises(ServerBusy), translate_db_errors():
        raise sa_exc.TimeoutError("QueuePool limit of size 5 overflow 10 reached")


def _scope(path: str) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}


def test_middleware_answers_503_when_no_heavy_slot_frees_in_time():
    settings = Settings(heavy_concurrency=1, db_pool_size=2, db_max_overflow=0,
                        queue_wait_s=0.05, _env_file=None)

    async def scenario() -> list[tuple[str, int, dict[bytes, bytes], bytes]]:
        entered = asyncio.Event()
        release = asyncio.Event()

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["path"] == "/api/hotspots":
                entered.set()
                await release.wait()
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"ok"})

        middleware = OverloadMiddleware(app, settings=settings)
        answers: list[tuple[str, int, dict[bytes, bytes], bytes]] = []

        async def request(path: str) -> None:
            sent: list[Any] = []

            async def send(message: Any) -> None:
                sent.append(message)

            async def receive() -> Any:
                return {"type": "http.request", "body": b""}

            await middleware(_scope(path), receive, send)
            answers.append((path, sent[0]["status"], dict(sent[0]["headers"]), sent[1]["body"]))

        first = asyncio.create_task(request("/api/hotspots"))
        await entered.wait()  # the one heavy slot is taken
        await request("/api/rankings")  # waits 0.05 s for it, then is refused
        await request("/ogc/collections")  # a light request still passes
        release.set()
        await first
        return answers

    answers = asyncio.run(scenario())
    by_path = {path: (status, headers, body) for path, status, headers, body in answers}
    status, headers, body = by_path["/api/rankings"]
    assert status == 503
    assert headers[b"retry-after"].isdigit()
    assert headers[b"content-type"] == b"application/problem+json"
    assert b"capacity" in body
    assert by_path["/ogc/collections"][0] == 200
    assert by_path["/api/hotspots"][0] == 200
