"""Inference engine configuration: `inferences/configs/config.toml` read through the project's one
configuration mechanism (`inferences.configfile`): kebab-case fields, unknown ones refused, errors
(`ConfigFileError`) naming the file and the field. `config.replace(...)` gives a validated changed copy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, model_validator

from inferences.configfile import ConfigModel, FieldProblem, load_config_file
from inferences.paths import REPO_ROOT

DEFAULT_CONFIG_PATH = REPO_ROOT / "inferences" / "configs" / "config.toml"
FILE_PRECISIONS = ("fp32", "fp16", "int8")  # what `{precision}` in a path becomes (bf16 computes fp32 files)
BACKEND = "one of auto, onnxruntime, openvino"
SECONDS = 3600.0

Precision = Literal["auto", "fp32", "fp16", "int8", "bf16"]
Backend = Literal["auto", "onnxruntime", "openvino"]
X264Preset = Literal[
    "ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"
]
ProviderName = Annotated[str, Field(min_length=1)]
PositiveFloat = Annotated[float, Field(gt=0)]


def _integer(default: int, low: int, high: int, note: str = "") -> Any:
    return Field(default, ge=low, le=high, description=f"an integer in {low}..{high}{note}")


def _number(default: float, low: float, high: float, *, above: bool = False) -> Any:
    """A number in [low, high], or (low, high] when `above`."""
    bounds = {"gt": low} if above else {"ge": low}
    interval = f"{'(' if above else '['}{low:g}, {high:g}]"
    return Field(default, le=high, description=f"a number in {interval}", **bounds)


def _path(default: str, empty: str | None = None) -> Any:
    """A path string; non-empty unless `empty` says what an empty one means."""
    if empty is None:
        return Field(default, min_length=1, description="a non-empty path string")
    return Field(default, description=f"a path string (empty = {empty})")


class InferenceConfig(ConfigModel):
    """Every field of config.toml (attribute = snake_case of the TOML key), documented in the shipped file."""

    model_config = ConfigDict(allow_inf_nan=False)

    precision: Precision = Field("auto", description="one of auto, fp32, fp16, int8, bf16")
    providers: tuple[ProviderName, ...] = Field(
        ("CUDAExecutionProvider", "CPUExecutionProvider"),
        min_length=1,
        strict=False,
        description="a non-empty list of ONNX Runtime provider names",
    )
    extraction_backend: Backend = Field("auto", description=BACKEND)
    objects_backend: Backend = Field("auto", description=BACKEND)
    objects_precision: Literal["auto", "fp32", "bf16"] = Field("auto", description="one of auto, fp32, bf16")
    detection_backend: Backend = Field("auto", description=BACKEND)
    threads: int = _integer(0, 0, 256, " (0 = the backend's default)")
    performance_hint: Literal["auto", "latency", "throughput"] = Field(
        "auto", description="one of auto, latency, throughput"
    )
    batch_size: int = _integer(4, 1, 256)
    extraction_model_path: str = _path("inferences/models/i3d-{precision}.onnx")
    detection_model_path: str = _path("inferences/models/ped2-cue-detector.onnx")
    category_model_path: str = _path("", "no category classifier")
    objects_model_path: str = _path("inferences/models/centernet-fp32.onnx", "no object cue")
    objects_every: int = _integer(8, 1, 1024)
    scene_profile_path: str = _path("", "learn the scene as it runs")
    segment_width: int = _integer(224, 8, 4096)
    segment_height: int = _integer(224, 8, 4096)
    segment_length: int = _integer(16, 1, 1024)
    history_length: int = _integer(64, 1, 100_000)
    smoothing_window: int = _integer(0, 0, 10_000, " (0 = the detector's own)")
    crop_x1: float = _number(0.0, 0, 1)
    crop_x2: float = _number(1.0, 0, 1)
    crop_y1: float = _number(0.0, 0, 1)
    crop_y2: float = _number(1.0, 0, 1)
    normalization_mean: tuple[float, float, float] = Field(
        (0.5, 0.5, 0.5), strict=False, description="a list of 3 numbers (R, G, B)"
    )
    normalization_std: tuple[PositiveFloat, PositiveFloat, PositiveFloat] = Field(
        (0.5, 0.5, 0.5), strict=False, description="a list of 3 numbers > 0 (R, G, B)"
    )
    anomaly_threshold: float = _number(0.5, 0, 1)
    anomaly_border: int = _integer(8, 0, 1000)
    anomaly_prompt: str = Field("ABNORMAL", description="a string")
    result_preset: X264Preset = Field("veryfast", description="an x264 preset, ultrafast ... veryslow")
    capture_interval: float = _number(0.04, 0, SECONDS, above=True)
    prepare_interval: float = _number(0.1, 0, SECONDS, above=True)
    predict_interval: float = _number(0.5, 0, SECONDS, above=True)
    open_timeout: float = _number(10.0, 0, SECONDS, above=True)
    reconnect_delay: float = _number(0.5, 0, SECONDS, above=True)
    reconnect_max_delay: float = _number(8.0, 0, SECONDS, above=True)
    max_frame_pixels: int = _integer(7680 * 4320, 64, 1 << 31)
    alert_min_duration: float = _number(0.0, 0, SECONDS)
    alert_cooldown: float = _number(0.0, 0, 86400)
    clip_pre_seconds: float = _number(5.0, 0, 60)
    clip_fps: float = _number(10.0, 0, 60, above=True)
    clip_max_seconds: float = _number(120.0, 0, SECONDS, above=True)

    @model_validator(mode="after")
    def _consistent(self) -> InferenceConfig:
        if self.objects_every > self.segment_length:
            raise FieldProblem(
                "objects-every",
                f"({self.objects_every}) must be <= 'segment-length' ({self.segment_length}): "
                "the object detector sees at least one frame per segment",
            )
        for axis in "xy":
            low, high = getattr(self, f"crop_{axis}1"), getattr(self, f"crop_{axis}2")
            if high <= low:
                raise FieldProblem(
                    f"crop-{axis}2", f"({high:g}) must be greater than 'crop-{axis}1' ({low:g})"
                )
        if self.reconnect_max_delay < self.reconnect_delay:
            raise FieldProblem(
                "reconnect-max-delay",
                f"({self.reconnect_max_delay:g}) must be >= 'reconnect-delay' ({self.reconnect_delay:g})",
            )
        return self

    def tuned(self, hint: Literal["latency", "throughput"]) -> InferenceConfig:
        """This config with `performance-hint = "auto"` resolved to `hint`: latency where one caller runs the
        models (a recorded video), throughput where many do at once (live cameras)."""
        return self.replace(performance_hint=hint) if self.performance_hint == "auto" else self

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


def load_inference_config(path: str | Path | None = None) -> InferenceConfig:
    """Read and validate a TOML config (default `inferences/configs/config.toml`); ConfigFileError naming the
    file and the field."""
    return load_config_file(InferenceConfig, DEFAULT_CONFIG_PATH if path is None else path)
