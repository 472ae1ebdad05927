"""Readers for the live endpoints: server-sent events and MJPEG parts."""

from __future__ import annotations

import json
from collections.abc import Iterator

import requests


def sse_events(response: requests.Response) -> Iterator[tuple[str, dict]]:
    """(event name, data) pairs of a text/event-stream response."""
    name, data = None, []
    for line in response.iter_lines(decode_unicode=True):
        if line is None:
            continue
        if line == "":
            if name and data:
                yield name, json.loads("\n".join(data))
            name, data = None, []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())


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
