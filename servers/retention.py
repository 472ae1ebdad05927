"""Retention: result videos, event clips and snapshots older than `retention-days`, or the oldest of them
while the stored media exceed `retention-max-size` gigabytes, go to the trash (the delayed removal task
deletes them); their video or alert says what was removed, when and why (`removed`)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from servers.files import FileStore
from servers.storage.repositories import VideoRepository, utc_now
from servers.storage.reviews import AlertReviews

log = logging.getLogger("servers.retention")
GIGABYTE = 1024**3


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


def _sizes(paths: list[Path]) -> tuple[float, int]:
    stats = [path.stat() for path in paths]
    return min(stat.st_mtime for stat in stats), sum(stat.st_size for stat in stats)


def _collect(files: FileStore) -> tuple[list[_Media], int]:
    """The removable media, oldest first, and the bytes every stored video and snapshot file takes."""
    media: list[_Media] = []
    used = 0
    for folder in (files.root / "videos", files.root / "snapshots"):
        for path in folder.rglob("*"):
            try:
                used += path.stat().st_size if path.is_file() else 0
            except FileNotFoundError:
                continue
    for folder in (files.root / "videos").iterdir():
        result = folder / "result.mp4"
        paths = [path for path in (result, folder / "source.mp4") if path.is_file()]
        if result.is_file():  # only a finished video has its result
            try:
                media.append(_Media("video", folder.name, paths, *_sizes(paths)))
            except FileNotFoundError:
                continue
    for session in (files.root / "snapshots").iterdir():
        alerts: dict[str, list[Path]] = {}
        for path in session.iterdir() if session.is_dir() else ():
            alerts.setdefault(path.name.split(".", 1)[0], []).append(path)
        for alert_id, paths in alerts.items():
            try:
                media.append(_Media("alert", alert_id, paths, *_sizes(paths)))
            except FileNotFoundError:
                continue
    media.sort(key=lambda item: item.mtime)
    return media, used


def apply_retention(
    files: FileStore,
    videos: VideoRepository,
    alerts: AlertReviews,
    *,
    days: float,
    max_gigabytes: float,
) -> int:
    """Trash what is older than `days` (0: no age limit), then the oldest until the stored media fit in
    `max_gigabytes` (0: no budget); mark the videos and alerts. How many videos and alerts lost media."""
    if not days and not max_gigabytes:
        return 0
    media, used = _collect(files)
    deadline = time.time() - days * 86400 if days else None
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
                files.discard(path)
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
