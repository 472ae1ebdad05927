"""Repositories: the only code that talks to the collections, the same for MongoDB and montydb."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo import ReturnDocument

from servers.storage.database import Database
from servers.storage.video_cache import VideoCache

ID_PATTERN = re.compile(r"^[0-9a-f]{32}$")
STATUSES = ("queued", "processing", "done", "failed")  # a video's `status`
ACTIVE_STATUSES = ("queued", "processing")  # a job waits or runs: its video is leased by an API server


def new_id() -> str:
    """A fresh document id (32 lowercase hex digits); also names the document's files."""
    return uuid.uuid4().hex


def utc_now() -> str:
    """Now as an ISO 8601 UTC string (sorts like the time it names)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def is_valid_id(value: str) -> bool:
    """Whether `value` has the shape of an id made by new_id()."""
    return bool(ID_PATTERN.fullmatch(value))


def _public(document: dict[str, Any] | None) -> dict[str, Any] | None:
    if document is None:
        return None
    document = dict(document)
    document["id"] = document.pop("_id")
    return document


def _page(
    collection: Any, selector: dict[str, Any], sort: list[tuple[str, int]], page: int, page_size: int
) -> tuple[list[dict[str, Any]], int]:
    """One page of the documents matching `selector` in `sort` order (ties by id, so pages never repeat or
    skip a document), and how many match."""
    total = collection.count_documents(selector)
    order = [*sort, ("_id", pymongo.ASCENDING)]
    cursor = collection.find(selector).sort(order).skip((page - 1) * page_size).limit(page_size)
    return [_public(document) for document in cursor], total  # type: ignore[misc]


class VideoRepository:
    """Offline video results (`videos`)."""

    COLLECTION = "videos"

    def __init__(self, database: Database) -> None:
        self._db = database
        self._cache = VideoCache() if database.embedded else None

    def ensure_indexes(self) -> None:
        """Indexes for the list queries (a no-op on the embedded engine)."""
        self._db.ensure_collection(self.COLLECTION)
        with self._db.access(self.COLLECTION) as videos:
            videos.create_index([("created_at", pymongo.DESCENDING)])
            # the review page's order of done uploads (servers/storage/reviews.py) and the status filter's
            order = [("created_at", pymongo.DESCENDING), ("_id", pymongo.ASCENDING)]
            videos.create_index([("status", pymongo.ASCENDING), *order])

    @staticmethod
    def new_document(
        *,
        video_id: str,
        name: str,
        size: int,
        profile: str | None = None,
        original: dict[str, Any] | None = None,
        owner: str | None = None,
        lease_until: float | None = None,
    ) -> dict[str, Any]:
        """The stored document of a new queued video (`profile`: the scene profile id to score it with;
        `original`: the uploaded file's width, height and fps, before the server stores it; `owner` and
        `lease_until`: the API server that runs its job and until when its claim holds, see `claim`)."""
        now = utc_now()
        return {
            "_id": video_id,
            "name": name,
            "size": size,
            "status": "queued",
            "progress": 0.0,
            "created_at": now,
            "updated_at": now,
            "fps": None,
            "frames": None,
            "duration": None,
            "width": None,
            "height": None,
            "peak_score": None,
            "threshold": None,
            "intervals": [],
            "error": None,
            "profile": profile,
            "original": original,
            "removed": None,
            "owner": owner,
            "lease_until": lease_until,
        }

    def create(self, **fields: Any) -> dict[str, Any]:
        """Insert a queued video (the keyword arguments of `new_document`) and return it."""
        document = self.new_document(**fields)
        with self._db.access(self.COLLECTION) as videos:
            videos.insert_one(dict(document))
            if self._cache is not None:
                self._cache.put(document, moved=True)
        return _public(document)  # type: ignore[return-value]

    def _documents(self) -> dict[str, dict[str, Any]]:
        """Every document by id (embedded engine only; loaded by one scan, then kept by the writes)."""
        cache = self._cache
        assert cache is not None
        with cache.fill:
            if cache.documents is None:
                with self._db.access(self.COLLECTION) as videos:
                    cache.documents = {document["_id"]: document for document in videos.find({})}
            return cache.documents

    def get(self, video_id: str) -> dict[str, Any] | None:
        """One video or None."""
        if self._cache is not None:
            return _public(self._documents().get(video_id))
        with self._db.access(self.COLLECTION) as videos:
            return _public(videos.find_one({"_id": video_id}))

    @staticmethod
    def _selector(status: str | None, query: str | None) -> dict[str, Any]:
        selector: dict[str, Any] = {}
        if status:
            selector["status"] = status
        if query:
            selector["name"] = {"$regex": re.escape(query), "$options": "i"}
        return selector

    def list(
        self, *, status: str | None, query: str | None, page: int, page_size: int
    ) -> tuple[list[dict[str, Any]], int]:
        """A page of videos, newest first, and the total matching the filter."""
        skip = (page - 1) * page_size
        if self._cache is not None:
            ids = self._filter_ids(status, query)
            documents = self._documents()
            items = [_public(documents.get(video_id)) for video_id in ids[skip : skip + page_size]]
            return [item for item in items if item is not None], len(ids)
        with self._db.access(self.COLLECTION) as videos:
            return _page(
                videos, self._selector(status, query), [("created_at", pymongo.DESCENDING)], page, page_size
            )

    def _filter_ids(self, status: str | None, query: str | None) -> list[str]:
        """Ids matching the list filter, newest first, from the cached documents (same semantics as the
        MongoDB query: status equality, case-insensitive literal substring of the name)."""
        cache = self._cache
        assert cache is not None
        key = (status, query)
        documents = self._documents()
        with cache.lock:
            ids = cache.filters.get(key)
            if ids is not None:
                cache.filters.move_to_end(key)
                return ids
            generation = cache.generation
            snapshot = list(documents.values())
        needle = query.lower() if query else None
        matched = [
            document
            for document in snapshot
            if (not status or document["status"] == status)
            and (needle is None or needle in document["name"].lower())
        ]
        matched.sort(key=lambda document: document["_id"])  # ties by id, as `_page` orders them
        matched.sort(key=lambda document: document["created_at"], reverse=True)
        ids = [document["_id"] for document in matched]
        with cache.lock:
            if cache.generation == generation:
                cache.filters[key] = ids
                while len(cache.filters) > cache.FILTERS:
                    cache.filters.popitem(last=False)
        return ids

    def update(self, video_id: str, **fields: Any) -> dict[str, Any] | None:
        """Set fields (and `updated_at`); the updated video, or None when it no longer exists."""
        fields["updated_at"] = utc_now()
        with self._db.access(self.COLLECTION) as videos:
            document = videos.find_one_and_update(
                {"_id": video_id}, {"$set": fields}, return_document=ReturnDocument.AFTER
            )
            if self._cache is not None and document is not None:
                self._cache.put(document, moved="status" in fields or "name" in fields)
        return _public(document)

    def claim(
        self, owner: str, until: float, *, expired_before: float, running: Collection[str] | None = None
    ) -> dict[str, Any] | None:
        """Atomically take the oldest queued or processing video of another owner whose job lease ended
        before `expired_before` (or that has none) for `owner` until `until` (epoch seconds); None when none
        is left. With `running` (the jobs `owner` runs), `owner`'s own ended videos not among them are
        taken too (their job was lost). Two servers never take the same video: the lease is checked and set
        in one update."""
        mine = {"owner": {"$ne": owner}} if running is None else {"_id": {"$nin": list(running)}}
        with self._db.access(self.COLLECTION) as videos:
            document = videos.find_one_and_update(
                {
                    "status": {"$in": list(ACTIVE_STATUSES)},
                    **mine,
                    "$or": [{"lease_until": None}, {"lease_until": {"$lt": expired_before}}],
                },
                {"$set": {"owner": owner, "lease_until": until, "updated_at": utc_now()}},
                sort=[("created_at", pymongo.ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )
            if self._cache is not None and document is not None:
                self._cache.put(document, moved=False)
        return _public(document)

    def renew(self, owner: str, until: float, ids: Collection[str]) -> int:
        """Extend the job leases of `owner`'s queued and processing videos among `ids` (the jobs it runs)
        to `until`; how many."""
        selector = {"owner": owner, "_id": {"$in": list(ids)}, "status": {"$in": list(ACTIVE_STATUSES)}}
        return self._set_leases(selector, until)

    def release(self, owner: str, *, keep: Collection[str]) -> int:
        """Give up at once the job leases of `owner`'s queued and processing videos but those in `keep`
        (jobs still running); how many."""
        selector = {"owner": owner, "_id": {"$nin": list(keep)}, "status": {"$in": list(ACTIVE_STATUSES)}}
        return self._set_leases(selector, 0.0)

    def _set_leases(self, selector: dict[str, Any], until: float) -> int:
        with self._db.access(self.COLLECTION) as videos:
            changed = videos.update_many(selector, {"$set": {"lease_until": until}}).modified_count
            if self._cache is not None:
                for document in videos.find(selector):
                    self._cache.put(document, moved=False)
        return changed

    def with_intervals(self, video_id: str | None = None) -> list[dict[str, Any]]:
        """Every done video (or just `video_id`) that has abnormal intervals (the review page's events)."""
        if self._cache is not None:
            documents = [self._documents().get(video_id)] if video_id else list(self._documents().values())
            found = [d for d in documents if d and d["status"] == "done" and d.get("intervals")]
        else:
            selector: dict[str, Any] = {"status": "done", "intervals.0": {"$exists": True}}
            if video_id:
                selector["_id"] = video_id
            with self._db.access(self.COLLECTION) as videos:
                found = list(videos.find(selector))
        return [_public(document) for document in found]  # type: ignore[misc]

    def delete(self, video_id: str) -> bool:
        """Delete a video; whether it existed."""
        with self._db.access(self.COLLECTION) as videos:
            deleted = videos.delete_one({"_id": video_id}).deleted_count == 1
            if self._cache is not None:
                self._cache.drop(video_id)
        return deleted


class LiveSessionRepository:
    """Live sessions: the cameras watched (`sessions`, as in `/api/sessions`) and their alerts (`alerts`)."""

    SESSIONS = "sessions"
    ALERTS = "alerts"

    def __init__(self, database: Database) -> None:
        self._db = database

    def ensure_indexes(self) -> None:
        """Indexes for the list queries (a no-op on the embedded engine)."""
        self._db.ensure_collection(self.SESSIONS)
        self._db.ensure_collection(self.ALERTS)
        with self._db.access(self.SESSIONS) as sessions:
            sessions.create_index([("created_at", pymongo.DESCENDING)])
        with self._db.access(self.ALERTS) as alerts:
            alerts.create_index([("session_id", pymongo.ASCENDING), ("start_time", pymongo.DESCENDING)])

    def create(self, *, session_id: str, name: str, source: str, notify: bool = True) -> dict[str, Any]:
        """Insert a starting session and return it (`notify`: whether its alerts are sent out)."""
        document = {
            "_id": session_id,
            "name": name,
            "source": source,
            "state": "starting",
            "created_at": utc_now(),
            "started_at": None,
            "stopped_at": None,
            "alerts_count": 0,
            "current_score": None,
            "error": None,
            "profile": {"state": "uncalibrated"},
            "notify": notify,
        }
        with self._db.access(self.SESSIONS) as sessions:
            sessions.insert_one(document)
        return _public(document)  # type: ignore[return-value]

    def get(self, session_id: str) -> dict[str, Any] | None:
        """One session or None."""
        with self._db.access(self.SESSIONS) as sessions:
            return _public(sessions.find_one({"_id": session_id}))

    def list(self, *, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
        """A page of sessions, newest first, and the total."""
        with self._db.access(self.SESSIONS) as sessions:
            return _page(sessions, {}, [("created_at", pymongo.DESCENDING)], page, page_size)

    def update(self, session_id: str, **fields: Any) -> dict[str, Any] | None:
        """Set fields; the updated session or None."""
        with self._db.access(self.SESSIONS) as sessions:
            return _public(
                sessions.find_one_and_update(
                    {"_id": session_id}, {"$set": fields}, return_document=ReturnDocument.AFTER
                )
            )

    def with_states(self, states: list[str]) -> list[dict[str, Any]]:
        """Every session in one of `states` (restart recovery)."""
        with self._db.access(self.SESSIONS) as sessions:
            return [_public(document) for document in sessions.find({"state": {"$in": states}})]  # type: ignore[misc]

    def delete(self, session_id: str) -> bool:
        """Delete a session and its alerts; whether it existed."""
        with self._db.access(self.ALERTS) as alerts:
            alerts.delete_many({"session_id": session_id})
        with self._db.access(self.SESSIONS) as sessions:
            return sessions.delete_one({"_id": session_id}).deleted_count == 1

    def add_alert(
        self,
        *,
        alert_id: str,
        session_id: str,
        start_time: str,
        peak_score: float,
        category: str | None,
        category_probability: float | None = None,
        causes: list[dict[str, Any]] | None = None,
        clip: bool = False,
    ) -> dict[str, Any]:
        """Insert an open alert and count it on its session; `causes` say what drove it, `clip` whether an
        event clip is recorded."""
        document = {
            "_id": alert_id,
            "session_id": session_id,
            "start_time": start_time,
            "end_time": None,
            "peak_score": peak_score,
            "category": category,
            "category_probability": category_probability,
            "causes": causes or [],
            "clip": clip,
            "interrupted": False,
        }
        with self._db.access(self.ALERTS) as alerts:
            alerts.insert_one(document)
        with self._db.access(self.SESSIONS) as sessions:
            sessions.update_one({"_id": session_id}, {"$inc": {"alerts_count": 1}})
        return _public(document)  # type: ignore[return-value]

    def close_alert(
        self, alert_id: str, *, end_time: str, peak_score: float, interrupted: bool = False
    ) -> dict[str, Any] | None:
        """Set the end of an alert (`interrupted`: its camera went offline or restarted) and raise its peak
        to `peak_score`; the updated alert or None."""
        fields = {"end_time": end_time, "interrupted": interrupted}
        with self._db.access(self.ALERTS) as alerts:
            return _public(
                alerts.find_one_and_update(
                    {"_id": alert_id},
                    {"$set": fields, "$max": {"peak_score": peak_score}},
                    return_document=ReturnDocument.AFTER,
                )
            )

    def get_alert(self, session_id: str, alert_id: str) -> dict[str, Any] | None:
        """One alert of a session or None."""
        with self._db.access(self.ALERTS) as alerts:
            return _public(alerts.find_one({"_id": alert_id, "session_id": session_id}))

    def alerts(self, session_id: str, *, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
        """A page of a session's alerts, newest first, and their total."""
        with self._db.access(self.ALERTS) as alerts:
            return _page(
                alerts, {"session_id": session_id}, [("start_time", pymongo.DESCENDING)], page, page_size
            )
