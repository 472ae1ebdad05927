"""Review queries over the alerts of every camera: filtered pages, review marks, what retention removed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymongo
from pymongo import ReturnDocument

from servers.storage.database import Database
from servers.storage.repositories import LiveSessionRepository, _public


@dataclass(frozen=True)
class EventFilter:
    """What the review page asks for; None = any. Times are ISO 8601 UTC strings (`utc_now`'s format)."""

    kind: str | None = None  # "camera" or "upload"
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
            alerts.create_index([("start_time", pymongo.DESCENDING)])

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

    def newest(self, selection: EventFilter, limit: int) -> tuple[list[dict[str, Any]], int]:
        """The `limit` newest alerts matching `selection` and how many match in all."""
        selector = self._selector(selection)
        order = [("start_time", pymongo.DESCENDING)]
        with self._db.access(self.ALERTS) as alerts:
            if self._db.embedded:  # montydb decodes every document per query: one scan, not two
                documents = list(alerts.find(selector).sort(order))
                return [_public(document) for document in documents[:limit]], len(documents)  # type: ignore[misc]
            total = alerts.count_documents(selector)
            cursor = alerts.find(selector).sort(order).limit(limit)
            return [_public(document) for document in cursor], total  # type: ignore[misc]

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
