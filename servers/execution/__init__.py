"""Where upload jobs and live cameras run: in this process (the default: `servers.jobs.JobManager` and
`servers.live.LiveManager`), or on a Ray cluster (`ray-address`), where the same job and camera code runs
in Ray tasks and actors. The API uses either through the two interfaces below."""

from __future__ import annotations

import queue
from typing import Any, Protocol

from servers.config import ServerConfig
from servers.files import FileStore
from servers.storage import Database, LiveSessionRepository, VideoRepository


class JobRunner(Protocol):
    """Runs the upload jobs (transcode + detection) of queued videos."""

    def start(self) -> None:
        """Start taking jobs."""

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs (queued videos stay queued for the next start)."""

    def status(self) -> dict[str, int]:
        """Workers, busy workers, queued jobs."""

    def active(self) -> set[str]:
        """The videos whose job is queued or running here (their leases are renewed)."""

    def submit(self, video_id: str) -> None:
        """Queue a video's job (once); ApiError 503 when the queue is full."""

    def cancel(self, video_id: str) -> None:
        """Cancel a queued or running job (its video is being deleted)."""


class CameraRunner(Protocol):
    """Runs the detectors of live sessions and relays their events."""

    @property
    def min_calibrate_minutes(self) -> float:
        """The shortest scene calibration."""

    def start(
        self, session_id: str, source: str, *, calibrate_minutes: float = 0.0, retry: bool = False
    ) -> None:
        """(Re)start a session's detector (StreamError when the source cannot be opened; with `retry`,
        it waits for the source instead)."""

    def stop(
        self, session_id: str, *, state: str = "stopped", timeout: float = 10.0, interrupted: bool = False
    ) -> None:
        """Stop a session's detector and record its final state (`interrupted`: for a restart, its open
        alert ends interrupted)."""

    def stop_all(self) -> None:
        """What this server stops at shutdown."""

    def is_live(self, session_id: str) -> bool:
        """Whether the session's detector runs."""

    def current_score(self, session_id: str) -> float | None:
        """The newest score of a live session."""

    def observed(self, session_id: str) -> dict[str, Any]:
        """A live session's `last_seen` and `dropped_segments` (empty when not live)."""

    def latest_jpeg(self, session_id: str) -> bytes | None:
        """The newest annotated frame of a live session."""

    def subscribe(self, session_id: str) -> queue.Queue | None:
        """A queue of (event name, data) items of a live session; a None item ends it."""

    def unsubscribe(self, session_id: str, subscriber: queue.Queue) -> None:
        """Forget a subscriber."""


def shared_files(config: ServerConfig, database: Database) -> FileStore:
    """The file store of `config`: the storage directory, with GridFS as the shared store when configured."""
    if config.file_store != "gridfs":
        return FileStore(config.storage_directory)
    from servers.storage.blobs import GridStore

    return FileStore(config.storage_directory, GridStore(database.client[config.db_name]))


def create_runners(
    config: ServerConfig,
    *,
    videos: VideoRepository,
    sessions: LiveSessionRepository,
    files: FileStore,
    inference_config: Any,
    notifier: Any = None,
    history: Any = None,
) -> tuple[JobRunner, CameraRunner]:
    """The job and camera runners of `config`: in this process (alerts notified by `notifier`), or on the
    Ray cluster at `ray-address` (each camera notifies through its own notifier of `config`)."""
    if not config.ray_address:
        from servers.jobs import JobManager
        from servers.live import LiveManager

        if config.file_store == "gridfs":  # other API servers serve the files, or resume the job
            from servers.execution.publishing import PublishingLiveSessions, PublishingVideos

            videos = PublishingVideos(videos, files)  # type: ignore[assignment]
            sessions = PublishingLiveSessions(sessions, files)  # type: ignore[assignment]
        jobs = JobManager(config=config, videos=videos, files=files, inference_config=inference_config)
        live = LiveManager(
            sessions=sessions,
            files=files,
            inference_config=inference_config,
            network_policy=config.network_policy(),
            notifier=notifier,
            history=history,
        )
        return jobs, live
    from servers.execution.cluster import connect
    from servers.execution.ray_cameras import RayCameras
    from servers.execution.ray_jobs import RayJobs

    connect(config.ray_address, config.ray_node_ip)
    jobs = RayJobs(config=config, videos=videos, files=files, inference_config=inference_config)
    return jobs, RayCameras(config=config, sessions=sessions, inference_config=inference_config)
