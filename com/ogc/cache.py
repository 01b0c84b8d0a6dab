"""A tiny thread-safe time-limited cache for the catalog's counts, extents and rankings."""

from __future__ import annotations

import threading
import time
from typing import Any


class TTLCache:
    """A tiny thread-safe time-limited cache (per catalog, so per app)."""

    def __init__(self, ttl_s: float, max_items: int = 256) -> None:
        self.ttl_s = ttl_s
        self.max_items = max_items
        self._data: dict[Any, tuple[float, Any]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        """Return the live value stored under ``key``, or None when absent or expired."""
        with self._lock:
            hit = self._data.get(key)
            if hit and hit[0] > time.monotonic():
                return hit[1]
            self._data.pop(key, None)
            return None

    def put(self, key: Any, value: Any) -> None:
        """Store ``value`` for ``ttl_s`` seconds, dropping the oldest entry when full."""
        with self._lock:
            if len(self._data) >= self.max_items:
                self._data.pop(next(iter(self._data)))
            self._data[key] = (time.monotonic() + self.ttl_s, value)

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._data.clear()
