"""Which API server runs an upload job: each server is an owner (a fresh id per start) that holds a lease on
the videos whose jobs it runs, renewed by a heartbeat every third of `job-lease` seconds for the jobs its
runner has queued or running. A server takes over only videos whose lease has ended (their server stopped
or died, or their job was lost), in one atomic update and no more than its queue has room for, so with any
number of servers on one MongoDB a job runs once, and the job of a crashed server is still resumed."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Collection
from typing import Any

from servers.storage import DatabaseUnavailable, VideoRepository
from servers.storage.repositories import new_id

log = logging.getLogger("servers.leases")


class JobLeases:
    """This server's leases. On the embedded database one process owns the files, so at start every
    unfinished video is this server's (whatever lease an earlier run left) and no heartbeat runs."""

    def __init__(self, videos: VideoRepository, *, seconds: float, embedded: bool) -> None:
        self.owner = new_id()
        self._videos = videos
        self._seconds = seconds
        self._embedded = embedded
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._active: Callable[[], Collection[str]] = frozenset

    def fields(self) -> dict[str, Any]:
        """The owner and lease fields of a video created here (its job runs here)."""
        return {"owner": self.owner, "lease_until": time.time() + self._seconds}

    def take_expired(
        self, *, running: Collection[str] | None = None, limit: float = math.inf, at_start: bool = False
    ) -> list[dict[str, Any]]:
        """Claim up to `limit` unfinished videos whose lease has ended, oldest first; with `running` (the
        jobs queued or running here), this server's own ended videos not among them too. At start on the
        embedded database: every unfinished video (no heartbeat takes the rest later)."""
        if at_start and self._embedded:
            expired_before, limit = math.inf, math.inf
        else:
            expired_before = time.time()
        taken: list[dict[str, Any]] = []
        while len(taken) < limit and (
            video := self._videos.claim(
                self.owner, time.time() + self._seconds, expired_before=expired_before, running=running
            )
        ):
            log.info("job %s: taken over by server %s (no lease held)", video["id"], self.owner)
            taken.append(video)
        return taken

    def start(
        self,
        resume: Callable[[dict[str, Any]], None],
        *,
        active: Callable[[], Collection[str]],
        free: Callable[[], int],
    ) -> None:
        """Start the heartbeat (not on the embedded database): renew the leases of the jobs `active` (queued
        or running here), and `resume` at most `free` (the queue's room) videos whose lease has ended."""
        self._active = active
        if self._embedded:
            return
        self._thread = threading.Thread(
            target=self._beat, args=(resume, free), name="job-leases", daemon=True
        )
        self._thread.start()

    def _beat(self, resume: Callable[[dict[str, Any]], None], free: Callable[[], int]) -> None:
        while not self._stop.wait(self._seconds / 3):
            try:
                running = self._active()
                self._videos.renew(self.owner, time.time() + self._seconds, running)
                for video in self.take_expired(running=running, limit=free()):
                    resume(video)
            except DatabaseUnavailable as error:
                log.warning("job leases not renewed: %s", error)
            except Exception:  # a Ray or file store error: the next beat tries again, leases must not lapse
                log.exception("job lease heartbeat failed")

    def stop(self) -> None:
        """Stop the heartbeat and give up at once the leases of jobs no longer running here (another
        server may take them now); those of jobs still running lapse after `job-lease`."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if not self._embedded:
            try:
                self._videos.release(self.owner, keep=self._active())
            except DatabaseUnavailable as error:
                log.warning("job leases not given up: %s", error)
