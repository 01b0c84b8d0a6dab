"""Large object graphs handed to com.collector.release_later are freed, a moment later."""

from __future__ import annotations

import time
import weakref

from com import collector


class _Rows(list):  # a list subclass can be weakly referenced
    pass


def test_handed_objects_are_freed_after_the_delay() -> None:
    rows = _Rows([{"row": n} for n in range(1000)])
    alive = weakref.ref(rows)
    start = time.monotonic()
    collector.release_later(rows, {"other": rows})
    del rows
    assert alive() is not None  # still held: the caller's answer goes out first
    while alive() is not None and time.monotonic() - start < 10:
        time.sleep(0.01)
    assert alive() is None, "never freed"
    assert time.monotonic() - start >= collector.RELEASE_DELAY_S * 0.9
