"""Review events: camera alerts and the abnormal intervals of uploads, one timeline, newest first.

An event's id says where it lives: `alert-<alert id>`, or `video-<video id>-<interval index>`. An upload's
events take the upload's time (`created_at`) on the timeline; their clip is the result video seeked to the
interval (a media fragment `#t=start,end`).
"""

from __future__ import annotations

import re
from typing import Any

from servers.live_shared import alert_to_api
from servers.storage.repositories import VideoRepository, utc_now
from servers.storage.reviews import AlertReviews, EventFilter

EVENT_ID = re.compile(r"^(?:alert-([0-9a-f]{32})|video-([0-9a-f]{32})-(\d{1,6}))$")


def _review_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "reviewed": bool(item.get("reviewed")),
        "reviewed_at": item.get("reviewed_at"),
        "reviewed_by": item.get("reviewed_by"),
        "removed": item.get("removed"),
    }


def alert_event(alert: dict[str, Any], camera_name: str | None) -> dict[str, Any]:
    """The event of a camera alert."""
    api = alert_to_api(alert)
    removed = alert.get("removed")
    return {
        "id": f"alert-{alert['id']}",
        "kind": "camera",
        "source_id": alert["session_id"],
        "source_name": camera_name,
        "time": alert["start_time"],
        "end_time": alert.get("end_time"),
        "start": None,
        "end": None,
        "peak_score": alert.get("peak_score"),
        "category": alert.get("category"),
        "causes": alert.get("causes") or [],
        "image_url": None if removed else api.get("snapshot_url"),
        "clip_url": None if removed else api.get("clip_url"),
        **_review_fields(alert),
    }


def interval_event(video: dict[str, Any], index: int, interval: dict[str, Any]) -> dict[str, Any]:
    """The event of an upload's abnormal interval number `index`."""
    base = f"/api/videos/{video['id']}"
    removed = video.get("removed")
    return {
        "id": f"video-{video['id']}-{index}",
        "kind": "upload",
        "source_id": video["id"],
        "source_name": video["name"],
        "time": video["created_at"],
        "end_time": None,
        "start": interval["start_time"],
        "end": interval["end_time"],
        "peak_score": interval.get("peak_score"),
        "category": interval.get("category"),
        "causes": interval.get("causes") or [],
        "image_url": f"{base}/cover",
        "clip_url": None
        if removed
        else f"{base}/result#t={interval['start_time']:.2f},{interval['end_time']:.2f}",
        **_review_fields({**interval, "removed": removed}),
    }


def interval_events(video: dict[str, Any]) -> list[dict[str, Any]]:
    """The events of an upload's abnormal intervals."""
    return [
        interval_event(video, index, interval) for index, interval in enumerate(video.get("intervals") or [])
    ]


def _matches(event: dict[str, Any], selection: EventFilter) -> bool:
    score = event["peak_score"] if event["peak_score"] is not None else 0.0
    return (
        (selection.since is None or event["time"] >= selection.since)
        and (selection.until is None or event["time"] < selection.until)
        and (selection.min_score is None or score >= selection.min_score)
        and (selection.reviewed is None or event["reviewed"] == selection.reviewed)
    )


class EventLog:
    """Pages of review events and review marks, over the alerts and the videos."""

    def __init__(self, alerts: AlertReviews, videos: VideoRepository) -> None:
        self._alerts = alerts
        self._videos = videos

    def _upload_events(self, selection: EventFilter) -> list[dict[str, Any]]:
        events = [
            event
            for video in self._videos.with_intervals(selection.video)
            for event in interval_events(video)
            if _matches(event, selection)
        ]
        # the review order (REVIEW_ORDER): time, video id, then (stable sorts) a video's intervals in order
        events.sort(key=lambda event: event["source_id"])
        events.sort(key=lambda event: event["time"], reverse=True)
        return events

    def page(self, selection: EventFilter, page: int, page_size: int) -> tuple[list[dict[str, Any]], int]:
        """One page of the events matching `selection`, newest first, and how many match (sorted and paged
        by MongoDB; the embedded engine, which has no aggregation, scans in this process)."""
        alerts = selection.kind != "upload" and not selection.video
        uploads = selection.kind != "camera" and not selection.camera
        start = (page - 1) * page_size
        if self._alerts.embedded:
            events, total = self._scanned(selection, alerts=alerts, uploads=uploads, limit=page * page_size)
            return events[start : start + page_size], total
        rows, total = self._alerts.review_page(
            selection, alerts=alerts, uploads=uploads, skip=start, limit=page_size
        )
        names = self._alerts.session_names(
            {row["item"]["session_id"] for row in rows if row["kind"] == "camera"}
        )
        events = [
            alert_event(row["item"], names.get(row["item"]["session_id"]))
            if row["kind"] == "camera"
            else interval_event(row["item"], row["index"], row["interval"])
            for row in rows
        ]
        return events, total

    def _scanned(
        self, selection: EventFilter, *, alerts: bool, uploads: bool, limit: int
    ) -> tuple[list[dict[str, Any]], int]:
        """The events up to the `limit`th, sorted here, and how many match."""
        intervals = self._upload_events(selection) if uploads else []
        found: list[dict[str, Any]] = []
        alert_total = 0
        if alerts:
            found, alert_total = self._alerts.newest(selection, limit)
        names = self._alerts.session_names({alert["session_id"] for alert in found})
        merged = [alert_event(alert, names.get(alert["session_id"])) for alert in found] + intervals
        merged.sort(key=lambda event: event["time"], reverse=True)  # stable: at one time, alerts first
        return merged, alert_total + len(intervals)

    def get(self, event_id: str) -> dict[str, Any] | None:
        """One event by id, or None (a malformed id included)."""
        match = EVENT_ID.fullmatch(event_id)
        if match is None:
            return None
        alert_id, video_id, index = match.groups()
        if alert_id:
            alert = self._alerts.get(alert_id)
            if alert is None:
                return None
            names = self._alerts.session_names({alert["session_id"]})
            return alert_event(alert, names.get(alert["session_id"]))
        videos = self._videos.with_intervals(video_id)
        events = interval_events(videos[0]) if videos else []
        return events[int(index)] if int(index) < len(events) else None

    def mark(self, event_id: str, *, reviewed: bool, by: str) -> dict[str, Any] | None:
        """Mark an event reviewed (by whom, when) or not; the updated event, or None when there is none."""
        event = self.get(event_id)
        if event is None:
            return None
        fields = {"reviewed": reviewed, "reviewed_at": utc_now() if reviewed else None}
        fields["reviewed_by"] = by if reviewed else None
        match = EVENT_ID.fullmatch(event_id)
        assert match is not None
        alert_id, video_id, index = match.groups()
        if alert_id:
            self._alerts.update(alert_id, **fields)
        else:
            video = self._videos.get(video_id)
            if video is None or int(index) >= len(video.get("intervals") or []):
                return None
            # only this interval's fields: a mark made at the same time on another interval is kept
            self._videos.update(
                video_id, **{f"intervals.{index}.{key}": value for key, value in fields.items()}
            )
        return self.get(event_id)
