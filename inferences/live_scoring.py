"""The live inference thread's job, one segment at a time: its cues, its score, and the alerts it opens.

A segment's cues come from `inferences.pipeline.CueModels` (the object frames of a segment still filling
are scored while the thread waits, so only the extractor and the detector stand between a segment's last
frame and its score), then `SegmentScorer`: the scene profile (calibrated, learning the first minutes, or
the running statistics of an uncalibrated camera) and the detector over the last `history-length`
segments, exactly as offline detection scores a file; the newest raw scores, median-smoothed causally,
give the current score. `AlertGate` turns the scores into AlertStart (with an annotated JPEG snapshot and
the causes of the alert; with a category model, the category of the segment that started it) and AlertEnd.
"""

from __future__ import annotations

import collections
import queue
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from inferences.alerting import AlertGate
from inferences.annotate import Annotator
from inferences.category import CategoryClassifier
from inferences.clips import encode_jpeg
from inferences.config import InferenceConfig
from inferences.events import AlertEnd, AlertStart, Event, ScoreEvent
from inferences.explain import causes, summary
from inferences.pipeline import CueModels, ObjectScores, Scored, SegmentScorer
from inferences.profile import RunningProfile, SceneProfile, SegmentCues
from inferences.runtime import Models
from inferences.segments import Segment
from inferences.smoothing import smooth_scores


@dataclass
class LiveScore:
    """One segment's result: the current (smoothed) score, the segment's raw score, cues and detector run."""

    score: float
    raw_score: float
    cues: list[SegmentCues]
    scored: Scored


class LiveScorer:
    """Scores a live source's segments in order and emits its events through `emit`."""

    def __init__(
        self,
        config: InferenceConfig,
        models: Models,
        cues: CueModels,
        profile: SceneProfile | RunningProfile,
        annotator: Annotator,
        category: CategoryClassifier | None,
        emit: Callable[[Event], None],
    ) -> None:
        self.config = config
        self.cues = cues
        self.annotator = annotator
        self.category = category
        self.emit = emit
        self.scorer = SegmentScorer(config, models.detector, profile)
        self.raw_scores: collections.deque[float] = collections.deque(maxlen=models.smoothing_window)
        self.gate = AlertGate(
            config.anomaly_threshold, min_duration=config.alert_min_duration, cooldown=config.alert_cooldown
        )
        self.alert_start = 0.0
        per_segment = -(-config.segment_length // config.objects_every)
        self.ahead = ObjectScores(limit=2 * per_segment)

    def interrupt(self, seen: Callable[[], float]) -> None:
        """The source went away: the smoothing starts afresh and an open alert ends, interrupted at
        `seen()` (when the last frame arrived)."""
        self.raw_scores.clear()
        if self.gate.interrupt():
            at = seen()
            self.emit(AlertEnd(at, self.gate.peak, max(0.0, at - self.alert_start), interrupted=True))

    def score_ahead(self, waiting: queue.Queue, skip: list[np.ndarray]) -> None:
        """Score the object frames `waiting` of segments still filling (not those in `skip`: their segment
        is being scored now)."""
        while True:
            try:
                frame = waiting.get_nowait()
            except queue.Empty:
                return
            if not any(frame is other for other in skip):
                self.ahead.add(frame, self.cues.object_scores([frame])[0])

    def score(self, segment: Segment) -> LiveScore:
        """The segment's cues and the detector over the history; the current score, causally smoothed."""
        cues = self.cues.cues([segment], object_scores=self.ahead)
        scored = self.scorer.score(cues)
        self.raw_scores.append(float(scored.scores[0]))
        score = float(smooth_scores(np.asarray(self.raw_scores), len(self.raw_scores), causal=True)[-1])
        return LiveScore(score, self.raw_scores[-1], cues, scored)

    def report(
        self,
        result: LiveScore,
        segment: Segment,
        samples: list[np.ndarray],
        frame: np.ndarray | None,
        now: float,
    ) -> None:
        """Emit the ScoreEvent, then AlertStart (snapshot of `frame`, the category of `samples`) or
        AlertEnd when the score opens or closes an alert."""
        self.emit(
            ScoreEvent(
                now,
                result.score,
                latency=now - segment.arrival,
                raw_score=result.raw_score,
                cues=result.cues[0],
                start=segment.start,
            )
        )
        change = self.gate.update(now, result.score)
        if change == "start":
            self.alert_start = now
            found = (
                causes(
                    result.scored.channels,
                    result.scored.top_class,
                    [c.objects for c in result.cues],
                    self.cues.setup.classes,
                )
                if self.scorer.uses_cues
                else None
            )
            snapshot = self._snapshot(frame, found)
            alert = AlertStart(
                now, result.score, encode_jpeg(snapshot) if snapshot is not None else b"", causes=found
            )
            if self.category is not None and samples:
                alert.category, alert.category_probability = self.category.classify(samples)
            self.emit(alert)
        elif change == "end":
            self.emit(AlertEnd(now, self.gate.peak, now - self.alert_start))

    def finish(self, now: float) -> None:
        """The stream stopped: an open alert ends now."""
        if self.gate.open:
            self.emit(AlertEnd(now, self.gate.peak, now - self.alert_start))

    def _snapshot(self, frame: np.ndarray | None, found: list[dict] | None) -> np.ndarray | None:
        """The alert's snapshot: the frame annotated, its prompt followed by the causes."""
        if frame is None:
            return None
        if not found:
            return self.annotator(frame.copy())
        prompt = ": ".join(part for part in (self.config.anomaly_prompt, summary(found)) if part)
        return Annotator(border=self.config.anomaly_border, prompt=prompt)(frame.copy())
