"""Fixtures of the research tests: few torch threads, a tiny synthetic dataset and its config."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from datasets.synthetic import generate_synthetic_dataset

FEATURE_DIM = 16


@pytest.fixture(autouse=True)
def _few_threads() -> None:
    torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def synthetic_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny synthetic dataset (D=16, 2 crops) shared by the session; tests must not modify it."""
    return generate_synthetic_dataset(
        tmp_path_factory.mktemp("synthetic"),
        feature_dim=FEATURE_DIM,
        train_videos=24,
        valid_videos=10,
        min_segments=6,
        max_segments=20,
        crops=2,
        strength=1.0,
        seed=1,
    )


@pytest.fixture
def write_config(tmp_path: Path, synthetic_root: Path) -> Callable[..., Path]:
    """Write a research config for the tiny dataset; keyword overrides use snake_case field names."""

    def write(**overrides: object) -> Path:
        values: dict[str, object] = {
            "device": "cpu",
            "seed": 0,
            "num-epochs": 2,
            "num-workers": 0,
            "batch-size": 4,
            "group-size": 2,
            "learning-rate": 0.003,
            "weight-decay": 0.0001,
            "log-interval": 2,
            "alpha": 0.5,
            "attention-window": 3,
            "smoothing-window": 3,
            "load-checkpoint": False,
            "load-checkpoint-path": str(tmp_path / "runs" / "best.pt"),
            "best-checkpoint-path": str(tmp_path / "runs" / "best.pt"),
            "last-checkpoint-path": str(tmp_path / "runs" / "last.pt"),
            "train-dataset": str(synthetic_root / "train"),
            "valid-dataset": str(synthetic_root / "valid"),
            "feature-dim": FEATURE_DIM,
            "segment-length": 16,
            "model-dim": 16,
        }
        for key, value in overrides.items():
            values[key.replace("_", "-")] = value
        lines = []
        for key, value in values.items():
            if value is None:
                continue
            rendered = str(value).lower() if isinstance(value, bool) else repr(value).replace("'", '"')
            lines.append(f"{key} = {rendered}")
        path = tmp_path / "config.toml"
        path.write_text("\n".join(lines) + "\n")
        return path

    return write
