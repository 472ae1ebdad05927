"""Readers for the live endpoints: server-sent events and MJPEG parts."""

from __future__ import annotations

import requests

from harness.events import sse_events  # noqa: F401 - the live tests read events through here


def mjpeg_frames(response: requests.Response, count: int) -> list[bytes]:
    """The first `count` JPEG parts of a multipart/x-mixed-replace response."""
    buffer, frames = b"", []
    for chunk in response.iter_content(chunk_size=4096):
        buffer += chunk
        while True:
            start = buffer.find(b"\xff\xd8")
            end = buffer.find(b"\xff\xd9", start + 2) if start >= 0 else -1
            if start < 0 or end < 0:
                break
            frames.append(buffer[start : end + 2])
            buffer = buffer[end + 2 :]
            if len(frames) >= count:
                return frames
    return frames
