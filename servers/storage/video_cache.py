"""The embedded engine's video cache (`VideoRepository` keeps montydb's videos by id)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any


class VideoCache:
    """The embedded engine scans and decodes a whole collection for every query (0.7-1.2 s at 10,000
    videos), so for montydb only the video repository keeps the documents by id (loaded by one scan)
    and answers lists from them, caching the ordered ids per filter. It stays coherent because one process
    owns the embedded files and every write goes through the repository: writes replace or drop
    documents, and creations, deletions and status or name changes clear the filter results. A
    generation counter keeps a list that raced with a write from caching a stale result."""

    FILTERS = 256

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fill = threading.Lock()  # one loading scan; the others wait for it
        self.documents: dict[str, dict[str, Any]] | None = None
        self.filters: OrderedDict[tuple[str | None, str | None], list[str]] = OrderedDict()
        self.generation = 0

    def put(self, document: dict[str, Any], *, moved: bool) -> None:
        with self.lock:
            if self.documents is not None:
                self.documents[document["_id"]] = document
            if moved:
                self.filters.clear()
                self.generation += 1

    def drop(self, video_id: str) -> None:
        with self.lock:
            if self.documents is not None:
                self.documents.pop(video_id, None)
            self.filters.clear()
            self.generation += 1
