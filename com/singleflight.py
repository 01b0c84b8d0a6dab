"""Single-flight: concurrent callers asking for the same computation share one run of it.

With cold caches, fifty readers of one ranking would otherwise compute it fifty times at once
(issue 11): each holding a database connection and a worker thread while the two cores thrash.
The first caller of a key (the leader) runs the function; callers of the same key that arrive
while it runs wait for its result, or its exception, instead of starting their own. Nothing is
kept once the run ends: this shares work in flight, it is not a cache, so a caller arriving
after the run sees fresh data.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

from com.errors import ServerBusy

T = TypeVar("T")

#: Longest a follower waits for the leader's result before giving up with ServerBusy.
DEFAULT_WAIT_S = 60.0


class _Flight:
    __slots__ = ("done", "error", "followers", "result")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None
        self.followers = 0


class SingleFlight:
    """Run at most one computation per key at a time; share its outcome with callers waiting.

    Examples
    --------
    >>> flights = SingleFlight()
    >>> flights.run(("ranking", "32"), lambda: 42)
    42
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._flights: dict[Hashable, _Flight] = {}
        #: How many calls were answered by another caller's run (for tests and metrics).
        self.shared = 0

    def run(self, key: Hashable, function: Callable[[], T], *, wait_s: float = DEFAULT_WAIT_S) -> T:
        """Return ``function()``, or the result of the run of ``key`` already in flight.

        Parameters
        ----------
        key
            What identifies the computation (every input that changes its result).
        function
            The computation; called by the leader only.
        wait_s
            Longest a follower waits for the leader, in seconds.

        Returns
        -------
        object
            The leader's result (the same object for every caller: treat it as read-only).

        Raises
        ------
        com.errors.ServerBusy
            A follower waited ``wait_s`` and the leader had not finished.
        Exception
            Whatever the leader's run raised, raised again in every follower.
        """
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
            else:
                flight.followers += 1
                self.shared += 1
        if not leader:
            if not flight.done.wait(wait_s):
                raise ServerBusy("the service is busy computing this; retry in a few seconds")
            if flight.error is not None:
                raise flight.error
            return flight.result  # type: ignore[no-any-return]
        try:
            flight.result = function()
            return flight.result  # type: ignore[no-any-return]
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                self._flights.pop(key, None)
            flight.done.set()

    def in_flight(self) -> int:
        """Return how many computations are running now."""
        with self._lock:
            return len(self._flights)
