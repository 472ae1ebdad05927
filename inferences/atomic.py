"""Atomic file writes, the one scheme of the project: write a temporary file beside the target, then
replace the target in one step, so a reader sees the old file or the new one and never a half-written one.

The temporary name is `.<stem>.<pid>.<thread>.part<suffix>` in the target's folder: unique per writer,
hidden, and ending in the target's suffix (NumPy and ONNX writers keep the name they are given).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def temporary_path(path: str | Path) -> Path:
    """The temporary name beside `path` for this process and thread."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{os.getpid()}.{threading.get_ident()}.part{path.suffix}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; when the block succeeds it replaces `path`, when it fails it is
    removed and `path` is untouched. The parent folder is created."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        yield temporary
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically; returns `path`."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns `path`."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return Path(path)
