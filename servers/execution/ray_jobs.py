"""Upload jobs as Ray tasks: one task per video, placed by Ray (spread over the nodes), retried once when
its node or worker is lost. The task runs `servers.jobs.JobManager.run` on its node, the same job code as
in-process, with the upload fetched from and the results published to GridFS."""

from __future__ import annotations

import logging
import threading
from typing import Any

from servers.config import ServerConfig
from servers.errors import ApiError
from servers.execution.cluster import NodeContext, node_name, remote_options
from servers.execution.publishing import PublishingVideos
from servers.files import FileStore
from servers.jobs import QUEUE_RETRY_AFTER, JobManager
from servers.storage import DatabaseUnavailable, VideoRepository
from servers.storage.repositories import ACTIVE_STATUSES

log = logging.getLogger("servers.execution")
JOB_RETRIES = 1  # a job whose node is lost runs once more elsewhere
REAP_SECONDS = 1.0


_loaded: list[tuple[Any, Any]] = []  # (inference config, its VideoDetector) of this worker process


def _detector(inference_config: Any) -> Any:
    """The VideoDetector of `inference_config`, loaded once per Ray worker process (tasks reuse workers)."""
    if not _loaded or _loaded[0][0] != inference_config:
        from inferences.offline import VideoDetector

        _loaded[:] = [(inference_config, VideoDetector(inference_config))]
    return _loaded[0][1]


def run_job(config: ServerConfig, inference_config: Any, video_id: str) -> str:
    """Run one video's job on this node; the video's final status. A video done already (the task ran
    to its end before, and is retried after losing its node) or deleted is left as it is."""
    node = NodeContext.open(config)
    try:
        video = node.videos.get(video_id)
        if video is None or video["status"] == "done":
            return video["status"] if video else "deleted"
        node.videos.update(video_id, node=node_name())
        files = node.files
        profile = video.get("profile")
        if profile and profile not in files.shipped_profiles():
            files.fetch(files.profile_path(profile))  # a calibrated camera's profile
        videos = PublishingVideos(node.videos, files)
        manager = JobManager(
            config=config,
            videos=videos,  # type: ignore[arg-type]
            files=files,
            inference_config=inference_config,
            detector=_detector(inference_config),
        )
        try:
            manager.run(video_id)
        except DatabaseUnavailable as error:  # its lease lapses: this server or another resumes it
            log.error("job %s: database unavailable, left for resume: %s", video_id, error)
            return "interrupted"
        final = node.videos.get(video_id)
        return final["status"] if final else "deleted"
    finally:
        node.close()


class RayJobs:
    """The JobRunner on Ray: `submit` starts a task at once (Ray queues it until a node has
    `ray-job-cpus` free); a reaper thread forgets finished tasks and fails the video of a task whose
    retries ran out."""

    def __init__(
        self, *, config: ServerConfig, videos: VideoRepository, files: FileStore, inference_config: Any
    ) -> None:
        import ray

        self._ray = ray
        self._config = config
        self._videos = videos
        self._files = files
        self._inference_config = inference_config
        self._task = ray.remote(run_job).options(
            **remote_options(cpus=config.ray_job_cpus, max_retries=JOB_RETRIES, retry_exceptions=False)
        )
        self._running: dict[str, Any] = {}  # video id -> ObjectRef
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None

    def start(self) -> None:
        """Start the reaper."""
        self._reaper = threading.Thread(target=self._reap, name="ray-job-reaper", daemon=True)
        self._reaper.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the reaper (tasks of this server end with it: Ray ties them to their submitter; their
        videos stay queued or processing and are resubmitted at the next start)."""
        self._stop.set()
        if self._reaper is not None:
            self._reaper.join(timeout)

    def _slots(self) -> int:
        cpus = self._ray.cluster_resources().get("CPU", 0.0)
        return max(1, int(cpus // self._config.ray_job_cpus))

    def status(self) -> dict[str, int]:
        """Job slots of the cluster, jobs of this server running and waiting."""
        slots = self._slots()
        with self._lock:
            submitted = len(self._running)
        return {"workers": slots, "busy": min(slots, submitted), "queued": max(0, submitted - slots)}

    def submit(self, video_id: str) -> None:
        """Publish the upload to the shared store and start the video's task (once)."""
        with self._lock:
            if video_id in self._running:
                return
            if len(self._running) >= self._config.queue_max + self._slots():
                raise ApiError(
                    503,
                    "queue-full",
                    f"{self._config.queue_max} videos are waiting already; try again later",
                    headers={"Retry-After": str(QUEUE_RETRY_AFTER)},
                )
        self._files.upload_path(video_id).unlink(missing_ok=True)  # in the shared store since its upload
        ref = self._task.remote(self._config, self._inference_config, video_id)
        with self._lock:
            self._running[video_id] = ref

    def active(self) -> set[str]:
        """The videos whose task this server submitted and has not seen end (Ray tasks outlive `stop`)."""
        with self._lock:
            return set(self._running)

    def cancel(self, video_id: str) -> None:
        """Cancel the video's task (running: interrupted; its video is being deleted)."""
        with self._lock:
            ref = self._running.pop(video_id, None)
        if ref is not None:
            self._ray.cancel(ref)

    def _reap(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                refs = {ref: video_id for video_id, ref in self._running.items()}
            if not refs:
                self._stop.wait(REAP_SECONDS)
                continue
            done, _ = self._ray.wait(list(refs), num_returns=len(refs), timeout=REAP_SECONDS)
            for ref in done:
                video_id = refs[ref]
                with self._lock:
                    if self._running.get(video_id) is ref:
                        del self._running[video_id]
                try:
                    self._ray.get(ref)
                except Exception as error:  # the task's node or worker was lost twice, or it was cancelled
                    self._failed(video_id, error)

    def _failed(self, video_id: str, error: Exception) -> None:
        if isinstance(error, self._ray.exceptions.TaskCancelledError):
            return
        log.warning("job %s lost: %s", video_id, error)
        video = self._videos.get(video_id)
        if video is not None and video["status"] in ACTIVE_STATUSES:
            reason = f"the job's node was lost {JOB_RETRIES + 1} times ({type(error).__name__})"
            self._videos.update(video_id, status="failed", error=reason)
