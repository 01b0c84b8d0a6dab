"""ASGI middleware that protects the app before any handler, parser or authentication runs.

Starlette has no request-size limit of its own, and FastAPI reads (and spools to disk) a
multipart body before the route's dependencies, authentication included, are solved. So the
limit is enforced here, at the outermost layer, on the raw ASGI byte stream: a declared
``Content-Length`` above the limit is refused at once without reading a byte of the body, and a
chunked body (no length) is counted as it streams and cut off as soon as it passes the limit.
The reverse proxy should refuse the same sizes first (nginx ``client_max_body_size``); this is
the defence for when it does not.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: Room for the multipart envelope (boundaries, part headers, form fields) around a file of
#: exactly the configured size, so a file at the limit is not refused for its wrapping.
ENVELOPE_BYTES = 64 * 1024


class BodyTooLarge(Exception):  # noqa: N818 - an ASGI-level signal, not a COM error
    """Raised from ``receive`` when a streamed body passes the limit."""


def _problem_413(max_bytes: int, declared: int | None) -> tuple[list[tuple[bytes, bytes]], bytes]:
    limit_mb = max_bytes / (1024 * 1024)
    if declared is not None:
        detail = (
            f"request body of {declared} bytes is over the limit of {max_bytes} bytes "
            f"({limit_mb:.0f} MB); ไฟล์ใหญ่เกินกำหนด"
        )
    else:
        detail = (
            f"request body is over the limit of {max_bytes} bytes ({limit_mb:.0f} MB); "
            "ไฟล์ใหญ่เกินกำหนด"
        )
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Payload Too Large",
            "status": 413,
            "detail": detail,
            "max_bytes": max_bytes,
        },
        ensure_ascii=False,
    ).encode("utf-8")
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", str(len(body)).encode()),
        # The rest of the body is never read: close the connection rather than leave the
        # client's unread bytes in the stream of a kept-alive connection.
        (b"connection", b"close"),
    ]
    return headers, body


class BodySizeLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with 413 problem+json.

    Parameters
    ----------
    app
        The ASGI app to protect.
    max_bytes
        Largest body accepted, in bytes.

    Notes
    -----
    Memory stays bounded whatever the client sends: the declared-length check reads nothing,
    and the streaming check holds at most one ASGI message (the server's read chunk, 64 KiB
    with uvicorn) beyond what the app already consumed.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, enforcing the limit on HTTP requests only."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared: int | None = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = None
                break
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send, declared)
            return

        received = 0
        exceeded = False
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if exceeded and not response_started:
                # The app answered after its body read failed (e.g. FastAPI's "error parsing
                # the body" 400): drop that answer, the 413 below replaces it.
                return
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not response_started:
            await self._refuse(send, None)

    async def _refuse(self, send: Send, declared: int | None) -> None:
        headers, body = _problem_413(self.max_bytes, declared)
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})


def upload_limit_bytes(max_upload_mb: int) -> int:
    """Return the body limit for a configured upload size in MB (plus the multipart envelope)."""
    return max_upload_mb * 1024 * 1024 + ENVELOPE_BYTES
