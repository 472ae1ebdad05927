"""Segments -> raw cues -> detector inputs -> scores: the part shared by dataset building, offline and live.

`CueModels` runs the extractor and the object detector on `Segment`s (from `inferences.segments`) and gives
`SegmentCues`. `SegmentScorer` turns cues into scores in order, one segment at a time or a whole video at
once, with the same result: the scene profile (calibrated, or learning the scene as it runs) gives each
segment its cue channels, and the detector sees at most `history-length` segments of them.
"""

from __future__ import annotations

import collections
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inferences.config import InferenceConfig
from inferences.configfile import ConfigFileError
from inferences.cues import pool_top
from inferences.preprocess import Preprocessor
from inferences.profile import CHANNELS, CueSetup, RunningProfile, SceneProfile, SegmentCues
from inferences.runtime import AnomalyDetectorModel, FeatureExtractor, ModelError, file_key, shared_model
from inferences.segments import Segment, Segmenter

OBJECT_BATCH = 2  # object frames per call: a 512x512 batch of 32 would take gigabytes


class CueModels:
    """The extractor and (optional) object detector of a config, turning segments into `SegmentCues`."""

    def __init__(self, config: InferenceConfig, extractor: FeatureExtractor) -> None:
        self.config = config
        self.extractor = extractor
        self.objects = load_object_detector(config)
        self.setup = CueSetup(
            extractor=extractor.name,
            feature_dim=extractor.feature_dim,
            objects_model=self.objects.name if self.objects else "",
            classes=tuple(self.objects.classes) if self.objects else (),
            prepare_interval=config.prepare_interval,
            segment_length=config.segment_length,
            objects_every=config.objects_every,
            crop=(config.crop_x1, config.crop_y1, config.crop_x2, config.crop_y2),
        )

    def segmenter(self) -> Segmenter:
        """A fresh `Segmenter` producing what `cues` needs."""
        return Segmenter(
            Preprocessor.from_config(self.config),
            object_size=(self.objects.width, self.objects.height) if self.objects else None,
            object_every=self.config.objects_every,
        )

    def cues(
        self,
        segments: list[Segment],
        *,
        features: np.ndarray | None = None,
        object_scores: ObjectScores | None = None,
    ) -> list[SegmentCues]:
        """Raw cues of a batch of segments: one extractor call, the object detector on `OBJECT_BATCH`
        frames a call; `features` (N, ...) replaces the extractor call when the caller computed them
        (e.g. ten crops); `object_scores` holds object frames already scored (live: while their segment
        was still filling)."""
        if not segments:
            return []
        if features is None:
            features = self.extractor(np.concatenate([s.clip for s in segments]))
        object_scores_by_segment = [np.zeros(0, dtype=np.float32)] * len(segments)
        if self.objects is not None:
            classes = len(self.objects.classes)
            frames = [frame for s in segments for frame in s.object_frames]
            known = [object_scores.pop(frame) if object_scores else None for frame in frames]
            todo = [frame for frame, score in zip(frames, known, strict=True) if score is None]
            computed = iter(self.object_scores(todo))
            scores = (
                np.stack([next(computed) if score is None else score for score in known])
                if frames
                else (np.zeros((0, classes), dtype=np.float32))
            )
            ends = np.cumsum([len(s.object_frames) for s in segments])
            object_scores_by_segment = [
                pool_top(part) if len(part) else np.zeros(classes, dtype=np.float32)
                for part in np.split(scores, ends[:-1])
            ]
        return [
            SegmentCues(feature=features[i], objects=object_scores_by_segment[i], motion=segment.motion)
            for i, segment in enumerate(segments)
        ]

    def object_scores(self, frames: list[np.ndarray]) -> np.ndarray:
        """Class scores (N, C) of object frames, `OBJECT_BATCH` a call."""
        classes = len(self.objects.classes)
        scores = [self.objects(frames[i : i + OBJECT_BATCH]) for i in range(0, len(frames), OBJECT_BATCH)]
        return np.concatenate(scores) if scores else np.zeros((0, classes), dtype=np.float32)


class ObjectScores:
    """Class scores of object frames computed ahead of their segment, by frame identity; keeps at most
    `limit` (the oldest go first: their segment was dropped)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._scores: collections.OrderedDict[int, tuple[np.ndarray, np.ndarray]] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._scores)

    def add(self, frame: np.ndarray, scores: np.ndarray) -> None:
        """Remember `scores` for `frame` (the frame object itself is kept, so its identity stays unique)."""
        self._scores[id(frame)] = (frame, scores)
        while len(self._scores) > self.limit:
            self._scores.popitem(last=False)

    def pop(self, frame: np.ndarray) -> np.ndarray | None:
        """The scores of `frame`, forgotten here; None when not computed ahead."""
        entry = self._scores.pop(id(frame), None)
        return entry[1] if entry is not None and entry[0] is frame else None


def load_object_detector(config: InferenceConfig):
    """The object detector of `objects-model-path` (loaded once per file and path, shared: it is safe to
    call from several threads), or None when the field is empty."""
    path = config.objects_model_file
    if path is None:
        return None
    if not path.is_file():
        raise ConfigFileError(
            f"config field 'objects-model-path': {path} not found (build it with "
            "`python -m models prepare --objects centernet`, part of `make install`)"
        )
    from inferences.objects import ObjectDetector

    key = (
        "objects",
        *file_key(path),
        config.providers,
        config.threads,
        config.performance_hint,
        config.objects_backend,
        config.objects_precision,
    )
    return shared_model(
        key,
        lambda: ObjectDetector(
            path,
            providers=config.providers,
            threads=config.threads,
            backend=config.objects_backend,
            precision=config.objects_precision,
            hint=config.performance_hint,
        ),
    )


def load_profile(config: InferenceConfig, setup: CueSetup, path: str | Path | None = None):
    """The scene profile at `path` (default: `scene-profile-path`), checked against `setup`; a fresh
    `RunningProfile` when there is none."""
    path = path if path is not None else config.scene_profile_file
    if not path:
        return RunningProfile()
    return SceneProfile.load(path, expected=setup)


@dataclass
class Scored:
    """Scores of segments in order: raw detector score, cue channels, top object class index (-1: none)."""

    scores: np.ndarray
    channels: np.ndarray
    top_class: np.ndarray


class SegmentScorer:
    """Scores segments in order with a profile and the detector over the last `history-length` inputs.

    A detector whose metadata says `inputs = cues` reads the profile's cue channels; any other reads the
    clip features themselves (detectors trained on feature datasets such as ShanghaiTech).
    """

    def __init__(self, config: InferenceConfig, detector: AnomalyDetectorModel, profile) -> None:
        self.detector = detector
        self.profile = profile
        self.uses_cues = detector.inputs == "cues"
        if self.uses_cues and detector.feature_dim != len(CHANNELS):
            raise ModelError(
                f"detection model {detector.path}: reads {detector.feature_dim} cue channels, the engine "
                f"computes {len(CHANNELS)} ({', '.join(CHANNELS)})"
            )
        if config.history_length < detector.context_length:
            raise ConfigFileError(
                f"config field 'history-length': {config.history_length} is shorter than the detector's "
                f"context ({detector.context_length} segments)"
            )
        self.history: collections.deque[np.ndarray] = collections.deque(maxlen=config.history_length)
        self.chunk = max(config.history_length, 1024)

    def score(self, cues: list[SegmentCues]) -> Scored:
        """Score the next segments (in order, after every segment given before)."""
        if self.uses_cues:
            channels, top = self.profile.channels(cues)
            inputs = channels
        else:
            channels = np.zeros((len(cues), len(CHANNELS)), dtype=np.float32)
            top = np.full(len(cues), -1, dtype=np.int64)
            inputs = np.stack([c.feature for c in cues])
        scores = np.empty(len(cues), dtype=np.float32)
        done = 0
        while done < len(cues):
            part = inputs[done : done + self.chunk]
            context = list(self.history)
            sequence = np.concatenate([np.stack(context), part]) if context else part
            scores[done : done + len(part)] = self.detector(sequence)[len(context) :]
            self.history.extend(part)
            done += len(part)
        return Scored(scores, channels, top)
