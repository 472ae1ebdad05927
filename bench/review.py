"""Review page query cost: `EventLog.page` (GET /api/events) against a camera's alert log on the same data.

Seeds R videos (three quarters done, each with one abnormal interval) and A camera alerts into a fresh
embedded database (or the MongoDB of --db-uri), then times, in this process, the first page of one
camera's alert log (`LiveSessionRepository.alerts`, what the live view already asks for: the baseline) and
review pages: unfiltered, one camera, to review only, page 10. Prints the median milliseconds and each
one's ratio to the baseline, measured in one run.

    python bench/review.py [--videos 2000] [--alerts 2000] [--repeat 7] [--db-uri URI]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from servers.events import EventLog
from servers.storage import LiveSessionRepository, VideoRepository, connect_database
from servers.storage.repositories import new_id
from servers.storage.reviews import AlertReviews, EventFilter

CAMERAS = 8
INTERVAL = {"start_frame": 0, "end_frame": 9, "start_time": 0.0, "end_time": 1.0, "peak_score": 0.8}


def seed(database, videos: int, alerts: int) -> list[str]:
    """Insert the videos and alerts in batches; the camera (session) ids."""
    repository = VideoRepository(database)
    repository.ensure_indexes()
    AlertReviews(database).ensure_indexes()
    batch = []
    for index in tqdm(range(videos), desc="seeding videos", unit="video"):
        document = repository.new_document(video_id=new_id(), name=f"clip-{index}.mp4", size=1)
        done = index % 4 != 3
        document.update(
            status="done" if done else "failed",
            intervals=[INTERVAL] if done else [],
            created_at=f"2026-01-01T00:{index // 60000 % 60:02d}:{index // 1000 % 60:02d}.{index:06d}Z",
        )
        batch.append(document)
    with database.access(VideoRepository.COLLECTION) as collection:
        collection.insert_many(batch)
    cameras = [new_id() for _ in range(CAMERAS)]
    with database.access(AlertReviews.SESSIONS) as sessions:
        sessions.insert_many([{"_id": camera, "name": f"camera {n}"} for n, camera in enumerate(cameras)])
    documents = [
        {
            "_id": new_id(),
            "session_id": cameras[index % CAMERAS],
            "start_time": f"2026-01-02T00:00:00.{index:06d}Z",
            "end_time": None,
            "peak_score": 0.5 + (index % 50) / 100,
            "reviewed": index % 3 == 0,
        }
        for index in tqdm(range(alerts), desc="seeding alerts", unit="alert")
    ]
    with database.access(AlertReviews.ALERTS) as collection:
        collection.insert_many(documents)
    return cameras


def median_ms(call, repeat: int) -> float:
    """The median wall time of `call()` in milliseconds over `repeat` runs (after one warm-up run)."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--videos", type=int, default=2000)
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--db-uri", default="")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-review-"))
    db_name = f"bench_review_{new_id()[:8]}"
    database = connect_database(args.db_uri, name=db_name, storage_directory=folder, max_connections=4)
    try:
        cameras = seed(database, args.videos, args.alerts)
        videos = VideoRepository(database)
        log = EventLog(AlertReviews(database), videos)
        sessions = LiveSessionRepository(database)
        cases = {
            "one camera's alert log (baseline)": lambda: sessions.alerts(cameras[0], page=1, page_size=20),
            "review, page 1": lambda: log.page(EventFilter(), 1, 20),
            "review, one camera": lambda: log.page(EventFilter(camera=cameras[0]), 1, 20),
            "review, to review only": lambda: log.page(EventFilter(reviewed=False), 1, 20),
            "review, page 10": lambda: log.page(EventFilter(), 10, 20),
        }
        engine = "MongoDB" if args.db_uri else "montydb (embedded)"
        print(f"{engine}: {args.videos} videos, {args.alerts} alerts, median of {args.repeat}")
        baseline = None
        for name, call in cases.items():
            ms = median_ms(call, args.repeat)
            baseline = baseline or ms
            print(f"  {name:32s} {ms:9.1f} ms   x{ms / baseline:6.2f}")
    finally:
        if args.db_uri:
            database.drop()
        database.close()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
