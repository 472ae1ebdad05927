"""How many live 25 fps 1280x720 cameras this machine sustains with the full live pipeline.

    python bench/cameras.py [--max 8] [--warmup 8] [--seconds 32] [--threads 2]

Step N = 1, 2, 3, ...: N loopback cameras (ffmpeg serving a real Ped2 clip scaled to 1280x720 at 25 fps,
MPEG-TS over HTTP, `harness/camera.py`), one `StreamDetector` each on the default config (models shared:
decode, segmenting with the motion cue, extractor, object cue, scene profile + detector, annotation) and one
MJPEG viewer each (`latest_jpeg()` every 40 ms, what the server's stream endpoint does). The anomaly
threshold is 0, so every scored segment turns the border red and is one delay measurement: from the arrival
of the segment's first frame to the first red-bordered output frame. After `--warmup` seconds, N is
sustained when over `--seconds` every camera decodes >= 95% of its frames, drops no segment, has no
waiting segment at the end, and its largest delay is <= one segment + 1 s. Stops at the first N that is
not sustained and prints `cameras sustained: N`; `--hints` repeats the search with other OpenVINO
performance hints in the same run (default: `auto`, which live cameras resolve to throughput, then
`latency`). Each step also prints the capacity planning figures: the segments scored per second per core
of this process's CPU time (the cameras' ffmpeg apart), and the cameras one core carries at that rate (a
camera makes one segment per segment length).

The per-stage share is each stage's time (summed over the cameras and the measured window) over the total:
wall time inside the call for the models (they run on their own thread pools, so this overstates them on a
busy machine); the calling thread's CPU time for the segmenter (resizes and the motion cue), the annotation
and the viewers' JPEG encoding; the reader thread's CPU less segmenting for decode (FFmpeg's own decoding
threads are not counted) and the pump thread's CPU less annotation for the frame conversion. The process's
CPU use is printed beside it, and the loopback cameras' own (ffmpeg) apart.
"""

from __future__ import annotations

import argparse
import collections
import logging
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench._models import bench_config, model_paths
from bench.cues import scaled_clip
from harness.camera import FfmpegStream
from inferences.backends import cpu_model, detect
from inferences.stream import StreamDetector

FRAME_RATE = 25.0
VIEWER_INTERVAL = 0.04
STAGES = (
    "decode",
    "segmenting + motion",
    "extractor",
    "objects",
    "detector",
    "frame conversion",
    "annotation",
    "JPEG (viewers)",
)


class Stages:
    """Busy seconds per stage, added to from every camera's threads."""

    def __init__(self) -> None:
        self.busy: collections.Counter[str] = collections.Counter()
        self.lock = threading.Lock()

    def add(self, stage: str, seconds: float) -> None:
        with self.lock:
            self.busy[stage] += seconds

    def wrap(self, stage: str, function, clock=time.perf_counter):
        """`function`, timing each call into `stage`."""

        def timed(*args, **kwargs):
            started = clock()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(stage, clock() - started)

        return timed

    def snapshot(self) -> collections.Counter[str]:
        with self.lock:
            return collections.Counter(self.busy)


def instrument(detector: StreamDetector, stages: Stages) -> None:
    """Time this detector's stages (bench only: replaces the callables of this instance by timed ones)."""
    cues = detector.cues
    cues.extractor = _Timed(cues.extractor, stages.wrap("extractor", cues.extractor))
    if cues.objects is not None:
        cues.objects = _Timed(cues.objects, stages.wrap("objects", cues.objects))
    model = detector.models.detector
    object.__setattr__(detector.models, "detector", _Timed(model, stages.wrap("detector", model)))
    segmenting = stages.wrap("segmenting + motion", detector._reader.segmenter.add, time.thread_time)
    detector._reader.segmenter.add = segmenting
    annotation = stages.wrap("annotation", detector.annotator, time.thread_time)
    detector.annotator = _Timed(detector.annotator, annotation)


def thread_cpu(threads) -> float:
    """CPU seconds of these threads of this process so far (/proc)."""
    return sum(child_cpu(f"self/task/{thread.native_id}") for thread in threads if thread.native_id)


class _Timed:
    """A callable object whose calls are timed; other attributes come from the wrapped object."""

    def __init__(self, wrapped, timed) -> None:
        self._wrapped, self._timed = wrapped, timed

    def __call__(self, *args, **kwargs):
        return self._timed(*args, **kwargs)

    def __getattr__(self, name: str):
        return getattr(self._wrapped, name)


def process_cpu() -> float:
    """CPU seconds of this process so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_cpu(pid: int | str) -> float:
    """CPU seconds of a process (or `self/task/<id>`: a thread) so far (/proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / 100.0


def viewer(detector: StreamDetector, stop: threading.Event, stages: Stages) -> None:
    """One MJPEG viewer: the newest JPEG every VIEWER_INTERVAL."""
    while not stop.wait(VIEWER_INTERVAL):
        started = time.thread_time()
        detector.latest_jpeg()
        stages.add("JPEG (viewers)", time.thread_time() - started)


def run_step(count: int, clip: Path, config, args, stages: Stages) -> dict:
    """Run `count` cameras; their measurements over the window after the warm-up."""
    servers = [FfmpegStream(clip) for _ in range(count)]
    detectors = [StreamDetector(config, server.url) for server in servers]
    stop = threading.Event()
    viewers = [threading.Thread(target=viewer, args=(d, stop, stages), daemon=True) for d in detectors]
    try:
        for detector in detectors:
            instrument(detector, stages)
        for detector in detectors:
            detector.start()
        for thread in viewers:
            thread.start()
        time.sleep(args.warmup)
        before = [d.stats() for d in detectors]
        readers = [t for d in detectors for t in d._threads if t.name == "stream-reader"]
        pumps = [t for d in detectors for t in d._threads if t.name == "stream-pump"]
        busy0, cpu0, ffmpeg0 = (
            stages.snapshot(),
            process_cpu(),
            sum(child_cpu(s.process.pid) for s in servers),
        )
        reader0, pump0 = thread_cpu(readers), thread_cpu(pumps)
        started = time.monotonic()
        time.sleep(args.seconds)
        elapsed = time.monotonic() - started
        after = [d.stats() for d in detectors]
        busy = stages.snapshot() - busy0
        busy["decode"] = max(0.0, thread_cpu(readers) - reader0 - busy["segmenting + motion"])
        busy["frame conversion"] = max(0.0, thread_cpu(pumps) - pump0 - busy["annotation"])
        cpu = process_cpu() - cpu0
        ffmpeg = sum(child_cpu(s.process.pid) for s in servers) - ffmpeg0
    finally:
        stop.set()
        for detector in detectors:
            detector.stop()
        for detector in detectors:
            detector.join(10)
        for server in servers:
            server.stop()
    segment_seconds = config.segment_length * config.prepare_interval
    cameras = []
    for first, last in zip(before, after, strict=True):
        delays = np.asarray(
            last["delays"][len(first["delays"]) :]
            if len(last["delays"]) < 1000
            else last["delays"][-max(1, last["segments"] - first["segments"]) :]
        )
        cameras.append(
            {
                "frames_per_s": (last["frames_in"] - first["frames_in"]) / elapsed,
                "dropped": last["dropped_segments"] - first["dropped_segments"],
                "scored": last["segments"] - first["segments"],
                "backlog": last["backlog"],
                "delay_max": float(delays.max()) if len(delays) else float("inf"),
                "delay_median": float(np.median(delays)) if len(delays) else float("inf"),
            }
        )
    ok = all(
        c["frames_per_s"] >= 0.95 * FRAME_RATE
        and c["dropped"] == 0
        and c["backlog"] == 0
        and c["scored"] > 0
        and c["delay_max"] <= segment_seconds + 1.0
        for c in cameras
    )
    return {
        "models": detectors[0].models,
        "cues": detectors[0].cues,
        "ok": ok,
        "cameras": cameras,
        "busy": busy,
        "cpu": cpu,
        "ffmpeg_cpu": ffmpeg,
        "elapsed": elapsed,
        "goal": segment_seconds + 1.0,
        "segment": segment_seconds,
    }


def search(clip: Path, config, args, cores: int) -> int:
    """Step N = 1, 2, ... cameras with `config` until one is not sustained; the last sustained N."""
    sustained = 0
    for count in range(1, args.max + 1):
        stages = Stages()
        result = run_step(count, clip, config, args, stages)
        if count == 1:
            print(model_paths(result["models"], result["cues"], config.tuned("throughput").performance_hint))
        worst = min(result["cameras"], key=lambda c: (c["frames_per_s"], -c["delay_max"]))
        print(
            f"N={count}: {'sustained' if result['ok'] else 'NOT sustained'}; worst camera "
            f"{worst['frames_per_s']:.1f} frames/s, {sum(c['dropped'] for c in result['cameras'])} "
            f"segments dropped, delay max {max(c['delay_max'] for c in result['cameras']):.2f} s "
            f"(goal <= {result['goal']:.1f} s), median {worst['delay_median']:.2f} s; process CPU "
            f"{result['cpu'] / result['elapsed']:.2f} of {cores} cores, loopback cameras (ffmpeg) "
            f"{result['ffmpeg_cpu'] / result['elapsed']:.2f}",
            flush=True,
        )
        scored = sum(c["scored"] for c in result["cameras"])
        per_core = scored / max(result["cpu"], 1e-9)
        print(
            f"  capacity: {scored / result['elapsed']:.2f} segments/s scored on "
            f"{result['cpu'] / result['elapsed']:.2f} cores = {per_core:.2f} segments/s per core of the "
            f"full pipeline; a camera makes {1 / result['segment']:.3f} segments/s, so one core carries "
            f"{per_core * result['segment']:.2f} cameras at 720p{FRAME_RATE:g} (at this load)"
        )
        total = sum(result["busy"].values()) or 1.0
        print(
            "  busy share: "
            + ", ".join(
                f"{stage} {result['busy'][stage] / total:.0%}" for stage in STAGES if stage in result["busy"]
            )
        )
        if not result["ok"]:
            break
        sustained = count
    return sustained


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max", type=int, default=8, help="largest N tried")
    parser.add_argument("--warmup", type=float, default=8.0, help="seconds before measuring each step")
    parser.add_argument("--seconds", type=float, default=32.0, help="measured seconds per step")
    parser.add_argument("--threads", type=int, default=2, help="threads per model")
    parser.add_argument(
        "--hints",
        nargs="+",
        default=["auto", "latency"],
        choices=["auto", "latency", "throughput"],
        help="OpenVINO performance hints to search with, in one run (the first is the one reported last; "
        "auto = throughput for live cameras)",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    import os

    cores = len(os.sched_getaffinity(0))
    print(f"CPU: {cpu_model()}; {detect().describe()}; {cores} cores")
    with tempfile.TemporaryDirectory() as folder:
        config, label = bench_config(Path(folder), threads=args.threads, anomaly_threshold=0.0)
        print(f"models: {label}")
        clip = scaled_clip(Path(folder) / "ped2-720p25.mp4", 10.0)
        found = {
            hint: search(clip, config.replace(performance_hint=hint), args, cores) for hint in args.hints
        }
    for hint, count in found.items():
        print(f"cameras sustained with performance-hint {hint}: {count}")
    print(f"cameras sustained: {found[args.hints[0]]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
