"""A camera's score history (`scores`): one document per camera and time bucket, holding its points
`[epoch seconds, score or None]` in time order (None marks a gap: the camera was offline or stopped)."""

from __future__ import annotations

import math
from typing import Any

import pymongo

from servers.storage.database import Database

Point = tuple[float, float | None]


class ScoreRepository:
    """Appends points to per-bucket documents (`bucket_seconds` long) and reads a time range back."""

    COLLECTION = "scores"

    def __init__(self, database: Database, *, bucket_seconds: float) -> None:
        self._db = database
        self._bucket = bucket_seconds

    def ensure_indexes(self) -> None:
        """Index for the range query (a no-op on the embedded engine)."""
        self._db.ensure_collection(self.COLLECTION)
        with self._db.access(self.COLLECTION) as scores:
            scores.create_index([("session_id", pymongo.ASCENDING), ("start", pymongo.ASCENDING)])

    def add(self, session_id: str, points: list[Point]) -> None:
        """Append points (in time order) to their buckets."""
        by_bucket: dict[float, list[list[Any]]] = {}
        for time, score in points:
            start = math.floor(time / self._bucket) * self._bucket
            value = None if score is None else round(score, 5)
            by_bucket.setdefault(start, []).append([round(time, 3), value])
        with self._db.access(self.COLLECTION) as scores:
            for start, items in by_bucket.items():
                scores.update_one(
                    {"_id": f"{session_id}-{start:.0f}"},
                    {
                        "$push": {"points": {"$each": items}},
                        "$setOnInsert": {"session_id": session_id, "start": start},
                    },
                    upsert=True,
                )

    def points(self, session_id: str, since: float, until: float) -> list[Point]:
        """The points of a camera from `since` to `until` (epoch seconds), oldest first."""
        selector = {"session_id": session_id, "start": {"$gt": since - self._bucket, "$lte": until}}
        with self._db.access(self.COLLECTION) as scores:
            documents = list(scores.find(selector).sort([("start", pymongo.ASCENDING)]))
        return [(t, s) for document in documents for t, s in document["points"] if since <= t <= until]

    def delete(self, session_id: str) -> None:
        """Forget a camera's history."""
        with self._db.access(self.COLLECTION) as scores:
            scores.delete_many({"session_id": session_id})


def downsample(points: list[Point], max_points: int) -> list[Point]:
    """At most about `max_points` points: the time range cut into equal slots, each slot's highest score
    kept (peaks survive) at its own time; a gap (None) is kept wherever a slot has one."""
    if len(points) <= max_points:
        return points
    first, last = points[0][0], points[-1][0]
    width = (last - first) / max_points or 1.0
    kept: list[Point] = []
    slot, best, gap = None, None, None
    for point in points:
        index = int((point[0] - first) / width)
        if index != slot:
            kept += [p for p in (gap, best) if p is not None]
            slot, best, gap = index, None, None
        if point[1] is None:
            gap = gap or point
        elif best is None or point[1] > best[1]:  # type: ignore[operator]
            best = point
    kept += [p for p in (gap, best) if p is not None]
    return sorted(kept, key=lambda p: p[0])
