"""Repositories for code running on a Ray node: before the database says a file exists (a video done, an
alert with its snapshot, a calibrated profile), the file is published to the shared store, so whoever reads
the document finds the file from any node."""

from __future__ import annotations

from typing import Any

from servers.files import FileStore
from servers.storage import LiveSessionRepository, VideoRepository


class PublishingVideos:
    """A VideoRepository whose `update(status="done")` first publishes the video's result files."""

    def __init__(self, videos: VideoRepository, files: FileStore) -> None:
        self._videos = videos
        self._files = files

    def update(self, video_id: str, **fields: Any) -> dict[str, Any] | None:
        """Publish the files of a video becoming done, then update it."""
        if fields.get("status") == "done":
            files = self._files
            for path in (
                files.source_path(video_id),
                files.result_path(video_id),
                files.cover_path(video_id),
                files.scores_path(video_id),
            ):
                if path.is_file():
                    files.publish(path)
        return self._videos.update(video_id, **fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._videos, name)


class PublishingLiveSessions:
    """A LiveSessionRepository that publishes an alert's snapshot before the alert, and a calibrated scene
    profile before the session says it is calibrated."""

    def __init__(self, sessions: LiveSessionRepository, files: FileStore) -> None:
        self._sessions = sessions
        self._files = files

    def add_alert(self, *, alert_id: str, session_id: str, **fields: Any) -> dict[str, Any]:
        """Publish the snapshot, then insert the alert."""
        snapshot = self._files.snapshot_path(session_id, alert_id)
        if snapshot.is_file():
            self._files.publish(snapshot)
        return self._sessions.add_alert(alert_id=alert_id, session_id=session_id, **fields)

    def update(self, session_id: str, **fields: Any) -> dict[str, Any] | None:
        """Publish a newly calibrated profile, then update the session."""
        profile = fields.get("profile")
        path = self._files.profile_path(session_id)
        if isinstance(profile, dict) and profile.get("state") == "calibrated" and path.is_file():
            self._files.publish(path)
        return self._sessions.update(session_id, **fields)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sessions, name)
