"""Which API server runs an upload job: each server is an owner (a fresh id per start) that holds a lease on
the videos whose jobs it runs, renewed by a heartbeat every third of `job-lease` seconds. A server takes
over only videos whose lease has ended (their server stopped or died), in one atomic update, so with any
number of servers on one MongoDB a job runs once, and the job of a crashed server is still resumed."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
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

    def fields(self) -> dict[str, Any]:
        """The owner and lease fields of a video created here (its job runs here)."""
        return {"owner": self.owner, "lease_until": time.time() + self._seconds}

    def take_expired(self, *, at_start: bool = False) -> list[dict[str, Any]]:
        """Claim every unfinished video whose lease has ended (at start on the embedded database: every
        unfinished video), oldest first."""
        expired_before = math.inf if at_start and self._embedded else time.time()
        taken = []
        while video := self._videos.claim(
            self.owner, time.time() + self._seconds, expired_before=expired_before
        ):
            log.info("job %s: taken over by server %s (no lease held)", video["id"], self.owner)
            taken.append(video)
        return taken

    def start(self, resume: Callable[[dict[str, Any]], None]) -> None:
        """Start the heartbeat (not on the embedded database): renew this server's leases, and `resume`
        the videos whose server's lease has ended."""
        if self._embedded:
            return
        self._thread = threading.Thread(target=self._beat, args=(resume,), name="job-leases", daemon=True)
        self._thread.start()

    def _beat(self, resume: Callable[[dict[str, Any]], None]) -> None:
        while not self._stop.wait(self._seconds / 3):
            try:
                self._videos.renew(self.owner, time.time() + self._seconds)
                for video in self.take_expired():
                    resume(video)
            except DatabaseUnavailable as error:
                log.warning("job leases not renewed: %s", error)

    def stop(self) -> None:
        """Stop the heartbeat and give up the leases at once (another server may take the jobs now)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        if not self._embedded:
            try:
                self._videos.renew(self.owner, 0.0)
            except DatabaseUnavailable as error:
                log.warning("job leases not given up: %s", error)
