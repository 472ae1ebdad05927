"""Long-lived responses (MJPEG `/stream`, server-sent `/events`): a bounded number of slots, in total and per
user, so open streams never take the request threads the API needs. Each stream also ends when its client
disconnects (noticed without writing) and after a maximum duration (clients reconnect)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from servers.errors import ApiError

RETRY_AFTER_SECONDS = 5


class StreamSlots:
    """Counts open streams; `acquire` refuses beyond `total` (503) or `per_user` for one user (429)."""

    def __init__(self, *, total: int, per_user: int) -> None:
        self._total = total
        self._per_user = per_user
        self._open: dict[str, int] = {}
        self._lock = threading.Lock()

    def open_count(self) -> int:
        """Streams open now."""
        with self._lock:
            return sum(self._open.values())

    def acquire(self, user_id: str) -> Callable[[], None]:
        """Take a slot for `user_id`; returns its release function (idempotent), or ApiError 503/429."""
        retry = {"Retry-After": str(RETRY_AFTER_SECONDS)}
        with self._lock:
            if sum(self._open.values()) >= self._total:
                raise ApiError(
                    503, "too-many-streams", f"the server serves {self._total} streams already", headers=retry
                )
            if self._open.get(user_id, 0) >= self._per_user:
                raise ApiError(
                    429,
                    "too-many-streams",
                    f"you have {self._per_user} streams open already; close one first",
                    headers=retry,
                )
            self._open[user_id] = self._open.get(user_id, 0) + 1
        released = threading.Event()

        def release() -> None:
            with self._lock:
                if released.is_set():
                    return
                released.set()
                left = self._open[user_id] - 1
                if left:
                    self._open[user_id] = left
                else:
                    del self._open[user_id]

        return release


def connection_open(environ: dict, max_seconds: float) -> Callable[[], bool]:
    """A predicate: the client is still connected (waitress tells, where the server says) and the stream
    is younger than `max_seconds`."""
    disconnected = environ.get("waitress.client_disconnected", lambda: False)
    deadline = time.monotonic() + max_seconds
    return lambda: not disconnected() and time.monotonic() < deadline
