"""Inference engine configuration: `inferences/configs/config.toml` -> a validated frozen dataclass."""

from __future__ import annotations

import dataclasses
import math
import tomllib
from pathlib import Path
from typing import Any

from inferences.errors import SurveillanceError
from inferences.paths import REPO_ROOT

DEFAULT_CONFIG_PATH = REPO_ROOT / "inferences" / "configs" / "config.toml"
PRECISIONS = ("auto", "fp32", "fp16", "int8", "bf16")
FILE_PRECISIONS = ("fp32", "fp16", "int8")  # what `{precision}` in a path becomes (bf16 computes fp32 files)
OBJECTS_PRECISIONS = ("auto", "fp32", "bf16")
BACKENDS = ("auto", "onnxruntime", "openvino")
X264_PRESETS = (
    "ultrafast",
    "superfast",
    "veryfast",
    "faster",
    "fast",
    "medium",
    "slow",
    "slower",
    "veryslow",
)


class ConfigError(SurveillanceError):
    """An inference config file or field is invalid; the message names the field."""


@dataclasses.dataclass(frozen=True)
class InferenceConfig:
    """Every field of config.toml (attribute = snake_case of the TOML key); validated on creation."""

    precision: str = "auto"
    providers: tuple[str, ...] = ("CUDAExecutionProvider", "CPUExecutionProvider")
    extraction_backend: str = "auto"
    objects_backend: str = "auto"
    objects_precision: str = "auto"
    detection_backend: str = "auto"
    threads: int = 0
    batch_size: int = 4
    extraction_model_path: str = "inferences/models/i3d-{precision}.onnx"
    detection_model_path: str = "inferences/models/ped2-cue-detector.onnx"
    category_model_path: str = ""
    objects_model_path: str = "inferences/models/centernet-fp32.onnx"
    objects_every: int = 8
    scene_profile_path: str = ""
    segment_width: int = 224
    segment_height: int = 224
    segment_length: int = 16
    history_length: int = 64
    smoothing_window: int = 0
    crop_x1: float = 0.0
    crop_x2: float = 1.0
    crop_y1: float = 0.0
    crop_y2: float = 1.0
    normalization_mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    normalization_std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    anomaly_threshold: float = 0.5
    anomaly_border: int = 8
    anomaly_prompt: str = "ABNORMAL"
    result_preset: str = "superfast"
    capture_interval: float = 0.04
    prepare_interval: float = 0.1
    predict_interval: float = 0.5
    open_timeout: float = 10.0
    reconnect_delay: float = 0.5
    reconnect_max_delay: float = 8.0
    max_frame_pixels: int = 7680 * 4320
    alert_min_duration: float = 0.0
    alert_cooldown: float = 0.0
    clip_pre_seconds: float = 5.0
    clip_fps: float = 10.0
    clip_max_seconds: float = 120.0

    def __post_init__(self) -> None:
        def fail(name: str, problem: str) -> None:
            raise ConfigError(f"config field {name.replace('_', '-')!r}: {problem}")

        def number(name: str, *, integer: bool, low: float, high: float = math.inf, low_open=False) -> None:
            value = getattr(self, name)
            kind = int if integer else (int, float)
            if isinstance(value, bool) or not isinstance(value, kind) or not math.isfinite(value):
                fail(name, f"expected {'an integer' if integer else 'a number'}, got {value!r}")
            if value < low or (low_open and value == low) or value > high:
                bound = f"> {low}" if low_open else f">= {low}"
                fail(name, f"{value!r} out of range ({bound}" + (f", <= {high})" if high < math.inf else ")"))
            if not integer:
                object.__setattr__(self, name, float(value))

        if self.precision not in PRECISIONS:
            fail("precision", f"{self.precision!r} is not one of {', '.join(PRECISIONS)}")
        if self.objects_precision not in OBJECTS_PRECISIONS:
            fail(
                "objects_precision",
                f"{self.objects_precision!r} is not one of {', '.join(OBJECTS_PRECISIONS)}",
            )
        if self.result_preset not in X264_PRESETS:
            fail("result_preset", f"{self.result_preset!r} is not one of {', '.join(X264_PRESETS)}")
        for name in ("extraction_backend", "objects_backend", "detection_backend"):
            if getattr(self, name) not in BACKENDS:
                fail(name, f"{getattr(self, name)!r} is not one of {', '.join(BACKENDS)}")
        providers = self.providers
        if (
            isinstance(providers, str)
            or not isinstance(providers, list | tuple)
            or not providers
            or not all(isinstance(p, str) and p for p in providers)
        ):
            fail("providers", f"expected a non-empty list of provider names, got {providers!r}")
        object.__setattr__(self, "providers", tuple(providers))
        for name in (
            "extraction_model_path",
            "detection_model_path",
            "category_model_path",
            "objects_model_path",
            "scene_profile_path",
            "anomaly_prompt",
        ):
            if not isinstance(getattr(self, name), str):
                fail(name, f"expected a string, got {getattr(self, name)!r}")
        for name in ("extraction_model_path", "detection_model_path"):
            if not getattr(self, name):
                fail(name, "must not be empty")
        number("threads", integer=True, low=0, high=256)
        number("batch_size", integer=True, low=1, high=256)
        number("objects_every", integer=True, low=1, high=1024)
        number("segment_width", integer=True, low=8, high=4096)
        number("segment_height", integer=True, low=8, high=4096)
        number("segment_length", integer=True, low=1, high=1024)
        if self.objects_every > self.segment_length:
            fail(
                "objects_every",
                f"{self.objects_every} is more than segment-length ({self.segment_length}): "
                "the object detector sees at least one frame per segment",
            )
        number("history_length", integer=True, low=1, high=100_000)
        number("smoothing_window", integer=True, low=0, high=10_000)
        for name in ("crop_x1", "crop_x2", "crop_y1", "crop_y2"):
            number(name, integer=False, low=0.0, high=1.0)
        if self.crop_x2 <= self.crop_x1:
            fail("crop_x2", f"{self.crop_x2} must be greater than crop-x1 ({self.crop_x1})")
        if self.crop_y2 <= self.crop_y1:
            fail("crop_y2", f"{self.crop_y2} must be greater than crop-y1 ({self.crop_y1})")
        for name in ("normalization_mean", "normalization_std"):
            values = getattr(self, name)
            if (
                not isinstance(values, list | tuple)
                or len(values) != 3
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
                or not all(math.isfinite(v) for v in values)
            ):
                fail(name, f"expected a list of 3 numbers (R, G, B), got {values!r}")
            object.__setattr__(self, name, tuple(float(v) for v in values))
        if any(v <= 0 for v in self.normalization_std):
            fail("normalization_std", f"values must be > 0, got {list(self.normalization_std)}")
        number("anomaly_threshold", integer=False, low=0.0, high=1.0)
        number("anomaly_border", integer=True, low=0, high=1000)
        for name in ("capture_interval", "prepare_interval", "predict_interval", "open_timeout"):
            number(name, integer=False, low=0.0, high=3600.0, low_open=True)
        number("reconnect_delay", integer=False, low=0.0, high=3600.0, low_open=True)
        number("reconnect_max_delay", integer=False, low=self.reconnect_delay, high=3600.0)
        number("max_frame_pixels", integer=True, low=64, high=1 << 31)
        number("alert_min_duration", integer=False, low=0.0, high=3600.0)
        number("alert_cooldown", integer=False, low=0.0, high=86400.0)
        number("clip_pre_seconds", integer=False, low=0.0, high=60.0)
        number("clip_fps", integer=False, low=0.0, high=60.0, low_open=True)
        number("clip_max_seconds", integer=False, low=0.0, high=3600.0, low_open=True)

    def resolve(self, path: str, precision: str | None = None) -> Path:
        """A model path with `{precision}` substituted (`precision`, default the config's; auto and bf16
        use the fp32 file); relative paths are relative to the repo root."""
        precision = precision or self.precision
        precision = precision if precision in FILE_PRECISIONS else "fp32"
        resolved = Path(path.replace("{precision}", precision)).expanduser()
        return resolved if resolved.is_absolute() else REPO_ROOT / resolved

    @property
    def extraction_model_file(self) -> Path:
        return self.resolve(self.extraction_model_path)

    @property
    def detection_model_file(self) -> Path:
        return self.resolve(self.detection_model_path)

    @property
    def objects_model_file(self) -> Path | None:
        return self.resolve(self.objects_model_path) if self.objects_model_path else None

    @property
    def scene_profile_file(self) -> Path | None:
        return self.resolve(self.scene_profile_path) if self.scene_profile_path else None

    @property
    def category_model_file(self) -> Path | None:
        return self.resolve(self.category_model_path) if self.category_model_path else None


FIELDS = {field.name.replace("_", "-"): field.name for field in dataclasses.fields(InferenceConfig)}


def config_from_dict(values: dict[str, Any]) -> InferenceConfig:
    """Build a config from kebab-case keys (missing keys keep their defaults); unknown keys are errors."""
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise ConfigError(f"unknown config field(s) {', '.join(map(repr, unknown))}")
    return InferenceConfig(**{FIELDS[key]: value for key, value in values.items()})


def load_inference_config(path: str | Path | None = None) -> InferenceConfig:
    """Load and validate a TOML config (default `inferences/configs/config.toml`)."""
    path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        values = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read config file ({error})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML ({error})") from None
    try:
        return config_from_dict(values)
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
