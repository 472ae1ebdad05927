"""Live sessions: one StreamDetector (and its thread) per session, alerts persisted as they happen,
server-sent-event fan-out to any number of subscribers."""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inferences.atomic import atomic_write_bytes
from inferences.events import AlertEnd, AlertStart, ScoreEvent
from inferences.sources import NetworkPolicy
from servers.cameras import camera_config
from servers.files import FileStore
from servers.history import ScoreHistory
from servers.live_shared import (
    ENGINE_STATES,
    SOURCE_DETAIL,
    SUBSCRIBER_BACKLOG,
    alert_to_api,
    engine_source,
    epoch_to_iso,
    min_calibrate_minutes,
    offer,
)
from servers.redaction import redact
from servers.storage import LiveSessionRepository
from servers.storage.repositories import new_id, utc_now

if TYPE_CHECKING:
    from servers.notify.notifier import Notifier

log = logging.getLogger("servers.live")


class _Live:
    """One running session: its detector, open alert and subscribers. `alert_lock` guards `open_alert`
    and `ended` (the detector threads write them, stop() reads them)."""

    def __init__(self, detector: Any) -> None:
        self.detector = detector
        self.alert_lock = threading.Lock()
        self.open_alert: str | None = None
        self.ended = False  # stop() closed the open alert: a late AlertStart is not recorded
        self.current_score: float | None = None
        self.offline = False  # its source is down (the detector reconnects)
        self.subscribers: set[queue.Queue] = set()


class LiveManager:
    """Starts, stops and observes the StreamDetectors of live sessions."""

    def __init__(
        self,
        *,
        sessions: LiveSessionRepository,
        files: FileStore,
        inference_config: Any,
        network_policy: NetworkPolicy | None = None,
        notifier: Notifier | None = None,
        history: ScoreHistory,
    ) -> None:
        self._sessions = sessions
        self._notifier = notifier
        self._files = files
        self._history = history
        self._inference_config = inference_config
        self._network_policy = network_policy or NetworkPolicy()
        self._live: dict[str, _Live] = {}
        self._gates: dict[str, threading.Lock] = {}  # one start at a time per session
        self._lock = threading.Lock()

    @property
    def min_calibrate_minutes(self) -> float:
        """The shortest calibration of this engine configuration."""
        return min_calibrate_minutes(self._inference_config)

    def start(
        self, session_id: str, source: str, *, calibrate_minutes: float = 0.0, retry: bool = False
    ) -> None:
        """(Re)start the detector of a session (StreamError when the source cannot be opened at all; with
        `retry`, the detector waits for such a source instead, with the engine's reconnect backoff, in state
        `reconnecting`, until it opens or the session is stopped: a camera restarted during an outage).

        The camera's calibrated profile is used when it has one; with `calibrate_minutes` it learns a new
        one from that much of its stream first (uncalibrated scoring meanwhile; the old profile stays until
        the new one replaces it); a profile that no longer fits the models is set aside and the camera runs
        uncalibrated (`profile.error` says why). Starts of one session run one at a time; a running detector
        of the session is stopped first."""
        with self._lock:
            gate = self._gates.setdefault(session_id, threading.Lock())
        with gate:
            self.stop(session_id)  # a no-op unless the session runs
            self._start(session_id, source, calibrate_minutes, wait_for_source=retry)

    def _start(
        self, session_id: str, source: str, calibrate_minutes: float, *, wait_for_source: bool
    ) -> None:
        from inferences.profile import ProfileError
        from inferences.stream import StreamDetector

        session = self._sessions.get(session_id) or {}
        config = camera_config(self._inference_config, session.get("settings"))
        own = self._files.profile_path(session_id)
        chosen = (session.get("settings") or {}).get("profile")  # another camera's or a shipped profile
        path = self._files.scene_profile(chosen) if chosen else own
        segments = round(calibrate_minutes * 60 / (config.segment_length * config.prepare_interval))
        profile_state: dict[str, Any] = {"state": "uncalibrated"}
        if segments:
            profile_state = {"state": "learning", "segments": segments, "minutes": calibrate_minutes}
        elif path is not None and path.is_file():
            profile_state = {"state": "calibrated", "profile": chosen}
        elif chosen:
            profile_state = {"state": "uncalibrated", "error": f"scene profile '{chosen}' does not exist"}
        created: list[Any] = []  # the detector, for its own calibration callback

        def create(profile: Path | None) -> Any:
            detector = StreamDetector(
                config,
                engine_source(source),
                on_event=lambda event: self._on_event(session_id, event),
                on_state=lambda state, message=None: self._on_state(session_id, state, message),
                profile=profile,
                calibrate_segments=segments,
                on_calibrated=lambda learned: self._on_calibrated(session_id, created[0], learned),
                profile_name=str(session.get("name", "")),
                network_policy=self._network_policy,
                clips=True,
                on_clip=self._files.publish,  # a shared store (GridFS) gets each clip once it is complete
            )
            created.append(detector)
            return detector

        try:
            detector = create(path if profile_state["state"] == "calibrated" else None)
        except ProfileError as error:
            if segments:  # a calibration too short for this frame rate: the caller's error
                raise
            log.warning("session %s: %s; running uncalibrated", session_id, error)
            if path == own:  # a chosen profile belongs to another camera or ships with the models
                self._files.discard(path)
            profile_state = {"state": "uncalibrated", "error": str(error).removeprefix(f"{path}: ")}
            detector = create(None)
        with self._lock:
            self._live[session_id] = _Live(detector)
        self._sessions.update(
            session_id,
            state="starting",
            started_at=utc_now(),
            stopped_at=None,
            error=None,
            profile=profile_state,
        )
        try:
            detector.start(wait_for_source=wait_for_source)
        except BaseException:
            with self._lock:
                self._live.pop(session_id, None)
            raise

    def is_live(self, session_id: str) -> bool:
        """Whether the session's detector runs in this process."""
        with self._lock:
            return session_id in self._live

    def current_score(self, session_id: str) -> float | None:
        """The newest score of a live session (None while its source is down)."""
        with self._lock:
            live = self._live.get(session_id)
        return live.current_score if live else None

    def observed(self, session_id: str) -> dict[str, Any]:
        """What a live session's detector knows now: `last_seen` (when its newest frame arrived, ISO) and
        `dropped_segments` (segments inference skipped to keep up); empty when not live."""
        with self._lock:
            live = self._live.get(session_id)
        if live is None:
            return {}
        seen = live.detector.last_seen()
        return {
            "last_seen": epoch_to_iso(seen) if seen else None,
            "dropped_segments": int(live.detector.stats()["dropped_segments"]),
        }

    def latest_jpeg(self, session_id: str) -> bytes | None:
        """The newest annotated frame of a live session."""
        with self._lock:
            live = self._live.get(session_id)
        return live.detector.latest_jpeg() if live else None

    def stop(self, session_id: str, *, state: str = "stopped", timeout: float = 10.0) -> None:
        """Stop a session's detector, close its open alert and record the final state."""
        observed = self.observed(session_id)
        live = self._halt(session_id, timeout)
        if live is None:
            return
        self._history.gap(session_id, time.time())
        now = utc_now()
        with live.alert_lock:
            live.ended = True
            open_alert, live.open_alert = live.open_alert, None
        if open_alert is not None:
            alert = self._sessions.close_alert(open_alert, end_time=now, peak_score=live.current_score or 0.0)
            if alert is not None:
                self._alert_event(session_id, live, "alert-end", alert)
        self._sessions.update(session_id, state=state, stopped_at=now, current_score=None, **observed)
        self._send(live, "state", {"state": state, "message": "session stopped"})
        self._end_streams(live)

    def stop_all(self) -> None:
        """Stop every live session's detector, leaving its state as it is (used at shutdown: the session
        is restarted at the next start)."""
        with self._lock:
            session_ids = list(self._live)
        for session_id in session_ids:
            live = self._halt(session_id, 10.0)
            if live is not None:
                self._end_streams(live)

    def _halt(self, session_id: str, timeout: float) -> _Live | None:
        """Forget a live session and stop its detector; the session, or None when it was not live."""
        with self._lock:
            live = self._live.pop(session_id, None)
        if live is not None:
            live.detector.stop()
            live.detector.join(timeout)
        return live

    def subscribe(self, session_id: str) -> queue.Queue | None:
        """A queue of (event name, data) for a live session (None when not live); a None item ends it."""
        subscriber: queue.Queue = queue.Queue(maxsize=SUBSCRIBER_BACKLOG)
        with self._lock:
            live = self._live.get(session_id)
            if live is None:
                return None
            live.subscribers.add(subscriber)
        return subscriber

    def unsubscribe(self, session_id: str, subscriber: queue.Queue) -> None:
        """Forget a subscriber."""
        with self._lock:
            live = self._live.get(session_id)
            if live is not None:
                live.subscribers.discard(subscriber)

    def _send(self, live: _Live, name: str, data: dict[str, Any]) -> None:
        for subscriber in list(live.subscribers):
            offer(subscriber, (name, data))

    def _alert_event(self, session_id: str, live: _Live, kind: str, alert: dict[str, Any]) -> None:
        """Tell the subscribers and the notifier (which never blocks) that an alert started or ended."""
        data = alert_to_api(alert)
        self._send(live, kind, data)
        if self._notifier is not None and self._notifier.enabled:
            try:  # the camera's name and `notify` as they are now (editable while it runs)
                self._notifier.alert(kind, data, self._sessions.get(session_id) or {})
            except Exception:
                log.exception("session %s: cannot notify %s", session_id, kind)

    def _end_streams(self, live: _Live) -> None:
        for subscriber in list(live.subscribers):
            offer(subscriber, None)

    def _on_state(self, session_id: str, state: str, message: str | None) -> None:
        with self._lock:
            live = self._live.get(session_id)
        if live is None:
            return
        mapped = ENGINE_STATES.get(state, state)
        if message and SOURCE_DETAIL.search(message):
            log.info("session %s: %s", session_id, redact(message))  # the detail stays in the log
        message = SOURCE_DETAIL.sub("", redact(message or ""))
        try:
            fields: dict[str, Any] = {"state": mapped}
            if mapped == "failed":
                fields["error"] = message or "the stream failed"
            if mapped in ("stopped", "failed"):
                fields["stopped_at"] = utc_now()
            if mapped == "reconnecting" and not live.offline:  # unknown score until the source is back
                live.offline, live.current_score = True, None
                fields.update(self.observed(session_id))
                self._history.gap(session_id, live.detector.last_seen() or time.time())
            elif mapped == "running":
                live.offline = False
            self._sessions.update(session_id, **fields)
        except Exception:
            log.exception("session %s: cannot record state %s", session_id, state)
        self._send(live, "state", {"state": mapped, "message": message, **self.observed(session_id)})

    def _on_calibrated(self, session_id: str, detector: Any, profile: Any) -> None:
        """A camera finished learning its scene: keep the profile with the camera (unless that detector
        has been stopped or replaced meanwhile: then what it learned is dropped)."""
        with self._lock:
            current = self._live.get(session_id)
        if current is None or current.detector is not detector:
            return
        try:
            profile.save(self._files.profile_path(session_id))
            state = {"state": "calibrated", "segments": profile.segments, "calibrated_at": utc_now()}
            self._sessions.update(session_id, profile=state)
        except Exception:
            log.exception("session %s: cannot store its scene profile", session_id)
            return
        self._send(current, "profile", state)

    def _on_event(self, session_id: str, event: Any) -> None:
        with self._lock:
            live = self._live.get(session_id)
        if live is None:
            return
        try:
            if isinstance(event, ScoreEvent):
                if live.offline:  # a segment from before the source went down: the score stays unknown
                    return
                live.current_score = float(event.score)
                self._history.record(session_id, float(event.time), float(event.score))
                dropped = int(live.detector.stats()["dropped_segments"])
                data = {"time": float(event.time), "score": float(event.score), "dropped_segments": dropped}
                self._send(live, "score", data)
            elif isinstance(event, AlertStart):
                self._alert_start(session_id, live, event)
            elif isinstance(event, AlertEnd):
                live.detector.end_clip()
                with live.alert_lock:
                    open_alert, live.open_alert = live.open_alert, None
                if open_alert is not None:
                    alert = self._sessions.close_alert(
                        open_alert,
                        end_time=epoch_to_iso(float(event.time)),
                        peak_score=float(event.peak_score),
                        interrupted=event.interrupted,
                    )
                    if alert is not None:
                        self._alert_event(session_id, live, "alert-end", alert)
        except Exception:
            log.exception("session %s: cannot record event %s", session_id, type(event).__name__)

    def _alert_start(self, session_id: str, live: _Live, event: AlertStart) -> None:
        """Record an alert (snapshot, then the document) unless the session was stopped meanwhile."""
        with live.alert_lock:  # held while recording, so stop() cannot pass between the check and the write
            if live.ended:
                return
            alert_id = new_id()
            atomic_write_bytes(self._files.snapshot_path(session_id, alert_id), event.snapshot_jpeg or b"")
            live.detector.begin_clip(self._files.clip_path(session_id, alert_id))
            alert = self._sessions.add_alert(
                alert_id=alert_id,
                session_id=session_id,
                start_time=epoch_to_iso(float(event.time)),
                peak_score=float(event.score),
                category=event.category,
                category_probability=event.category_probability,
                causes=event.causes,
                clip=True,
            )
            live.open_alert = alert_id
        self._alert_event(session_id, live, "alert-start", alert)
