"""The MQTT target: one paho-mqtt connection kept open (paho reconnects in its own thread), alerts
published to `<prefix>/cameras/<session id>/<alert-start|alert-end>`, and the server's availability as
the retained `<prefix>/status` (`online`, `offline` also as the last will)."""

from __future__ import annotations

import contextlib
import json
import logging
import ssl
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from servers.notify.channel import DeliveryError, Notification
from servers.notify.config import MqttConfig

log = logging.getLogger("servers.notify")


def alert_topic(prefix: str, session_id: str, kind: str) -> str:
    """The topic of one camera's alert events."""
    return f"{prefix}/cameras/{session_id}/{kind}"


class MqttTarget:
    """Publishes events to one broker (credentials never appear in `name` or in the log). The server's
    own target keeps `<prefix>/status`; a helper process's (`process`: a camera on a Ray node) connects as
    `<client-id>-<process>` and leaves the status alone, so its stop does not say the site is offline."""

    def __init__(self, config: MqttConfig, *, reconnect_max_delay: float, process: str = "") -> None:
        self.name = f"mqtt {config.host}:{config.port}"
        self._config = config
        self._status_topic = "" if process else f"{config.topic_prefix}/status"
        client_id = config.client_id or f"surveillance-{uuid.uuid4().hex[:12]}"
        client_id = f"{client_id}-{process}" if process and config.client_id else client_id
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        if config.username:
            self._client.username_pw_set(config.username, config.password or None)
        if config.tls:
            self._client.tls_set(ca_certs=config.tls_ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
        if self._status_topic:
            self._client.will_set(self._status_topic, "offline", qos=config.qos, retain=True)
        self._client.reconnect_delay_set(1, max(1, int(reconnect_max_delay)))
        self._client.on_connect = self._connected
        self._client.on_disconnect = self._disconnected
        self._client.connect_async(config.host, config.port, keepalive=config.keepalive)
        self._client.loop_start()  # connects, and reconnects, in paho's thread

    def _connected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if reason.is_failure:
            log.warning("%s: the broker refused the connection: %s", self.name, reason)
            return
        log.info("%s: connected", self.name)
        if self._status_topic:
            client.publish(self._status_topic, "online", qos=self._config.qos, retain=True)

    def _disconnected(self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        log.warning("%s: disconnected (%s)", self.name, reason)

    def deliver(self, notification: Notification, timeout: float) -> None:
        """Publish one event and wait for the broker's acknowledgement (QoS 1, 2) or the write (QoS 0)."""
        if not self._client.is_connected():
            raise DeliveryError("not connected to the broker")
        topic = alert_topic(self._config.topic_prefix, notification.session_id, notification.kind)
        payload = json.dumps(notification.payload)
        info = self._client.publish(topic, payload, qos=self._config.qos, retain=self._config.retain)
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as error:
            raise DeliveryError(str(error)) from None
        if not info.is_published():
            raise DeliveryError(f"no acknowledgement from the broker within {timeout:g} s")

    def close(self) -> None:
        """Say `offline` (a clean disconnect sends no last will), disconnect, stop paho's thread."""
        if self._client.is_connected() and self._status_topic:
            info = self._client.publish(self._status_topic, "offline", qos=self._config.qos, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(1.0)
        self._client.disconnect()
        self._client.loop_stop()
