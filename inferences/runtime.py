"""ONNX Runtime sessions for the feature extractor and the anomaly detector (loaded once, shared)."""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from inferences.config import ConfigError, InferenceConfig
from inferences.errors import SurveillanceError

log = logging.getLogger("inferences")
CPU = "CPUExecutionProvider"
_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16}


class ModelError(SurveillanceError):
    """A model file is missing, unreadable or does not follow the ONNX contract."""


def select_providers(requested: tuple[str, ...] | list[str]) -> list[str]:
    """The requested providers that this ONNX Runtime has, in order, with CPU appended as last resort."""
    available = set(ort.get_available_providers())
    selected = []
    for provider in requested:
        if provider in available:
            selected.append(provider)
        else:
            log.warning("ONNX Runtime provider %s is not available here; skipped", provider)
    if CPU not in selected:
        selected.append(CPU)
    return selected


def load_onnx_session(
    path: Path, *, providers: tuple[str, ...] | list[str], threads: int = 0, role: str = "model"
):
    """An InferenceSession for `path`; ModelError naming the file when it is missing or not ONNX."""
    if not path.is_file():
        raise ModelError(f"{role} {path}: file not found")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=select_providers(providers))
    except Exception as error:  # onnxruntime raises its own non-ValueError exception types
        raise ModelError(f"{role} {path}: cannot load ONNX model ({str(error).splitlines()[0]})") from None


def model_metadata(session: ort.InferenceSession) -> dict[str, str]:
    """The model's custom metadata props."""
    return dict(session.get_modelmeta().custom_metadata_map)


def check_io(
    session: ort.InferenceSession, path: Path, role: str, inputs: list[str], outputs: list[str]
) -> None:
    """ModelError unless the input names are `inputs` and the first output is `outputs[0]`."""
    names_in = [i.name for i in session.get_inputs()]
    names_out = [o.name for o in session.get_outputs()]
    if names_in != inputs or names_out[:1] != outputs:
        raise ModelError(
            f"{role} {path}: expected inputs {inputs} and output {outputs[0]!r}, "
            f"got inputs {names_in} and outputs {names_out}"
        )


class FeatureExtractor:
    """Extractor ONNX (`clip` [N,3,T,H,W] -> `features` [N,D]); checked against the config on load."""

    def __init__(self, config: InferenceConfig) -> None:
        self.path = config.extraction_model_file
        self.session = load_onnx_session(
            self.path, providers=config.providers, threads=config.threads, role="extraction model"
        )
        check_io(self.session, self.path, "extraction model", ["clip"], ["features"])
        meta = model_metadata(self.session)
        self.name = meta.get("extractor", self.path.stem)
        self._dtype = _NUMPY_TYPES.get(self.session.get_inputs()[0].type, np.float32)
        checks = {
            "segment-length": ("segment_length", config.segment_length),
            "segment-height": ("input_height", config.segment_height),
            "segment-width": ("input_width", config.segment_width),
        }
        for field, (key, value) in checks.items():
            if key in meta and int(meta[key]) != value:
                raise ConfigError(
                    f"config field {field!r}: {value} does not match the extraction model {self.path} "
                    f"({key} = {meta[key]})"
                )
        for field, key, value in (
            ("normalization-mean", "normalization_mean", config.normalization_mean),
            ("normalization-std", "normalization_std", config.normalization_std),
        ):
            if key in meta and not np.allclose(json.loads(meta[key]), value, atol=1e-4):
                raise ConfigError(
                    f"config field {field!r}: {list(value)} does not match the extraction model {self.path} "
                    f"({key} = {meta[key]})"
                )
        dim = self.session.get_outputs()[0].shape[-1]
        self.feature_dim = int(meta.get("feature_dim", dim if isinstance(dim, int) else 0))

    def __call__(self, clips: np.ndarray) -> np.ndarray:
        """Features (N, D) float32 of normalised clips (N, 3, T, H, W)."""
        (features,) = self.session.run(["features"], {"clip": clips.astype(self._dtype, copy=False)})
        return np.asarray(features, dtype=np.float32)


class AnomalyDetectorModel:
    """Detector ONNX (`features` [B,T,D] + `mask` [B,T] -> `scores` [B,T]); its metadata `inputs` says
    whether D is the clip features (`features`) or the scene profile's cue channels (`cues`), and
    `context_length` how many segments one score depends on."""

    def __init__(self, config: InferenceConfig, feature_dim: int) -> None:
        self.path = config.detection_model_file
        self.session = load_onnx_session(
            self.path, providers=config.providers, threads=config.threads, role="detection model"
        )
        check_io(self.session, self.path, "detection model", ["features", "mask"], ["scores"])
        meta = model_metadata(self.session)
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
        (scores,) = self.session.run(
            ["scores"], {"features": features[None].astype(np.float32), "mask": mask}
        )
        return np.asarray(scores, dtype=np.float32)[0]


@dataclass(frozen=True)
class Models:
    """The sessions one config needs; shared by every VideoDetector / StreamDetector of that config."""

    extractor: FeatureExtractor
    detector: AnomalyDetectorModel
    smoothing_window: int


_cache: dict[tuple, tuple[FeatureExtractor, AnomalyDetectorModel]] = {}
_cache_lock = threading.Lock()


def load_models(config: InferenceConfig) -> Models:
    """Load (or reuse) the extractor and detector sessions of `config`; ONNX sessions are thread-safe."""
    files = (config.extraction_model_file, config.detection_model_file)
    key = (
        *(str(f) for f in files),
        *(f.stat().st_mtime_ns if f.is_file() else 0 for f in files),
        config.providers,
        config.threads,
        config.segment_length,
        config.segment_width,
        config.segment_height,
        config.normalization_mean,
        config.normalization_std,
    )
    with _cache_lock:
        if key not in _cache:
            extractor = FeatureExtractor(config)
            _cache[key] = (extractor, AnomalyDetectorModel(config, extractor.feature_dim))
        extractor, detector = _cache[key]
    return Models(extractor, detector, config.smoothing_window or max(1, detector.smoothing_window))
