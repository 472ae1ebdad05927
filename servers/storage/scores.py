"""A camera's score history: points `[epoch seconds, score or None]` in time order (None marks a gap: the
camera was offline or stopped), kept at `LEVELS` resolutions so that a long range is read from a coarse one.

Level 0 (collection `scores`) keeps at most one point per `interval` seconds; level L (`scores_L`) one per
`interval * LEVEL_RATIO**L` (the highest score of that slot, at its own time; gaps at every level). Each
level keeps one document per camera and `bucket * LEVEL_RATIO**L` seconds, so its documents hold about as
many points as level 0's."""

from __future__ import annotations

import math
from typing import Any

import pymongo

from servers.storage.database import Database

Point = tuple[float, float | None]
LEVELS = 4
LEVEL_RATIO = 16
MAX_TIME = 1e11  # epoch seconds beyond any stored point
READ_FACTOR = 8  # a range is read from the finest level holding at most READ_FACTOR * max_points points


class ScoreRepository:
    """Appends points to per-level, per-bucket documents and reads a time range back from the finest level
    that keeps the work bounded, then downsamples it."""

    COLLECTION = "scores"

    def __init__(self, database: Database, *, bucket_seconds: float, interval: float) -> None:
        self._db = database
        self._bucket = bucket_seconds
        self.interval = interval

    def _collection(self, level: int) -> str:
        return self.COLLECTION if level == 0 else f"{self.COLLECTION}_{level}"

    def level_interval(self, level: int) -> float:
        """Seconds per point at `level`."""
        return self.interval * LEVEL_RATIO**level

    def _level_bucket(self, level: int) -> float:
        return self._bucket * LEVEL_RATIO**level

    def ensure_indexes(self) -> None:
        """Indexes for the range query and the pruning (a no-op on the embedded engine)."""
        for level in range(LEVELS):
            name = self._collection(level)
            self._db.ensure_collection(name)
            with self._db.access(name) as scores:
                scores.create_index([("session_id", pymongo.ASCENDING), ("start", pymongo.ASCENDING)])
                scores.create_index([("start", pymongo.ASCENDING)])
        self._fill_levels()

    def _fill_levels(self) -> None:
        """The coarse levels of the cameras whose history was stored before levels existed (level 0 only),
        built from level 0 once, before any camera starts; whole documents are written, level 1 last, so
        an interrupted fill is done again at the next start."""
        with self._db.access(self.COLLECTION) as scores:
            cameras = set(scores.distinct("session_id"))
        with self._db.access(self._collection(1)) as coarse:
            cameras -= set(coarse.distinct("session_id"))
        for camera in sorted(cameras):
            points = self.points(camera, 0.0, MAX_TIME)
            for level in reversed(range(1, LEVELS)):
                bucket = self._level_bucket(level)
                by_bucket: dict[float, list[list[Any]]] = {}
                for time, score in slot_maxima(points, self.level_interval(level)):
                    by_bucket.setdefault(math.floor(time / bucket) * bucket, []).append([time, score])
                with self._db.access(self._collection(level)) as scores:
                    for start, items in by_bucket.items():
                        document = {"session_id": camera, "start": start, "points": items}
                        scores.replace_one({"_id": f"{camera}-{start:.0f}"}, document, upsert=True)

    def add(self, session_id: str, points: list[Point], level: int = 0) -> None:
        """Append points (in time order) of `level` to their buckets."""
        bucket = self._level_bucket(level)
        by_bucket: dict[float, list[list[Any]]] = {}
        for time, score in points:
            start = math.floor(time / bucket) * bucket
            value = None if score is None else round(score, 5)
            by_bucket.setdefault(start, []).append([round(time, 3), value])
        with self._db.access(self._collection(level)) as scores:
            for start, items in by_bucket.items():
                scores.update_one(
                    {"_id": f"{session_id}-{start:.0f}"},
                    {
                        "$push": {"points": {"$each": items}},
                        "$setOnInsert": {"session_id": session_id, "start": start},
                    },
                    upsert=True,
                )

    def points(self, session_id: str, since: float, until: float, level: int = 0) -> list[Point]:
        """The points of `level` of a camera from `since` to `until` (epoch seconds), oldest first: an
        indexed, time-bounded find of the buckets that overlap the range."""
        bucket = self._level_bucket(level)
        selector = {"session_id": session_id, "start": {"$gt": since - bucket, "$lte": until}}
        with self._db.access(self._collection(level)) as scores:
            documents = list(scores.find(selector).sort([("start", pymongo.ASCENDING)]))
        return [(t, s) for document in documents for t, s in document["points"] if since <= t <= until]

    def history(
        self, session_id: str, since: float, until: float, max_points: int
    ) -> tuple[list[Point], int]:
        """At most about `max_points` points from `since` to `until`, downsampled from the finest level that
        holds at most READ_FACTOR * `max_points` of them (a coarse level's newest slot, still open, is read
        from level 0); and how many points they were drawn from."""
        budget = READ_FACTOR * max_points
        level = LEVELS - 1
        points = self.points(session_id, since, until, level)
        while level > 0 and len(points) * LEVEL_RATIO <= budget:
            level -= 1
            points = self.points(session_id, since, until, level)
        if level > 0:  # the points after the level's newest one are not in it yet
            newest = points[-1][0]
            points += [point for point in self.points(session_id, newest, until) if point[0] > newest]
        return downsample(points, max_points), len(points)

    def prune(self, before: float) -> None:
        """Forget every camera's points older than `before` (epoch seconds) at every level."""
        for level in range(LEVELS):
            bucket = self._level_bucket(level)
            with self._db.access(self._collection(level)) as scores:
                scores.delete_many({"start": {"$lte": before - bucket}})
                for document in list(scores.find({"start": {"$gt": before - bucket, "$lt": before}})):
                    size = len(document["points"])
                    keep = sum(1 for point in document["points"] if point[0] >= before)  # time order
                    if keep < size:  # unless a point came meanwhile (then the next run prunes it)
                        scores.update_one(
                            {"_id": document["_id"], "points": {"$size": size}},
                            {"$push": {"points": {"$each": [], "$slice": -keep}}},
                        )

    def delete(self, session_id: str) -> None:
        """Forget a camera's history."""
        for level in range(LEVELS):
            with self._db.access(self._collection(level)) as scores:
                scores.delete_many({"session_id": session_id})


def slot_maxima(points: list[Point], width: float) -> list[Point]:
    """What a level of `width`-second slots keeps of `points`: each slot's highest score at its own time,
    and every gap, in time order."""
    kept: dict[int, Point] = {}
    for point in points:
        slot = math.floor(point[0] / width)
        if point[1] is not None and (slot not in kept or point[1] > (kept[slot][1] or 0.0)):
            kept[slot] = point
    return sorted([*kept.values(), *(point for point in points if point[1] is None)], key=lambda p: p[0])


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
