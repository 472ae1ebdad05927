"""Offline detection benchmark: real-time factor (seconds of video per wall second) of the pipelined
VideoDetector on the default paths (`inferences.backends`), against a sequential baseline (decode all, then
extract, then encode), against the pipelined VideoDetector with every model on ONNX Runtime fp32 (the
engine before the backends), against the default pipeline with every frame flagged (`every_frame_drawn`:
threshold 0, so every frame is annotated and encoded; the default copies the source's stream when no frame
is flagged, and `flagged_share` says which happened), against that one writing its result with x264's
`superfast` preset (`result-preset`; less CPU, a larger file: the result's size in MB beside each) and
against the default pipeline with OpenVINO's throughput hint (`throughput_hint`, what live cameras use;
offline resolves `auto` to latency), in the same run, for a generated 25 fps 1280x720 video, a real Ped2
clip scaled to 25 fps 1280x720 and real Ped2 clips; peak memory for two video lengths (must be flat).
Besides the real-time factors (`_rtf`, wall time, best run), `_cpu` is the CPU seconds (all threads) a
video second cost in the least costly run: other jobs on a shared machine change it far less than the wall
time, and on an idle machine with C cores the real-time factor cannot exceed C / `_cpu`.

Usage: python bench/offline.py [--seconds 8] [--ped2 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench._models import bench_config, model_paths
from bench.cues import scaled_clip
from harness.videos import write_video
from inferences.intervals import frame_scores
from inferences.offline import VideoDetector
from inferences.paths import SHARED_DATA
from inferences.pipeline import SegmentScorer, load_profile
from inferences.sampling import FrameSampler
from inferences.segments import frame_time
from inferences.smoothing import smooth_scores
from inferences.video import VideoWriter, even_size, iter_video_frames, open_video


def sequential(detector: VideoDetector, path: Path, output: Path) -> None:
    """The baseline: every stage finishes before the next starts (holds the whole video in memory); frames
    are sampled and cut into segments like VideoDetector does (the engine's one segmenting path)."""
    config, models, cues = detector.config, detector.models, detector.cues
    info = open_video(path)
    sampler = FrameSampler(config.prepare_interval, fps=info.fps)
    frames = list(iter_video_frames(path))
    segmenter = cues.segmenter()
    segments = []
    for index, frame in enumerate(frames):
        if sampler.take(frame_time(frame, index, info.fps)) and (segment := segmenter.add(frame, index)):
            segments.append(segment)
    if last := segmenter.flush():
        segments.append(last)
    raw = []
    for start in range(0, len(segments), config.batch_size):
        raw.extend(cues.cues(segments[start : start + config.batch_size]))
    scene = load_profile(config, cues.setup)
    scored = SegmentScorer(config, models.detector, scene).score(raw)
    segment = smooth_scores(scored.scores, models.smoothing_window, causal=False)
    scores = frame_scores(segment, frames=len(frames), starts=[s.start for s in segments])
    width, height = even_size(info.width, info.height)
    with VideoWriter(
        output, width=info.width, height=info.height, rate=info.rate, preset=config.result_preset
    ) as writer:
        for frame, score in zip(frames, scores, strict=True):
            if score >= config.anomaly_threshold:
                frame = detector.annotator.video_frame(frame, width=width, height=height)
            writer.write(frame)


def cpu_seconds() -> float:
    """CPU time of this process so far, all its threads (FFmpeg's and the backends' included)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(detectors: dict[str, VideoDetector], path: Path, work: Path, repeats: int) -> dict:
    """Best of `repeats` runs of each mode, rotating their order (the machine is shared): the default
    pipeline pipelined, the same sequentially, and the pipelined ones of `detectors` (other paths)."""
    info = open_video(path)
    default = detectors["pipelined"]
    modes = {
        name: lambda d=detector, name=name: d.detect(
            path, output_path=work / f"{name}.mp4", cover_path=work / f"{name}.jpg"
        )
        for name, detector in detectors.items()
    }
    modes["sequential"] = lambda: sequential(default, path, work / "sequential.mp4")
    best = dict.fromkeys(modes, float("inf"))
    cpu = dict.fromkeys(modes, float("inf"))
    names = list(modes)
    for repeat in range(repeats):
        for name in names[repeat % len(names) :] + names[: repeat % len(names)]:
            started, used = time.perf_counter(), cpu_seconds()
            result = modes[name]()
            best[name] = min(best[name], time.perf_counter() - started)
            cpu[name] = min(cpu[name], cpu_seconds() - used)
            if name == "pipelined":
                flagged = float(np.mean(np.asarray(result.scores) >= default.config.anomaly_threshold))
    video_seconds = info.frames / info.fps
    return {
        "video": path.name,
        "size": f"{info.width}x{info.height}",
        "fps": round(info.fps, 2),
        "seconds": round(video_seconds, 1),
        "flagged_share": round(flagged, 3),
        **{f"{name}_rtf": round(video_seconds / seconds, 2) for name, seconds in best.items()},
        **{f"{name}_cpu": round(seconds / video_seconds, 3) for name, seconds in cpu.items()},
        **{
            f"speedup_vs_{name}": round(seconds / best["pipelined"], 2)
            for name, seconds in best.items()
            if name != "pipelined"
        },
        "result_mb": round((work / "pipelined.mp4").stat().st_size / 1e6, 2),
        "every_frame_drawn_result_mb": round((work / "every_frame_drawn.mp4").stat().st_size / 1e6, 2),
        "superfast_result_mb": round((work / "superfast.mp4").stat().st_size / 1e6, 2),
    }


def peak_memory(path: Path, work: Path) -> None:
    """Child mode: run one detection and print the peak RSS in MiB: the kernel's high-water mark of this
    process image (`VmHWM`; `ru_maxrss` would keep the parent's peak across the exec)."""
    config, _ = bench_config(work, threads=2)
    VideoDetector(config).detect(path, output_path=work / "m.mp4", cover_path=work / "m.jpg")
    status = Path("/proc/self/status").read_text()
    peak_kib = int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1])
    print(json.dumps({"peak_mib": peak_kib / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of the generated 720p video")
    parser.add_argument("--ped2", type=int, default=2, help="how many Ped2 clips")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each mode (best is kept)")
    parser.add_argument("--memory-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        if args.memory_child:
            peak_memory(Path(args.memory_child), work)
            return
        config, label = bench_config(work, threads=2)
        print(f"models: {label}")
        detector = VideoDetector(config)
        print(model_paths(detector.models, detector.cues, detector.config.performance_hint))
        detectors = {
            "pipelined": detector,
            "onnxruntime_fp32": VideoDetector(
                config.replace(
                    precision="fp32",
                    extraction_backend="onnxruntime",
                    objects_backend="onnxruntime",
                    detection_backend="onnxruntime",
                )
            ),
            "superfast": VideoDetector(config.replace(result_preset="superfast", anomaly_threshold=0.0)),
            "every_frame_drawn": VideoDetector(config.replace(anomaly_threshold=0.0)),
            "throughput_hint": VideoDetector(config.replace(performance_hint="throughput")),
        }
        frames = round(args.seconds * 25)
        video = write_video(work / "720p.mp4", frames=frames, width=1280, height=720, rate=25, noise=6)
        videos = [video, scaled_clip(work / "ped2-720p.mp4", args.seconds)]
        videos += sorted((SHARED_DATA / "ucsd-ped2").glob("Test*.mp4"))[: args.ped2]
        rows = [measure(detectors, path, work, args.repeats) for path in videos]
        for row in rows:
            print(json.dumps(row))
        for length in (frames, 4 * frames):
            path = write_video(
                work / f"mem{length}.mp4", frames=length, width=1280, height=720, rate=25, noise=6
            )
            child = subprocess.run(
                [sys.executable, __file__, "--memory-child", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            peak = json.loads(child.stdout.strip().splitlines()[-1])["peak_mib"]
            print(json.dumps({"memory_video_seconds": length / 25, "peak_rss_mib": round(peak)}))


if __name__ == "__main__":
    main()
