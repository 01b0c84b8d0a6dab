"""Pause Python's cyclic garbage collector around bulk work that makes no reference cycles.

Uploads (100,000 rows: a few million live rows, records and cells) and geocoding batches (many
small look-up cache entries and candidates) allocate so many containers that the collector's
passes over them took a quarter of their time, yet find nothing to free: neither makes
reference cycles (tests check it), and reference counting frees everything as usual.
One mechanism for both, counted across threads: the collector runs again when the last
concurrent pause ends, and only if it ran before the first began.
"""

from __future__ import annotations

import gc
import queue
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused", "release_later"]

_state = {"pauses": 0, "was_enabled": True}
_lock = threading.Lock()


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the block; nested and concurrent pauses are counted.

    When the last pause ends, the objects made meanwhile and still alive (caches, results)
    would all be young, and the first allocation after re-enabling would pay one pass over
    them (a tenth of a typo-heavy geocoding batch). ``gc.freeze()`` then ``gc.unfreeze()``
    moves every tracked object to the oldest generation instead, without a pass (two list
    splices): any garbage cycle made meanwhile elsewhere is still found by the next full
    collection. Skipped when the process has frozen objects of its own (a pre-fork server
    may), which unfreezing would release.
    """
    with _lock:
        if _state["pauses"] == 0:
            _state["was_enabled"] = gc.isenabled()
            gc.disable()
        _state["pauses"] += 1
    try:
        yield
    finally:
        with _lock:
            _state["pauses"] -= 1
            if _state["pauses"] == 0 and _state["was_enabled"]:
                if not gc.get_freeze_count():
                    gc.freeze()
                    gc.unfreeze()
                gc.enable()


_doomed: queue.SimpleQueue[tuple[object, ...]] = queue.SimpleQueue()
_reaper: list[threading.Thread] = []


def release_later(*objects: object) -> None:
    """Free large object graphs in a background thread instead of the caller's.

    An upload's 100,000 rows, records and cells took 0.08-0.1 s to free when its function
    returned, before the API could answer. Handed here as the caller's last references,
    they are freed by one daemon thread a moment later (RELEASE_DELAY_S: freeing holds the
    GIL, which the answer needs meanwhile), by reference counting, no collector pass: the
    same work, after the answer. The caller must keep no reference.
    """
    with _lock:
        if not _reaper:
            _reaper.append(threading.Thread(target=_reap, name="com-release", daemon=True))
            _reaper[0].start()
    _doomed.put(objects)


#: How long the objects wait: freeing holds the GIL, and the answer goes out first.
RELEASE_DELAY_S = 0.1


def _reap() -> None:
    while True:
        objects = _doomed.get()
        time.sleep(RELEASE_DELAY_S)
        del objects
