"""Anomaly category of a run of frames with the exported classifier ONNX (see models/classifier/export.py):
the classifier, loading it from the config, and which frames of a run it sees (offline and live alike)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inferences.config import InferenceConfig
from inferences.configfile import ConfigFileError
from inferences.imaging import normalize_images, resize_rgb
from inferences.runtime import ModelError, check_io, load_onnx_session, model_metadata

CATEGORY_SAMPLES = 8  # frames of an abnormal interval (or of a live alert's segment) given to the classifier


class CategoryClassifier:
    """Top class and its mean probability over frames; resizes and normalises per the model's metadata."""

    def __init__(
        self,
        onnx_path: str | Path,
        *,
        providers: Sequence[str] = ("CPUExecutionProvider",),
        threads: int = 0,
        batch_size: int = 64,
    ) -> None:
        self.path = Path(onnx_path)
        role = "category model"
        self.onnx_session = load_onnx_session(
            self.path, providers=list(providers), threads=threads, role=role
        )
        check_io(self.onnx_session, self.path, role, ["image"], ["probabilities"])
        meta = model_metadata(self.onnx_session)
        try:
            self.classes: list[str] = json.loads(meta["classes"])
            self.input_size = int(meta["input_size"])
            self.mean = [float(v) for v in json.loads(meta["normalization_mean"])]
            self.std = [float(v) for v in json.loads(meta["normalization_std"])]
        except (KeyError, ValueError, TypeError) as exc:
            raise ModelError(
                f"{role} {self.path}: missing or malformed metadata ({exc!r}); expected classes, "
                "input_size, normalization_mean, normalization_std"
            ) from None
        if len(self.mean) != 3 or len(self.std) != 3 or not self.classes or self.input_size < 1:
            raise ModelError(
                f"{role} {self.path}: metadata has {len(self.classes)} classes, "
                f"input_size {self.input_size}, mean {self.mean}, std {self.std}"
            )
        self.batch_size = batch_size

    def probabilities(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities `(len(frames), num_classes)` of RGB uint8 `(H, W, 3)` frames."""
        if len(frames) == 0:
            raise ValueError("frames: no frames to classify")
        for i, frame in enumerate(frames):
            if (
                not isinstance(frame, np.ndarray)
                or frame.dtype != np.uint8
                or frame.ndim != 3
                or frame.shape[2] != 3
            ):
                described = (
                    f"{frame.dtype} {frame.shape}" if isinstance(frame, np.ndarray) else type(frame).__name__
                )
                raise ValueError(f"frames[{i}]: expected an RGB uint8 array (H, W, 3), got {described}")
        outputs = []
        for start in range(0, len(frames), self.batch_size):
            chunk = np.stack(
                [resize_rgb(f, self.input_size) for f in frames[start : start + self.batch_size]]
            )
            image = normalize_images(chunk, self.mean, self.std)
            outputs.append(self.onnx_session.run(["probabilities"], {"image": image})[0])
        return np.concatenate(outputs)

    def classify(self, frames: Sequence[np.ndarray]) -> tuple[str, float]:
        """(top class, its probability averaged over `frames`)."""
        mean = self.probabilities(frames).mean(axis=0)
        best = int(mean.argmax())
        return self.classes[best], float(mean[best])


def category_sample_indices(first: int, last: int) -> list[int]:
    """Up to CATEGORY_SAMPLES evenly spaced frame indices of `first..last` (inclusive), ascending."""
    count = min(CATEGORY_SAMPLES, last - first + 1)
    return [int(i) for i in np.unique(np.linspace(first, last, count).round().astype(int))]


def load_category_classifier(config: InferenceConfig) -> CategoryClassifier | None:
    """The category classifier of `category-model-path`, or None when the field is empty."""
    path = config.category_model_file
    if path is None:
        return None
    if not path.is_file():
        raise ConfigFileError(f"config field 'category-model-path': {path} not found")
    return CategoryClassifier(path, providers=config.providers, threads=config.threads)
