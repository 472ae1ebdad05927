"""The research configuration (train.py / eval.py): a TOML file with kebab-case keys.

Relative paths are relative to the repository root, so the commands work from any directory.
"""

from __future__ import annotations

import tomllib
from dataclasses import MISSING, dataclass, fields
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = REPO_ROOT / "configs" / "config.toml"


class ConfigError(ValueError):
    """An invalid configuration file or field."""


@dataclass(frozen=True)
class ResearchConfig:
    """Every field of the research config; attribute names are the snake_case TOML keys."""

    device: str
    seed: int
    num_epochs: int
    num_workers: int
    batch_size: int
    group_size: int
    learning_rate: float
    weight_decay: float
    log_interval: int
    alpha: float
    attention_window: int
    smoothing_window: int
    load_checkpoint: bool
    load_checkpoint_path: Path
    best_checkpoint_path: Path
    last_checkpoint_path: Path
    train_dataset: Path
    valid_dataset: Path
    feature_dim: int
    segment_length: int = 16
    model_dim: int = 128
    attention_context: int = 32
    temporal_crop: int = 0
    splice: float = 0.0

    def model_config(self) -> dict[str, int | float]:
        """Keyword arguments of `create_detector` for this config."""
        return {
            "feature_dim": self.feature_dim,
            "model_dim": self.model_dim,
            "attention_window": self.attention_window,
            "attention_context": self.attention_context,
            "alpha": self.alpha,
        }


# field -> (type, check, description of a valid value)
_RULES = {
    "device": (str, lambda v: v in ("auto", "cpu", "cuda"), '"auto", "cpu" or "cuda"'),
    "seed": (int, lambda v: v >= 0, "an integer >= 0"),
    "num_epochs": (int, lambda v: v >= 1, "an integer >= 1"),
    "num_workers": (int, lambda v: v >= 0, "an integer >= 0"),
    "batch_size": (int, lambda v: v >= 1, "an integer >= 1"),
    "group_size": (int, lambda v: v >= 1, "an integer >= 1"),
    "learning_rate": (float, lambda v: v > 0, "a number > 0"),
    "weight_decay": (float, lambda v: v >= 0, "a number >= 0"),
    "log_interval": (int, lambda v: v >= 1, "an integer >= 1"),
    "alpha": (float, lambda v: 0 <= v <= 1, "a number in [0, 1]"),
    "attention_window": (int, lambda v: v >= 1, "an integer >= 1"),
    "smoothing_window": (int, lambda v: v >= 1, "an integer >= 1"),
    "load_checkpoint": (bool, lambda v: True, "true or false"),
    "feature_dim": (int, lambda v: v >= 1, "an integer >= 1"),
    "segment_length": (int, lambda v: v >= 1, "an integer >= 1"),
    "model_dim": (int, lambda v: v >= 4 and v % 4 == 0, "a multiple of 4 (4 attention heads)"),
    "attention_context": (int, lambda v: v >= 1, "an integer >= 1 (and >= attention-window)"),
    "temporal_crop": (int, lambda v: v >= 0, "an integer >= 0 (0 = whole videos)"),
    "splice": (float, lambda v: 0 <= v <= 1, "a number in [0, 1]"),
}
_PATHS = (
    "load_checkpoint_path",
    "best_checkpoint_path",
    "last_checkpoint_path",
    "train_dataset",
    "valid_dataset",
)


def _convert(path: Path, key: str, name: str, value: object) -> object:
    if name in _PATHS:
        if not isinstance(value, str) or not value:
            raise ConfigError(f"{path}: field '{key}' must be a non-empty path string, got {value!r}")
        return REPO_ROOT / Path(value).expanduser()
    kind, check, valid = _RULES[name]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if isinstance(value, bool) != (kind is bool) or not isinstance(value, kind) or not check(value):
        raise ConfigError(f"{path}: field '{key}' must be {valid}, got {value!r}")
    return value


def load_research_config(path: str | Path | None = None) -> ResearchConfig:
    """Read and validate a research config (default `configs/config.toml`)."""
    path = Path(path) if path is not None else DEFAULT_CONFIG
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    try:
        raw = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    known = {f.name.replace("_", "-"): f for f in fields(ResearchConfig)}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise ConfigError(f"{path}: unknown field '{unknown[0]}'")
    values = {}
    for key, field in known.items():
        if key not in raw:
            if field.default is MISSING:
                raise ConfigError(f"{path}: missing field '{key}'")
            continue
        values[field.name] = _convert(path, key, field.name, raw[key])
    config = ResearchConfig(**values)
    if config.splice and not config.temporal_crop:
        raise ConfigError(f"{path}: field 'splice' needs 'temporal-crop' > 0 (the windows it joins)")
    if config.attention_context < config.attention_window:
        raise ConfigError(
            f"{path}: field 'attention-context' ({config.attention_context}) must be >= "
            f"'attention-window' ({config.attention_window})"
        )
    return config
