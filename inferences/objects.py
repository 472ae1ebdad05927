"""Object-class scores of whole frames from an objects ONNX file (`python -m models prepare --objects`).

The file's contract: input `image` float32 [N, 3, H, W] (RGB, `pixel * input_scale + input_offset`),
outputs `class_scores` [N, C] (per-class maximum of the heatmap over the frame) and `heatmap`; metadata
`objects_model`, `classes` (JSON list of the C names), `input_height`, `input_width`, `input_scale`,
`input_offset` and `input_size_multiple` (H and W are dynamic in multiples of it). ONNX Runtime only.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inferences.preprocess import Preprocessor
from inferences.runtime import ModelError, check_io, load_onnx_session, model_metadata

_REQUIRED = ("objects_model", "classes", "input_height", "input_width", "input_scale", "input_offset")


class ObjectDetector:
    """Class scores (N, C) of RGB uint8 frames. Each frame is resized to the model input with FFmpeg's
    bilinear scaler (`Preprocessor.frame`, the resize the extractor input uses); `input_size` (square, a
    multiple of the file's `input_size_multiple`) replaces the file's default size."""

    def __init__(
        self, path: str | Path, *, providers: Sequence[str], threads: int = 0, input_size: int | None = None
    ) -> None:
        self.path = Path(path)
        role = "objects model"
        self.session = load_onnx_session(self.path, providers=list(providers), threads=threads, role=role)
        check_io(self.session, self.path, role, ["image"], ["class_scores"])
        meta = model_metadata(self.session)
        missing = [key for key in _REQUIRED if key not in meta]
        if missing:
            raise ModelError(f"{role} {self.path}: not an objects model (no metadata {', '.join(missing)})")
        self.name = meta["objects_model"]
        self.classes: list[str] = json.loads(meta["classes"])
        height, width = (
            (input_size, input_size) if input_size else (int(meta["input_height"]), int(meta["input_width"]))
        )
        multiple = int(meta.get("input_size_multiple", 1))
        if height % multiple or width % multiple or min(height, width) < multiple:
            raise ModelError(f"{role} {self.path}: input size {height}x{width}, not a multiple of {multiple}")
        self.height, self.width = height, width
        self.scale, self.offset = float(meta["input_scale"]), float(meta["input_offset"])
        self._preprocessor = Preprocessor(width=width, height=height, segment_length=1)

    def images(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """The model input [N, 3, H, W] float32 of RGB uint8 frames (H, W, 3) of any size."""
        resized = np.stack([self._preprocessor.frame(frame) for frame in frames]).astype(np.float32)
        if self.scale != 1.0 or self.offset != 0.0:
            resized = resized * np.float32(self.scale) + np.float32(self.offset)
        return np.ascontiguousarray(resized.transpose(0, 3, 1, 2))

    def __call__(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """Class scores (N, C) float32 in [0, 1], columns in the order of `classes`."""
        if not frames:
            return np.zeros((0, len(self.classes)), np.float32)
        (scores,) = self.session.run(["class_scores"], {"image": self.images(frames)})
        return np.asarray(scores, dtype=np.float32)
