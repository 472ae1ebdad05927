"""A Ray cluster of three nodes on 127.0.0.1 (a head that runs nothing, two workers), SecantusDB as the
database, and API servers in subprocesses that run their cameras and jobs on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.cluster import LOOPBACK, LocalCluster
from harness.server import ServerProcess
from harness.videos import write_video
from servers.storage.repositories import new_id
from tests.server.conftest import inference_config, mongodb_uri  # noqa: F401 - fixtures

JOB_FRAMES = 180


@pytest.fixture(scope="session")
def job_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated clip shaped like a Ped2 test clip (360x240, 10 fps, 180 frames) for the cluster's upload
    jobs: the cluster tests need no downloaded data."""
    folder = tmp_path_factory.mktemp("job-clip")
    return write_video(folder / "Job001.mp4", frames=JOB_FRAMES, width=360, height=240, rate=10, noise=20)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[LocalCluster]:
    cluster = LocalCluster()
    yield cluster
    cluster.shutdown()


def ray_server(
    folder: Path, cluster: LocalCluster, uri: str, inference: Path, **config: Any
) -> ServerProcess:
    """An API server running its cameras and jobs on `cluster`, files in GridFS (`config` overrides)."""
    values: dict[str, Any] = {
        "inference_config": str(inference),
        "upload_max_size": 4.0,
        "allowed_stream_schemes": ["rtsp", "http", "https"],
        "db_connection_uri": uri,
        "db_name": f"test_{new_id()[:12]}",
        "file_store": "gridfs",
        "ray_address": cluster.address,
        "ray_node_ip": LOOPBACK,
        "ray_camera_cpus": 0.5,
        "ray_job_cpus": 1.0,
    }
    return ServerProcess(folder, **{**values, **config})


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
