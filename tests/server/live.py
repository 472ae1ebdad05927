"""Live-stream helpers: an ffmpeg-served loopback HTTP stream and readers for SSE and MJPEG."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int) -> bool:
    """Whether a TCP socket listens on 127.0.0.1:`port` (read from /proc/net/tcp, without connecting)."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and int(local.split(":")[1], 16) == port:
            return True
    return False


class FfmpegStream:
    """`ffmpeg -re -stream_loop -1 -i CLIP -f mpegts -listen 1 http://127.0.0.1:PORT/live.ts`."""

    def __init__(self, clip: Path, port: int | None = None) -> None:
        if not Path(FFMPEG).exists():
            pytest.skip("ffmpeg is not installed")
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/live.ts"
        self.process = subprocess.Popen(
            [
                FFMPEG,
                "-hide_banner",
                "-loglevel",
                "error",
                "-re",
                "-stream_loop",
                "-1",
                "-i",
                str(clip),
                "-c",
                "copy",
                "-f",
                "mpegts",
                "-listen",
                "1",
                self.url,
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not listening(self.port):  # connecting to check would use up ffmpeg's single client
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"ffmpeg did not start listening on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


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
