"""Server configuration: `servers/configs/config.toml` read through the project's one configuration mechanism
(`inferences.configfile`): kebab-case fields, unknown ones refused, errors naming the file and the field."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from inferences.config import InferenceConfig
from inferences.configfile import (
    ConfigFileError,
    ConfigModel,
    FieldProblem,
    RepoPath,
    load_config_file,
)
from inferences.paths import REPO_ROOT
from inferences.sources import NETWORK_SCHEMES, NetworkPolicy
from servers.notify.config import NotifyConfig

DEFAULT_CONFIG_PATH = REPO_ROOT / "servers" / "configs" / "config.toml"
CONFIG_ENV = "SURVEILLANCE_SERVER_CONFIG"
KNOWN_SCHEMES = (*NETWORK_SCHEMES, "file")  # what the stream engine opens: its list, never a copy
# Addresses a live-session source may not name unless `stream-allowed-networks` says so: this host,
# link-local (cloud metadata services), unspecified.
DENIED_NETWORKS = ("127.0.0.0/8", "::1/128", "169.254.0.0/16", "fe80::/10", "0.0.0.0/8", "::/128")
POSITIVE = "a positive number"
COUNT = "a positive integer"
OFF_OR_MORE = "a number >= 0 (0 = off)"
TEXT = "a string"
NETWORKS = "a list of networks like 10.0.0.0/8"


def _positive(default: float) -> Any:
    return Field(default, gt=0, description=POSITIVE)


def _count(default: int) -> Any:
    return Field(default, gt=0, description=COUNT)


class ServerConfig(ConfigModel):
    """Every field of the server TOML file (attribute = snake_case of the kebab-case key)."""

    db_connection_uri: str = Field("", description="empty or a mongodb:// URI")
    db_connection_max: int = _count(16)
    db_name: str = Field("surveillance", description=TEXT)
    storage_directory: RepoPath = Field(REPO_ROOT / "storage", description="a non-empty path string")
    # upper bounds of what the server stores of an upload (servers.media)
    video_speed: float = _positive(30.0)
    video_width: int = _count(1920)
    video_height: int = _count(1080)
    video_max_pixels: int = _count(7680 * 4320)
    cover_width: int = _count(320)
    cover_height: int = _count(180)
    remove_interval: float = _positive(60.0)
    # 0 = results, clips and snapshots are kept until deleted (servers.retention)
    retention_days: float = Field(0.0, ge=0, allow_inf_nan=False, description=OFF_OR_MORE)
    # gigabytes of stored videos and snapshots; 0 = no budget
    retention_max_size: float = Field(0.0, ge=0, allow_inf_nan=False, description=OFF_OR_MORE)
    frames_interval: float = _positive(0.2)
    upload_max_size: float = _positive(512.0)
    workers: int = _count(1)
    queue_max: int = _count(100)
    job_lease: float = _positive(60.0)
    allowed_stream_schemes: tuple[str, ...] = Field(
        ("rtsp", "http", "https"), strict=False, description=f"a list of schemes ({', '.join(KNOWN_SCHEMES)})"
    )
    stream_denied_networks: tuple[str, ...] = Field(DENIED_NETWORKS, strict=False, description=NETWORKS)
    stream_allowed_networks: tuple[str, ...] = Field((), strict=False, description=NETWORKS)
    inference_config: str = Field("", description="a path (empty = the engine's default file)")
    host: str = Field("127.0.0.1", description=TEXT)
    port: int = Field(5000, ge=0, lt=65536, description="in 0..65535 (0 = any free port)")
    threads: int = _count(32)
    stream_max: int = _count(100)
    stream_max_per_user: int = _count(8)
    stream_max_duration: float = _positive(3600.0)
    login_free_attempts: int = Field(3, ge=0, description="an integer >= 0")
    login_max_delay: float = _positive(60.0)
    login_concurrency: int = _count(1)
    trusted_proxy: str = Field("127.0.0.1", description=TEXT)
    cookie_secure: bool = Field(False, description="true or false")
    score_history_interval: float = _positive(5.0)
    score_history_bucket: float = _positive(3600.0)
    file_store: Literal["disk", "gridfs"] = Field("disk", description="one of disk, gridfs")
    ray_address: str = Field("", description="empty or a Ray cluster address HOST:PORT")
    ray_node_ip: str = Field("", description="empty or an IP address")
    ray_camera_cpus: float = _positive(1.0)
    ray_camera_gpus: float = Field(0.0, ge=0, le=1, description="a GPU fraction in 0..1")
    ray_job_cpus: float = _positive(1.0)
    notifications: NotifyConfig = Field(NotifyConfig(), description="a table ([notifications])")

    @field_validator("db_connection_uri")
    @classmethod
    def _uri(cls, uri: str) -> str:
        if uri and not uri.startswith(("mongodb://", "mongodb+srv://")):
            raise ValueError(f"must be empty or a mongodb:// URI, got {uri!r}")
        return uri

    @field_validator("allowed_stream_schemes")
    @classmethod
    def _schemes(cls, schemes: tuple[str, ...]) -> tuple[str, ...]:
        for scheme in schemes:
            if scheme not in KNOWN_SCHEMES:
                raise ValueError(f"has unknown scheme {scheme!r} (known: {', '.join(KNOWN_SCHEMES)})")
        return schemes

    @field_validator("stream_denied_networks", "stream_allowed_networks")
    @classmethod
    def _networks(cls, networks: tuple[str, ...]) -> tuple[str, ...]:
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"has {network!r}, not a network like 10.0.0.0/8") from None
        return networks

    @field_validator("ray_node_ip")
    @classmethod
    def _node_ip(cls, address: str) -> str:
        if address:
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"must be an IP address, got {address!r}") from None
        return address

    @model_validator(mode="after")
    def _scale_out(self) -> ServerConfig:
        """GridFS lives in MongoDB; Ray needs MongoDB and GridFS (its nodes share no disk)."""
        if self.file_store == "gridfs" and not self.db_connection_uri:
            raise FieldProblem("file-store", "= \"gridfs\" needs a MongoDB 'db-connection-uri'")
        if self.ray_address and not self.db_connection_uri:
            raise FieldProblem(
                "ray-address",
                "needs a MongoDB 'db-connection-uri': the embedded database lives in one process's files, "
                "and Ray runs cameras and jobs in other processes and on other machines",
            )
        if self.ray_address and self.file_store != "gridfs":
            raise FieldProblem("ray-address", "needs 'file-store' = \"gridfs\": Ray nodes share no disk")
        return self

    @property
    def upload_max_bytes(self) -> int:
        """The upload limit in bytes."""
        return int(self.upload_max_size * 1024 * 1024)

    def network_policy(self) -> NetworkPolicy:
        """The addresses live sources may reach (checked at creation and on every connection)."""
        return NetworkPolicy.from_strings(self.stream_denied_networks, self.stream_allowed_networks)


def load_server_config(path: str | Path | None = None) -> ServerConfig:
    """Read the server config from `path`, else $SURVEILLANCE_SERVER_CONFIG, else the default file;
    ConfigFileError naming the file and the field."""
    return load_config_file(ServerConfig, Path(path or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_PATH))


def check_with_engine(config: ServerConfig, engine: InferenceConfig) -> None:
    """The fields the server and the engine configs must agree on; ConfigFileError naming both fields."""
    sampling = 1.0 / engine.prepare_interval
    if config.video_speed < sampling:
        raise ConfigFileError(
            f"server config field 'video-speed' ({config.video_speed:g} frames/s) is below the rate the "
            f"inference config field 'prepare-interval' ({engine.prepare_interval:g} s) samples "
            f"({sampling:g} frames/s): detection would sample frames the stored video does not have"
        )
