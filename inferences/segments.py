"""The one segmenting path: sampled frames -> 16-frame segments with their per-frame cues.

Dataset building, offline detection, live detection and INT8 calibration all cut video the same way:
a `FrameSampler` takes a frame every `prepare-interval` of presentation time (the training frame rate),
and a `Segmenter` turns the taken frames into `Segment`s: the extractor clip (crop, resize, normalise),
the motion statistics of every sampled frame (`inferences.cues.MotionCue`) and, every `object_every`
sampled frames, an RGB frame at the object detector's input size. So a 25 fps video gives the same
segments whichever path reads it, and training features match inference features.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from inferences.cues import MotionCue, motion_size, pool_mean
from inferences.preprocess import Preprocessor, scale
from inferences.sampling import FrameSampler
from inferences.video import iter_video_frames, open_video


@dataclass
class Segment:
    """One segment: `clip` [1, 3, T, H, W] (normalised), `motion` pooled (len(MOTION_STATS),),
    `object_frames` RGB uint8 frames for the object detector, `indices` the source indices of its real
    (unpadded) sampled frames, `arrival` a caller's timestamp of its first frame (live: wall clock)."""

    clip: np.ndarray
    motion: np.ndarray
    object_frames: list[np.ndarray] = field(default_factory=list)
    indices: list[int] = field(default_factory=list)
    arrival: float = 0.0

    @property
    def start(self) -> int:
        """Source index of the first sampled frame."""
        return self.indices[0]


class Segmenter:
    """Collects sampled frames into `Segment`s (see the module docstring).

    `object_size` (width, height) is the object detector's input (None: no object cue); an object frame
    is kept at positions 0, `object_every`, 2 x `object_every`, ... of each segment.
    """

    def __init__(
        self,
        preprocessor: Preprocessor,
        *,
        object_size: tuple[int, int] | None = None,
        object_every: int = 1,
    ) -> None:
        if object_every < 1:
            raise ValueError(f"object_every must be >= 1, got {object_every}")
        self.preprocessor = preprocessor
        self.object_size = object_size
        self.object_every = object_every
        self.motion = MotionCue()
        self._prepared: list[np.ndarray] = []
        self._motion: list[np.ndarray] = []
        self._objects: list[np.ndarray] = []
        self._indices: list[int] = []
        self._arrival = 0.0

    @property
    def position(self) -> int:
        """Sampled frames already in the segment being built."""
        return len(self._prepared)

    @property
    def pending_objects(self) -> list[np.ndarray]:
        """Object frames of the segment being built (read only)."""
        return self._objects

    def reset(self) -> None:
        """Drop the partial segment and the flow's previous frame (a new video or a stream gap)."""
        self._prepared, self._motion, self._objects, self._indices = [], [], [], []
        self.motion.reset()

    def add(self, frame: av.VideoFrame, index: int = 0, arrival: float = 0.0) -> Segment | None:
        """Take one sampled frame (source index `index`); the finished segment when it completes one."""
        cropped = self.preprocessor.cropped(frame)
        position = len(self._prepared)
        if position == 0:
            self._arrival = arrival
        self._indices.append(index)
        self._prepared.append(scale(cropped, self.preprocessor.width, self.preprocessor.height))
        self._motion.append(self.motion(scale(cropped, *motion_size(cropped.width, cropped.height), "gray")))
        if self.object_size is not None and position % self.object_every == 0:
            self._objects.append(scale(cropped, *self.object_size))
        if len(self._prepared) == self.preprocessor.segment_length:
            return self.flush()
        return None

    def flush(self) -> Segment | None:
        """The partial segment (padded by repeating its last frame), or None when empty."""
        if not self._prepared:
            return None
        segment = Segment(
            clip=self.preprocessor.pack(self._prepared),
            motion=pool_mean(np.stack(self._motion)),
            object_frames=self._objects,
            indices=self._indices,
            arrival=self._arrival,
        )
        self._prepared, self._motion, self._objects, self._indices = [], [], [], []
        return segment


def frame_time(frame: av.VideoFrame, index: int, fps: float) -> float:
    """Presentation time of a decoded frame in seconds (index / fps when it has no timestamp)."""
    return index / fps if frame.time is None else float(frame.time)


def video_segments(path: str | Path, segmenter: Segmenter, *, interval: float) -> Iterator[Segment | int]:
    """Every `Segment` of a video file sampled every `interval` seconds, then its decoded frame count.

    A video at or below 1 / `interval` fps keeps every frame. Raises VideoError for a bad file.
    """
    info = open_video(path)
    sampler = FrameSampler(interval, fps=info.fps)
    segmenter.reset()
    frames = 0
    for frame in iter_video_frames(info.path):
        index, frames = frames, frames + 1
        if sampler.take(frame_time(frame, index, info.fps)):
            segment = segmenter.add(frame, index)
            if segment is not None:
                yield segment
    last = segmenter.flush()
    if last is not None:
        yield last
    yield frames


def batches(items: Iterable[Segment | int], size: int) -> Iterator[list[Segment] | int]:
    """The segments of `video_segments` in lists of `size` (the last one may be shorter), for batched model
    calls; the closing frame count passes through after the last list."""
    batch: list[Segment] = []
    for item in items:
        if isinstance(item, int):
            if batch:
                yield batch
                batch = []
            yield item
            continue
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
