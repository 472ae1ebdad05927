"""Password guessing against API latency on loopback (issue 13, finding 6).

Starts the real server (`python -m servers serve`, waitress) with N videos, then measures `/api/health`
and the video list from C paced, logged-in API clients: first at rest, then while G guessers send logins
with made-up user names as fast as the server answers, each from its own client address (X-Forwarded-For
from the trusted proxy, as Nginx sends it). Argon2 runs for unknown names too (no timing oracle), so the
server bounds concurrent password checks (`login-concurrency`) and backs off per address. Prints p50/p99
of both phases, their ratio and the guessers' answers (401 / 429 / 503) for each `login-concurrency`.

    python bench/logins.py [--guessers 96] [--seconds 20] [--clients 4] [--interval 0.1] [--concurrency 1 2]
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

from bench.api import percentile, seed
from bench.viewers import api_latencies, report
from harness.server import ServerProcess, tiny_inference_config
from servers.storage.repositories import new_id


def guess(url: str, count: int, seconds: float) -> collections.Counter:
    """`count` guessers, each from its own address, until `seconds` pass; the status codes they got."""
    import requests

    statuses: collections.Counter = collections.Counter()
    deadline = time.monotonic() + seconds

    def run(index: int) -> None:
        session = requests.Session()
        address = f"10.{index // 250}.{index % 250}.1"
        while time.monotonic() < deadline:
            body = {"username": f"nobody-{uuid.uuid4().hex[:8]}", "password": "not-the-password"}
            response = session.post(f"{url}/api/auth/login", json=body, headers={"X-Forwarded-For": address})
            statuses[response.status_code] += 1

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--guessers", type=int, default=96)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--interval", type=float, default=0.1)
    parser.add_argument("--videos", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(
        f"CPU: {os.cpu_count()} cores; guessers {args.guessers}, {args.seconds:.0f} s per phase", flush=True
    )
    for concurrency in args.concurrency:
        folder = Path(tempfile.mkdtemp(prefix="bench-logins-"))
        try:
            db_name = f"bench_{new_id()[:8]}"
            seed(folder / "storage", "", db_name, args.videos)
            config = tiny_inference_config(folder / "models")
            server = ServerProcess(
                folder, db_name=db_name, inference_config=str(config), login_concurrency=concurrency
            )
            server.start()
            try:
                clients = [server.admin() for _ in range(args.clients)]
                rest = api_latencies(clients, args.seconds, args.interval)
                report(f"concurrency {concurrency}: at rest", rest)
                answers: collections.Counter = collections.Counter()
                guessing = threading.Thread(
                    target=lambda url=server.url, counts=answers: counts.update(
                        guess(url, args.guessers, args.seconds + 2)
                    )
                )
                guessing.start()
                time.sleep(1.0)
                busy = api_latencies(clients, args.seconds, args.interval)
                guessing.join()
                report(f"concurrency {concurrency}: guessing", busy)
                for name in rest:
                    ratio = percentile(busy[name], 99) / percentile(rest[name], 99)
                    print(f"concurrency {concurrency}: {name} p99 guessing / at rest = {ratio:.2f}x")
                print(
                    f"concurrency {concurrency}: guessers' answers {dict(sorted(answers.items()))}",
                    flush=True,
                )
            finally:
                server.stop()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
