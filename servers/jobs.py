"""Offline detection jobs: a bounded queue served by a fixed pool of worker threads."""

from __future__ import annotations

import logging
import queue
import threading
import time
from pathlib import Path
from typing import Any

from servers.config import ServerConfig
from servers.errors import ApiError
from servers.files import FileStore
from servers.media import TranscodeCancelled, resize_jpeg, transcode
from servers.storage import DatabaseUnavailable, VideoRepository

log = logging.getLogger("servers.jobs")
TRANSCODE_SHARE = 0.2  # share of the progress bar taken by transcoding
QUEUE_RETRY_AFTER = 30  # seconds a client is told to wait when the queue is full


class JobManager:
    """Runs transcode + `VideoDetector.detect` for queued videos; one detector shared by the workers."""

    def __init__(
        self,
        *,
        config: ServerConfig,
        videos: VideoRepository,
        files: FileStore,
        inference_config: Any,
        detector: Any = None,
    ) -> None:
        """`detector`: a VideoDetector of `inference_config` to use (default: created on first use)."""
        self._config = config
        self._videos = videos
        self._files = files
        self._inference_config = inference_config
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._waiting: set[str] = set()  # queued, not started, not cancelled: the `queue-max` slots
        self._cancel: dict[str, threading.Event] = {}
        self._cancel_lock = threading.Lock()
        self._detector: Any = detector
        self._detector_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._running: set[str] = set()  # guarded by _cancel_lock

    def start(self) -> None:
        """Start the worker threads."""
        for index in range(self._config.workers):
            thread = threading.Thread(target=self._work, name=f"job-worker-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel running jobs and stop the workers (queued videos stay queued for the next start)."""
        with self._cancel_lock:
            for event in self._cancel.values():
                event.set()
        for _ in self._threads:
            self._queue.put(None)
        for thread in self._threads:
            thread.join(timeout)

    def status(self) -> dict[str, int]:
        """Workers, busy workers, queued jobs."""
        with self._cancel_lock:
            busy = len(self._running)
            queued = len(self._waiting)
        return {"workers": len(self._threads), "busy": busy, "queued": queued}

    def active(self) -> set[str]:
        """The videos whose job is queued or running here (a job that outlived `stop` included)."""
        with self._cancel_lock:
            return set(self._cancel)  # a running job keeps its entry until it ends

    def submit(self, video_id: str) -> None:
        """Queue a video (once: a video queued or running already is left as it is); ApiError 503 with
        Retry-After when `queue-max` videos wait already."""
        with self._cancel_lock:
            if video_id in self._cancel:
                return
            if len(self._waiting) >= self._config.queue_max:
                raise ApiError(
                    503,
                    "queue-full",
                    f"{self._config.queue_max} videos are waiting already; try again later",
                    headers={"Retry-After": str(QUEUE_RETRY_AFTER)},
                    params={"count": self._config.queue_max, "seconds": QUEUE_RETRY_AFTER},
                )
            self._cancel[video_id] = threading.Event()
            self._waiting.add(video_id)
        self._queue.put(video_id)

    def cancel(self, video_id: str) -> None:
        """Cancel a queued (its slot is free at once) or running job (its video is being deleted)."""
        with self._cancel_lock:
            event = self._cancel.get(video_id)
            self._waiting.discard(video_id)
        if event is not None:
            event.set()

    def detector(self) -> Any:
        """The shared VideoDetector, created on first use."""
        with self._detector_lock:
            if self._detector is None:
                from inferences.offline import VideoDetector

                self._detector = VideoDetector(self._inference_config)
            return self._detector

    def _work(self) -> None:
        while True:
            video_id = self._queue.get()
            if video_id is None:
                return
            with self._cancel_lock:
                self._waiting.discard(video_id)
                cancel = self._cancel.setdefault(video_id, threading.Event())
                self._running.add(video_id)
            try:
                if not cancel.is_set():
                    self._run(video_id, cancel)
            except DatabaseUnavailable as error:  # its lease lapses: this server or another resumes it
                log.error("job %s: database unavailable, left for resume: %s", video_id, error)
            except Exception:  # a bug: logged, and the worker goes on with the next job
                log.exception("job %s: unexpected error", video_id)
            finally:
                with self._cancel_lock:
                    self._running.discard(video_id)
                    self._cancel.pop(video_id, None)

    def _discard_if_deleted(self, video_id: str) -> None:
        """A job whose video was deleted (here or on another server) may have written files after the delete
        moved its folder to the trash (a fetched upload, a partial transcode, a published result): they go
        too."""
        try:
            if self._videos.get(video_id) is None:
                self._files.discard(self._files.video_dir(video_id))
        except DatabaseUnavailable as error:  # the folder stays; the log names it
            log.error("job %s: cleanup after cancel skipped: %s", video_id, error)

    def run(self, video_id: str) -> None:
        """Run one video's job in the calling thread (how a Ray task runs it)."""
        self._run(video_id, threading.Event())

    def _profile_file(self, profile: str) -> Path:
        """The file of a video's scene profile id (checked at upload; gone since: a failed job says so)."""
        path = self._files.scene_profile(profile)
        if path is None:
            raise ValueError(f"the scene profile '{profile}' no longer exists")
        return path

    def _run(self, video_id: str, cancel: threading.Event) -> None:
        """Run a job; a job whose video is deleted meanwhile (`cancel` set, or its document gone) leaves
        none of its files."""
        try:
            self._detect(video_id, cancel)
        finally:
            if cancel.is_set():
                self._discard_if_deleted(video_id)

    def _detect(self, video_id: str, cancel: threading.Event) -> None:
        if self._videos.update(video_id, status="processing", progress=0.0, error=None) is None:
            return
        reporter = _ProgressReporter(self._videos, video_id, cancel)
        files = self._files
        profile = (self._videos.get(video_id) or {}).get("profile")
        try:
            if not files.fetch(files.source_path(video_id)) and not files.fetch(files.upload_path(video_id)):
                self._videos.update(video_id, status="failed", error="the uploaded file is gone")
                return
            source = files.source_path(video_id)
            if not source.exists():
                transcode(
                    files.upload_path(video_id),
                    source,
                    max_fps=self._config.video_speed,
                    max_width=self._config.video_width,
                    max_height=self._config.video_height,
                    cover=files.cover_path(video_id),
                    cover_size=(self._config.cover_width, self._config.cover_height),
                    max_pixels=self._config.video_max_pixels,
                    progress=lambda value: reporter(TRANSCODE_SHARE * value),
                    cancel=cancel,
                )
                files.upload_path(video_id).unlink(missing_ok=True)
            reporter(TRANSCODE_SHARE, force=True)
            annotated_cover = files.video_dir(video_id) / "annotated-cover.jpg"
            result = self.detector().detect(
                source,
                output_path=files.result_path(video_id),
                cover_path=annotated_cover,
                progress=lambda value: reporter(TRANSCODE_SHARE + (1 - TRANSCODE_SHARE) * value),
                cancel=cancel,
                profile=self._profile_file(profile) if profile else None,
            )
            if annotated_cover.exists():
                resize_jpeg(
                    annotated_cover,
                    files.cover_path(video_id),
                    (self._config.cover_width, self._config.cover_height),
                )
                annotated_cover.unlink()
            files.write_scores(video_id, list(result.scores))
            done = self._videos.update(
                video_id,
                status="done",
                progress=1.0,
                fps=float(result.fps),
                frames=int(result.frames),
                duration=float(result.duration),
                width=int(result.width),
                height=int(result.height),
                peak_score=float(result.peak_score),
                threshold=float(self._inference_config.anomaly_threshold),
                intervals=[interval.to_dict() for interval in result.intervals],
                error=None,
            )
            if done is None:  # deleted on another server while it ran
                cancel.set()
        except TranscodeCancelled:
            log.info("job %s cancelled", video_id)
        except DatabaseUnavailable:  # not the video's fault: left queued or processing, to be resumed
            raise
        except Exception as error:  # the engine's own exceptions (DetectionCancelled, VideoError, ModelError)
            if cancel.is_set():  # DetectionCancelled is raised only then
                log.info("job %s cancelled", video_id)
                return
            if type(error).__name__ == "ProfileError":  # its message starts with the profile's file path
                reason = f"scene profile '{profile}': {str(error).split(': ', 1)[-1]}"
            elif isinstance(error, ValueError):  # MediaError, VideoError, ModelError: a known reason
                reason = str(error)
            else:
                log.exception("job %s failed", video_id)
                reason = f"internal error: {type(error).__name__}: {error}"
            self._videos.update(video_id, status="failed", error=reason)


class _ProgressReporter:
    """Writes progress to the video at most twice a second (and on forced values); a video deleted meanwhile
    (by any server) cancels its job."""

    def __init__(self, videos: VideoRepository, video_id: str, cancel: threading.Event) -> None:
        self._videos = videos
        self._video_id = video_id
        self._cancel = cancel
        self._last = 0.0

    def __call__(self, value: float, *, force: bool = False) -> None:
        now = time.monotonic()
        if force or now - self._last >= 0.5:
            self._last = now
            if self._videos.update(self._video_id, progress=round(min(max(value, 0.0), 1.0), 4)) is None:
                self._cancel.set()
