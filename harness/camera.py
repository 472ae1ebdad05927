"""Loopback test camera: Debian's ffmpeg serving a looping clip on 127.0.0.1, at its own frame rate, as
MPEG-TS over HTTP (one client at a time). Used by the live tests and by bench/stream.py."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
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
    """`ffmpeg -re -stream_loop -1 -i CLIP -c copy -f mpegts -listen 1 http://127.0.0.1:PORT/live.ts`.

    Pass the `port` of a stopped stream to bring the same camera back.
    """

    def __init__(self, clip: Path, port: int | None = None) -> None:
        if not Path(FFMPEG).exists():
            raise FileNotFoundError(f"{FFMPEG} is not installed (apt-get install ffmpeg)")
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
            stderr=subprocess.DEVNULL,  # ffmpeg reports every reset connection
        )
        deadline = time.monotonic() + 10
        while not listening(self.port):  # connecting to check would use up ffmpeg's single client
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"ffmpeg did not start listening on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Kill the server (a camera that goes away)."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)
