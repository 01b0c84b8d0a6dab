"""Ranking answers as a mature API serves them: pages, encoded once, revalidated by ETag.

The national ranking is 7,425 areas (4.4 MB of JSON): building the JSON took ~130 ms and
gzip ~300 ms per request, whatever the cache of the ranking itself (issue 13). So:

- a page: ``limit`` (default :data:`DEFAULT_LIMIT`, at most :data:`MAX_LIMIT`) and ``offset``;
  the answer says the ``total`` and gives the ``next`` page's address (also a ``Link`` header);
- the ENCODED answer (JSON bytes and their gzip) is kept per process, keyed by everything that
  changes it: the filters as the caller may use them (their province), format and page, the
  severity model, the caller's privacy class (public callers get small areas suppressed), the
  small-area threshold, the analysis date, and the data's version (the reference tables'
  fingerprint and the risk rollup's version, which every write of the points changes);
- a strong ETag made from that key, so a repeated request is answered 304, or from the bytes.

H3 answers are not kept (a point moved within its subdistrict changes an H3 cell without
changing the rollup's version); they get a strong ETag of their bytes.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from sqlalchemy.engine import Connection

from com.analysis import risk
from com.analysis.risk import reference

GEOJSON = "application/geo+json"
#: Areas per page unless the caller asks (every province's subdistricts fit in one page).
DEFAULT_LIMIT = 1000
#: Most areas one page may hold (an H3 ranking of the country: ~500,000 cells).
MAX_LIMIT = 1_000_000
#: Encoded answers kept per process, and at most this many bytes of them (JSON + gzip).
CACHE_ENTRIES = 64
CACHE_BYTES = 128 * 1024 * 1024
#: gzip level of the kept answers: 6 makes 4.4 MB in ~90 ms, 9 (GZipMiddleware's) in ~300 ms
#: for 3% fewer bytes.
GZIP_LEVEL = 6


@dataclass(frozen=True)
class Encoded:
    """One answer's bytes: plain and gzipped, its media type, ETag and extra headers."""

    body: bytes
    gzipped: bytes
    media_type: str
    etag: str
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def size(self) -> int:
        """Bytes held."""
        return len(self.body) + len(self.gzipped)


class AnswerCache:
    """A per-process LRU of encoded answers, bounded in entries and bytes (thread-safe)."""

    def __init__(self, entries: int = CACHE_ENTRIES, max_bytes: int = CACHE_BYTES) -> None:
        self.entries, self.max_bytes = entries, max_bytes
        self._lock = threading.Lock()
        self._items: OrderedDict[Hashable, Encoded] = OrderedDict()
        self._bytes = 0

    def get(self, key: Hashable) -> Encoded | None:
        """Return the answer kept for ``key`` (None when there is none)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: Hashable, value: Encoded) -> None:
        """Keep ``value`` for ``key``, dropping the least recently used beyond the bounds."""
        if value.size > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._bytes -= old.size if old else 0
            self._items[key] = value
            self._bytes += value.size
            while len(self._items) > self.entries or self._bytes > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._bytes -= dropped.size


def answer_cache(request: Request) -> AnswerCache:
    """Return the app's cache of encoded answers (one per app)."""
    cache = getattr(request.app.state, "answer_cache", None)
    if cache is None:
        cache = request.app.state.answer_cache = AnswerCache()
    return cache  # type: ignore[no-any-return]


def data_version(conn: Connection) -> tuple[Any, ...] | None:
    """Return what identifies the data a ranking is made of (None: do not keep the answer)."""
    state = reference.fingerprint(conn)
    if state is None:
        return None
    return state, reference.rollup_version(conn)


def etag_of_key(key: Hashable) -> str:
    """Return a strong ETag naming the answer of ``key`` (BLAKE2b of its text, 128 bits)."""
    return '"' + hashlib.blake2b(repr(key).encode(), digest_size=16).hexdigest() + '"'


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an If-None-Match header names ``etag`` (or its gzip variant), or is ``*``."""
    if not header:
        return False
    candidates = {c.strip().removeprefix("W/") for c in header.split(",")}
    return "*" in candidates or etag in candidates or _gzip_etag(etag) in candidates


def _gzip_etag(etag: str) -> str:
    # The gzipped bytes are another representation: a strong ETag of their own.
    return etag[:-1] + '-gzip"'


def analysis_date(as_of: dt.date | None) -> dt.date:
    """Return the date the answer is computed for (today when the caller gives none)."""
    return as_of or dt.date.today()


def page_of(frame: Any, limit: int, offset: int) -> Any:
    """Rows ``offset`` to ``offset + limit`` of a ranking, keeping its ``attrs``."""
    attrs = dict(frame.attrs)
    part = frame.iloc[offset:offset + limit]
    part.attrs.update(attrs)
    return part


def next_url(request: Request, total: int, limit: int, offset: int) -> str | None:
    """Return the address of the next page (None on the last page)."""
    if offset + limit >= total:
        return None
    return str(request.url.include_query_params(offset=offset + limit, limit=limit))


def encode(
    frame: Any, *, fmt: str, total: int, limit: int, offset: int, next_page: str | None,
    etag: str | None,
) -> Encoded:
    """Encode one page of a ranking as JSON or GeoJSON, plain and gzipped.

    ``etag``: the key's (:func:`etag_of_key`); None: a hash of the bytes.
    """
    paging = {"total": total, "offset": offset, "limit": limit, "next": next_page}
    if fmt == "geojson":
        document = risk.areas_to_geojson(frame)
        document["metadata"].update(paging)
        document["numberMatched"], document["numberReturned"] = total, len(frame)
        if next_page:
            document["links"] = [{"rel": "next", "href": next_page, "type": GEOJSON}]
        body = json.dumps(document, ensure_ascii=False).encode()
        media_type = GEOJSON
    else:
        body = risk.areas_to_json(frame, **dict(frame.attrs), **paging).encode()
        media_type = "application/json"
    headers = (("Link", f'<{next_page}>; rel="next"'),) if next_page else ()
    return Encoded(body, gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0), media_type,
                   etag or content_etag(body), headers)


def _headers(public: bool) -> dict[str, str]:
    # Every request revalidates (no-cache): the data may change at any upload.
    return {"Cache-Control": f"{'public' if public else 'private'}, no-cache",
            "Vary": "Authorization, X-API-Key, Cookie, Accept-Encoding"}


def not_modified(etag: str, *, public: bool) -> Response:
    """Return the 304 answer to a client holding the answer named ``etag``."""
    return Response(status_code=304, headers={**_headers(public), "ETag": etag})


def respond(request: Request, encoded: Encoded, *, public: bool) -> Response:
    """Answer 304 when the client holds it, else the gzipped or plain bytes."""
    headers = {**_headers(public), **dict(encoded.headers)}
    if etag_matches(request.headers.get("if-none-match"), encoded.etag):
        return not_modified(encoded.etag, public=public)
    if "gzip" in request.headers.get("accept-encoding", "").lower():
        return Response(encoded.gzipped, media_type=encoded.media_type, headers={
            **headers, "ETag": _gzip_etag(encoded.etag), "Content-Encoding": "gzip"})
    return Response(encoded.body, media_type=encoded.media_type,
                    headers={**headers, "ETag": encoded.etag})


def cached_answer(
    request: Request, key: Hashable | None, make: Callable[[str | None], Encoded]
) -> Encoded:
    """Return the answer of ``key`` from the cache, else ``make(etag)`` (kept when keyed)."""
    if key is None:
        return make(None)
    cache = answer_cache(request)
    found = cache.get(key)
    if found is None:
        found = make(etag_of_key(key))
        cache.put(key, found)
    return found


def content_etag(body: bytes) -> str:
    """Return a strong ETag of bytes (answers not kept: H3)."""
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'
