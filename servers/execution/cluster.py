"""The Ray side shared by jobs and cameras: connecting this server to the cluster, and what a task or
actor builds on its node (database connection, repositories, a working folder with GridFS behind it)."""

from __future__ import annotations

import ipaddress
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from servers.config import ServerConfig
from servers.files import FileStore
from servers.storage import Database, LiveSessionRepository, VideoRepository, connect_database
from servers.storage.blobs import GridStore

NAMESPACE = "surveillance"
NODE_DB_CONNECTIONS = 4
# Ray resolves a loopback cluster address to this machine's interface address unless it believes it runs
# single-machine; read when `ray` is first imported.
_LOOPBACK_ONLY = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def connect(address: str, node_ip: str = "") -> None:
    """Connect this process to the Ray cluster at `address` (`host:port` of the head), as a driver on
    `node_ip` (empty: Ray's choice). With a loopback `node_ip`, every connection stays on loopback."""
    if node_ip and ipaddress.ip_address(node_ip).is_loopback:
        os.environ.setdefault(_LOOPBACK_ONLY, "0")
    import ray

    if ray.is_initialized():
        return
    ray.init(
        address=address,
        namespace=NAMESPACE,
        _node_ip_address=node_ip or None,
        log_to_driver=False,
        configure_logging=False,
    )


def node_name() -> str:
    """The Ray node this process runs on: `<node id prefix>@<ip>`."""
    import ray

    context = ray.get_runtime_context()
    return f"{context.get_node_id()[:8]}@{ray.util.get_node_ip_address()}"


@dataclass
class NodeContext:
    """A task's or actor's own connection to the database and files (nothing is shared with the API
    server but MongoDB: its files are fetched from and published to GridFS, kept here while it works)."""

    database: Database
    files: FileStore
    videos: VideoRepository
    sessions: LiveSessionRepository

    @classmethod
    def open(cls, config: ServerConfig) -> NodeContext:
        """Connect to the configured MongoDB; a working folder of this process under the temp folder."""
        work = Path(tempfile.mkdtemp(prefix="surveillance-node-"))
        database = connect_database(
            config.db_connection_uri,
            name=config.db_name,
            storage_directory=work,
            max_connections=NODE_DB_CONNECTIONS,
        )
        files = FileStore(work, GridStore(database.client[config.db_name]))
        return cls(database, files, VideoRepository(database), LiveSessionRepository(database))

    def close(self) -> None:
        """Close the database connection and delete the working folder."""
        self.database.close()
        shutil.rmtree(self.files.root, ignore_errors=True)


def remote_options(*, cpus: float, gpus: float = 0.0, **options: Any) -> dict[str, Any]:
    """Ray options: resources (a GPU fraction only when asked for) and placement spread over nodes."""
    resources: dict[str, Any] = {"num_cpus": cpus, "scheduling_strategy": "SPREAD", **options}
    if gpus:
        resources["num_gpus"] = gpus
    return resources
