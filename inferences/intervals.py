"""Per-frame scores from segment scores, and abnormal intervals from per-frame scores."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np


@dataclass
class Interval:
    """Frames `start_frame..end_frame` (inclusive) at or above the threshold; times in seconds,
    `end_time` = (end_frame + 1) / fps (the end of the last frame)."""

    start_frame: int
    end_frame: int
    start_time: float
    end_time: float
    peak_score: float
    category: str | None = None
    category_probability: float | None = None
    causes: list[dict] | None = None  # what drove it: [{"cue", "label", "z"}] (`inferences.explain`)

    def to_dict(self) -> dict:
        """JSON-ready dict; `category` / `category_probability` / `causes` only when known."""
        return {key: value for key, value in asdict(self).items() if value is not None}


def frame_scores(segment_scores: Sequence[float], *, frames: int, starts: Sequence[int]) -> np.ndarray:
    """One score per frame: frame f gets the score of the last segment whose first frame is at or before f.

    `starts`: the index of each segment's first frame (ascending, from 0); segments hold sampled frames,
    so frame f gets the score of the segment holding the newest sampled frame at or before f.
    """
    segment_scores = np.asarray(segment_scores, dtype=np.float32)
    bounds = np.append(np.asarray(starts, dtype=np.int64), frames)
    counts = np.diff(bounds)
    if len(starts) != len(segment_scores) or bounds[0] != 0 or (counts <= 0).any():
        raise ValueError(
            f"segment starts must rise from 0 below {frames} frames, one per segment score "
            f"({len(segment_scores)})"
        )
    return np.repeat(segment_scores, counts)


def find_intervals(scores: Sequence[float], *, threshold: float, fps: float) -> list[Interval]:
    """Maximal runs of frames whose score is >= threshold."""
    scores = np.asarray(scores, dtype=np.float32)
    above = np.concatenate([[False], scores >= threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(np.int8)))
    intervals = []
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        intervals.append(
            Interval(
                start_frame=int(start),
                end_frame=int(stop - 1),
                start_time=round(float(start) / fps, 4),
                end_time=round(float(stop) / fps, 4),
                peak_score=float(scores[start:stop].max()),
            )
        )
    return intervals
