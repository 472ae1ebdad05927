"""Review queries over the alerts of every camera: filtered pages, review marks, what retention removed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymongo
from pymongo import ReturnDocument

from servers.storage.database import Database
from servers.storage.repositories import LiveSessionRepository, VideoRepository, _public

KINDS = ("camera", "upload")  # a review event: a camera's alert, an upload's abnormal interval

# The review order, a total one (pages neither repeat nor skip): newest first; at one time, camera alerts
# before upload intervals, each by id (an alert's, an upload's), an upload's intervals in order.
REVIEW_ORDER = {"time": -1, "kind": 1, "_id": 1, "index": 1}
ALERT_ORDER = [("start_time", pymongo.DESCENDING), ("_id", pymongo.ASCENDING)]  # of the alerts


@dataclass(frozen=True)
class EventFilter:
    """What the review page asks for; None = any. Times are ISO 8601 UTC strings (`utc_now`'s format)."""

    kind: str | None = None  # one of KINDS
    camera: str | None = None  # a session id
    video: str | None = None  # a video id
    since: str | None = None  # inclusive
    until: str | None = None  # exclusive
    min_score: float | None = None
    reviewed: bool | None = None


class AlertReviews:
    """The `alerts` collection as the review page sees it (the live path writes it through
    LiveSessionRepository)."""

    ALERTS = LiveSessionRepository.ALERTS
    SESSIONS = LiveSessionRepository.SESSIONS

    def __init__(self, database: Database) -> None:
        self._db = database

    def ensure_indexes(self) -> None:
        """The index of the review order (a no-op on the embedded engine)."""
        self._db.ensure_collection(self.ALERTS)
        with self._db.access(self.ALERTS) as alerts:
            alerts.create_index(ALERT_ORDER)

    @staticmethod
    def _selector(selection: EventFilter) -> dict[str, Any]:
        selector: dict[str, Any] = {}
        if selection.camera:
            selector["session_id"] = selection.camera
        times = {}
        if selection.since:
            times["$gte"] = selection.since
        if selection.until:
            times["$lt"] = selection.until
        if times:
            selector["start_time"] = times
        if selection.min_score is not None:
            selector["peak_score"] = {"$gte": selection.min_score}
        if selection.reviewed is True:
            selector["reviewed"] = True
        elif selection.reviewed is False:
            selector["reviewed"] = {"$ne": True}  # alerts from before reviews have no field
        return selector

    @property
    def embedded(self) -> bool:
        """Whether the database is the embedded engine (no aggregation: the review page scans)."""
        return self._db.embedded

    def newest(self, selection: EventFilter, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The `limit` newest alerts matching `selection` and how many match in all, in one scan (the
        embedded engine decodes every document per query anyway)."""
        with self._db.access(self.ALERTS) as alerts:
            documents = list(alerts.find(self._selector(selection)).sort(ALERT_ORDER))
        return [_public(document) for document in documents[:limit]], len(documents)  # type: ignore[misc]

    def _alert_rows(self, selection: EventFilter) -> list[dict[str, Any]]:
        """The pipeline of the alerts matching `selection` in the review order, as rows
        `{time, kind: "camera", alert}` (`item` once read)."""
        return [
            {"$match": self._selector(selection)},
            {"$sort": dict(ALERT_ORDER)},
            {
                "$project": {
                    "time": "$start_time",
                    "kind": {"$literal": "camera"},
                    "alert": "$$ROOT",
                }
            },
        ]

    @staticmethod
    def _uploads(selection: EventFilter) -> dict[str, Any]:
        """The selector of the done uploads with abnormal intervals that `selection` may take events of."""
        videos: dict[str, Any] = {"status": "done", "intervals.0": {"$exists": True}}
        if selection.video:
            videos["_id"] = selection.video
        times = {"$gte": selection.since, "$lt": selection.until}
        if selection.since or selection.until:
            videos["created_at"] = {key: value for key, value in times.items() if value is not None}
        return videos

    @staticmethod
    def _interval_matches(selection: EventFilter, interval: str) -> dict[str, Any]:
        """An aggregation expression: whether the interval at `interval` (`$$i`, `$interval`) matches
        `selection` (a missing score counts as 0, a missing mark as not reviewed)."""
        tests: list[dict[str, Any]] = []
        if selection.min_score:
            tests.append({"$gte": [{"$ifNull": [f"{interval}.peak_score", 0]}, selection.min_score]})
        if selection.reviewed is not None:
            reviewed = {"$eq": [{"$ifNull": [f"{interval}.reviewed", False]}, True]}
            tests.append(reviewed if selection.reviewed else {"$not": [reviewed]})
        return {"$and": tests} if tests else {"$literal": True}

    def _interval_rows(self, selection: EventFilter) -> list[dict[str, Any]]:
        """The pipeline of the abnormal intervals of done uploads matching `selection` in the review order,
        as rows `{time (the upload's), kind: "upload", index, video, interval}` (`item` once read)."""
        return [
            {"$match": self._uploads(selection)},
            {"$sort": {"created_at": pymongo.DESCENDING, "_id": pymongo.ASCENDING}},
            {"$unwind": {"path": "$intervals", "includeArrayIndex": "index"}},
            {
                "$project": {
                    "time": "$created_at",
                    "kind": {"$literal": "upload"},
                    "index": 1,
                    "interval": "$intervals",
                    "video": {
                        "_id": "$_id",
                        "name": "$name",
                        "created_at": "$created_at",
                        "removed": "$removed",
                    },
                }
            },
            {"$match": {"$expr": self._interval_matches(selection, "$interval")}},
        ]

    def _interval_count(self, selection: EventFilter) -> int:
        """How many upload intervals match `selection`, counted by the database."""
        matching = {
            "$filter": {"input": "$intervals", "as": "i", "cond": self._interval_matches(selection, "$$i")}
        }
        pipeline = [
            {"$match": self._uploads(selection)},
            {"$group": {"_id": None, "n": {"$sum": {"$size": matching}}}},
        ]
        with self._db.access(VideoRepository.COLLECTION) as collection:
            counted = list(collection.aggregate(pipeline))
        return counted[0]["n"] if counted else 0

    def review_page(
        self, selection: EventFilter, *, alerts: bool, uploads: bool, skip: int, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Rows `skip` to `skip + limit` of the review order of the matching alerts and/or upload intervals
        (`item`: the alert or the uploaded video), and how many match, sorted and paged in the database
        (MongoDB: each side's first `skip + limit` in the review order, then the merge); none when neither
        side is asked for."""
        if not (alerts or uploads):
            return [], 0
        first = [{"$limit": skip + limit}]
        tail = [{"$sort": REVIEW_ORDER}, {"$skip": skip}, {"$limit": limit}]
        total = 0
        if alerts:
            with self._db.access(self.ALERTS) as collection:
                total += collection.count_documents(self._selector(selection))
        if uploads:
            total += self._interval_count(selection)
        if alerts:
            pipeline = [*self._alert_rows(selection), *first]
            if uploads:
                rows = [*self._interval_rows(selection), *first]
                pipeline.append({"$unionWith": {"coll": VideoRepository.COLLECTION, "pipeline": rows}})
            name = self.ALERTS
        else:
            pipeline, name = [*self._interval_rows(selection), *first], VideoRepository.COLLECTION
        with self._db.access(name) as collection:
            rows = list(collection.aggregate([*pipeline, *tail]))
        for row in rows:
            row["item"] = _public(row.pop("alert" if row["kind"] == "camera" else "video"))
        return rows, total

    def get(self, alert_id: str) -> dict[str, Any] | None:
        """One alert or None."""
        with self._db.access(self.ALERTS) as alerts:
            return _public(alerts.find_one({"_id": alert_id}))

    def update(self, alert_id: str, **fields: Any) -> dict[str, Any] | None:
        """Set fields of an alert (review marks, `removed`); the updated alert or None."""
        with self._db.access(self.ALERTS) as alerts:
            return _public(
                alerts.find_one_and_update(
                    {"_id": alert_id}, {"$set": fields}, return_document=ReturnDocument.AFTER
                )
            )

    def session_names(self, session_ids: set[str]) -> dict[str, str]:
        """The names of these sessions by id (deleted ones are missing)."""
        if not session_ids:
            return {}
        with self._db.access(self.SESSIONS) as sessions:
            found = sessions.find({"_id": {"$in": sorted(session_ids)}})
            return {document["_id"]: document["name"] for document in found}
