"""Server test fixtures: tiny real ONNX models (the inference tests' builders), configs, servers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server.harness import ServerProcess, write_toml

SIZE = 64


@pytest.fixture(scope="session")
def inference_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An inference config TOML of tiny real models; threshold 0 so every score alerts (deterministic)."""
    import torch

    from tests.inference import tiny_models

    torch.set_num_threads(1)
    folder = tmp_path_factory.mktemp("server-models")
    tiny_models.build_extractor(folder / "tiny-fp32.onnx", size=SIZE)
    tiny_models.build_random_detector(folder / "detector.onnx", smoothing_window=1)
    return write_toml(
        folder / "inference.toml",
        {
            "providers": ["CPUExecutionProvider"],
            "threads": 1,
            "extraction-model-path": str(folder / "tiny-{precision}.onnx"),
            "detection-model-path": str(folder / "detector.onnx"),
            "segment-width": SIZE,
            "segment-height": SIZE,
            "history-length": 16,
            "anomaly-threshold": 0.0,
            "predict-interval": 0.2,
            "open-timeout": 5.0,
        },
    )


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
