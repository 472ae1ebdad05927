"""The notifier: turns a live session's alert events into the documented payload (docs/notifications.md)
and hands them to every configured channel (MQTT, each webhook) without blocking the caller."""

from __future__ import annotations

import logging
from typing import Any

from servers.notify.channel import Channel, Notification
from servers.notify.config import NotifyConfig
from servers.notify.mqtt import MqttTarget
from servers.notify.webhook import WebhookTarget
from servers.storage.repositories import new_id

log = logging.getLogger("servers.notify")
PAYLOAD_VERSION = 1
ALERT_EVENTS = ("alert-start", "alert-end")


def alert_payload(
    kind: str, alert: dict[str, Any], camera: dict[str, Any], public_url: str
) -> dict[str, Any]:
    """The JSON body of an alert event. `alert` is the API shape of the alert (its `snapshot_url`, and its
    `clip_url` when it has one, are made absolute with `public_url`; relative when that is empty)."""
    base = public_url.rstrip("/")
    payload = {
        "version": PAYLOAD_VERSION,
        "event": kind,
        "time": alert["end_time"] if kind == "alert-end" else alert["start_time"],
        "camera": {"id": alert["session_id"], "name": camera.get("name", "")},
        "alert_id": alert["id"],
        "start_time": alert["start_time"],
        "end_time": alert.get("end_time"),
        "score": alert["peak_score"],
        "category": alert.get("category"),
        "category_probability": alert.get("category_probability"),
        "causes": alert.get("causes") or [],
        "snapshot_url": base + alert["snapshot_url"],
    }
    if alert.get("clip_url"):
        payload["clip_url"] = base + alert["clip_url"]
    return payload


class Notifier:
    """The configured channels; `alert` queues an event on each of them and returns at once."""

    def __init__(self, config: NotifyConfig, *, process: str = "") -> None:
        """`process`: a name for a helper process's notifier (see `MqttTarget`); empty for the server."""
        self._config = config
        self._channels: list[Channel] = []
        if config.mqtt.host:
            target = MqttTarget(config.mqtt, reconnect_max_delay=config.retry_max_delay, process=process)
            self._channels.append(Channel(target, config))
        for url in config.webhooks.urls:
            self._channels.append(Channel(WebhookTarget(url, config.webhooks.secret), config))

    @property
    def enabled(self) -> bool:
        """Whether any channel is configured."""
        return bool(self._channels)

    def alert(self, kind: str, alert: dict[str, Any], camera: dict[str, Any]) -> None:
        """Queue an alert event of `camera` (a session; nothing is sent when its `notify` is false)."""
        if kind not in ALERT_EVENTS:
            raise ValueError(f"unknown alert event {kind!r}")
        if not self._channels or camera.get("notify") is False:
            return
        payload = alert_payload(kind, alert, camera, self._config.public_url)
        notification = Notification(kind, alert["session_id"], new_id(), payload)
        for channel in self._channels:
            channel.offer(notification)

    def status(self) -> dict[str, Any]:
        """Each channel's counts (sent, failed attempts, dropped, pending), last error and last success."""
        return {"enabled": self.enabled, "channels": [channel.status() for channel in self._channels]}

    def close(self, timeout: float = 5.0) -> None:
        """Send what is queued while the targets take it, within `timeout` in all; then disconnect."""
        for channel in self._channels:
            channel.close(timeout / max(1, len(self._channels)))
