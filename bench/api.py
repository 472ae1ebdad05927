"""API latency and upload throughput on loopback.

Seeds N videos (default 10,000) into a fresh embedded database (or the MongoDB of --db-uri), starts the
real server (`python -m servers serve`, waitress) on 127.0.0.1, and measures with C concurrent clients
(default 50), paced (one request per client per --interval s) and saturated (back to back): p50/p99
latency of the list endpoint (first page, random pages, status filter, name search) and of the detail
endpoint; then upload throughput (accepted uploads per second, MB/s) of a Ped2 clip. On the embedded
engine it first times a list query run on montydb itself, without the repository's video cache.

    python bench/api.py [--videos 10000] [--clients 50] [--requests 2000] [--uploads 20] [--interval 1.0]
                          [--db-uri URI]
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from harness.server import Client, ServerProcess
from inferences.paths import SHARED_DATA
from servers.storage import VideoRepository, connect_database
from servers.storage.repositories import new_id

PED2 = SHARED_DATA / "ucsd-ped2" / "Test001.mp4"


def seed(storage: Path, uri: str, db_name: str, count: int) -> list[str]:
    """Insert `count` videos (a quarter of them done with intervals) in batches; their ids."""
    database = connect_database(uri, name=db_name, storage_directory=storage, max_connections=4)
    videos = VideoRepository(database)
    videos.ensure_indexes()
    ids, batch = [], []
    statuses = ["done", "done", "done", "failed"]  # none queued: restart recovery would requeue them
    for index in tqdm(range(count), desc="seeding videos", unit="video"):
        video_id = new_id()
        document = videos.new_document(
            video_id=video_id, name=f"camera-{index % 97:02d}-clip-{index}.mp4", size=1_000_000 + index
        )
        document.update(
            status=statuses[index % 4],
            fps=10.0,
            frames=180,
            duration=18.0,
            width=360,
            height=240,
            peak_score=0.8,
            threshold=0.5,
            intervals=[
                {"start_frame": 20, "end_frame": 80, "start_time": 2.0, "end_time": 8.0, "peak_score": 0.8}
            ],
        )
        document["created_at"] = f"2026-01-01T00:00:00.{index:06d}Z"
        batch.append(document)
        ids.append(video_id)
        if len(batch) == 1000:
            with database.access(VideoRepository.COLLECTION) as collection:
                collection.insert_many(batch)
            batch = []
    if batch:
        with database.access(VideoRepository.COLLECTION) as collection:
            collection.insert_many(batch)
    database.close()
    return ids


def bench_uncached_lists(storage: Path, db_name: str) -> None:
    """What the embedded engine takes per list query without the repository's video cache: the query
    the MongoDB path runs (count, then sorted page), straight on montydb."""
    database = connect_database("", name=db_name, storage_directory=storage, max_connections=1)
    with database.access(VideoRepository.COLLECTION) as videos:
        for label, selector in (("first page", {}), ("status=done", {"status": "done"})):
            start = time.perf_counter()
            videos.count_documents(selector)
            list(videos.find(selector).sort([("created_at", -1)]).limit(20))
            elapsed = 1000 * (time.perf_counter() - start)
            print(f"uncached list {label} (montydb, no video cache): {elapsed:.0f} ms", flush=True)
    database.close()


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (nearest rank) in milliseconds."""
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def measure(clients: list[Client], paths: list[str], label: str, interval: float) -> dict[str, float]:
    """Issue every path once, spread over the clients running concurrently; each client sends one request
    every `interval` seconds (0 = back to back, i.e. saturation). Latency stats in ms."""

    def worker(index: int) -> list[tuple[float, bool]]:
        """(latency, answered 200) of each of this client's requests."""
        client, results = clients[index], []
        next_start = time.perf_counter() + random.random() * interval
        for path in paths[index :: len(clients)]:
            time.sleep(max(0.0, next_start - time.perf_counter()))
            start = time.perf_counter()
            response = client.get(path)
            results.append((time.perf_counter() - start, response.status_code == 200))
            next_start = start + interval
        return results

    start = time.perf_counter()
    with ThreadPoolExecutor(len(clients)) as pool:
        results = [
            result for client_results in pool.map(worker, range(len(clients))) for result in client_results
        ]
    elapsed = time.perf_counter() - start
    latencies = [latency for latency, _ in results]
    errors = sum(not ok for _, ok in results)
    result = {
        "requests": len(latencies),
        "errors": errors,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "mean_ms": 1000 * statistics.fmean(latencies),
        "throughput_rps": len(latencies) / elapsed,
    }
    print(
        f"{label:<34} n={result['requests']:5d} errors={errors:3d} p50={result['p50_ms']:8.1f} ms "
        f"p99={result['p99_ms']:8.1f} ms  {result['throughput_rps']:7.1f} req/s",
        flush=True,
    )
    return result


def bench_uploads(server: ServerProcess, count: int, concurrency: int) -> None:
    """Accepted uploads per second and MB/s for `count` uploads of the Ped2 clip."""
    data = PED2.read_bytes()
    clients = [server.admin() for _ in range(concurrency)]
    durations: list[float] = []

    def send(index: int) -> None:
        start = time.perf_counter()
        response = clients[index % concurrency].post(
            "/api/videos", files={"file": (f"bench-{index}.mp4", data, "video/mp4")}
        )
        durations.append(time.perf_counter() - start)
        assert response.status_code == 202, response.text

    start = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, range(count)))
    elapsed = time.perf_counter() - start
    megabytes = count * len(data) / 1e6
    print(
        f"{'upload (' + str(concurrency) + ' concurrent)':<28} n={count:5d} {count / elapsed:6.1f} uploads/s "
        f"{megabytes / elapsed:6.1f} MB/s  p50={percentile(durations, 50):7.1f} ms "
        f"p99={percentile(durations, 99):7.1f} ms ({len(data) / 1e6:.2f} MB each)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2000, help="requests per measured endpoint")
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument(
        "--interval",
        type=float,
        default=1.0,
        help="seconds between two requests of one client in the paced run",
    )
    parser.add_argument("--db-uri", default="", help="mongodb:// URI (default: the embedded engine)")
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-api-"))
    db_name = f"bench_{new_id()[:8]}"
    ids = seed(folder / "storage", options.db_uri, db_name, options.videos)
    if not options.db_uri:
        bench_uncached_lists(folder / "storage", db_name)
    server = ServerProcess(
        folder,
        db_connection_uri=options.db_uri,
        db_name=db_name,
        threads=options.clients + 8,
        upload_max_size=64.0,
        queue_max=max(100, options.uploads + 10),
    )
    server.start()
    try:
        clients = [server.admin() for _ in range(options.clients)]
        engine = clients[0].get("/api/health").json()["database"]["engine"]
        print(f"engine={engine} videos={options.videos} clients={options.clients}", flush=True)
        pages = options.videos // 20
        rng = random.Random(0)
        n = options.requests
        workloads = [
            ("list first page", lambda: "/api/videos?page=1&page_size=20"),
            ("list random page", lambda: f"/api/videos?page={rng.randint(1, pages)}&page_size=20"),
            ("list status=done", lambda: f"/api/videos?status=done&page={rng.randint(1, 50)}"),
            ("list search q=", lambda: f"/api/videos?q=camera-{rng.randint(0, 96):02d}"),
            ("detail random id", lambda: f"/api/videos/{rng.choice(ids)}"),
        ]
        start = time.perf_counter()
        clients[0].get("/api/videos?page=1&page_size=20")
        cold = 1000 * (time.perf_counter() - start)
        print(f"cold first list (the embedded engine loads its video cache): {cold:.0f} ms")
        offered = options.clients / options.interval
        print(f"paced: each client one request every {options.interval} s ({offered:.0f} req/s offered)")
        for label, make in workloads:
            measure(clients, [make() for _ in range(n)], label, options.interval)
        print("saturation: each client back to back")
        for label, make in workloads:
            measure(clients, [make() for _ in range(n)], label + " (saturated)", 0.0)
        if PED2.is_file():
            bench_uploads(server, options.uploads, 1)
            bench_uploads(server, options.uploads, 4)
    finally:
        server.stop(kill=True)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
