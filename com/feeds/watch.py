"""Wake open alert streams when an alert is committed: one LISTEN connection per process.

Every stored alert sends ``pg_notify('com_alerts', id)`` in its own transaction
(:func:`notify_alerts`), so PostgreSQL delivers it only when the alert commits, to every
process listening (each API worker, whichever process stored it: the MQTT bridge, another
worker, the CLI). An :class:`AlertWatch` holds one dedicated connection in a thread and sets
the events of the streams that wait on it, so N open maps cost one idle connection instead of
N queries every quarter second. If the connection fails the watch keeps waking the streams
every ``fallback_s`` (they then look for new alerts as a poll would) and reconnects with
back-off; the same timer also covers alerts written without a notification (plain SQL).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection

log = logging.getLogger(__name__)

#: The notification channel of committed alerts (the payload is the newest alert id).
ALERT_CHANNEL = "com_alerts"
RECONNECT_MAX_S = 30.0
#: Longest wait for a notification before the thread looks whether it should stop.
STOP_CHECK_S = 0.5


def notify_alerts(conn: Connection, newest_id: int) -> None:
    """Queue the notification of new alerts; PostgreSQL sends it when ``conn`` commits."""
    conn.execute(sa.text("SELECT pg_notify(:channel, :payload)"),
                 {"channel": ALERT_CHANNEL, "payload": str(int(newest_id))})


def libpq_dsn(url: str | sa.engine.URL) -> str:
    """Return the libpq connection string of a SQLAlchemy URL (``postgresql+psycopg://``)."""
    parsed = sa.engine.make_url(url)
    return parsed.set(drivername="postgresql").render_as_string(hide_password=False)


class AlertWatch:
    """A thread listening on :data:`ALERT_CHANNEL` that wakes the registered waiters.

    Waiters are callables (an asyncio stream registers ``loop.call_soon_threadsafe`` of its
    event's ``set``); they are called on every notification and every ``fallback_s``.
    """

    def __init__(self, dsn: str, *, fallback_s: float = 2.0,
                 connect: Callable[[str], psycopg.Connection] | None = None) -> None:
        self.dsn = dsn
        self.fallback_s = fallback_s
        self.listening = threading.Event()
        self.notifications = 0
        self._connect = connect or (lambda dsn: psycopg.connect(dsn, autocommit=True))
        self._waiters: set[Callable[[], None]] = set()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="com-alert-watch", daemon=True)

    def start(self) -> AlertWatch:
        """Start listening in the background; return self."""
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop listening (wakes the waiters a last time)."""
        self._stopping.set()
        self._thread.join(timeout)
        self._wake()

    def add(self, waiter: Callable[[], None]) -> None:
        """Call ``waiter`` on every new alert (and every ``fallback_s``) until removed."""
        with self._lock:
            self._waiters.add(waiter)

    def remove(self, waiter: Callable[[], None]) -> None:
        """Stop calling ``waiter``."""
        with self._lock:
            self._waiters.discard(waiter)

    def _wake(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for waiter in waiters:
            try:
                waiter()
            except RuntimeError:  # the waiter's event loop has closed: it is gone
                self.remove(waiter)

    def _run(self) -> None:
        delay = 1.0
        while not self._stopping.is_set():
            try:
                with self._connect(self.dsn) as conn:
                    conn.execute(f"LISTEN {ALERT_CHANNEL}")  # a constant, never user input
                    self.listening.set()
                    delay = 1.0
                    self._wake()  # anything committed while (re)connecting
                    quiet_s = 0.0
                    while not self._stopping.is_set():
                        # Short waits so stop() is honoured within STOP_CHECK_S; the waiters
                        # are woken by a notification, or by the timer every fallback_s.
                        got = False
                        for _ in conn.notifies(timeout=STOP_CHECK_S):
                            got = True
                            self.notifications += 1
                            self._wake()
                            if self._stopping.is_set():
                                break
                        quiet_s = 0.0 if got else quiet_s + STOP_CHECK_S
                        if quiet_s >= self.fallback_s:
                            quiet_s = 0.0
                            self._wake()  # the timer: alerts written without a notification
            except psycopg.Error as exc:
                self.listening.clear()
                log.warning("alert watch: %s; polling every %.1f s until it reconnects",
                            exc, self.fallback_s)
                waited = 0.0
                while waited < delay and not self._stopping.wait(min(self.fallback_s, delay)):
                    self._wake()
                    waited += min(self.fallback_s, delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
        self.listening.clear()


def stream_waker(loop: asyncio.AbstractEventLoop, event: asyncio.Event) -> Callable[[], None]:
    """Return a waiter that sets ``event`` on ``loop`` from the watch's thread."""

    def wake() -> None:
        loop.call_soon_threadsafe(event.set)

    return wake
