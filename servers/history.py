"""What a camera's score history keeps: at each level, at most one point per slot of the level's interval
(the highest score in it, at its own time), written once its slot is over, and a gap when the camera goes
offline or stops."""

from __future__ import annotations

import logging
import math
import threading
from typing import TYPE_CHECKING

from servers.storage.scores import LEVELS, Point, ScoreRepository

if TYPE_CHECKING:
    from servers.config import ServerConfig
    from servers.storage import Database

log = logging.getLogger("servers.history")


class ScoreHistory:
    """Collects the live scores of every camera into its persisted history, at every level of the
    repository (level L: one point per `repository.level_interval(L)` seconds)."""

    def __init__(self, repository: ScoreRepository) -> None:
        self.scores = repository
        self._lock = threading.Lock()
        self._slots: dict[tuple[str, int], tuple[int, Point]] = {}  # (camera, level) -> (slot, best point)

    def record(self, session_id: str, time: float, score: float) -> None:
        """A new score; a level's previous slot's point is stored when this one starts a new slot there."""
        closed: list[tuple[int, Point]] = []
        with self._lock:
            for level in range(LEVELS):
                slot = math.floor(time / self.scores.level_interval(level))
                current = self._slots.get((session_id, level))
                if current is not None and current[0] == slot:
                    if score > (current[1][1] or 0.0):
                        self._slots[session_id, level] = (slot, (time, score))
                    continue
                self._slots[session_id, level] = (slot, (time, score))
                if current is not None:
                    closed.append((level, current[1]))
        for level, point in closed:
            self._store(session_id, [point], level)

    def gap(self, session_id: str, time: float) -> None:
        """The camera went offline or stopped at `time`: its pending points, then a gap, are stored."""
        with self._lock:
            pending = [self._slots.pop((session_id, level), None) for level in range(LEVELS)]
        for level, current in enumerate(pending):
            points = [current[1]] if current is not None else []
            self._store(session_id, sorted([*points, (time, None)], key=lambda point: point[0]), level)

    def _store(self, session_id: str, points: list[Point], level: int) -> None:
        try:
            self.scores.add(session_id, points, level)
        except Exception:
            log.exception("session %s: cannot store its score history", session_id)


def camera_history(config: ServerConfig, database: Database) -> ScoreHistory:
    """The score history of `config` (`score-history-interval`, `-bucket`) stored in `database`."""
    return ScoreHistory(
        ScoreRepository(
            database, bucket_seconds=config.score_history_bucket, interval=config.score_history_interval
        )
    )
