"""Per-frame cues next to the clip features: motion (dense optical flow) and pooling per segment.

The motion cue runs OpenCV's DIS optical flow (its `MEDIUM` preset: the `FAST` one is 3x cheaper but too
noisy for the fastest-cells statistic) between consecutive *sampled* frames (so its speeds are in
working-resolution pixels per `prepare-interval`, the same for offline and live), on greyscale frames
scaled to `MOTION_WIDTH` pixels wide. A frame is summarised by the mean speed of its `FASTEST_CELLS`
fastest `CELL`x`CELL` cells (a cyclist or a runner moves faster than everything else in the frame) and by
the mean speed of the whole frame; a segment by the mean over its frames (dense flow is stable from frame
to frame). Object cues come from `inferences.objects.ObjectDetector`: a segment takes the mean of the
`TOP_FRAMES` highest confidences of each class over its object frames (a detector misses an object in some
frames, so a plain mean would dilute it).
"""

from __future__ import annotations

import cv2
import numpy as np

MOTION_WIDTH = 320  # px: flow is computed on frames scaled to this width (aspect ratio kept)
CELL = 12  # px at the working width
FASTEST_CELLS = 3
MOTION_STATS = ("peak_speed", "mean_speed")
TOP_FRAMES = 2  # a segment's object confidence: the mean of its TOP_FRAMES highest object frames


def motion_size(width: int, height: int) -> tuple[int, int]:
    """Working (width, height) of the flow for a source (or crop) of `width` x `height` pixels."""
    scale = MOTION_WIDTH / max(width, 1)
    return MOTION_WIDTH, max(CELL, round(height * scale / 2) * 2)


class MotionCue:
    """Flow statistics of each sampled greyscale frame against the previous one (`MOTION_STATS`).

    The first frame after `reset()` has no predecessor: its statistics are NaN (ignored by `pool`).
    """

    def __init__(self) -> None:
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._previous: np.ndarray | None = None

    def reset(self) -> None:
        """Forget the previous frame (a new video, or a gap in a live stream)."""
        self._previous = None

    def __call__(self, gray: np.ndarray) -> np.ndarray:
        """(len(MOTION_STATS),) float32 for a uint8 greyscale frame (H, W) at the working size."""
        gray = np.ascontiguousarray(gray)
        previous, self._previous = self._previous, gray
        if previous is None or previous.shape != gray.shape:
            return np.full(len(MOTION_STATS), np.nan, dtype=np.float32)
        flow = self._flow.calc(previous, gray, None)
        speed = np.hypot(flow[..., 0], flow[..., 1])
        rows, cols = speed.shape[0] // CELL, speed.shape[1] // CELL
        cells = speed[: rows * CELL, : cols * CELL].reshape(rows, CELL, cols, CELL).mean(axis=(1, 3))
        fastest = np.sort(cells, axis=None)[-FASTEST_CELLS:]
        return np.array([fastest.mean(), speed.mean()], dtype=np.float32)


def pool_top(values: np.ndarray) -> np.ndarray:
    """Per-segment value of per-frame cues (frames, K) -> (K,): the mean of the `TOP_FRAMES` highest
    frames of each column, ignoring NaN; 0 where a column has no finite value."""
    values = np.asarray(values, dtype=np.float32).reshape(len(values), -1)
    ordered = np.sort(np.where(np.isfinite(values), values, -np.inf), axis=0)[::-1][:TOP_FRAMES]
    return _finite_mean(ordered)


def pool_mean(values: np.ndarray) -> np.ndarray:
    """Per-segment value of per-frame cues (frames, K) -> (K,): the mean of each column, ignoring NaN;
    0 where a column has no finite value."""
    return _finite_mean(np.asarray(values, dtype=np.float32).reshape(len(values), -1))


def _finite_mean(values: np.ndarray) -> np.ndarray:
    finite = np.isfinite(values)
    counts = finite.sum(axis=0)
    total = np.where(finite, values, 0.0).sum(axis=0)
    return np.where(counts > 0, total / np.maximum(counts, 1), 0.0).astype(np.float32)
