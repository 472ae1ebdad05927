"""Real-time detection on a live source (RTSP, HTTP(S), a video file played at its own rate, a camera).

Threads (all daemons, stopped by `stop()`):
- reader: decodes the source and keeps only the newest frame for the pump; a file is paced to its
  timestamps; a lost network source reconnects with exponential backoff (state `reconnecting`). It also
  cuts the stream into segments by the engine's one segmenting path (`inferences.segments`: a frame every
  `prepare-interval`, by presentation time for a file as offline detection does, by the clock for a live
  source; a segment never spans a reconnection) and hands each full segment to the inference thread
  through a one-slot queue (when inference falls behind, the waiting segment is replaced by the newer one,
  counted as dropped, never a backlog).
- pump: every `capture-interval` takes the newest frame, annotates it while the current score is at or
  above the threshold and publishes it (`latest_jpeg()`, the optional recording).
- inference: the segment's cues (`inferences.pipeline.CueModels`; the object frames of a segment still
  filling are scored while the thread waits, so only the extractor and the detector stand between a
  segment's last frame and its score), then `SegmentScorer`: the scene profile
  (calibrated, learning the first minutes, or the running statistics of an uncalibrated camera) and the
  detector over the last `history-length` segments, exactly as offline detection scores a file; the
  newest raw scores, median-smoothed causally, give the current score. Emits ScoreEvent, AlertStart (with
  an annotated JPEG snapshot and the causes of the alert) and AlertEnd. With `category-model-path` set, the
  reader also keeps up to CATEGORY_SAMPLES evenly spaced raw frames of each segment, and the segment that
  starts an alert is classified (AlertStart `category`).
"""

from __future__ import annotations

import collections
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np

from inferences.alerting import AlertGate
from inferences.annotate import Annotator
from inferences.clips import ClipRecorder, TimedVideo, encode_jpeg
from inferences.config import InferenceConfig
from inferences.explain import causes, summary
from inferences.offline import category_sample_indices, load_category_classifier
from inferences.pipeline import CueModels, ObjectScores, SegmentScorer, load_profile
from inferences.profile import LearningProfile, SceneProfile, SegmentCues
from inferences.runtime import load_models
from inferences.sampling import FrameSampler
from inferences.segments import Segment, frame_time
from inferences.smoothing import smooth_scores
from inferences.sources import NetworkPolicy, StreamError, open_arguments, parse_source
from inferences.video import stream_rate

log = logging.getLogger("inferences")
SEGMENT_QUEUE = 1  # a newer segment replaces a waiting one: latency stays bounded when inference lags
EARLY_OBJECTS = 4  # object frames of segments still filling, scored while the inference thread waits


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




class StreamDetector:
    """Live anomaly detection on one source; see the module docstring for the threads."""

    def __init__(
        self,
        config: InferenceConfig,
        source: str,
        *,
        on_event: Callable[[Event], None] | None = None,
        on_state: Callable[[str, str], None] | None = None,
        record_path: str | Path | None = None,
        profile: str | Path | None = None,
        calibrate_segments: int = 0,
        on_calibrated: Callable[[SceneProfile], None] | None = None,
        profile_name: str = "",
        network_policy: NetworkPolicy | None = None,
        clips: bool = False,
        on_clip: Callable[[Path], None] | None = None,
    ) -> None:
        self.config = config
        self.source = parse_source(source)
        self.network_policy = network_policy or NetworkPolicy()
        self.models = load_models(config)
        self.cues = CueModels(config, self.models.extractor)
        if calibrate_segments:
            self.profile = LearningProfile(
                self.cues.setup,
                segments=calibrate_segments,
                source=profile_name or "a live camera",
                on_calibrated=on_calibrated,
            )
        else:
            self.profile = load_profile(config, self.cues.setup, profile)
        self._segmenter = self.cues.segmenter()
        self.annotator = Annotator(border=config.anomaly_border, prompt=config.anomaly_prompt)
        self.category = load_category_classifier(config)
        # positions in a segment whose raw frames the category classifier gets (none without a model)
        self._category_positions = (
            frozenset(category_sample_indices(0, config.segment_length - 1)) if self.category else frozenset()
        )
        self.on_event = on_event
        self.on_state = on_state
        self.record_path = Path(record_path) if record_path else None
        # event clips (`begin_clip`): a pre-roll of the published frames, only when asked for
        self.clips = (
            ClipRecorder(
                pre_seconds=config.clip_pre_seconds,
                fps=config.clip_fps,
                max_seconds=config.clip_max_seconds,
                on_written=on_clip,
            )
            if clips
            else None
        )
        self.state = "connecting"
        self.error: str | None = None
        self.current_score = 0.0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._state_lock = threading.RLock()  # state changes (and their callbacks) one at a time, in order
        self._newest: tuple[int, av.VideoFrame, float] | None = None  # sequence, frame, arrival
        self._latest: tuple[int, np.ndarray] | None = None  # published (annotated) frame
        self._out_sequence = 0  # numbers the published frames (the pump's and the offline one)
        self._offline = threading.Event()  # set by the reader when the source goes away
        self._latest_raw: np.ndarray | None = None
        self._jpeg: tuple[int, bytes] | None = None
        self._segments: queue.Queue = queue.Queue(SEGMENT_QUEUE)
        self._early_objects: queue.Queue = queue.Queue(EARLY_OBJECTS)
        self._score_version = 0  # increases with every detector run
        self._score_arrival = 0.0  # arrival of the first frame of the newest scored segment
        self._record: queue.Queue | None = queue.Queue(64) if self.record_path else None
        self._threads: list[threading.Thread] = []
        self._delivered = 0  # frames decoded from the current connection
        self._stats = {"frames_in": 0, "frames_out": 0, "segments": 0, "dropped_segments": 0, "delays": []}

    # ---- public API ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Open the source (StreamError when it cannot be opened at all) and start the threads."""
        if self._threads:
            raise RuntimeError("StreamDetector.start() called twice")
        self._set_state("connecting", f"opening {self.source.url}")
        try:
            container = self._open()
        except StreamError as error:
            self.error = str(error)
            self._set_state("failed", self.error)
            raise
        self._set_state("running", f"receiving {self.source.url}")
        targets = [
            ("reader", lambda: self._read_loop(container)),
            ("pump", self._pump_loop),
            ("inference", self._inference_loop),
        ]
        if self._record is not None:
            targets.append(("recorder", self._record_loop))
        for name, target in targets:
            thread = threading.Thread(target=self._guard(target), name=f"stream-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Ask every thread to finish (see `join`)."""
        self._stop.set()
        if not self._threads and self.state != "failed":
            self._set_state("stopped", "stopped before start")

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the threads; True when all have finished."""
        deadline = None if timeout is None else time.monotonic() + timeout

        def left() -> float | None:
            return None if deadline is None else max(0.0, deadline - time.monotonic())

        for thread in self._threads:
            thread.join(left())
        if self.clips is not None:
            self.clips.join(left())
        return not any(thread.is_alive() for thread in self._threads)

    def latest_jpeg(self) -> bytes | None:
        """The newest outgoing (annotated) frame as JPEG, or None before the first frame."""
        with self._lock:
            latest, cached = self._latest, self._jpeg
        if latest is None:
            return None
        if cached is not None and cached[0] == latest[0]:
            return cached[1]
        data = encode_jpeg(latest[1])
        with self._lock:
            self._jpeg = (latest[0], data)
        return data

    def last_seen(self) -> float | None:
        """When the newest frame arrived (epoch seconds), or None before the first."""
        with self._lock:
            return self._newest[2] if self._newest else None

    def begin_clip(self, path: str | Path) -> None:
        """Record an event clip to `path` (MP4) from `clip-pre-seconds` ago until `end_clip` (needs
        `clips=True`); the file appears complete when it is finished."""
        if self.clips is None:
            raise RuntimeError("StreamDetector was created without clips=True")
        self.clips.begin(Path(path))

    def end_clip(self) -> None:
        """End the event clip being recorded."""
        if self.clips is not None:
            self.clips.end()

    def stats(self) -> dict:
        """Counters: frames in/out, segments scored and dropped, waiting segments, score delays (s)."""
        with self._lock:
            stats = dict(self._stats, delays=list(self._stats["delays"]))
        stats["backlog"] = self._segments.qsize()
        return stats

    # ---- helpers ------------------------------------------------------------------------------------

    def _set_state(self, state: str, message: str) -> None:
        with self._state_lock:  # set by the reader, the guard and stop(): check and set as one step
            if self.state == "failed" or (self.state == "stopped" and state != "failed"):
                return  # final: a later change from another thread (a start, a reconnection) is too late
            self.state = state
            log.info("stream %s: %s (%s)", self.source.url, state, message)
            if self.on_state is not None:
                try:
                    self.on_state(state, message)
                except Exception:
                    log.exception("on_state callback failed")

    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            try:
                self.on_event(event)
            except Exception:
                log.exception("on_event callback failed")

    def _guard(self, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except Exception as error:
                log.exception("stream %s: thread failed", self.source.url)
                self.error = f"{self.source.url}: {type(error).__name__}: {error}"
                self._stop.set()
                self._set_state("failed", self.error)

        return run

    def _wait(self, seconds: float) -> bool:
        """Sleep unless stopped; True when stopped."""
        return self._stop.wait(max(0.0, seconds))

    def _open(self) -> av.container.InputContainer:
        url, options = open_arguments(self.source, self.network_policy)  # checked on every connection
        timeout = self.config.open_timeout
        try:
            container = av.open(url, format=self.source.format, options=options, timeout=(timeout, timeout))
        except (av.FFmpegError, OSError) as error:
            reason = getattr(error, "strerror", None) or str(error)  # the text without the URL again
            raise StreamError(f"stream source {self.source.url!r}: cannot open ({reason})") from None
        if not container.streams.video:
            container.close()
            raise StreamError(f"stream source {self.source.url!r}: no video stream")
        stream = container.streams.video[0]
        if stream.width * stream.height > self.config.max_frame_pixels:  # from the headers, before decoding
            container.close()
            raise StreamError(
                f"stream source {self.source.url!r}: frames of {stream.width}x{stream.height} exceed "
                f"max-frame-pixels ({self.config.max_frame_pixels})"
            )
        stream.thread_type = "AUTO"
        return container

    # ---- reader -------------------------------------------------------------------------------------

    def _read_loop(self, container: av.container.InputContainer) -> None:
        """Read, and reconnect with exponential backoff; only a connection that delivered frames resets the
        backoff (a source that accepts and then drops is retried ever more slowly, up to the maximum)."""
        delay = self.config.reconnect_delay
        while not self._stop.is_set():
            self._delivered = 0
            try:
                self._read(container)
                reason = "stream ended"
            except (av.FFmpegError, OSError) as error:
                reason = f"stream lost ({error})"
            finally:
                container.close()
            if self._delivered:
                delay = self.config.reconnect_delay
            if self._stop.is_set():
                break
            if self.source.kind == "file":
                self._set_state("stopped", f"end of file {self.source.url}")
                self._stop.set()
                return
            self._go_offline()
            while True:
                self._set_state("reconnecting", f"{reason}; retrying in {delay:g}s")
                if self._wait(delay):
                    break
                try:
                    container = self._open()
                except StreamError as error:
                    reason = str(error)
                    delay = min(delay * 2, self.config.reconnect_max_delay)
                    continue
                delay = min(delay * 2, self.config.reconnect_max_delay)  # unless this one delivers frames
                self._set_state("running", f"reconnected to {self.source.url}")
                break
        self._set_state("stopped", "stopped")

    def _read(self, container: av.container.InputContainer) -> None:
        """Decode, publish the newest frame, and cut sampled frames into segments (the one segmenting
        path: a file is sampled by presentation time like offline detection, a live source by the clock)."""
        paced = self.source.kind == "file"
        start_wall = start_pts = None
        rate = stream_rate(container.streams.video[0]) if paced else None
        fps = float(rate) if rate else None
        sampler = FrameSampler(self.config.prepare_interval, fps=fps)
        self._segmenter.reset()
        samples: list[np.ndarray] = []  # raw frames of the current segment for the category classifier
        for index, frame in enumerate(container.decode(video=0)):
            if self._stop.is_set():
                return
            if paced and frame.time is not None:
                if start_wall is None:
                    start_wall, start_pts = time.monotonic(), frame.time
                if self._wait(start_wall + (frame.time - start_pts) - time.monotonic()):
                    return
            self._delivered += 1
            arrival = time.time()
            clock = frame_time(frame, index, fps or 25.0) if paced else time.monotonic()
            if sampler.take(clock):  # before publishing: PyAV frames must not be converted in two threads
                if self._segmenter.position in self._category_positions:
                    samples.append(frame.to_ndarray(format="rgb24"))
                pending = len(self._segmenter.pending_objects)
                segment = self._segmenter.add(frame, index, arrival)
                if segment is not None:
                    self._submit(segment, samples)
                    samples = []
                elif len(self._segmenter.pending_objects) > pending:  # scored ahead by the inference thread
                    self._offer(self._early_objects, self._segmenter.pending_objects[-1])
            with self._lock:
                self._stats["frames_in"] += 1
                self._newest = (self._stats["frames_in"], frame, arrival)
        if paced:  # the end of a file: its last, partial segment is scored as offline detection scores it
            segment = self._segmenter.flush()
            if segment is not None:
                self._submit(segment, samples)

    def _go_offline(self) -> None:
        """The source went away: the score is unknown until new segments are scored, the frozen last frame
        is published again without annotation, and the inference thread interrupts an open alert."""
        with self._lock:
            self.current_score, self._score_version = 0.0, 0
            if self._latest_raw is not None:
                self._out_sequence += 1
                self._latest = (self._out_sequence, self._latest_raw)
        self._offline.set()

    # ---- pump ---------------------------------------------------------------------------------------

    def _pump_loop(self) -> None:
        interval = self.config.capture_interval
        threshold = self.config.anomaly_threshold
        last_sequence = 0
        published_version = 0
        tick = time.monotonic()
        while not self._wait(tick - time.monotonic()):
            tick = max(tick + interval, time.monotonic() - interval)
            with self._lock:
                newest = self._newest
            if newest is None or newest[0] == last_sequence:
                continue
            last_sequence, frame, _ = newest
            raw = frame.to_ndarray(format="rgb24")  # never modified: annotation draws on a copy
            with self._lock:
                score, version, score_arrival = self.current_score, self._score_version, self._score_arrival
            # no border before the first score
            rgb = self.annotator(raw.copy()) if version and score >= threshold else raw
            with self._lock:
                self._out_sequence += 1
                self._latest_raw = raw
                self._latest = (self._out_sequence, rgb)
                self._stats["frames_out"] += 1
                if version != published_version:
                    self._stats["delays"].append(time.time() - score_arrival)
                    del self._stats["delays"][:-1000]
            published_version = version
            if self.clips is not None:
                self.clips.offer(time.time(), rgb)
            if self._record is not None:
                try:
                    self._record.put_nowait((time.monotonic(), rgb))
                except queue.Full:
                    log.warning("stream %s: recorder is behind; frame dropped", self.source.url)

    def _submit(self, segment: Segment, samples: list[np.ndarray]) -> None:
        if self._offer(self._segments, (segment, samples)):
            with self._lock:
                self._stats["dropped_segments"] += 1

    @staticmethod
    def _offer(target: queue.Queue, item) -> bool:
        """Put `item`, replacing the oldest waiting one when full; True when one was replaced."""
        replaced = False
        while True:
            try:
                target.put_nowait(item)
                return replaced
            except queue.Full:
                try:
                    target.get_nowait()
                    replaced = True
                except queue.Empty:
                    pass

    def _score_ahead(self, ahead: ObjectScores, skip: list[np.ndarray]) -> None:
        """Score the object frames of segments still filling (not those in `skip`: their segment is being
        scored now)."""
        while True:
            try:
                frame = self._early_objects.get_nowait()
            except queue.Empty:
                return
            if not any(frame is other for other in skip):
                ahead.add(frame, self.cues.object_scores([frame])[0])

    # ---- inference ----------------------------------------------------------------------------------

    def _inference_loop(self) -> None:
        scorer = SegmentScorer(self.config, self.models.detector, self.profile)
        raw_scores: collections.deque[float] = collections.deque(maxlen=self.models.smoothing_window)
        config = self.config
        gate = AlertGate(
            config.anomaly_threshold, min_duration=config.alert_min_duration, cooldown=config.alert_cooldown
        )
        alert_start = 0.0
        per_segment = -(-config.segment_length // config.objects_every)
        ahead = ObjectScores(limit=2 * per_segment)
        while not self._stop.is_set() or not self._segments.empty():  # a file's last segment too
            if self._offline.is_set():
                self._offline.clear()
                raw_scores.clear()
                if gate.interrupt():
                    seen = self.last_seen() or time.time()
                    self._emit(AlertEnd(seen, gate.peak, max(0.0, seen - alert_start), interrupted=True))
            if self._segments.empty():  # keeping up: a waiting segment goes first (its frames may be lost)
                self._score_ahead(ahead, [])
            try:
                segment, samples = self._segments.get(timeout=0.05)
            except queue.Empty:
                continue
            cues = self.cues.cues([segment], object_scores=ahead)
            scored = scorer.score(cues)
            raw_scores.append(float(scored.scores[0]))
            score = float(smooth_scores(np.asarray(raw_scores), len(raw_scores), causal=True)[-1])
            now = time.time()
            with self._lock:
                self.current_score, self._score_arrival = score, segment.arrival
                self._score_version += 1
                self._stats["segments"] += 1
                raw_frame = self._latest_raw
            self._emit(
                ScoreEvent(
                    now,
                    score,
                    latency=now - segment.arrival,
                    raw_score=raw_scores[-1],
                    cues=cues[0],
                    start=segment.start,
                )
            )
            change = gate.update(now, score)
            if change == "start":
                alert_start = now
                found = (
                    causes(
                        scored.channels, scored.top_class, [c.objects for c in cues], self.cues.setup.classes
                    )
                    if scorer.uses_cues
                    else None
                )
                snapshot = self._snapshot(raw_frame, found)
                alert = AlertStart(
                    now, score, encode_jpeg(snapshot) if snapshot is not None else b"", causes=found
                )
                if self.category is not None and samples:
                    alert.category, alert.category_probability = self.category.classify(samples)
                self._emit(alert)
            elif change == "end":
                self._emit(AlertEnd(now, gate.peak, now - alert_start))
            if self._segments.empty():  # this segment's frames queued meanwhile were scored with it
                self._score_ahead(ahead, segment.object_frames)
        if gate.open:
            self._emit(AlertEnd(time.time(), gate.peak, time.time() - alert_start))

    def _snapshot(self, frame: np.ndarray | None, found: list[dict] | None) -> np.ndarray | None:
        """The alert's snapshot: the frame annotated, its prompt followed by the causes."""
        if frame is None:
            return None
        if not found:
            return self.annotator(frame.copy())
        prompt = ": ".join(part for part in (self.config.anomaly_prompt, summary(found)) if part)
        return Annotator(border=self.config.anomaly_border, prompt=prompt)(frame.copy())

    # ---- recorder -----------------------------------------------------------------------------------

    def _record_loop(self) -> None:
        video = TimedVideo(self.record_path, 1 / self.config.capture_interval)
        try:
            while not (self._stop.is_set() and self._record.empty()):
                try:
                    stamp, rgb = self._record.get(timeout=0.1)
                except queue.Empty:
                    continue
                video.write(stamp, rgb)
        finally:
            video.close()
