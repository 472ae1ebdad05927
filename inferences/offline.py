"""Offline detection of a recorded video: scores, abnormal intervals, an annotated result video, a cover.

Two passes over the file, each a two-stage pipeline (a producer thread feeding a small bounded queue, the
caller's thread consuming), so decoding overlaps inference in pass 1 and encoding in pass 2 while memory
stays flat in the video length (at most a few segments / frames are in flight):

1. decode -> sample a frame every `prepare-interval` of presentation time (the training frame rate, as
   the live path does; a video at or below that rate keeps every frame) -> crop/resize -> 16-frame
   segments (thread) | extractor in batches (caller); then the detector over the whole feature sequence,
   centred smoothing, one score per original frame: the score of the segment that holds the newest sampled
   frame at or before it;
2. decode -> red border + prompt drawn on the YUV planes of frames at or above the threshold (thread) |
   H.264 encode (caller). A video with no frame at or above the threshold has nothing to draw: when its
   stream fits an MP4 as it is (`VideoInfo.copyable`, e.g. the server's transcoded uploads) it is copied
   without re-encoding, and only the frames up to the cover are decoded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np

from inferences.annotate import Annotator
from inferences.atomic import atomic_path
from inferences.category import category_sample_indices, load_category_classifier
from inferences.config import InferenceConfig
from inferences.explain import causes
from inferences.intervals import Interval, find_intervals, frame_scores
from inferences.pipe import background
from inferences.pipeline import CueModels, SegmentScorer, load_profile
from inferences.profile import SceneProfile, SegmentCues
from inferences.runtime import load_models
from inferences.segments import batches, video_segments
from inferences.smoothing import smooth_scores
from inferences.video import VideoInfo, VideoWriter, copy_video, even_size, iter_video_frames, open_video

COVER_SIZE = 640


class DetectionCancelled(Exception):
    """The caller's cancel event was set; partial outputs were removed."""


@dataclass
class DetectionResult:
    """Per-frame scores, per-segment scores (smoothed), intervals and video facts.

    Segments hold frames sampled every `prepare-interval` (every frame at or below 1 / `prepare-interval`
    fps); `scores` has one score per original frame: that of the segment holding the newest sampled frame
    at or before it (with every frame sampled: segment f // segment-length).
    """

    fps: float
    frames: int
    width: int
    height: int
    duration: float
    scores: list[float]
    segment_scores: list[float]
    intervals: list[Interval] = field(default_factory=list)
    peak_score: float = 0.0
    profile: str = ""  # the scene profile's source ("" = uncalibrated: the video's own statistics)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {
            "fps": self.fps,
            "frames": self.frames,
            "width": self.width,
            "height": self.height,
            "duration": self.duration,
            "scores": self.scores,
            "segment_scores": self.segment_scores,
            "intervals": [interval.to_dict() for interval in self.intervals],
            "peak_score": self.peak_score,
            "profile": self.profile,
        }


class _Progress:
    """Maps pass-local fractions to 0..1 over both passes and calls the callback at most every 0.1%."""

    def __init__(self, callback: Callable[[float], None] | None) -> None:
        self.callback = callback
        self.last = -1.0

    def __call__(self, start: float, weight: float, fraction: float) -> None:
        value = min(1.0, start + weight * min(1.0, max(0.0, fraction)))
        if self.callback is not None and (value - self.last >= 0.001 or value == 1.0) and value > self.last:
            self.last = value
            self.callback(value)


PASS1_WEIGHT = 0.75  # share of the progress bar for decoding + feature extraction


class VideoDetector:
    """Offline detector; load once (ONNX sessions are shared), call `detect` for many videos."""

    def __init__(self, config: InferenceConfig) -> None:
        config = config.tuned("latency")
        self.config = config
        self.models = load_models(config)
        self.cues = CueModels(config, self.models.extractor)
        self.annotator = Annotator(border=config.anomaly_border, prompt=config.anomaly_prompt)
        self.category = load_category_classifier(config)

    def detect(
        self,
        video_path: str | Path,
        *,
        output_path: str | Path,
        cover_path: str | Path,
        progress: Callable[[float], None] | None = None,
        cancel: threading.Event | None = None,
        profile: str | Path | None = None,
    ) -> DetectionResult:
        """Score every frame of `video_path`, write the annotated H.264 MP4 and the JPEG cover.

        `profile`: a scene profile file (default: the config's `scene-profile-path`; none = the video's
        own running statistics, as a live camera without calibration). Raises VideoError for a bad video,
        ProfileError for an unusable profile, DetectionCancelled when `cancel` is set.
        """
        cancel = cancel or threading.Event()
        report = _Progress(progress)
        info = open_video(video_path)
        scene = load_profile(self.config, self.cues.setup, profile)
        cues, starts, frames = self.extract_cues(info, report, cancel)
        scored = SegmentScorer(self.config, self.models.detector, scene).score(cues)
        segment_scores = smooth_scores(scored.scores, self.models.smoothing_window, causal=False)
        scores = frame_scores(segment_scores, frames=frames, starts=starts)
        intervals = find_intervals(scores, threshold=self.config.anomaly_threshold, fps=info.fps)
        if self.models.detector.inputs == "cues":
            bounds = (
                np.searchsorted(starts, [[i.start_frame, i.end_frame] for i in intervals], side="right") - 1
            )
            for interval, (first, last) in zip(intervals, bounds.reshape(-1, 2), strict=True):
                interval.causes = causes(
                    scored.channels[first : last + 1],
                    scored.top_class[first : last + 1],
                    [c.objects for c in cues[first : last + 1]],
                    self.cues.setup.classes,
                )
        with atomic_path(output_path) as video, atomic_path(cover_path) as cover:
            self._render(info, scores, intervals, video, cover, report, cancel)
        report(0.0, 1.0, 1.0)
        return DetectionResult(
            fps=info.fps,
            frames=frames,
            width=info.width,
            height=info.height,
            duration=frames / info.fps,
            scores=[float(s) for s in scores],
            segment_scores=[float(s) for s in segment_scores],
            intervals=intervals,
            peak_score=float(scores.max()),
            profile=scene.source if isinstance(scene, SceneProfile) else "",
        )

    def extract_cues(
        self, info: VideoInfo, report: _Progress | None = None, cancel: threading.Event | None = None
    ) -> tuple[list[SegmentCues], list[int], int]:
        """Pass 1: decode + segment (thread) | cues in batches (this thread): the cues of every segment,
        each segment's first frame index, the frame count."""
        report, cancel = report or _Progress(None), cancel or threading.Event()
        cues: list[SegmentCues] = []
        starts: list[int] = []
        frames = 0
        segments = background(
            video_segments(info.path, self.cues.segmenter(), interval=self.config.prepare_interval),
            maxsize=self.config.batch_size + 1,
            name="decode-segments",
        )
        for batch in batches(segments, self.config.batch_size):
            if cancel.is_set():
                raise DetectionCancelled(f"{info.path}: detection cancelled")
            if isinstance(batch, int):
                frames = batch
                continue
            cues.extend(self.cues.cues(batch))
            starts.extend(segment.start for segment in batch)
            report(0.0, PASS1_WEIGHT, starts[-1] / max(info.frames, starts[-1] + 1))
        report(0.0, PASS1_WEIGHT, 1.0)
        return cues, starts, frames

    def _annotated(
        self,
        info: VideoInfo,
        scores: np.ndarray,
        intervals: list[Interval],
        cover_path: Path,
        cancel: threading.Event,
    ) -> Iterator[av.VideoFrame]:
        """Pass 2 producer: decoded frames, annotated where the score is at or above the threshold; writes
        the cover (the first peak-score frame) and classifies each interval from frames sampled in it."""
        threshold = self.config.anomaly_threshold
        width, height = even_size(info.width, info.height)
        cover_index = int(np.argmax(scores))
        samples = _category_samples(intervals) if self.category else {}
        collected: list[np.ndarray] = []
        for index, frame in enumerate(iter_video_frames(info.path)):
            if cancel.is_set():
                raise DetectionCancelled(f"{info.path}: detection cancelled")
            if index in samples:
                collected.append(frame.to_ndarray(format="rgb24"))
                if index == samples[index].end_sample:
                    target = samples[index].target
                    target.category, target.category_probability = self.category.classify(collected)
                    collected = []
            if scores[min(index, len(scores) - 1)] >= threshold:
                frame = self.annotator.video_frame(frame, width=width, height=height)
            if index == cover_index:
                _save_cover(frame, cover_path)
            yield frame

    def _render(
        self,
        info: VideoInfo,
        scores: np.ndarray,
        intervals: list[Interval],
        output_path: Path,
        cover_path: Path,
        report: _Progress,
        cancel: threading.Event,
    ) -> None:
        """Pass 2: decode + annotate (thread) | encode the result video (this thread); a copy of the source
        when no frame is to be annotated and its stream allows it."""
        if scores.max() < self.config.anomaly_threshold and info.copyable:
            cover_index, cover = int(np.argmax(scores)), None
            for index, frame in enumerate(iter_video_frames(info.path)):
                if cancel.is_set():
                    raise DetectionCancelled(f"{info.path}: detection cancelled")
                cover = frame  # the last decoded one, should the file hold fewer frames this time
                if index == cover_index:
                    break
                if index % 16 == 0:
                    report(PASS1_WEIGHT, (1 - PASS1_WEIGHT) / 2, index / cover_index)
            if cover is not None:
                _save_cover(cover, cover_path)
            copy_video(info.path, output_path)
            return
        frames = background(
            self._annotated(info, scores, intervals, cover_path, cancel), maxsize=8, name="decode-annotate"
        )
        with VideoWriter(
            output_path,
            width=info.width,
            height=info.height,
            rate=info.rate,
            preset=self.config.result_preset,
        ) as writer:
            for frame in frames:
                writer.write(frame)
                if writer.count % 16 == 0:
                    report(PASS1_WEIGHT, 1 - PASS1_WEIGHT, writer.count / len(scores))
                    if cancel.is_set():
                        raise DetectionCancelled(f"{info.path}: detection cancelled")


def _save_cover(frame: av.VideoFrame, path: Path) -> None:
    cover = frame.to_image()
    cover.thumbnail((COVER_SIZE, COVER_SIZE))
    cover.save(path, format="JPEG", quality=85)


@dataclass
class _Sample:
    target: Interval
    end_sample: int


def _category_samples(intervals: list[Interval]) -> dict[int, _Sample]:
    """Frame index -> interval for up to CATEGORY_SAMPLES evenly spaced frames of each interval."""
    samples: dict[int, _Sample] = {}
    for interval in intervals:
        indices = category_sample_indices(interval.start_frame, interval.end_frame)
        sample = _Sample(interval, indices[-1])
        samples.update({i: sample for i in indices})
    return samples
