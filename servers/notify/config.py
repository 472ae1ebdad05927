"""The `[notifications]` section of the server TOML (with `[notifications.mqtt]` and
`[notifications.webhooks]`): configuration models read with the rest of the server file
(`inferences.configfile`), so a bad field names `notifications.<table>.<field>`."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from inferences.configfile import ConfigModel, FieldProblem

POSITIVE = "a positive number"
TEXT = "a string"
SWITCH = "true or false"


def check_url(value: str) -> str:
    """`value` when it is an http(s) URL with a host and a valid port; ValueError saying what is wrong."""
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError for an invalid port
    except ValueError:
        raise ValueError(f"has an invalid port: {value!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
    return value


class MqttConfig(ConfigModel):
    """`[notifications.mqtt]`: the broker alerts are published to (`host` empty = no MQTT)."""

    host: str = Field("", description="a host name (empty = no MQTT)")
    port: int = Field(1883, gt=0, lt=65536, description="in 1..65535")
    username: str = Field("", description=TEXT)
    password: str = Field("", description=TEXT)
    tls: bool = Field(False, description=SWITCH)
    tls_ca_file: str = Field("", description="a file path (empty = the system's CAs)")
    topic_prefix: str = Field("surveillance", description=TEXT)
    qos: int = Field(1, ge=0, le=2, description="0, 1 or 2")
    retain: bool = Field(False, description=SWITCH)
    client_id: str = Field("", description=TEXT)
    keepalive: int = Field(60, gt=0, description="a positive integer")

    @model_validator(mode="after")
    def _broker(self) -> MqttConfig:
        if not self.host:
            return self
        prefix = self.topic_prefix
        if not prefix or prefix.startswith("/") or prefix.endswith("/") or any(c in prefix for c in "+#\0"):
            raise FieldProblem(
                "topic-prefix",
                f"must be a topic without wildcards or a leading or trailing '/', got {prefix!r}",
            )
        if self.tls_ca_file and not Path(self.tls_ca_file).is_file():
            raise FieldProblem("tls-ca-file", f"names {self.tls_ca_file}, which does not exist")
        if self.password and not self.username:
            raise FieldProblem("password", "needs 'username'")
        return self


class WebhookConfig(ConfigModel):
    """`[notifications.webhooks]`: URLs alerts are POSTed to as JSON, optionally signed with `secret`."""

    urls: tuple[str, ...] = Field((), strict=False, description="a list of http(s) URLs")
    secret: str = Field("", description=TEXT)

    @field_validator("urls")
    @classmethod
    def _urls(cls, urls: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(check_url(url) for url in urls)


class NotifyConfig(ConfigModel):
    """`[notifications]`: the shared settings and the two kinds of channel."""

    public_url: str = Field("", description="an http(s) URL (empty = relative links)")
    queue_max: int = Field(1000, gt=0, description="a positive integer")
    timeout: float = Field(5.0, gt=0, description=POSITIVE)
    retry_delay: float = Field(1.0, gt=0, description=POSITIVE)
    retry_max_delay: float = Field(60.0, gt=0, description=POSITIVE)
    event_max_age: float = Field(3600.0, gt=0, description=POSITIVE)
    mqtt: MqttConfig = Field(MqttConfig(), description="a table ([notifications.mqtt])")
    webhooks: WebhookConfig = Field(WebhookConfig(), description="a table ([notifications.webhooks])")

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, url: str) -> str:
        if url and check_url(url) and (urlsplit(url).query or urlsplit(url).fragment):
            raise ValueError("must not have a query or fragment")
        return url

    @model_validator(mode="after")
    def _delays(self) -> NotifyConfig:
        if self.retry_max_delay < self.retry_delay:
            raise FieldProblem("retry-max-delay", "must be >= 'retry-delay'")
        return self

    @property
    def enabled(self) -> bool:
        """Whether any channel is configured."""
        return bool(self.mqtt.host or self.webhooks.urls)
