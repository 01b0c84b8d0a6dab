"""COM's MQTT subscriber: ``com/alerts/#`` at QoS 1 in a persistent session (paho-mqtt 2).

The session is persistent (``clean_session=False`` with a fixed client id), so the broker
keeps QoS-1 alerts published while COM is away and sends them when it is back; paho
reconnects with exponential back-off (1 s doubling to 30 s). Each message is acknowledged
(PUBACK) only after it is stored or refused, so a crash between the two makes the broker
send it again; storing is idempotent on (device, event id).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from sqlalchemy.engine import Engine

from com.errors import ComError, DatabaseUnavailable, ValidationError
from com.feeds.alerts import Received, receive_alert

log = logging.getLogger(__name__)

TOPIC = "com/alerts/#"
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 30
#: How long one message waits for a database that is down before it is left unacknowledged.
STORE_RETRY_S = 30.0


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

    def _store(self, payload: bytes | bytearray) -> Received | None:
        deadline = time.monotonic() + STORE_RETRY_S
        delay = 0.5
        while True:
            try:
                return receive_alert(self.engine, bytes(payload), secret_key=self.secret_key,
                                     via="mqtt")
            except DatabaseUnavailable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _on_message(self, client: mqtt.Client, userdata: object,
                    message: mqtt.MQTTMessage) -> None:
        try:
            result = self._store(message.payload)
        except DatabaseUnavailable:
            # Not acknowledged: the broker sends it again on the next session.
            log.exception("alert on %s not stored: database unavailable", message.topic)
            return
        except ComError as exc:  # malformed, unknown device, bad signature: refused for good
            log.warning("alert on %s refused: %s", message.topic, exc)
            result = None
        except Exception:  # noqa: BLE001 - keep the subscriber alive; leave it unacknowledged
            log.exception("alert on %s failed", message.topic)
            return
        client.ack(message.mid, message.qos)
        if result is not None and self.on_result is not None:
            self.on_result(result)

    def start(self) -> AlertSubscriber:
        """Connect in the background (paho's network thread keeps reconnecting)."""
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_start()
        return self

    def stop(self) -> None:
        """Disconnect (the session stays on the broker) and stop the network thread."""
        self.client.disconnect()
        self.client.loop_stop()

    def run_forever(self) -> None:
        """Connect and process alerts in this thread until interrupted (``com alerts listen``)."""
        self.client.connect_async(self.host, self.port, keepalive=30)
        self.client.loop_forever(retry_first_connection=True)
