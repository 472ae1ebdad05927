"""The research configuration (train.py / eval.py): a TOML file with kebab-case keys.

Relative paths are relative to the repository root, so the commands work from any directory. Read through
the engine's one configuration mechanism (`inferences.configfile`): errors name the file and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from inferences.configfile import ConfigModel, FieldProblem, RepoPath, load_config_file
from inferences.paths import REPO_ROOT

DEFAULT_CONFIG = REPO_ROOT / "configs" / "config.toml"


def _int(low: int, text: str | None = None, **bounds: int):
    return Field(ge=low, description=text or f"an integer >= {low}", **bounds)


class ResearchConfig(ConfigModel):
    """Every field of the research config; attribute names are the snake_case TOML keys."""

    device: Literal["auto", "cpu", "cuda"] = Field(description='"auto", "cpu" or "cuda"')
    seed: int = _int(0)
    num_epochs: int = _int(1)
    num_workers: int = _int(0)
    batch_size: int = _int(1)
    group_size: int = _int(1)
    learning_rate: float = Field(gt=0, description="a number > 0")
    weight_decay: float = Field(ge=0, description="a number >= 0")
    log_interval: int = _int(1)
    alpha: float = Field(ge=0, le=1, description="a number in [0, 1]")
    attention_window: int = _int(1)
    smoothing_window: int = _int(1)
    load_checkpoint: bool = Field(description="true or false")
    load_checkpoint_path: RepoPath = Field(description="a non-empty path string")
    best_checkpoint_path: RepoPath = Field(description="a non-empty path string")
    last_checkpoint_path: RepoPath = Field(description="a non-empty path string")
    train_dataset: RepoPath = Field(description="a non-empty path string")
    valid_dataset: RepoPath = Field(description="a non-empty path string")
    feature_dim: int = _int(1)
    segment_length: int = _int(1, default=16)
    model_dim: int = Field(128, ge=4, multiple_of=4, description="a multiple of 4 (4 attention heads)")
    attention_context: int = _int(1, "an integer >= 1 (and >= attention-window)", default=32)
    temporal_crop: int = _int(0, "an integer >= 0 (0 = whole videos)", default=0)
    splice: float = Field(0.0, ge=0, le=1, description="a number in [0, 1]")

    @model_validator(mode="after")
    def _consistent(self) -> ResearchConfig:
        if self.splice and not self.temporal_crop:
            raise FieldProblem("splice", "needs 'temporal-crop' > 0 (the windows it joins)")
        if self.attention_context < self.attention_window:
            raise FieldProblem(
                "attention-context",
                f"({self.attention_context}) must be >= 'attention-window' ({self.attention_window})",
            )
        return self

    def detector_options(self) -> dict[str, int | float]:
        """Keyword arguments of `create_detector` for this config."""
        return {
            "feature_dim": self.feature_dim,
            "model_dim": self.model_dim,
            "attention_window": self.attention_window,
            "attention_context": self.attention_context,
            "alpha": self.alpha,
        }


def load_research_config(path: str | Path | None = None) -> ResearchConfig:
    """Read and validate a research config (default `configs/config.toml`)."""
    return load_config_file(ResearchConfig, DEFAULT_CONFIG if path is None else path)
