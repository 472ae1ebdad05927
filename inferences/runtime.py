"""The extractor and anomaly-detector models of a config (loaded once, shared), each on the path
`inferences.backends` chooses for it (ONNX Runtime or OpenVINO, fp32 / bf16 / int8)."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from inferences.backends import (
    Choice,
    ModelError,
    Runner,
    choices,
    detect,
    load_onnx_session,
    open_model,
    select_providers,
)
from inferences.config import InferenceConfig
from inferences.configfile import ConfigFileError

__all__ = ["ModelError", "check_io", "load_onnx_session", "model_metadata", "select_providers"]
log = logging.getLogger("inferences")


def model_metadata(session) -> dict[str, str]:
    """The custom metadata props of an ONNX Runtime session."""
    return dict(session.get_modelmeta().custom_metadata_map)


def check_io(runner, path: Path, role: str, inputs: list[str], outputs: list[str]) -> None:
    """ModelError unless the input names are `inputs` and the first output is `outputs[0]` (a `Runner` or an
    ONNX Runtime session)."""
    if isinstance(runner, Runner):
        names_in, names_out = runner.input_names, runner.output_names
    else:
        names_in = [i.name for i in runner.get_inputs()]
        names_out = [o.name for o in runner.get_outputs()]
    if names_in != inputs or names_out[:1] != outputs:
        raise ModelError(
            f"{role} {path}: expected inputs {inputs} and output {outputs[0]!r}, "
            f"got inputs {names_in} and outputs {names_out}"
        )


def speed_file(path: Path) -> Path:
    """Where `prepare` records the measured speeds of the OpenVINO INT8 file `path` on its CPU."""
    return path.with_suffix(".speed.json")


def openvino_int8_file(int8_onnx: Path) -> Path:
    """The OpenVINO INT8 model `prepare` writes beside the ONNX INT8 file (NNCF-quantised)."""
    return int8_onnx.with_name(f"{int8_onnx.stem}-openvino.xml")


def extractor_file(config: InferenceConfig, choice: Choice) -> Path:
    """The extractor file of a path: `{precision}` of the path; OpenVINO int8 prefers its NNCF file."""
    path = config.resolve(config.extraction_model_path, choice.precision)
    if choice.backend == "openvino" and choice.precision == "int8" and openvino_int8_file(path).is_file():
        return openvino_int8_file(path)
    return path


class FeatureExtractor:
    """Extractor (`clip` [N,3,T,H,W] -> `features` [N,D]); checked against the config on load."""

    def __init__(self, config: InferenceConfig) -> None:
        role = "extraction model"
        paths = choices(
            detect(),
            backend=config.extraction_backend,
            precision=config.precision,
            providers=config.providers,
        )
        if config.precision == "auto":
            paths = [c for c in paths if not self._slower_here(config, c)]

        def check(runner: Runner) -> np.ndarray | None:
            from inferences.checks import real_clip
            from inferences.preprocess import Preprocessor

            clip = real_clip(Preprocessor.from_config(config))
            return None if clip is None else runner.run(["features"], {"clip": clip})[0]

        self.runner = open_model(
            role,
            lambda c: extractor_file(config, c),
            paths,
            providers=config.providers,
            threads=config.threads,
            check=check,
            hint=config.performance_hint,
        )
        self.path = self.runner.path
        check_io(self.runner, self.path, role, ["clip"], ["features"])
        meta = self.runner.metadata
        self.name = meta.get("extractor", self.path.stem)
        self._dtype = self.runner.input_types[0]
        checks = {
            "segment-length": ("segment_length", config.segment_length),
            "segment-height": ("input_height", config.segment_height),
            "segment-width": ("input_width", config.segment_width),
        }
        for field, (key, value) in checks.items():
            if key in meta and int(meta[key]) != value:
                raise ConfigFileError(
                    f"config field {field!r}: {value} does not match the extraction model {self.path} "
                    f"({key} = {meta[key]})"
                )
        for field, key, value in (
            ("normalization-mean", "normalization_mean", config.normalization_mean),
            ("normalization-std", "normalization_std", config.normalization_std),
        ):
            if key in meta and not np.allclose(json.loads(meta[key]), value, atol=1e-4):
                raise ConfigFileError(
                    f"config field {field!r}: {list(value)} does not match the extraction model {self.path} "
                    f"({key} = {meta[key]})"
                )
        self.feature_dim = int(meta.get("feature_dim", self.runner.output_dim or 0))

    @staticmethod
    def _slower_here(config: InferenceConfig, choice: Choice) -> bool:
        """Whether `prepare` measured this OpenVINO INT8 file slower than floating point on this CPU."""
        if choice != Choice("openvino", "int8"):
            return False
        record_path = speed_file(extractor_file(config, choice))
        if not record_path.is_file():
            return False
        record = json.loads(record_path.read_text())
        floating = [v for k, v in record.items() if k in ("fp32", "bf16")]
        if set(record.get("cpu_flags", [])) != set(detect().cpu_flags) or not floating:
            return False  # measured on another CPU: the capabilities decide
        if record.get("int8", 0.0) > max(floating):
            return False
        log.info("extraction model: openvino int8 skipped, prepare measured it slower here (%s)", record_path)
        return True

    @property
    def choice(self) -> Choice:
        """The path this extractor runs on."""
        return self.runner.choice

    def __call__(self, clips: np.ndarray) -> np.ndarray:
        """Features (N, D) float32 of normalised clips (N, 3, T, H, W)."""
        (features,) = self.runner.run(["features"], {"clip": clips.astype(self._dtype, copy=False)})
        return np.asarray(features, dtype=np.float32)


class AnomalyDetectorModel:
    """Detector (`features` [B,T,D] + `mask` [B,T] -> `scores` [B,T]); its metadata `inputs` says
    whether D is the clip features (`features`) or the scene profile's cue channels (`cues`), and
    `context_length` how many segments one score depends on. fp32 on either backend (it costs little);
    `auto` is ONNX Runtime."""

    def __init__(self, config: InferenceConfig, feature_dim: int) -> None:
        self.path = config.detection_model_file
        role = "detection model"
        # auto: ONNX Runtime, faster than OpenVINO for this small sequence model (docs/performance.md)
        backend = "onnxruntime" if config.detection_backend == "auto" else config.detection_backend
        paths = choices(detect(), backend=backend, precision="fp32", providers=config.providers)
        self.runner = open_model(
            role,
            lambda c: self.path,
            paths,
            providers=config.providers,
            threads=config.threads,
            hint=config.performance_hint,
        )
        check_io(self.runner, self.path, role, ["features", "mask"], ["scores"])
        meta = self.runner.metadata
        self.feature_dim = int(meta.get("feature_dim", feature_dim))
        self.inputs = meta.get("inputs", "features")  # "cues": the profile's cue channels
        self.context_length = int(meta.get("context_length", 1))
        if self.inputs == "features" and feature_dim and self.feature_dim != feature_dim:
            raise ModelError(
                f"detection model {self.path}: expects {self.feature_dim}-dim features but the extraction "
                f"model produces {feature_dim}"
            )
        self.smoothing_window = int(meta.get("smoothing_window", 1))

    def __call__(self, features: np.ndarray) -> np.ndarray:
        """Segment scores (T,) in [0, 1] for one feature sequence (T, D)."""
        mask = np.ones((1, features.shape[0]), dtype=bool)
        (scores,) = self.runner.run(["scores"], {"features": features[None].astype(np.float32), "mask": mask})
        return np.asarray(scores, dtype=np.float32)[0]


@dataclass(frozen=True)
class Models:
    """The models one config needs; shared by every VideoDetector / StreamDetector of that config."""

    extractor: FeatureExtractor
    detector: AnomalyDetectorModel
    smoothing_window: int


T = TypeVar("T")
_shared: dict[tuple, Any] = {}
_shared_lock = threading.Lock()


def shared_model(key: tuple, load: Callable[[], T]) -> T:
    """What `load` gives for `key` (name the kind, the files with their modification times and the
    settings it depends on), loaded once per process and shared: the engine's models are safe to call
    from several threads."""
    with _shared_lock:
        if key not in _shared:
            _shared[key] = load()
        return _shared[key]


def file_key(path: Path) -> tuple[str, int]:
    """A model file in a `shared_model` key: its path and modification time (0 when missing)."""
    return str(path), path.stat().st_mtime_ns if path.is_file() else 0


def load_models(config: InferenceConfig) -> Models:
    """Load (or reuse) the extractor and detector of `config`; both are safe to call from several threads."""

    def load() -> tuple[FeatureExtractor, AnomalyDetectorModel]:
        extractor = FeatureExtractor(config)
        return extractor, AnomalyDetectorModel(config, extractor.feature_dim)

    key = (
        "extractor and detector",
        *file_key(config.extraction_model_file),
        *file_key(config.detection_model_file),
        config.providers,
        config.threads,
        config.performance_hint,
        config.precision,
        config.extraction_backend,
        config.detection_backend,
        config.segment_length,
        config.segment_width,
        config.segment_height,
        config.normalization_mean,
        config.normalization_std,
    )
    extractor, detector = shared_model(key, load)
    return Models(extractor, detector, config.smoothing_window or max(1, detector.smoothing_window))
