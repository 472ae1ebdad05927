"""What a live detector reports (`StreamDetector`'s `on_event`): scores, alert starts and ends."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from inferences.profile import SegmentCues


@dataclass
class ScoreEvent:
    """The current score after a detector run; `time` in epoch seconds. `latency`: seconds from the
    arrival of the newest segment's first frame to this score (not part of `to_dict`)."""

    time: float
    score: float
    latency: float = 0.0
    raw_score: float = 0.0  # the detector's score of the newest segment before smoothing
    cues: SegmentCues | None = None  # the newest segment's raw cues
    start: int = 0  # decoded-frame index (since the last (re)connection) of its first sampled frame

    def to_dict(self) -> dict:
        return {"time": self.time, "score": self.score}


@dataclass
class AlertStart:
    """The score reached the threshold; `snapshot_jpeg` is the newest frame, annotated. `category` and
    `category_probability` (when a category model is configured): the top class of the frames sampled
    from the segment that started the alert, and its mean probability."""

    time: float
    score: float
    snapshot_jpeg: bytes
    category: str | None = None
    category_probability: float | None = None
    causes: list[dict] | None = None  # what drove it: [{"cue", "label", "z"}] (`inferences.explain`)

    def to_dict(self) -> dict:
        """Without the snapshot; `category` / `category_probability` only when classified."""
        return {k: v for k, v in asdict(self).items() if k != "snapshot_jpeg" and v is not None}


@dataclass
class AlertEnd:
    """The score fell below the threshold, or the stream stopped during an alert; `interrupted`: the
    source went away during the alert (`time` is then when its last frame arrived)."""

    time: float
    peak_score: float
    duration: float
    interrupted: bool = False

    def to_dict(self) -> dict:
        return asdict(self)


Event = ScoreEvent | AlertStart | AlertEnd
