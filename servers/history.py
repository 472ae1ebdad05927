"""What a camera's score history keeps: at most one point per `interval` seconds (the highest score in
it, at its own time), written once its interval is over, and a gap when the camera goes offline or stops."""

from __future__ import annotations

import logging
import math
import threading
from typing import TYPE_CHECKING

from servers.storage.scores import Point, ScoreRepository

if TYPE_CHECKING:
    from servers.config import ServerConfig
    from servers.storage import Database

log = logging.getLogger("servers.history")


class ScoreHistory:
    """Collects the live scores of every camera into its persisted history."""

    def __init__(self, repository: ScoreRepository, *, interval: float) -> None:
        self.scores = repository
        self._interval = interval
        self._lock = threading.Lock()
        self._slots: dict[str, tuple[int, Point]] = {}  # camera -> (its current slot, best point in it)

    def record(self, session_id: str, time: float, score: float) -> None:
        """A new score; the previous interval's point is stored when this one starts a new interval."""
        slot = math.floor(time / self._interval)
        with self._lock:
            current = self._slots.get(session_id)
            if current is not None and current[0] == slot:
                if score > (current[1][1] or 0.0):
                    self._slots[session_id] = (slot, (time, score))
                return
            self._slots[session_id] = (slot, (time, score))
        if current is not None:
            self._store(session_id, [current[1]])

    def gap(self, session_id: str, time: float) -> None:
        """The camera went offline or stopped at `time`: its pending point, then a gap, are stored."""
        with self._lock:
            current = self._slots.pop(session_id, None)
        pending = [current[1]] if current is not None else []
        self._store(session_id, sorted([*pending, (time, None)], key=lambda point: point[0]))

    def _store(self, session_id: str, points: list[Point]) -> None:
        try:
            self.scores.add(session_id, points)
        except Exception:
            log.exception("session %s: cannot store its score history", session_id)


def camera_history(config: ServerConfig, database: Database) -> ScoreHistory:
    """The score history of `config` (`score-history-interval`, `-bucket`) stored in `database`."""
    return ScoreHistory(
        ScoreRepository(database, bucket_seconds=config.score_history_bucket),
        interval=config.score_history_interval,
    )
