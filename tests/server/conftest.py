"""Server test fixtures: tiny real ONNX models (the inference tests' builders), configs, servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.harness import ServerProcess, tiny_inference_config


@pytest.fixture(scope="session")
def inference_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny real ONNX models; threshold 0 so every score alerts (deterministic)."""
    return tiny_inference_config(tmp_path_factory.mktemp("server-models"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, inference_config: Path) -> Iterator[ServerProcess]:
    """One running server per test module (embedded database in a temporary folder)."""
    process = ServerProcess(
        tmp_path_factory.mktemp("server"),
        inference_config=str(inference_config),
        upload_max_size=4.0,
        allowed_stream_schemes=["rtsp", "http", "https"],
    )
    process.start()
    yield process
    process.stop()
