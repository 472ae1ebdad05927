"""Does scoring object frames ahead pay off? The live pipeline scores the object frames of a segment still
filling while the inference thread waits (`LiveScorer.score_ahead`); without it they are scored with their
segment. Same 25 fps 1280x720 loopback stream as bench/stream.py, the two variants alternated in one run;
prints each one's median and 90th-percentile delay (a segment's first frame to its red-bordered output
frame, threshold 0) and CPU seconds per scored segment, and the ratios without / with.

Usage: python bench/score_ahead.py [--seconds 20] [--rounds 2]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.stream import stream_setup
from harness.camera import FfmpegStream
from inferences.live_scoring import LiveScorer
from inferences.stream import StreamDetector

SCORE_AHEAD = LiveScorer.score_ahead


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def watch(config, clip: Path, seconds: float) -> tuple[list[float], float, int]:
    """The delays, CPU seconds and scored segments of one StreamDetector watching `clip` served on
    loopback (a fresh server: it serves one client) for `seconds`."""
    server = FfmpegStream(clip)
    detector = StreamDetector(config, server.url)
    detector.start()
    time.sleep(3.0)  # the first segment and the models' first calls
    skipped = len(detector.stats()["delays"])
    cpu, segments = cpu_seconds(), detector.stats()["segments"]
    time.sleep(seconds)
    stats = detector.stats()
    cpu = cpu_seconds() - cpu
    detector.stop()
    detector.join(10)
    server.stop()
    return stats["delays"][skipped:], cpu, stats["segments"] - segments


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per variant and round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        config, clip = stream_setup(Path(folder))
        results: dict[str, list] = {"with": [[], 0.0, 0], "without": [[], 0.0, 0]}
        try:
            for round_ in range(args.rounds):
                for variant in ("with", "without") if round_ % 2 == 0 else ("without", "with"):
                    LiveScorer.score_ahead = SCORE_AHEAD if variant == "with" else lambda *_: None
                    delays, cpu, segments = watch(config, clip, args.seconds)
                    results[variant][0] += delays
                    results[variant][1] += cpu
                    results[variant][2] += segments
                    print(f"round {round_ + 1} {variant:7s}: {len(delays)} delays, {segments} segments")
        finally:
            LiveScorer.score_ahead = SCORE_AHEAD
    summary = {}
    for variant, (delays, cpu, segments) in results.items():
        values = np.asarray(delays)
        summary[variant] = (np.median(values), np.percentile(values, 90), cpu / max(segments, 1))
        median, p90, per_segment = summary[variant]
        print(
            f"{variant:7s} score-ahead: delay median {median:.2f} s, p90 {p90:.2f} s, "
            f"{per_segment:.2f} CPU s/segment"
        )
    (m1, p1, c1), (m0, p0, c0) = summary["with"], summary["without"]
    print(f"without / with: delay median x{m0 / m1:.2f}, p90 x{p0 / p1:.2f}, CPU per segment x{c0 / c1:.2f}")


if __name__ == "__main__":
    main()
