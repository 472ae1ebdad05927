"""Loopback test camera: Debian's ffmpeg serving a looping clip on 127.0.0.1, at its own frame rate, as
MPEG-TS over HTTP (one client at a time; `CameraServer`: any number, reconnections included). Used by the
live tests and by bench/stream.py."""

from __future__ import annotations

import http.server
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

FFMPEG = shutil.which("ffmpeg") or "/usr/bin/ffmpeg"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def listening(port: int, *, or_serving: bool = False) -> bool:
    """Whether a TCP socket listens on 127.0.0.1:`port` (read from /proc/net/tcp, without connecting);
    `or_serving`: or a connection to it is established (a single-client server that took one stops
    listening)."""
    states = ("0A", "01") if or_serving else ("0A",)
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state in states and int(local.split(":")[1], 16) == port:
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
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 -- lives as long as the stream; closed by stop()
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
            stderr=self._log,  # read only when it fails to start: ffmpeg reports every reset connection
        )
        deadline = time.monotonic() + 10
        # connecting to check would use up ffmpeg's single client; a client may have taken it already
        while not listening(self.port, or_serving=True):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self._end()
                self._log.seek(0)
                said = self._log.read().decode(errors="replace")[-500:]
                self._log.close()
                raise RuntimeError(f"ffmpeg did not start listening on port {self.port}: {said}")
            time.sleep(0.05)

    def _end(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        """Kill the server (a camera that goes away)."""
        self._end()
        self._log.close()


class CameraServer:
    """A camera that many clients can open, again and again, as real cameras allow: an HTTP server on
    127.0.0.1 giving every GET its own `ffmpeg -re -stream_loop -1 -i CLIP -c copy -f mpegts pipe:1`.

    `stop()` takes the camera away (server and every stream); pass its `port` to bring it back.
    """

    def __init__(self, clip: Path, port: int | None = None) -> None:
        if not Path(FFMPEG).exists():
            raise FileNotFoundError(f"{FFMPEG} is not installed (apt-get install ffmpeg)")
        self.processes: set[subprocess.Popen] = set()
        command = [FFMPEG, "-hide_banner", "-loglevel", "error", "-re", "-stream_loop", "-1", "-i", str(clip)]
        command += ["-c", "copy", "-f", "mpegts", "pipe:1"]
        camera = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
                camera.processes.add(process)
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "video/mp2t")
                    self.end_headers()
                    while chunk := process.stdout.read1(65536):  # type: ignore[union-attr]
                        self.wfile.write(chunk)
                except OSError:
                    pass  # the client went away
                finally:
                    process.kill()
                    process.wait(10)
                    camera.processes.discard(process)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port or 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/live.ts"
        self.thread = threading.Thread(target=self.server.serve_forever, name="camera", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop serving and cut every stream."""
        self.server.shutdown()
        self.server.server_close()
        for process in list(self.processes):
            process.kill()
