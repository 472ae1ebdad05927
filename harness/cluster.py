"""A Ray cluster of several nodes on this machine, all on 127.0.0.1 (`ray.cluster_utils.Cluster`), and a
check of where processes listen: for tests/cluster and bench/cluster.py."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from typing import Any

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
