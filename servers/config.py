"""Server configuration: `servers/configs/config.toml` read into a frozen dataclass."""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inferences.errors import SurveillanceError
from inferences.paths import REPO_ROOT
from inferences.sources import NETWORK_SCHEMES, NetworkPolicy
from servers.notify.config import NotifyConfig, NotifyConfigError, parse_notify_config

DEFAULT_CONFIG_PATH = REPO_ROOT / "servers" / "configs" / "config.toml"
CONFIG_ENV = "SURVEILLANCE_SERVER_CONFIG"
KNOWN_SCHEMES = (*NETWORK_SCHEMES, "file")  # what the stream engine opens
# Addresses a live-session source may not name unless `stream-allowed-networks` says so: this host,
# link-local (cloud metadata services), unspecified.
DENIED_NETWORKS = ("127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128")


class ConfigError(SurveillanceError):
    """A configuration file or field is missing or invalid."""


@dataclass(frozen=True)
class ServerConfig:
    """Every field of the server TOML file (snake_case of the kebab-case keys)."""

    db_connection_uri: str = ""
    db_connection_max: int = 16
    db_name: str = "surveillance"
    storage_directory: Path = REPO_ROOT / "storage"
    video_speed: float = 30.0  # upper bounds of what the server stores of an upload (servers.media)
    video_width: int = 1920
    video_height: int = 1080
    video_max_pixels: int = 7680 * 4320
    cover_width: int = 320
    cover_height: int = 180
    remove_interval: float = 60.0
    retention_days: float = 0.0  # 0 = results, clips and snapshots are kept until deleted (servers.retention)
    retention_max_size: float = 0.0  # gigabytes of stored videos and snapshots; 0 = no budget
    frames_interval: float = 0.2
    upload_max_size: float = 512.0
    workers: int = 1
    queue_max: int = 100
    allowed_stream_schemes: tuple[str, ...] = ("rtsp", "http", "https")
    stream_denied_networks: tuple[str, ...] = DENIED_NETWORKS
    stream_allowed_networks: tuple[str, ...] = ()
    inference_config: str = ""
    host: str = "127.0.0.1"
    port: int = 5000
    threads: int = 32
    stream_max: int = 100
    stream_max_per_user: int = 8
    stream_max_duration: float = 3600.0
    login_free_attempts: int = 3
    login_max_delay: float = 60.0
    login_concurrency: int = 1
    trusted_proxy: str = "127.0.0.1"
    cookie_secure: bool = False
    notifications: NotifyConfig = dataclasses.field(default_factory=NotifyConfig)  # [notifications]

    @property
    def upload_max_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.upload_max_size * 1024 * 1024)

    def network_policy(self) -> NetworkPolicy:
        """The addresses live sources may reach (checked at creation and on every connection)."""
        return NetworkPolicy.from_strings(self.stream_denied_networks, self.stream_allowed_networks)

    def replace(self, **changes: Any) -> ServerConfig:
        """A copy with some fields changed (validated like a file)."""
        return validate_config(dataclasses.replace(self, **changes))


_POSITIVE = (
    "db_connection_max",
    "video_speed",
    "video_width",
    "video_height",
    "video_max_pixels",
    "cover_width",
    "cover_height",
    "remove_interval",
    "frames_interval",
    "upload_max_size",
    "workers",
    "queue_max",
    "threads",
    "stream_max",
    "stream_max_per_user",
    "stream_max_duration",
    "login_max_delay",
    "login_concurrency",
)


def validate_config(config: ServerConfig) -> ServerConfig:
    """Check every field's type and range; raise ConfigError naming the field."""
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        key = field.name.replace("_", "-")
        if field.name in _POSITIVE:
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ConfigError(f"config field '{key}' must be a positive number, got {value!r}")
            if field.type == "int" and not isinstance(value, int):
                raise ConfigError(f"config field '{key}' must be an integer, got {value!r}")
    for key in ("retention_days", "retention_max_size"):
        value = getattr(config, key)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < math.inf:
            name = key.replace("_", "-")
            raise ConfigError(f"config field '{name}' must be a number >= 0 (0 = off), got {value!r}")
    if not isinstance(config.login_free_attempts, int) or config.login_free_attempts < 0:
        raise ConfigError(
            f"config field 'login-free-attempts' must be >= 0, got {config.login_free_attempts!r}"
        )
    uri = config.db_connection_uri
    if not isinstance(uri, str) or (uri and not uri.startswith(("mongodb://", "mongodb+srv://"))):
        raise ConfigError(f"config field 'db-connection-uri' must be empty or a mongodb:// URI, got {uri!r}")
    for scheme in config.allowed_stream_schemes:
        if scheme not in KNOWN_SCHEMES:
            raise ConfigError(
                f"config field 'allowed-stream-schemes' has unknown scheme {scheme!r} "
                f"(known: {', '.join(KNOWN_SCHEMES)})"
            )
    for name in ("stream_denied_networks", "stream_allowed_networks"):
        for network in getattr(config, name):
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                key = name.replace("_", "-")
                raise ConfigError(
                    f"config field '{key}' has {network!r}, not a network like 10.0.0.0/8"
                ) from None
    if not 0 <= config.port < 65536:
        raise ConfigError(f"config field 'port' must be in 0..65535 (0 = any free port), got {config.port!r}")
    return config


def load_server_config(path: str | Path | None = None) -> ServerConfig:
    """Read the server config from `path`, else $SURVEILLANCE_SERVER_CONFIG, else the default file."""
    path = Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH)
    try:
        raw = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"server config file {path} does not exist") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"server config file {path} is not valid TOML: {error}") from None
    names = {field.name: field for field in dataclasses.fields(ServerConfig)}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in names:
            raise ConfigError(f"{path}: unknown config field '{key}'")
        default = names[name].default
        if name == "notifications":
            try:
                value = parse_notify_config(value)
            except NotifyConfigError as error:
                raise ConfigError(f"{path}: {error}") from None
        elif isinstance(default, Path):
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{path}: config field '{key}' must be a non-empty path string")
            value = Path(value) if Path(value).is_absolute() else REPO_ROOT / value
        elif isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise ConfigError(f"{path}: config field '{key}' must be a list of strings")
            value = tuple(value)
        elif isinstance(default, bool):
            if not isinstance(value, bool):
                raise ConfigError(f"{path}: config field '{key}' must be true or false, got {value!r}")
        elif isinstance(default, float):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{path}: config field '{key}' must be a number, got {value!r}")
            value = float(value)
        elif not isinstance(value, type(default)) or isinstance(value, bool):
            raise ConfigError(
                f"{path}: config field '{key}' must be of type {type(default).__name__}, got {value!r}"
            )
        values[name] = value
    try:
        return validate_config(ServerConfig(**values))
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
