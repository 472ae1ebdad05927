"""Real-time detection on a live source (RTSP, HTTP(S), a video file played at its own rate, a camera).

Threads (all daemons, stopped by `stop()`):
- reader (`inferences.reader.StreamReader`): decodes the source and keeps only the newest frame for the
  pump; a file is paced to its timestamps; a lost network source reconnects with exponential backoff
  (state `reconnecting`). It cuts the stream into segments and hands each full segment to the inference
  thread through a one-slot queue (when inference falls behind, the waiting segment is replaced by the
  newer one, counted as dropped, never a backlog).
- pump: every `capture-interval` takes the newest frame, annotates it while the current score is at or
  above the threshold and publishes it (`latest_jpeg()`, event clips, the optional recording).
- inference (`inferences.live_scoring.LiveScorer`): scores each segment exactly as offline detection
  scores a file; the newest raw scores, median-smoothed causally, give the current score. Emits
  ScoreEvent, AlertStart and AlertEnd (`inferences.events`).
- recorder (with `record_path`): writes the published frames to an MP4.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np

from inferences.annotate import Annotator
from inferences.category import category_sample_indices, load_category_classifier
from inferences.clips import ClipRecorder, TimedVideo, encode_jpeg
from inferences.config import InferenceConfig
from inferences.events import Event
from inferences.live_scoring import LiveScorer
from inferences.pipeline import CueModels, load_profile
from inferences.profile import LearningProfile, SceneProfile
from inferences.reader import StreamReader
from inferences.runtime import load_models
from inferences.segments import Segment
from inferences.sources import HostNotAllowed, NetworkPolicy, StreamError, parse_source

log = logging.getLogger("inferences")
SEGMENT_QUEUE = 1  # a newer segment replaces a waiting one: latency stays bounded when inference lags
EARLY_OBJECTS = 4  # object frames of segments still filling, scored while the inference thread waits


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
        config = config.tuned("throughput")
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
        self.annotator = Annotator(border=config.anomaly_border, prompt=config.anomaly_prompt)
        self.category = load_category_classifier(config)
        # positions in a segment whose raw frames the category classifier gets (none without a model)
        category_positions = (
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
        self._stats = {"frames_in": 0, "frames_out": 0, "segments": 0, "dropped_segments": 0, "delays": []}
        self._reader = StreamReader(
            config,
            self.source,
            self.network_policy,
            self.cues.segmenter(),
            category_positions,
            self._stop,
            set_state=self._set_state,
            on_frame=self._arrived,
            on_segment=self._submit,
            on_object_frame=lambda frame: self._offer(self._early_objects, frame),
            on_offline=self._go_offline,
        )

    # ---- public API ---------------------------------------------------------------------------------

    def start(self, *, wait_for_source: bool = False) -> None:
        """Open the source (StreamError when it cannot be opened at all; with `wait_for_source`, a network
        source that cannot be opened now is retried with the reconnect backoff instead, in `reconnecting`)
        and start the threads."""
        if self._threads:
            raise RuntimeError("StreamDetector.start() called twice")
        self._set_state("connecting", f"opening {self.source.url}")
        reason = ""
        try:
            container = self._reader.open()
        except StreamError as error:
            if not (wait_for_source and self.source.kind == "network") or isinstance(error, HostNotAllowed):
                self.error = str(error)
                self._set_state("failed", self.error)
                raise
            container, reason = None, str(error)
        if container is not None:
            self._set_state("running", f"receiving {self.source.url}")
        else:
            self._set_state("reconnecting", f"{reason}; waiting for the source")
        targets = [
            ("reader", lambda: self._reader.run(container, reason)),
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

    # ---- reader callbacks ---------------------------------------------------------------------------

    def _arrived(self, frame: av.VideoFrame, arrival: float) -> None:
        """A decoded frame: the newest for the pump."""
        with self._lock:
            self._stats["frames_in"] += 1
            self._newest = (self._stats["frames_in"], frame, arrival)

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

    # ---- inference ----------------------------------------------------------------------------------

    def _inference_loop(self) -> None:
        live = LiveScorer(
            self.config, self.models, self.cues, self.profile, self.annotator, self.category, self._emit
        )
        while not self._stop.is_set() or not self._segments.empty():  # a file's last segment too
            if self._offline.is_set():
                self._offline.clear()
                live.interrupt(lambda: self.last_seen() or time.time())
            if self._segments.empty():  # keeping up: a waiting segment goes first (its frames may be lost)
                live.score_ahead(self._early_objects, [])
            try:
                segment, samples = self._segments.get(timeout=0.05)
            except queue.Empty:
                continue
            result = live.score(segment)
            now = time.time()
            with self._lock:
                self.current_score, self._score_arrival = result.score, segment.arrival
                self._score_version += 1
                self._stats["segments"] += 1
                raw_frame = self._latest_raw
            live.report(result, segment, samples, raw_frame, now)
            if self._segments.empty():  # this segment's frames queued meanwhile were scored with it
                live.score_ahead(self._early_objects, segment.object_frames)
        live.finish(time.time())

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
