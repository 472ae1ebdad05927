"""A Ray cluster of three nodes on 127.0.0.1 (a head that runs nothing, two workers), SecantusDB as the
database, and API servers in subprocesses that run their cameras and jobs on it."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from servers.storage.repositories import new_id
from tests.server.conftest import inference_config, mongodb_uri  # noqa: F401 - fixtures
from tests.server.harness import ServerProcess

LOOPBACK = "127.0.0.1"
# A lost node is noticed after 3 missed health checks 0.5 s apart (Ray's defaults: 5 of 3 s).
FAST_FAILURE = {
    "health_check_period_ms": 500,
    "health_check_timeout_ms": 500,
    "health_check_failure_threshold": 3,
}
WORKER_CPUS = 2


class LocalCluster:
    """`ray.cluster_utils.Cluster` on loopback (a head with `head_cpus`, `workers` worker nodes): add and kill
    worker nodes, find a node by its id prefix."""

    def __init__(self, workers: int = 2, head_cpus: int = 0) -> None:
        from ray.cluster_utils import Cluster

        self.cluster = Cluster(
            initialize_head=True,
            head_node_args={
                "num_cpus": head_cpus,
                "node_ip_address": LOOPBACK,
                "include_dashboard": False,
                "_system_config": FAST_FAILURE,
            },
        )
        self.address = self.cluster.address
        for _ in range(workers):
            self.add_worker()

    def add_worker(self) -> Any:
        """A new worker node."""
        return self.cluster.add_node(num_cpus=WORKER_CPUS, node_ip_address=LOOPBACK)

    def node(self, name: str) -> Any:
        """The worker node a `<id prefix>@<ip>` name (servers.execution.cluster.node_name) names."""
        prefix = name.split("@", 1)[0]
        matches = [node for node in self.cluster.worker_nodes if node.node_id.startswith(prefix)]
        assert len(matches) == 1, f"no single worker node {name}"
        return matches[0]

    def kill(self, name: str) -> None:
        """Kill a worker node's processes at once (a machine lost), then add a fresh worker."""
        self.cluster.remove_node(self.node(name), allow_graceful=False)
        self.add_worker()

    def shutdown(self) -> None:
        self.cluster.shutdown()


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[LocalCluster]:
    cluster = LocalCluster()
    yield cluster
    cluster.shutdown()


def ray_server(
    folder: Path, cluster: LocalCluster, uri: str, inference: Path, **config: Any
) -> ServerProcess:
    """An API server running its cameras and jobs on `cluster`, files in GridFS."""
    return ServerProcess(
        folder,
        inference_config=str(inference),
        upload_max_size=4.0,
        allowed_stream_schemes=["rtsp", "http", "https"],
        db_connection_uri=uri,
        db_name=f"test_{new_id()[:12]}",
        file_store="gridfs",
        ray_address=cluster.address,
        ray_node_ip=LOOPBACK,
        ray_camera_cpus=0.5,
        ray_job_cpus=1.0,
        **config,
    )


@pytest.fixture(scope="module", params=("in-process", "ray"))
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    inference_config: Path,  # noqa: F811
    mongodb_uri: str,  # noqa: F811
) -> Iterator[ServerProcess]:
    """The same API over MongoDB and GridFS, with cameras and jobs in the server or on the Ray cluster."""
    folder = tmp_path_factory.mktemp("server")
    if request.param == "ray":
        process = ray_server(folder, request.getfixturevalue("ray_cluster"), mongodb_uri, inference_config)
    else:
        process = ServerProcess(
            folder,
            inference_config=str(inference_config),
            upload_max_size=4.0,
            db_connection_uri=mongodb_uri,
            db_name=f"test_{new_id()[:12]}",
            file_store="gridfs",
        )
    process.start(timeout=120)
    yield process
    process.stop()


def descendants(pid: int) -> set[int]:
    """`pid` and every process below it."""
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        found.add(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo += [int(child) for child in (task / "children").read_text().split()]
            except OSError:
                continue
    return found


def listening_addresses(pids: set[int]) -> list[tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
    """(address, port) of every TCP socket listening in the processes `pids` (from /proc, IPv4 and IPv6;
    an IPv4-mapped IPv6 address as its IPv4 address)."""
    inodes = set()
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").glob("*"):
            try:
                target = os.readlink(fd)
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[8:-1])
    addresses = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:
                address, port = fields[1].split(":")
                raw = bytes.fromhex(address)
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))  # host-order words
                parsed = ipaddress.ip_address(words)
                if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped:
                    parsed = parsed.ipv4_mapped
                addresses.append((parsed, int(port, 16)))
    return addresses
