"""COM's MQTT subscriber: ``com/alerts/#`` at QoS 1 in a persistent session (paho-mqtt 2).

The session is persistent (``clean_session=False`` with a fixed client id), so the broker
keeps QoS-1 alerts published while COM is away and sends them when it is back; paho
reconnects with exponential back-off (1 s doubling to 30 s). Messages are queued by paho's
network thread and stored by a thread of their own in batches (what has arrived, up to
:data:`BATCH_MAX`, in one transaction); each is acknowledged (PUBACK) only after it is stored
or refused, so a crash between the two makes the broker send it again; storing is idempotent
on (device, event id).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from sqlalchemy.engine import Engine

from com.errors import ComError, DatabaseUnavailable, ServerBusy, ValidationError
from com.feeds.alerts import Received, receive_alerts

log = logging.getLogger(__name__)

TOPIC = "com/alerts/#"
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30
#: Most alerts stored in one transaction (the store thread takes what has queued up).
BATCH_MAX = 500


def broker_address(url: str) -> tuple[str, int, bool, str | None, str | None]:
    """Return host, port, TLS, username and password of ``mqtt://`` / ``mqtts://`` URLs.

    Raises
    ------
    com.errors.ValidationError
        For another scheme or no host.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl") or not parts.hostname:
        raise ValidationError(
            f"COM_MQTT_URL {url!r}: ใช้ mqtt://host:1883 หรือ mqtts://host:8883 / "
            "use mqtt://host:1883 or mqtts://host:8883"
        )
    tls = parts.scheme in ("mqtts", "ssl")
    port = parts.port or (8883 if tls else 1883)
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return parts.hostname, port, tls, user, password


class AlertSubscriber:
    """Subscribe to alerts and store each one; run in a background thread or in the foreground.

    Parameters
    ----------
    engine
        The database.
    url
        ``COM_MQTT_URL``.
    client_id
        Fixed client id of the persistent session.
    secret_key
        ``COM_SECRET_KEY`` (device secrets are derived from it).
    on_result
        Called with each stored, duplicate or heartbeat payload's :class:`Received`.
    """

    def __init__(self, engine: Engine, *, url: str, client_id: str, secret_key: str,
                 on_result: Callable[[Received], None] | None = None) -> None:
        self.engine = engine
        self.secret_key = secret_key
        self.on_result = on_result
        self.host, self.port, tls, user, password = broker_address(url)
        self.connected = threading.Event()
        self._queue: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._stopping = threading.Event()
        self._store_thread = threading.Thread(target=self._store_loop, name="com-alerts-store",
                                              daemon=True)
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False,
            protocol=mqtt.MQTTv311, manual_ack=True,
        )
        if tls:
            self.client.tls_set()
        if user:
            self.client.username_pw_set(user, password)
        self.client.reconnect_delay_set(min_delay=RECONNECT_MIN_S, max_delay=RECONNECT_MAX_S)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def _on_connect(self, client: mqtt.Client, userdata: object, flags: object,
                    reason: object, properties: object = None) -> None:
        if getattr(reason, "is_failure", False):
            log.warning("MQTT broker refused COM: %s", reason)
            return
        client.subscribe(TOPIC, qos=1)
        self.connected.set()
        log.info("subscribed to %s on %s:%s", TOPIC, self.host, self.port)

    def _on_disconnect(self, client: mqtt.Client, userdata: object, flags: object,
                       reason: object, properties: object = None) -> None:
        self.connected.clear()
        log.warning("MQTT broker gone (%s); reconnecting with back-off", reason)

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        # Only queued here: paho's network thread must keep reading (and pinging) while the
        # store thread writes batches.
        self._queue.put(message)

    def _next_batch(self) -> list[mqtt.MQTTMessage]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        while len(batch) < BATCH_MAX:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _store(self, batch: list[mqtt.MQTTMessage]) -> list[Received | ComError]:
        delay = 0.5
        while True:
            try:
                return receive_alerts(self.engine, [bytes(m.payload) for m in batch],
                                      secret_key=self.secret_key, via="mqtt")
            except (DatabaseUnavailable, ServerBusy):
                # Not acknowledged while the database is away or its pool exhausted: retried
                # until it is back (or, if COM stops meanwhile, sent again by the broker on
                # the next session).
                log.warning("database unavailable; %d alerts wait", len(batch))
                if self._stopping.wait(delay):
                    raise
                delay = min(delay * 2, 5.0)

    def _store_loop(self) -> None:
        while not self._stopping.is_set():
            batch = self._next_batch()
            if not batch:
                continue
            try:
                results = self._store(batch)
            except (DatabaseUnavailable, ServerBusy):
                return  # stopping: the broker sends them again on the next session
            except Exception:  # noqa: BLE001 - keep the subscriber alive; leave them unacked
                log.exception("a batch of %d alerts failed", len(batch))
                continue
            for message, result in zip(batch, results, strict=True):
                if isinstance(result, ComError):  # malformed or refused: never retried
                    log.warning("alert on %s refused: %s", message.topic, result)
                self.client.ack(message.mid, message.qos)
                if isinstance(result, Received) and self.on_result is not None:
                    self.on_result(result)

    def start(self) -> AlertSubscriber:
        """Connect in the background (paho's network thread keeps reconnecting)."""
        self._store_thread.start()
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        """Disconnect (the session stays on the broker) and stop both threads."""
        self._stopping.set()
        self._store_thread.join(timeout=10)
        self.client.disconnect()
        self.client.loop_stop()

    def run_forever(self) -> None:
        """Connect and process alerts until interrupted (``com alerts listen``)."""
        self._store_thread.start()
        self.client.connect_async(self.host, self.port, keepalive=30)
        try:
            self.client.loop_forever(retry_first_connection=True)
        finally:
            self._stopping.set()
