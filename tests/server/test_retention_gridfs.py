"""Retention with the files in GridFS (no shared disk): what it removes leaves GridFS, measured and dated by
GridFS itself, on MongoDB over the wire (SecantusDB, or $MONGODB_URI)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

from servers.files import FileStore
from servers.retention import GIGABYTE, apply_retention
from servers.storage import VideoRepository, connect_database
from servers.storage.blobs import GridStore
from servers.storage.repositories import new_id
from servers.storage.reviews import AlertReviews


def test_retention_removes_media_kept_only_in_gridfs(tmp_path: Path, mongodb_uri: str) -> None:
    """Media another node wrote (in GridFS, not on this server's disk): the aged video and, over the
    budget, the oldest alert leave GridFS; the rest and every video's cover stay."""
    name = f"test_{new_id()[:12]}"
    database = connect_database(mongodb_uri, name=name, storage_directory=tmp_path, max_connections=4)
    grid = database.client[name]
    files = FileStore(tmp_path / "storage", GridStore(grid))
    videos, alerts = VideoRepository(database), AlertReviews(database)
    written = tmp_path / "written"

    def put(key: str, size: int, hours_ago: float) -> None:
        written.write_bytes(b"x" * size)
        files.shared.put(key, written)
        date = datetime.fromtimestamp(time.time() - hours_ago * 3600, UTC).replace(tzinfo=None)
        grid["files.files"].update_one({"filename": key}, {"$set": {"uploadDate": date}})

    old, recent = new_id(), new_id()
    for video_id, hours in ((old, 48), (recent, 1)):
        videos.create(video_id=video_id, name=f"{hours}h.mp4", size=1)
        for name, size in (("result.mp4", 1000), ("source.mp4", 1000), ("cover.jpg", 100)):
            put(f"videos/{video_id}/{name}", size, hours)
    session_id, early, late = new_id(), new_id(), new_id()
    for alert_id, hours in ((early, 5), (late, 2)):
        with database.access("alerts") as collection:
            collection.insert_one(
                {"_id": alert_id, "session_id": session_id, "start_time": "2026-01-01T00:00:00Z"}
            )
        put(f"snapshots/{session_id}/{alert_id}.jpg", 500, hours)
        put(f"snapshots/{session_id}/{alert_id}.mp4", 500, hours)
    assert not any((files.root / "videos").iterdir()), "nothing on this server's disk"

    def stored() -> set[str]:
        return {entry["filename"] for entry in grid["files.files"].find()}

    assert apply_retention(files, videos, alerts, days=1, max_gigabytes=0) == 1  # older than a day
    assert videos.get(old)["removed"]["files"] == ["result", "source"]
    assert videos.get(recent)["removed"] is None
    assert stored() == {
        f"videos/{old}/cover.jpg",
        *(f"videos/{recent}/{name}" for name in ("result.mp4", "source.mp4", "cover.jpg")),
        *(f"snapshots/{session_id}/{alert}.{ext}" for alert in (early, late) for ext in ("jpg", "mp4")),
    }
    # 4200 bytes left; a 3500-byte budget removes the oldest media: the early alert's snapshot and clip
    assert apply_retention(files, videos, alerts, days=0, max_gigabytes=3500 / GIGABYTE) == 1
    assert alerts.get(early)["removed"]["files"] == ["clip", "snapshot"]
    assert alerts.get(late).get("removed") is None
    assert not any(name.startswith(f"snapshots/{session_id}/{early}") for name in stored())
    assert f"snapshots/{session_id}/{late}.mp4" in stored()
    database.drop()
    database.close()
