"""The review order and paging of `EventLog.page` (GET /api/events) on both engines: MongoDB sorts and pages
in the database (one aggregation over alerts and upload intervals), the embedded engine scans; both give
the same pages, totals and events for every filter."""

from __future__ import annotations

import pytest

from servers.events import EventLog
from servers.storage import Database, VideoRepository
from servers.storage.reviews import AlertReviews, EventFilter

GATE, YARD = "a" * 32, "b" * 32
R1, R2, R3, R4 = "1" * 32, "2" * 32, "3" * 32, "4" * 32


def at(second: int) -> str:
    return f"2026-01-01T00:00:{second:02d}.000000Z"


def alert(number: int, camera: str, second: int, score: float, reviewed: bool | None = None) -> dict:
    document = {"_id": f"{number:032d}", "session_id": camera, "start_time": at(second), "end_time": None}
    document |= {"peak_score": score, "category": None, "causes": []}
    return document | ({} if reviewed is None else {"reviewed": reviewed})


def interval(start: float, score: float | None, reviewed: bool | None = None) -> dict:
    found = {"start_frame": 0, "end_frame": 9, "start_time": start, "end_time": start + 1}
    return found | {"peak_score": score} | ({} if reviewed is None else {"reviewed": reviewed})


def video(video_id: str, second: int, status: str, intervals: list[dict]) -> dict:
    return {"_id": video_id, "name": f"{video_id[0]}.mp4", "created_at": at(second), "status": status,
            "intervals": intervals}  # fmt: skip


def event_log(database: Database, alerts: list[dict], videos: list[dict]) -> EventLog:
    """An EventLog over these alerts (of the cameras GATE and YARD) and videos, inserted in this order."""
    with database.access(AlertReviews.SESSIONS) as sessions:
        sessions.insert_many([{"_id": GATE, "name": "gate"}, {"_id": YARD, "name": "yard"}])
    with database.access(AlertReviews.ALERTS) as collection:
        collection.insert_many(alerts)
    with database.access(VideoRepository.COLLECTION) as collection:
        collection.insert_many(videos)
    reviews, repository = AlertReviews(database), VideoRepository(database)
    reviews.ensure_indexes()
    repository.ensure_indexes()
    return EventLog(reviews, repository)


@pytest.fixture
def log(database: Database) -> EventLog:
    alerts = [alert(1, GATE, 5, 0.9, True), alert(2, YARD, 3, 0.4), alert(3, GATE, 1, 0.7, False)]
    alerts.append(alert(4, GATE, 4, 0.2))
    videos = [
        video(R1, 4, "done", [interval(1.0, 0.8), interval(3.0, None, True)]),  # the time of alert 4
        video(R2, 2, "done", [interval(0.5, 0.5)]),
        video(R3, 6, "failed", [interval(0.0, 0.9)]),
        video(R4, 7, "done", []),
    ]
    return event_log(database, alerts, videos)


A1, A2, A3, A4 = (f"alert-{n:032d}" for n in (1, 2, 3, 4))
R1_0, R1_1, R2_0 = f"video-{R1}-0", f"video-{R1}-1", f"video-{R2}-0"
ORDER = [A1, A4, R1_0, R1_1, A2, R2_0, A3]  # newest first; at one time, alerts first


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        (EventFilter(), ORDER),
        (EventFilter(camera=GATE), [A1, A4, A3]),
        (EventFilter(kind="camera"), [A1, A4, A2, A3]),
        (EventFilter(kind="upload"), [R1_0, R1_1, R2_0]),
        (EventFilter(video=R1), [R1_0, R1_1]),
        (EventFilter(min_score=0.5), [A1, R1_0, R2_0, A3]),
        (EventFilter(min_score=0.0), [A1, A4, R1_0, R1_1, A2, R2_0, A3]),
        (EventFilter(reviewed=True), [A1, R1_1]),
        (EventFilter(reviewed=False), [A4, R1_0, A2, R2_0, A3]),
        (EventFilter(since=at(2), until=at(5)), [A4, R1_0, R1_1, A2, R2_0]),
        (EventFilter(kind="upload", since=at(3)), [R1_0, R1_1]),
        (EventFilter(kind="upload", camera=GATE), []),  # neither side: no alerts, no uploads
        (EventFilter(kind="camera", video=R1), []),
    ],
)
def test_pages_in_the_review_order(log: EventLog, selection: EventFilter, expected: list[str]) -> None:
    for page_size in (2, 3, 100):
        pages = [log.page(selection, page, page_size) for page in range(1, len(ORDER) // page_size + 3)]
        assert all(total == len(expected) for _, total in pages)
        assert [event["id"] for events, _ in pages for event in events] == expected, page_size


def test_a_page_holds_the_same_events_as_one_by_one(log: EventLog) -> None:
    events, _ = log.page(EventFilter(), 1, 100)
    assert events == [log.get(event["id"]) for event in events]
    first = events[0]
    assert first["source_name"] == "gate" and first["reviewed"] is True and first["kind"] == "camera"
    upload = next(event for event in events if event["id"] == R1_1)
    assert upload["source_name"] == "1.mp4" and upload["time"] == at(4) and upload["peak_score"] is None
    assert upload["clip_url"] == f"/api/videos/{R1}/result#t=3.00,4.00" and upload["reviewed"] is True


def test_events_at_one_time_page_each_once_by_id(database: Database) -> None:
    """Alerts and uploads sharing a time, inserted out of id order: every page size walks them all once, in
    the one order (time, alerts first, id, interval)."""
    alerts = [alert(number, GATE, 9, 0.5) for number in (7, 5, 9, 6, 8)] + [alert(4, YARD, 8, 0.5)]
    videos = [
        video(R3, 9, "done", [interval(0.0, 0.5), interval(2.0, 0.5)]),
        video(R1, 9, "done", [interval(5.0, 0.5)]),
        video(R2, 9, "done", [interval(1.0, 0.5)]),
        video(R4, 8, "done", [interval(0.0, 0.5)]),
    ]
    log = event_log(database, alerts, videos)
    tied = [f"alert-{number:032d}" for number in (5, 6, 7, 8, 9)]
    uploads = [f"video-{R1}-0", f"video-{R2}-0", f"video-{R3}-0", f"video-{R3}-1"]
    expected = [*tied, *uploads, f"alert-{4:032d}", f"video-{R4}-0"]
    for size in (1, 2, 3, 4):
        pages = [log.page(EventFilter(), page, size) for page in range(1, 2 + len(expected) // size)]
        assert all(total == len(expected) for _, total in pages)
        assert [event["id"] for events, _ in pages for event in events] == expected, size
