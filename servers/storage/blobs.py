"""Where files live for every process: the local disk (one machine) or MongoDB GridFS (no shared disk).

Files are named by their key, the path under the storage directory (`videos/<id>/result.mp4`); `open`
returns a seekable binary stream with its `length`, read in chunks (HTTP Range seeks in it)."""

from __future__ import annotations

import calendar
import contextlib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple, Protocol

import pymongo.errors

from servers.storage.database import DatabaseUnavailable

BUCKET = "files"
CHUNK_BYTES = 255 * 1024


class SharedStore(Protocol):
    """The store every process of the deployment reaches."""

    def put(self, key: str, path: Path) -> None:
        """Store the file at `path` under `key`, replacing what was there (idempotent)."""

    def open(self, key: str) -> BinaryIO | None:
        """A seekable stream with a `length` attribute, or None when `key` is not stored."""

    def delete_prefix(self, prefix: str) -> int:
        """Delete every file whose key starts with `prefix`; how many."""

    def entries(self, prefix: str) -> Iterator[StoredEntry]:
        """Every stored file whose key starts with `prefix` (each key once)."""


class StoredEntry(NamedTuple):
    """A stored file: its key, size in bytes and when it was written (epoch seconds)."""

    key: str
    size: int
    mtime: float


class _SizedFile:
    """A local file opened for reading, with its `length` (as GridFS streams have)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self.length = os.fstat(self._file.fileno()).st_size

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __enter__(self) -> _SizedFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._file.close()


class DiskStore:
    """The local disk: a key is the file at `root / key` (one machine; today's layout)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, key: str, path: Path) -> None:
        """Copy `path` to its key unless it is that file already."""
        target = self.root / key
        if path.resolve() != target.resolve():
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(target.name + ".part")
            shutil.copyfile(path, partial)
            os.replace(partial, target)

    def open(self, key: str) -> BinaryIO | None:
        """The file of `key`, or None."""
        try:
            return _SizedFile(self.root / key)  # type: ignore[return-value]
        except (FileNotFoundError, IsADirectoryError):
            return None

    def delete_prefix(self, prefix: str) -> int:
        """Nothing: the file store's own removal task deletes local files."""
        return 0

    def entries(self, prefix: str) -> Iterator[StoredEntry]:
        """The files under `root` whose key starts with `prefix` (a folder path; partial copies left out)."""
        folder = self.root / prefix
        for path in folder.rglob("*") if folder.is_dir() else ():
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            if path.is_file() and not path.name.endswith(".part"):
                yield StoredEntry(path.relative_to(self.root).as_posix(), stat.st_size, stat.st_mtime)


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    try:
        yield
    except pymongo.errors.PyMongoError as error:
        raise DatabaseUnavailable(f"file store error: {type(error).__name__}: {error}") from error


class GridStore:
    """MongoDB GridFS (`files.files` and `files.chunks` in the server's database), streamed in 255 KiB
    chunks. A new version of a key is written completely before the older ones are deleted, so readers see
    either the old or the new file, and writing the same key twice (a retried job) leaves one file."""

    def __init__(self, database: Any) -> None:
        import gridfs

        self._gridfs = gridfs
        self._bucket = gridfs.GridFSBucket(database, bucket_name=BUCKET, chunk_size_bytes=CHUNK_BYTES)

    def put(self, key: str, path: Path) -> None:
        """Upload `path` as the newest version of `key`, then delete the older versions."""
        with _database_errors(), path.open("rb") as source:
            new_id = self._bucket.upload_from_stream(key, source)
            for old in self._bucket.find({"filename": key, "_id": {"$ne": new_id}}):
                with contextlib.suppress(self._gridfs.errors.NoFile):
                    self._bucket.delete(old._id)

    def open(self, key: str) -> BinaryIO | None:
        """The newest version of `key` as a seekable GridOut, or None."""
        with _database_errors():
            try:
                return self._bucket.open_download_stream_by_name(key)
            except self._gridfs.errors.NoFile:
                return None

    def delete_prefix(self, prefix: str) -> int:
        """Delete every version of every key under `prefix`."""
        removed = 0
        with _database_errors():
            for stored in self._bucket.find({"filename": {"$regex": "^" + re.escape(prefix)}}):
                with contextlib.suppress(self._gridfs.errors.NoFile):
                    self._bucket.delete(stored._id)
                    removed += 1
        return removed

    def entries(self, prefix: str) -> Iterator[StoredEntry]:
        """The newest version of every key starting with `prefix`, with its size and upload date."""
        newest: dict[str, StoredEntry] = {}
        with _database_errors():
            for stored in self._bucket.find({"filename": {"$regex": "^" + re.escape(prefix)}}):
                written = float(calendar.timegm(stored.upload_date.utctimetuple()))  # naive dates are UTC
                if stored.filename not in newest or newest[stored.filename].mtime <= written:
                    newest[stored.filename] = StoredEntry(stored.filename, stored.length, written)
        yield from newest.values()
