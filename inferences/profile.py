"""Scene profiles: what "normal" looks like for one camera, and the detector's cue inputs measured against it.

Every segment has raw cues (`SegmentCues`): the extractor's clip feature, the object detector's class
confidences (pooled over the segment's object frames) and the motion statistics. A profile turns them into
the detector's input channels `CHANNELS`, each a robust z-score against the scene's normal footage:

- `objects`: the highest z-score over the object classes (a class that is rare in this scene and present
  now, e.g. a bicycle on a walkway; a car on a street is normal there);
- `motion`: the speed of the fastest cells; `activity`: the mean speed of the whole frame;
- `scene`: how far the clip feature is from its nearest normal clip features (cosine distance, mean of the
  `NEIGHBOURS` nearest), i.e. an unusual scene as a whole.

z = (value - median) / max(1.4826 x MAD, floor), then compressed as sign(z) log(1 + |z|) so a huge
deviation cannot dominate. `SceneProfile` is calibrated from normal footage (saved as a `.npz`, see
`save`); `RunningProfile` is the uncalibrated fallback: the same statistics over the camera's own recent
segments, so a new camera adapts to its own normal after `WARMUP_SEGMENTS` segments.
"""

from __future__ import annotations

import collections
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inferences.atomic import atomic_path
from inferences.cues import MOTION_STATS
from inferences.errors import SurveillanceError

CUE_VERSION = 1  # bump when the definition of a cue changes: older profiles are then refused
CHANNELS = ("objects", "motion", "activity", "scene")
NEIGHBOURS = 3
BANK_SIZE = 1024  # normal clip features kept in a profile (evenly subsampled beyond this)
GROUP = 16  # segments per calibration group: novelty of a normal segment is measured against other groups
MIN_SEGMENTS = 8  # normal segments needed to calibrate (13 s at 10 fps)
WARMUP_SEGMENTS = 8  # uncalibrated: segments seen before the first score
RUNNING_WINDOW = 256  # uncalibrated: recent segments the statistics are taken over
RUNNING_GAP = 2  # uncalibrated: the newest segments are left out of the novelty bank
FLOORS = {"objects": 0.05, "motion": 0.5, "activity": 0.1, "scene": 0.02}  # smallest scale of each z


class ProfileError(SurveillanceError):
    """A profile that cannot be built, read or used with these models; the message names the problem."""


@dataclass
class SegmentCues:
    """Raw cues of one segment: clip feature (D,), class confidences (C,) or (0,), motion statistics."""

    feature: np.ndarray
    objects: np.ndarray
    motion: np.ndarray


@dataclass(frozen=True)
class CueSetup:
    """What produced the cues: a profile is only valid for the same extractor, object model, object rate,
    crop box and sampling rate."""

    extractor: str
    feature_dim: int
    objects_model: str
    classes: tuple[str, ...]
    prepare_interval: float
    segment_length: int
    objects_every: int
    crop: tuple[float, float, float, float]
    cue_version: int = CUE_VERSION

    def to_dict(self) -> dict:
        return {**self.__dict__, "classes": list(self.classes), "crop": list(self.crop)}

    @classmethod
    def from_dict(cls, values: dict) -> CueSetup:
        return cls(**{**values, "classes": tuple(values["classes"]), "crop": tuple(values["crop"])})

    def mismatch(self, other: CueSetup) -> str | None:
        """A one-line description of the first difference, or None when compatible."""
        keys = (
            "cue_version",
            "extractor",
            "feature_dim",
            "objects_model",
            "classes",
            "segment_length",
            "objects_every",
        )
        for key in keys:
            if getattr(self, key) != getattr(other, key):
                return f"{key} is {_short(getattr(self, key))}, the engine uses {_short(getattr(other, key))}"
        for key in ("prepare_interval", "crop"):
            if not np.allclose(getattr(self, key), getattr(other, key), atol=1e-6):
                return f"{key} is {getattr(self, key)}, the engine uses {getattr(other, key)}"
        return None


def _short(value: object) -> str:
    text = json.dumps(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= 40 else f"a list of {len(value)} names"  # type: ignore[arg-type]


def _unit(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, dtype=np.float32).reshape(len(features), -1)
    return features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-6)


def novelty(features: np.ndarray, bank: np.ndarray) -> np.ndarray:
    """Mean cosine distance of each feature (N, D) to its `NEIGHBOURS` nearest rows of `bank` (M, D)."""
    if len(bank) == 0:
        return np.zeros(len(features), dtype=np.float32)
    distance = 1.0 - _unit(features) @ _unit(bank).T
    k = min(NEIGHBOURS, distance.shape[1])
    return np.partition(distance, k - 1, axis=1)[:, :k].mean(axis=1).astype(np.float32)


def robust_stats(values: np.ndarray, floor: float) -> tuple[np.ndarray, np.ndarray]:
    """(median, scale) per column of (N, K) values; scale = max(1.4826 x MAD, floor)."""
    values = np.asarray(values, dtype=np.float32).reshape(len(values), -1)
    median = np.median(values, axis=0)
    scale = np.maximum(1.4826 * np.median(np.abs(values - median), axis=0), floor)
    return median.astype(np.float32), scale.astype(np.float32)


def compress(z: np.ndarray) -> np.ndarray:
    """sign(z) log(1 + |z|): keeps the order, tames heavy tails."""
    return (np.sign(z) * np.log1p(np.abs(z))).astype(np.float32)


@dataclass
class Statistics:
    """Median and scale of every raw cue, and the novelty statistics of the clip features."""

    objects: tuple[np.ndarray, np.ndarray]
    motion: tuple[np.ndarray, np.ndarray]
    scene: tuple[np.ndarray, np.ndarray]
    bank: np.ndarray

    def channels(self, cues: list[SegmentCues]) -> tuple[np.ndarray, np.ndarray]:
        """(compressed z (N, len(CHANNELS)), index of the top object class per segment, -1 when none)."""
        n = len(cues)
        z = np.zeros((n, len(CHANNELS)), dtype=np.float32)
        top = np.full(n, -1, dtype=np.int64)
        if not n:
            return z, top
        objects = np.stack([c.objects for c in cues]) if n else np.zeros((0, 0))
        if objects.size:
            class_z = (objects - self.objects[0]) / self.objects[1]
            top = class_z.argmax(axis=1)
            z[:, 0] = class_z.max(axis=1)
        motion = np.stack([c.motion for c in cues])
        motion_z = (motion - self.motion[0]) / self.motion[1]
        z[:, 1], z[:, 2] = motion_z[:, 0], motion_z[:, 1]
        distance = novelty(np.stack([c.feature for c in cues]), self.bank)
        z[:, 3] = (distance - self.scene[0][0]) / self.scene[1][0]
        return compress(z), top


def calibrate(videos: list[list[SegmentCues]]) -> Statistics:
    """Statistics of normal footage (one list of segments per video or recording)."""
    cues = [c for video in videos for c in video]
    if len(cues) < MIN_SEGMENTS:
        raise ProfileError(
            f"too little normal footage: {len(cues)} segment(s), at least {MIN_SEGMENTS} needed "
            f"(about {MIN_SEGMENTS * 1.6:.0f} s at 10 fps)"
        )
    features = np.stack([c.feature for c in cues])
    groups = np.concatenate(
        [
            np.full(len(video), number) * 100_000 + np.arange(len(video)) // GROUP
            for number, video in enumerate(videos)
        ]
    )
    distances = np.empty(len(cues), dtype=np.float32)
    if len(np.unique(groups)) == 1:  # one short recording: each segment against all the others
        distance = 1.0 - _unit(features) @ _unit(features).T
        np.fill_diagonal(distance, np.inf)
        k = min(NEIGHBOURS, len(features) - 1)
        distances[:] = np.partition(distance, k - 1, axis=1)[:, :k].mean(axis=1)
    else:
        for group in np.unique(groups):
            inside = groups == group
            distances[inside] = novelty(features[inside], features[~inside])
    keep = np.linspace(0, len(features) - 1, min(BANK_SIZE, len(features))).round().astype(int)
    objects = np.stack([c.objects for c in cues])
    return Statistics(
        objects=robust_stats(objects, FLOORS["objects"]) if objects.size else (np.zeros(0), np.ones(0)),
        motion=robust_stats(np.stack([c.motion for c in cues]), FLOORS["motion"]),
        scene=robust_stats(distances, FLOORS["scene"]),
        bank=_unit(features[keep]).astype(np.float16),
    )


class SceneProfile:
    """A calibrated scene: `Statistics` of normal footage plus the `CueSetup` that produced them."""

    def __init__(self, setup: CueSetup, statistics: Statistics, *, segments: int, source: str = "") -> None:
        self.setup, self.statistics, self.segments, self.source = setup, statistics, segments, source

    @classmethod
    def from_videos(
        cls, setup: CueSetup, videos: list[list[SegmentCues]], *, source: str = ""
    ) -> SceneProfile:
        """Calibrate from normal footage: one list of segment cues per video or recording."""
        return cls(setup, calibrate(videos), segments=sum(map(len, videos)), source=source)

    def channels(self, cues: list[SegmentCues]) -> tuple[np.ndarray, np.ndarray]:
        """See `Statistics.channels`."""
        return self.statistics.channels(cues)

    def save(self, path: str | Path) -> Path:
        """Write the profile as `.npz` (atomic): JSON `meta` plus the statistics arrays, no pickles."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        stats = self.statistics
        meta = {
            "setup": self.setup.to_dict(),
            "segments": self.segments,
            "source": self.source,
            "channels": list(CHANNELS),
        }
        with atomic_path(path) as temporary, open(temporary, "wb") as file:
            np.savez(
                file,
                meta=np.array(json.dumps(meta)),
                objects_median=stats.objects[0],
                objects_scale=stats.objects[1],
                motion_median=stats.motion[0],
                motion_scale=stats.motion[1],
                scene_median=stats.scene[0],
                scene_scale=stats.scene[1],
                bank=stats.bank,
            )
        return path

    @classmethod
    def load(cls, path: str | Path, *, expected: CueSetup | None = None) -> SceneProfile:
        """Read a profile; ProfileError naming the file when it is unreadable or made for other models."""
        path = Path(path)
        if not path.is_file():
            raise ProfileError(f"{path}: scene profile not found")
        try:
            with np.load(path, allow_pickle=False) as data:
                arrays = {key: data[key] for key in data.files}
            meta = json.loads(str(arrays["meta"]))
            setup = CueSetup.from_dict(meta["setup"])
            statistics = Statistics(
                objects=(arrays["objects_median"], arrays["objects_scale"]),
                motion=(arrays["motion_median"], arrays["motion_scale"]),
                scene=(arrays["scene_median"], arrays["scene_scale"]),
                bank=arrays["bank"],
            )
            segments, source = int(meta.get("segments", 0)), str(meta.get("source", ""))
        except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as error:
            raise ProfileError(f"{path}: not a scene profile ({type(error).__name__}: {error})") from None
        shapes = {
            "objects": ((len(setup.classes),), statistics.objects),
            "motion": ((len(MOTION_STATS),), statistics.motion),
            "scene": ((1,), statistics.scene),
        }
        for name, (shape, (median, scale)) in shapes.items():
            if median.shape != shape or scale.shape != shape:
                raise ProfileError(f"{path}: not a scene profile ({name} statistics of shape {median.shape})")
            if not (np.isfinite(median).all() and np.isfinite(scale).all() and (scale > 0).all()):
                raise ProfileError(f"{path}: not a scene profile ({name} statistics not finite and positive)")
        bank = statistics.bank
        if (
            bank.ndim != 2
            or not len(bank)
            or bank.shape[1] != setup.feature_dim
            or not np.isfinite(bank).all()
        ):
            raise ProfileError(
                f"{path}: not a scene profile (a bank of shape {bank.shape} for "
                f"{setup.feature_dim}-d features)"
            )
        if expected is not None and (problem := setup.mismatch(expected)) is not None:
            raise ProfileError(f"{path}: profile made with other models or cues: {problem}")
        return cls(setup, statistics, segments=segments, source=source)


class RunningProfile:
    """Uncalibrated scene: the statistics of the camera's own last `RUNNING_WINDOW` segments.

    `channels` is called once per new segment, in order (live and offline alike): it scores the segment
    against the segments before it, then remembers it. Until `WARMUP_SEGMENTS` segments have been seen
    every channel is 0 (nothing is unusual yet).
    """

    def __init__(self) -> None:
        self.history: collections.deque[SegmentCues] = collections.deque(maxlen=RUNNING_WINDOW)

    @property
    def warming_up(self) -> bool:
        return len(self.history) < WARMUP_SEGMENTS

    def channels(self, cues: list[SegmentCues]) -> tuple[np.ndarray, np.ndarray]:
        z = np.zeros((len(cues), len(CHANNELS)), dtype=np.float32)
        top = np.full(len(cues), -1, dtype=np.int64)
        for i, segment in enumerate(cues):
            if not self.warming_up:
                past = list(self.history)
                statistics = calibrate([past[:-RUNNING_GAP], past[-RUNNING_GAP:]])
                statistics.bank = _unit(np.stack([c.feature for c in past[:-RUNNING_GAP]]))
                z[i : i + 1], top[i : i + 1] = statistics.channels([segment])
            self.history.append(segment)
        return z, top


class LearningProfile(RunningProfile):
    """A live camera that calibrates itself: the running statistics until `segments` segments have been
    seen, then a `SceneProfile` of exactly those segments (handed to `on_calibrated`, e.g. to be saved
    with the camera) scores everything after them."""

    def __init__(self, setup: CueSetup, *, segments: int, source: str, on_calibrated=None) -> None:
        super().__init__()
        if segments < MIN_SEGMENTS:
            raise ProfileError(f"calibration needs at least {MIN_SEGMENTS} segments, got {segments}")
        self.setup, self.target, self.source, self.on_calibrated = setup, segments, source, on_calibrated
        self.learned: list[SegmentCues] = []
        self.profile: SceneProfile | None = None

    def channels(self, cues: list[SegmentCues]) -> tuple[np.ndarray, np.ndarray]:
        if self.profile is not None:
            return self.profile.channels(cues)
        z, top = super().channels(cues)
        self.learned.extend(cues)
        if len(self.learned) >= self.target:
            self.profile = SceneProfile.from_videos(self.setup, [self.learned], source=self.source)
            self.learned = []
            if self.on_calibrated is not None:
                self.on_calibrated(self.profile)
        return z, top
