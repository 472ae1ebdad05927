"""The `[notifications]` section of the server TOML (with `[notifications.mqtt]` and
`[notifications.webhooks]`) read into frozen dataclasses."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


class NotifyConfigError(ValueError):
    """A field of the notifications section is missing or invalid (the message names it)."""


@dataclass(frozen=True)
class MqttConfig:
    """`[notifications.mqtt]`: the broker alerts are published to (`host` empty = no MQTT)."""

    host: str = ""
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    tls_ca_file: str = ""
    topic_prefix: str = "surveillance"
    qos: int = 1
    retain: bool = False
    client_id: str = ""
    keepalive: int = 60


@dataclass(frozen=True)
class WebhookConfig:
    """`[notifications.webhooks]`: URLs alerts are POSTed to as JSON, optionally signed with `secret`."""

    urls: tuple[str, ...] = ()
    secret: str = ""


@dataclass(frozen=True)
class NotifyConfig:
    """`[notifications]`: the shared settings and the two kinds of channel."""

    public_url: str = ""
    queue_max: int = 1000
    timeout: float = 5.0
    retry_delay: float = 1.0
    retry_max_delay: float = 60.0
    event_max_age: float = 3600.0
    mqtt: MqttConfig = field(default_factory=MqttConfig)
    webhooks: WebhookConfig = field(default_factory=WebhookConfig)

    @property
    def enabled(self) -> bool:
        """Whether any channel is configured."""
        return bool(self.mqtt.host or self.webhooks.urls)


def _values(cls: type, table: Any, where: str, nested: tuple[str, ...] = ()) -> dict[str, Any]:
    """The fields of dataclass `cls` from a TOML table, type-checked against the defaults."""
    if not isinstance(table, dict):
        raise NotifyConfigError(f"'{where}' must be a table")
    defaults = cls()
    names = {item.name for item in dataclasses.fields(cls)} - set(nested)
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = key.replace("-", "_")
        if name in nested:
            continue
        if name not in names:
            raise NotifyConfigError(f"unknown config field '{where}.{key}'")
        default = getattr(defaults, name)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise NotifyConfigError(f"config field '{where}.{key}' must be a list of strings")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise NotifyConfigError(f"config field '{where}.{key}' must be true or false, got {value!r}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise NotifyConfigError(
                    f"config field '{where}.{key}' must be a positive number, got {value!r}"
                )
            value = float(value)
        elif not isinstance(value, type(default)) or isinstance(value, bool):
            kind = type(default).__name__
            raise NotifyConfigError(f"config field '{where}.{key}' must be of type {kind}, got {value!r}")
        values[name] = value
    return values


def _check_url(value: str, key: str) -> None:
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError for an invalid port
    except ValueError:
        raise NotifyConfigError(f"config field '{key}' has an invalid port: {value!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise NotifyConfigError(f"config field '{key}' must be an http:// or https:// URL, got {value!r}")


def _check_mqtt(mqtt: MqttConfig) -> None:
    where = "notifications.mqtt"
    if not 0 < mqtt.port < 65536:
        raise NotifyConfigError(f"config field '{where}.port' must be in 1..65535, got {mqtt.port!r}")
    if mqtt.qos not in (0, 1, 2):
        raise NotifyConfigError(f"config field '{where}.qos' must be 0, 1 or 2, got {mqtt.qos!r}")
    if mqtt.keepalive <= 0:
        raise NotifyConfigError(f"config field '{where}.keepalive' must be positive, got {mqtt.keepalive!r}")
    prefix = mqtt.topic_prefix
    if not prefix or prefix.startswith("/") or prefix.endswith("/") or any(c in prefix for c in "+#\0"):
        raise NotifyConfigError(
            f"config field '{where}.topic-prefix' must be a topic without wildcards or a leading or "
            f"trailing '/', got {prefix!r}"
        )
    if mqtt.tls_ca_file and not Path(mqtt.tls_ca_file).is_file():
        raise NotifyConfigError(f"config field '{where}.tls-ca-file': {mqtt.tls_ca_file} does not exist")
    if mqtt.password and not mqtt.username:
        raise NotifyConfigError(f"config field '{where}.password' needs '{where}.username'")


def parse_notify_config(table: Any) -> NotifyConfig:
    """The `[notifications]` table as a NotifyConfig; NotifyConfigError naming the bad field."""
    values = _values(NotifyConfig, table, "notifications", nested=("mqtt", "webhooks"))
    mqtt = MqttConfig(**_values(MqttConfig, table.get("mqtt", {}), "notifications.mqtt"))
    webhooks = WebhookConfig(**_values(WebhookConfig, table.get("webhooks", {}), "notifications.webhooks"))
    config = NotifyConfig(**values, mqtt=mqtt, webhooks=webhooks)
    if config.public_url:
        _check_url(config.public_url, "notifications.public-url")
        if urlsplit(config.public_url).query or urlsplit(config.public_url).fragment:
            raise NotifyConfigError(
                "config field 'notifications.public-url' must not have a query or fragment"
            )
    if config.queue_max <= 0:
        raise NotifyConfigError(
            f"config field 'notifications.queue-max' must be positive, got {config.queue_max}"
        )
    if config.retry_max_delay < config.retry_delay:
        raise NotifyConfigError("config field 'notifications.retry-max-delay' must be >= 'retry-delay'")
    if mqtt.host:
        _check_mqtt(mqtt)
    for url in webhooks.urls:
        _check_url(url, "notifications.webhooks.urls")
    return config
