"""Upload jobs as Ray tasks: one task per record, placed by Ray (spread over the nodes), retried once when
its node or worker is lost. The task runs `servers.jobs.JobManager.run` on its node, the same job code as
in-process, with the upload fetched from and the results published to GridFS."""

from __future__ import annotations

import logging
import threading
from typing import Any

from servers.config import ServerConfig
from servers.errors import ApiError
from servers.execution.cluster import NodeContext, node_name, remote_options
from servers.execution.publishing import PublishingRecords
from servers.files import FileStore
from servers.jobs import QUEUE_RETRY_AFTER, JobManager
from servers.storage import RecordRepository

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


def run_job(config: ServerConfig, inference_config: Any, record_id: str) -> str:
    """Run one record's job on this node; the record's final status. A record done already (the task ran
    to its end before, and is retried after losing its node) or deleted is left as it is."""
    node = NodeContext.open(config)
    try:
        record = node.records.get(record_id)
        if record is None or record["status"] == "done":
            return record["status"] if record else "deleted"
        node.records.update(record_id, node=node_name())
        files = node.files
        profile = record.get("profile")
        if profile and profile not in files.shipped_profiles():
            files.fetch(files.profile_path(profile))  # a calibrated camera's profile
        records = PublishingRecords(node.records, files)
        manager = JobManager(
            config=config,
            records=records,  # type: ignore[arg-type]
            files=files,
            inference_config=inference_config,
            detector=_detector(inference_config),
        )
        manager.run(record_id)
        final = node.records.get(record_id)
        return final["status"] if final else "deleted"
    finally:
        node.close()


class RayJobs:
    """The JobRunner on Ray: `submit` starts a task at once (Ray queues it until a node has
    `ray-job-cpus` free); a reaper thread forgets finished tasks and fails the record of a task whose
    retries ran out."""

    def __init__(
        self, *, config: ServerConfig, records: RecordRepository, files: FileStore, inference_config: Any
    ) -> None:
        import ray

        self._ray = ray
        self._config = config
        self._records = records
        self._files = files
        self._inference_config = inference_config
        self._task = ray.remote(run_job).options(
            **remote_options(cpus=config.ray_job_cpus, max_retries=JOB_RETRIES, retry_exceptions=False)
        )
        self._running: dict[str, Any] = {}  # record id -> ObjectRef
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._reaper: threading.Thread | None = None

    def start(self) -> None:
        """Start the reaper."""
        self._reaper = threading.Thread(target=self._reap, name="ray-job-reaper", daemon=True)
        self._reaper.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the reaper (tasks of this server end with it: Ray ties them to their submitter; their
        records stay queued or processing and are resubmitted at the next start)."""
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

    def submit(self, record_id: str) -> None:
        """Publish the upload to the shared store and start the record's task (once)."""
        with self._lock:
            if record_id in self._running:
                return
            if len(self._running) >= self._config.queue_max + self._slots():
                raise ApiError(
                    503,
                    "queue-full",
                    f"{self._config.queue_max} videos are waiting already; try again later",
                    headers={"Retry-After": str(QUEUE_RETRY_AFTER)},
                )
        self._files.upload_path(record_id).unlink(missing_ok=True)  # in the shared store since its upload
        ref = self._task.remote(self._config, self._inference_config, record_id)
        with self._lock:
            self._running[record_id] = ref

    def cancel(self, record_id: str) -> None:
        """Cancel the record's task (running: interrupted; its record is being deleted)."""
        with self._lock:
            ref = self._running.pop(record_id, None)
        if ref is not None:
            self._ray.cancel(ref)

    def _reap(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                refs = {ref: record_id for record_id, ref in self._running.items()}
            if not refs:
                self._stop.wait(REAP_SECONDS)
                continue
            done, _ = self._ray.wait(list(refs), num_returns=len(refs), timeout=REAP_SECONDS)
            for ref in done:
                record_id = refs[ref]
                with self._lock:
                    if self._running.get(record_id) is ref:
                        del self._running[record_id]
                try:
                    self._ray.get(ref)
                except Exception as error:  # the task's node or worker was lost twice, or it was cancelled
                    self._failed(record_id, error)

    def _failed(self, record_id: str, error: Exception) -> None:
        if isinstance(error, self._ray.exceptions.TaskCancelledError):
            return
        log.warning("job %s lost: %s", record_id, error)
        record = self._records.get(record_id)
        if record is not None and record["status"] in ("queued", "processing"):
            reason = f"the job's node was lost {JOB_RETRIES + 1} times ({type(error).__name__})"
            self._records.update(record_id, status="failed", error=reason)
