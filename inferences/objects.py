"""Object-class scores of whole frames from an objects ONNX file (`python -m models prepare --objects`).

The file's contract: input `image` float32 [N, 3, H, W] (RGB, `pixel * input_scale + input_offset`),
outputs `class_scores` [N, C] (per-class maximum of the heatmap over the frame) and `heatmap`; metadata
`objects_model`, `classes` (JSON list of the C names), `input_height`, `input_width`, `input_scale`,
`input_offset` and `input_size_multiple` (H and W are dynamic in multiples of it). Runs on the path
`inferences.backends` chooses (ONNX Runtime or OpenVINO, fp32 or bf16 checked on real frames); OpenVINO
compiles it for the detector's input size (static H and W, any batch), which it runs faster.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from inferences.backends import Runner, choices, detect, open_model
from inferences.preprocess import Preprocessor
from inferences.runtime import ModelError, check_io

_REQUIRED = ("objects_model", "classes", "input_height", "input_width", "input_scale", "input_offset")


def model_input(frames: Sequence[np.ndarray], prep: Preprocessor, scale: float, offset: float) -> np.ndarray:
    """[N, 3, H, W] float32 `pixel * scale + offset` of RGB uint8 frames resized by `prep` (frames already at
    its size, as the segmenter's object frames are, are taken as they are)."""
    size = (prep.height, prep.width, 3)
    resized = np.stack([frame if frame.shape == size else prep.frame(frame) for frame in frames])
    resized = resized.astype(np.float32)
    if scale != 1.0 or offset != 0.0:
        resized = resized * np.float32(scale) + np.float32(offset)
    return np.ascontiguousarray(resized.transpose(0, 3, 1, 2))


class ObjectDetector:
    """Class scores (N, C) of RGB uint8 frames. Each frame is resized to the model input with FFmpeg's
    bilinear scaler (`Preprocessor.frame`, the resize the extractor input uses); `input_size` (square, a
    multiple of the file's `input_size_multiple`) replaces the file's default size."""

    def __init__(
        self,
        path: str | Path,
        *,
        providers: Sequence[str],
        threads: int = 0,
        input_size: int | None = None,
        backend: str = "auto",
        precision: str = "auto",
        hint: str = "latency",
    ) -> None:
        self.path = Path(path)
        self.input_size = input_size
        role = "objects model"
        paths = choices(
            detect(), backend=backend, precision=precision, providers=providers, precisions=("fp32", "bf16")
        )
        self.runner = open_model(
            role,
            lambda choice: self.path,
            paths,
            providers=list(providers),
            threads=threads,
            check=self._check,
            shapes=self._shapes,
            hint=hint,
        )
        check_io(self.runner, self.path, role, ["image"], ["class_scores"])
        meta = self.runner.metadata
        missing = [key for key in _REQUIRED if key not in meta]
        if missing:
            raise ModelError(f"{role} {self.path}: not an objects model (no metadata {', '.join(missing)})")
        self.name = meta["objects_model"]
        self.classes: list[str] = json.loads(meta["classes"])
        self.height, self.width = self._size(meta)
        self.scale, self.offset = float(meta["input_scale"]), float(meta["input_offset"])
        self._preprocessor = Preprocessor(width=self.width, height=self.height, segment_length=1)

    def _size(self, meta: dict[str, str]) -> tuple[int, int]:
        """(height, width) of the model input: `input_size` square, else the file's own; ModelError when not
        a multiple of the file's `input_size_multiple`."""
        size = (
            (self.input_size, self.input_size)
            if self.input_size
            else (int(meta["input_height"]), int(meta["input_width"]))
        )
        multiple = int(meta.get("input_size_multiple", 1))
        if size[0] % multiple or size[1] % multiple or min(size) < multiple:
            raise ModelError(
                f"objects model {self.path}: input size {size[0]}x{size[1]}, not a multiple of {multiple}"
            )
        return size

    def _shapes(self, meta: dict[str, str]) -> dict[str, list[int]]:
        """OpenVINO's input shape: any batch at this detector's size (none for a file it cannot use: the
        constructor names the problem)."""
        if not all(key in meta for key in _REQUIRED):
            return {}
        try:
            height, width = self._size(meta)
        except ModelError:
            return {}
        return {"image": [-1, 3, height, width]}

    def _check(self, runner: Runner) -> np.ndarray | None:
        """Class scores of real frames at this detector's size (the load-time check of a non-fp32 path)."""
        from inferences.checks import real_frames

        frames, meta = real_frames(), runner.metadata
        if frames is None or self._shapes(meta) == {}:
            return None
        height, width = self._size(meta)
        prep = Preprocessor(width=width, height=height, segment_length=1)
        images = model_input(frames, prep, float(meta["input_scale"]), float(meta["input_offset"]))
        return runner.run(["class_scores"], {"image": images})[0]

    def images(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """The model input [N, 3, H, W] float32 of RGB uint8 frames (H, W, 3) of any size."""
        return model_input(frames, self._preprocessor, self.scale, self.offset)

    def __call__(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """Class scores (N, C) float32 in [0, 1], columns in the order of `classes`."""
        if not frames:
            return np.zeros((0, len(self.classes)), np.float32)
        (scores,) = self.runner.run(["class_scores"], {"image": self.images(frames)})
        return np.asarray(scores, dtype=np.float32)
