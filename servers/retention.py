"""Retention: result videos, event clips and snapshots older than `retention-days`, or the oldest of them
while the stored media exceed `retention-max-size` gigabytes, go to the trash (the delayed removal task
deletes them); their video or alert says what was removed, when and why (`removed`). Score history older
than `retention-days` is deleted."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from servers.files import FileStore
from servers.storage.blobs import StoredEntry
from servers.storage.repositories import VideoRepository, utc_now
from servers.storage.reviews import AlertReviews
from servers.storage.scores import ScoreRepository

log = logging.getLogger("servers.retention")
GIGABYTE = 1024**3
MEDIA = ("result.mp4", "source.mp4")  # what retention removes of a video


@dataclass
class _Media:
    """What retention may remove of one video (its result and stored source) or one alert (its snapshot,
    and its clip when stored beside it: every `<alert id>.*` in the session's snapshot folder)."""

    kind: str  # "video" or "alert"
    owner: str  # video id, or alert id
    paths: list[Path]
    mtime: float
    size: int


def _label(path: Path) -> str:
    """What a removed file was: `result` or `source` of a video, `snapshot` or `clip` of an alert."""
    if path.parent.parent.name == "videos":
        return path.stem
    return {".jpg": "snapshot", ".mp4": "clip"}.get(path.suffix, path.suffix.lstrip("."))


def _collect(files: FileStore) -> tuple[list[_Media], int]:
    """The removable media, oldest first, and the bytes every stored video and snapshot file takes: the
    files on this server's disk and in the shared store (GridFS, where other servers and nodes write)."""
    videos: dict[str, dict[str, StoredEntry]] = {}
    alerts: dict[str, list[StoredEntry]] = {}
    used = 0
    for folder in ("videos", "snapshots"):
        for entry in files.stored(folder):
            used += entry.size
            parts = entry.key.split("/")
            if len(parts) != 3:
                continue
            if folder == "videos":
                videos.setdefault(parts[1], {})[parts[2]] = entry
            else:
                alerts.setdefault(f"{parts[1]}/{parts[2].split('.', 1)[0]}", []).append(entry)
    media = [
        _media(files, "video", video_id, [stored[name] for name in MEDIA if name in stored])
        for video_id, stored in videos.items()
        if "result.mp4" in stored  # only a finished video has its result
    ]
    media += [_media(files, "alert", key.split("/")[1], entries) for key, entries in alerts.items()]
    media.sort(key=lambda item: item.mtime)
    return media, used


def _media(files: FileStore, kind: str, owner: str, entries: list[StoredEntry]) -> _Media:
    return _Media(
        kind,
        owner,
        [files.root / entry.key for entry in entries],
        min(entry.mtime for entry in entries),
        sum(entry.size for entry in entries),
    )


def apply_retention(
    files: FileStore,
    videos: VideoRepository,
    alerts: AlertReviews,
    *,
    days: float,
    max_gigabytes: float,
    scores: ScoreRepository | None = None,
) -> int:
    """Trash what is older than `days` (0: no age limit), then the oldest until the stored media fit in
    `max_gigabytes` (0: no budget); mark the videos and alerts; delete the `scores` history older than
    `days`. How many videos and alerts lost media."""
    if not days and not max_gigabytes:
        return 0
    deadline = time.time() - days * 86400 if days else None
    if deadline is not None and scores is not None:
        scores.prune(deadline)
    media, used = _collect(files)
    budget = max_gigabytes * GIGABYTE if max_gigabytes else None
    removed = 0
    for item in media:
        if deadline is not None and item.mtime < deadline:
            reason = "age"
        elif budget is not None and used > budget:
            reason = "disk-budget"
        else:
            continue
        try:
            for path in item.paths:
                files.discard(path)  # here and in the shared store
        except FileNotFoundError:  # deleted meanwhile (its video or session is gone)
            continue
        used -= item.size
        removed += 1
        owners = videos if item.kind == "video" else alerts
        earlier = ((owners.get(item.owner) or {}).get("removed") or {}).get("files", [])
        labels = sorted({*earlier, *(_label(path) for path in item.paths)})  # a clip comes after its snapshot
        owners.update(item.owner, removed={"at": utc_now(), "reason": reason, "files": labels})
        log.info("retention: removed the media of %s %s (%s)", item.kind, item.owner, reason)
    return removed
