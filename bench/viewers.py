"""Live-stream viewers against API latency on loopback.

Starts the real server (`python -m servers serve`, waitress, tiny real ONNX models) with N videos, one
live session on a loopback camera (ffmpeg serving the Ped2 clip at 10 fps), then measures `/api/health`
and the video list (`/api/videos`, first page) from C paced API clients: first with no viewer, then with
V viewers holding the session's MJPEG `/stream` open and reading every frame (asyncio sockets in this
process). Prints p50/p99 of both endpoints, the viewers served or refused (stream slots) and the frames
they received per second.

    python bench/viewers.py [--viewers 300] [--seconds 30] [--clients 4] [--interval 0.1] [--videos 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import tempfile
import threading
import time
from pathlib import Path

from bench.api import percentile, seed
from harness.camera import FfmpegStream
from harness.server import Client, ServerProcess, tiny_inference_config, wait_for
from inferences.paths import SHARED_DATA
from servers.storage.repositories import new_id

CLIP = SHARED_DATA / "ucsd-ped2" / "Test002.mp4"
BOUNDARY = b"--frame\r\n"


def api_latencies(clients: list[Client], seconds: float, interval: float) -> dict[str, list[float]]:
    """Each client alternates /health and the list, one request every `interval` s, for `seconds`."""
    paths = {"health": "/api/health", "list": "/api/videos?page=1&page_size=20"}
    results: dict[str, list[float]] = {name: [] for name in paths}
    errors: list[str] = []
    deadline = time.perf_counter() + seconds

    def run(client: Client, offset: int) -> None:
        names = list(paths)
        turn = offset
        next_start = time.perf_counter() + interval * offset / len(clients)
        while next_start < deadline:
            time.sleep(max(0.0, next_start - time.perf_counter()))
            name = names[turn % 2]
            start = time.perf_counter()
            response = client.get(paths[name], timeout=30)
            results[name].append(time.perf_counter() - start)
            if response.status_code != 200:
                errors.append(f"{paths[name]}: {response.status_code}")
            turn += 1
            next_start = start + interval

    threads = [threading.Thread(target=run, args=(client, index)) for index, client in enumerate(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        print(f"  API errors: {len(errors)} (first: {errors[0]})")
    return results


def report(label: str, results: dict[str, list[float]]) -> None:
    for name, values in results.items():
        print(
            f"{label:<28} {name:<7} n={len(values):5d} p50={percentile(values, 50):7.1f} ms "
            f"p99={percentile(values, 99):7.1f} ms max={1000 * max(values):7.1f} ms",
            flush=True,
        )


class Viewers:
    """V MJPEG readers on one asyncio loop in a thread: status per viewer, frames received."""

    def __init__(self, url: str, path: str, cookie: str, count: int) -> None:
        self.host, self.port = url.removeprefix("http://").split(":")
        self.path, self.cookie, self.count = path, cookie, count
        self.statuses: list[int] = []
        self.frames = 0
        self.stop = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),))

    async def _view(self, path: str) -> None:
        try:
            reader, writer = await asyncio.open_connection(self.host, int(self.port))
        except OSError:
            self.statuses.append(0)  # 0: no connection
            return
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {self.host}\r\nCookie: {self.cookie}\r\n\r\n".encode("latin-1")
        )
        status = int((await reader.readline()).split()[1])
        self.statuses.append(status)
        tail = b""
        while status == 200 and not self.stop.is_set():
            try:
                chunk = await asyncio.wait_for(reader.read(65536), 1.0)
            except TimeoutError:
                continue
            if not chunk:
                break
            data = tail + chunk
            self.frames += data.count(BOUNDARY)
            tail = data[-(len(BOUNDARY) - 1) :]
        writer.close()

    async def _main(self) -> None:
        tasks = []
        for _ in range(self.count):  # ramp up: 50 new viewers a second
            tasks.append(asyncio.create_task(self._view(self.path)))
            await asyncio.sleep(0.02)
        await asyncio.gather(*tasks, return_exceptions=True)

    def start(self) -> None:
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=300)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each measurement")
    parser.add_argument("--clients", type=int, default=4, help="concurrent API clients")
    parser.add_argument(
        "--interval", type=float, default=0.1, help="seconds between two requests of a client"
    )
    parser.add_argument("--videos", type=int, default=1000, help="stored videos in the list")
    parser.add_argument("--threads", type=int, default=16, help="server threads for API requests")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-viewers-"))
    db_name = f"bench_{new_id()[:8]}"
    seed(folder / "storage", "", db_name, options.videos)
    server = ServerProcess(
        folder,
        db_name=db_name,
        inference_config=str(tiny_inference_config(folder / "models")),
        threads=options.threads,
        stream_max=options.viewers + 8,
        stream_max_per_user=options.viewers + 8,
        frames_interval=0.2,
    )
    camera = FfmpegStream(CLIP)
    server.start()
    viewers = None
    try:
        admin = server.admin()
        session = admin.post("/api/sessions", json={"name": "bench", "source": camera.url}).json()
        wait_for(lambda: admin.get(f"/api/sessions/{session['id']}").json()["state"] == "running", 60)
        clients = [server.admin() for _ in range(options.clients)]
        print(
            f"server threads={options.threads} (+{options.viewers + 8} stream slots), "
            f"videos={options.videos}, {options.clients} API clients, "
            f"one request every {options.interval} s each",
            flush=True,
        )
        report("no viewers", api_latencies(clients, options.seconds, options.interval))
        cookie = "; ".join(f"{name}={value}" for name, value in admin.http.cookies.items())
        viewers = Viewers(server.url, f"/api/sessions/{session['id']}/stream", cookie, options.viewers)
        viewers.start()
        wait_for(lambda: len(viewers.statuses) == options.viewers, 60, message="every viewer answered")
        served = viewers.statuses.count(200)
        print(f"{options.viewers} viewers: {served} served, {options.viewers - served} refused", flush=True)
        frames_before, start = viewers.frames, time.perf_counter()
        report(f"{served} viewers", api_latencies(clients, options.seconds, options.interval))
        rate = (viewers.frames - frames_before) / (time.perf_counter() - start) / max(1, served)
        print(f"frames received per viewer per second: {rate:.2f} (stream sends at most 5)", flush=True)
    finally:
        if viewers is not None:
            viewers.close()
        server.stop(kill=True)
        camera.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
