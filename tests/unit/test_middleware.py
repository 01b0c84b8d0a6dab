"""The request body limit, in-process: declared and streamed sizes, and the replaced answer."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from api.middleware import ENVELOPE_BYTES, BodySizeLimitMiddleware, upload_limit_bytes

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
