"""Stream benchmark: a 25 fps 1280x720 stream served by ffmpeg on loopback (MPEG-TS over HTTP); does the
StreamDetector keep up (no growing backlog, no dropped segments), and how long from an abnormal frame's
arrival to its first red-bordered output frame (the worst case: the first frame of a segment)?

Usage: python bench/stream.py [--seconds 30]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._models import bench_config
from harness.camera import FfmpegStream
from harness.videos import write_video
from inferences.config import InferenceConfig
from inferences.stream import StreamDetector


def stream_setup(work: Path) -> tuple[InferenceConfig, Path]:
    """The config (threshold 0: every scored segment is "abnormal", so every score is one delay
    measurement; which models it runs is printed) and the 1280x720 25 fps clip the stream benches serve."""
    config, label = bench_config(work, threads=2, anomaly_threshold=0.0)
    print(f"models: {label}")
    return config, write_video(work / "720p.mp4", frames=250, width=1280, height=720, rate=25, noise=6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to watch the stream")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config, clip = stream_setup(Path(folder))
        server = FfmpegStream(clip)
        detector = StreamDetector(config, server.url)
        try:
            detector.start()
            backlog = []
            started = time.monotonic()
            while time.monotonic() - started < args.seconds:
                time.sleep(0.5)
                backlog.append(detector.stats()["backlog"])
            stats = detector.stats()
        finally:
            detector.stop()
            detector.join(10)
            server.stop()
        elapsed = time.monotonic() - started
        delays = np.asarray(stats["delays"])
        segment_seconds = config.segment_length * config.prepare_interval
        print(
            json.dumps(
                {
                    "stream": "1280x720 @ 25 fps",
                    "watched_s": round(elapsed, 1),
                    "frames_in_per_s": round(stats["frames_in"] / elapsed, 1),
                    "frames_out_per_s": round(stats["frames_out"] / elapsed, 1),
                    "segments_scored": stats["segments"],
                    "segments_dropped": stats["dropped_segments"],
                    "backlog_max": max(backlog),
                    "backlog_last": backlog[-1],
                    "delay_median_s": round(float(np.median(delays)), 2) if len(delays) else None,
                    "delay_max_s": round(float(delays.max()), 2) if len(delays) else None,
                    "delay_goal_s": segment_seconds + 1.0,
                }
            )
        )


if __name__ == "__main__":
    main()
