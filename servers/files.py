"""File layout under the storage directory; every path is built from server-made ids, never user input."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import BinaryIO

from inferences.atomic import atomic_path, atomic_write_text
from inferences.paths import REPO_ROOT
from servers.storage.blobs import DiskStore, SharedStore, StoredEntry
from servers.storage.repositories import is_valid_id

SHIPPED_PROFILES = REPO_ROOT / "inferences" / "models"
PROFILE_SUFFIX = "-profile.npz"


class FileStore:
    """Where uploads, transcoded sources, results, covers, scores and snapshots live.

    `videos/<id>/` holds one video's files; `snapshots/<session id>/<alert id>.jpg` a session's alert
    images and `<alert id>.mp4` their event clips; `profiles/<session id>.npz` a camera's calibrated scene
    profile; `uploads/` the partial uploads while they stream in; `trash/` what waits for the removal task.
    `shared`: where the files live for every process (the disk under `root` by default; GridFS when nodes
    share no disk, `root` then holds this process's working copies).
    """

    def __init__(self, root: Path, shared: SharedStore | None = None) -> None:
        self.root = root
        self.shared: SharedStore = shared or DiskStore(root)
        for name in ("videos", "snapshots", "profiles", "uploads", "trash"):
            (root / name).mkdir(parents=True, exist_ok=True)

    @staticmethod
    def _checked(identifier: str) -> str:
        if not is_valid_id(identifier):
            raise ValueError(f"not a server-made id: {identifier!r}")
        return identifier

    def video_dir(self, video_id: str) -> Path:
        """The folder of one video."""
        return self.root / "videos" / self._checked(video_id)

    def upload_path(self, video_id: str) -> Path:
        """The uploaded file as received."""
        return self.video_dir(video_id) / "upload"

    def source_path(self, video_id: str) -> Path:
        """The transcoded video the detector reads."""
        return self.video_dir(video_id) / "source.mp4"

    def result_path(self, video_id: str) -> Path:
        """The annotated result video."""
        return self.video_dir(video_id) / "result.mp4"

    def cover_path(self, video_id: str) -> Path:
        """The cover image."""
        return self.video_dir(video_id) / "cover.jpg"

    def scores_path(self, video_id: str) -> Path:
        """The per-frame scores (JSON list), kept out of the database documents."""
        return self.video_dir(video_id) / "scores.json"

    def snapshot_dir(self, session_id: str) -> Path:
        """The folder of one session's alert snapshots."""
        return self.root / "snapshots" / self._checked(session_id)

    def snapshot_path(self, session_id: str, alert_id: str) -> Path:
        """The snapshot of one alert."""
        return self.snapshot_dir(session_id) / f"{self._checked(alert_id)}.jpg"

    def clip_path(self, session_id: str, alert_id: str) -> Path:
        """The event clip (MP4) of one alert, next to its snapshot (removed with the session's folder)."""
        return self.snapshot_dir(session_id) / f"{self._checked(alert_id)}.mp4"

    def profiles_dir(self) -> Path:
        """The calibrated scene profiles of the cameras."""
        return self.root / "profiles"

    def profile_path(self, session_id: str) -> Path:
        """The calibrated scene profile of one camera (`inferences.profile.SceneProfile`)."""
        return self.profiles_dir() / f"{self._checked(session_id)}.npz"

    def shipped_profiles(self) -> dict[str, Path]:
        """The scene profiles that ship with the models: `inferences/models/<name>-profile.npz` by name."""
        paths = sorted(SHIPPED_PROFILES.glob(f"*{PROFILE_SUFFIX}"))
        return {path.name.removesuffix(PROFILE_SUFFIX): path for path in paths}

    def scene_profile(self, profile_id: str) -> Path | None:
        """The file of a profile id: a shipped profile's name or a calibrated camera's id (None: none)."""
        shipped = self.shipped_profiles()
        if profile_id in shipped:
            return shipped[profile_id]
        if is_valid_id(profile_id) and self.profile_path(profile_id).is_file():
            return self.profile_path(profile_id)
        return None

    def uploads_dir(self) -> Path:
        """Where partial uploads stream to."""
        return self.root / "uploads"

    def key(self, path: Path) -> str:
        """The shared store's key of a path under the storage directory."""
        return path.relative_to(self.root).as_posix()

    def publish(self, path: Path) -> None:
        """Put a file written here into the shared store (a no-op on the disk store)."""
        self.shared.put(self.key(path), path)

    def open_stored(self, path: Path) -> BinaryIO | None:
        """The file here, else from the shared store (seekable, with `length`), or None."""
        if path.is_file():
            return DiskStore(self.root).open(self.key(path))
        return self.shared.open(self.key(path))

    def has(self, path: Path) -> bool:
        """Whether the file is here or in the shared store."""
        stream = self.open_stored(path)
        if stream is not None:
            stream.close()
        return stream is not None

    def fetch(self, path: Path) -> bool:
        """Make the file present here (copied from the shared store when missing); whether it is."""
        if path.is_file():
            return True
        stream = self.shared.open(self.key(path))  # on the disk store: that same file, so absent
        if stream is None:
            return False
        with stream:
            path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(path) as partial, partial.open("wb") as target:
                shutil.copyfileobj(stream, target)
        return True

    def stored(self, folder: str) -> list[StoredEntry]:
        """The files under `folder` (`videos` or `snapshots`) here and in the shared store, each key once
        (the shared store's entry where both have it)."""
        entries = {entry.key: entry for entry in DiskStore(self.root).entries(folder + "/")}
        entries.update({entry.key: entry for entry in self.shared.entries(folder + "/")})
        return list(entries.values())

    def write_scores(self, video_id: str, scores: list[float]) -> None:
        """Store per-frame scores atomically."""
        atomic_write_text(
            self.scores_path(video_id), json.dumps([round(float(score), 6) for score in scores])
        )

    def read_scores(self, video_id: str) -> list[float] | None:
        """Per-frame scores, or None when not (yet) there."""
        stream = self.open_stored(self.scores_path(video_id))
        if stream is None:
            return None
        with stream:
            return json.loads(stream.read())

    def discard(self, path: Path) -> None:
        """Move a folder or file to the trash; the removal task deletes it later (readers keep handles).
        Its shared copies are deleted at once (after the local move: a database error leaves them only)."""
        target = self.root / "trash" / f"{time.time_ns()}-{path.name}"
        try:
            os.replace(path, target)
            os.utime(target)
        except FileNotFoundError:  # not there, or moved by a concurrent discard
            pass
        self.shared.delete_prefix(self.key(path))

    def remove_expired(self, older_than: float) -> int:
        """Delete trash entries and stale partial uploads older than `older_than` seconds; how many."""
        removed = 0
        deadline = time.time() - older_than
        stale_uploads = time.time() - max(older_than, 3600)
        for folder, limit in ((self.root / "trash", deadline), (self.uploads_dir(), stale_uploads)):
            for entry in folder.iterdir():
                try:
                    if entry.lstat().st_mtime > limit:
                        continue
                    if entry.is_dir() and not entry.is_symlink():
                        shutil.rmtree(entry)
                    else:
                        entry.unlink()
                    removed += 1
                except FileNotFoundError:
                    continue
        return removed
