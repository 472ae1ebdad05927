"""Cost of each cue per frame on this machine, for 25 fps 1280x720 video (a real Ped2 clip scaled up).

    python bench/cues.py [--seconds 8] [--threads 2]

Times every stage of the one segmenting path and the cue models on the same frames, one after another:
decoding a source frame, the extractor's resize, the motion cue (greyscale resize + DIS optical flow), the
object frame's resize, the extractor per segment, the object detector per object frame, the scene profile
(the shipped Ped2 profile: its normal clip features), the detector per segment and, for the offline path,
encoding the result video (every decoded frame, x264 at the config's `result-preset`; x264 runs threads of
its own, so that row is wall time). Prints the CPU's flags, the backend and precision of each model, ms per
call of each stage, the seconds of work one second of 25 fps video costs and each stage's share; their
sum is the work one core would do (the live and offline paths spread it over threads).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import av
import numpy as np

from bench._models import model_paths
from inferences.backends import cpu_model, detect
from inferences.config import load_inference_config
from inferences.cues import motion_size
from inferences.paths import REPO_ROOT, SHARED_DATA
from inferences.pipeline import CueModels, SegmentScorer
from inferences.preprocess import Preprocessor, scale
from inferences.profile import SceneProfile, SegmentCues
from inferences.runtime import load_models
from inferences.sampling import FrameSampler
from inferences.video import VideoWriter, iter_video_frames

PED2_CLIP = SHARED_DATA / "ucsd-ped2" / "Test002.mp4"
FPS, WIDTH, HEIGHT = 25, 1280, 720


def scaled_clip(path: Path, seconds: float) -> Path:
    """Ped2 Test002 (360x240, 10 fps) scaled to 1280x720 at 25 fps, `seconds` long (cached)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_file():
        return path
    frames = [f.to_ndarray(width=WIDTH, height=HEIGHT, format="rgb24") for f in iter_video_frames(PED2_CLIP)]
    with VideoWriter(path, width=WIDTH, height=HEIGHT, rate=FPS) as writer:
        for i in range(round(seconds * FPS)):
            writer.write(frames[min(int(i * 10 / FPS), len(frames) - 1)])
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)

    config = load_inference_config().replace(threads=args.threads, providers=("CPUExecutionProvider",))
    config = config.tuned("latency")  # one caller, as offline
    models = load_models(config)
    cues = CueModels(config, models.extractor)
    segmenter = cues.segmenter()
    video = scaled_clip(
        REPO_ROOT / "runs" / "bench-cues" / f"ped2-720p{FPS}-{args.seconds:g}s.mp4", args.seconds
    )
    print(f"CPU: {cpu_model()}; {detect().describe()}; {args.threads} threads")
    print(model_paths(models, cues, config.performance_hint))
    print(f"video: {video.name}, {WIDTH}x{HEIGHT} at {FPS} fps, {args.seconds:g} s")
    times = {
        key: 0.0
        for key in (
            "decode",
            "extractor resize",
            "motion",
            "object resize",
            "extractor",
            "objects",
            "profile + detector",
            f"encode ({config.result_preset})",
        )
    }
    counts = dict.fromkeys(times, 0)
    sampler = FrameSampler(config.prepare_interval, fps=FPS)
    prep: Preprocessor = segmenter.preprocessor
    sampled: list[av.VideoFrame] = []
    decoded = 0
    start = time.perf_counter()
    for index, frame in enumerate(iter_video_frames(video)):
        decoded += 1
        if sampler.take(index / FPS):
            sampled.append(frame)
    times["decode"], counts["decode"] = time.perf_counter() - start, decoded

    def timed(key: str, function, *arguments):
        began = time.perf_counter()
        result = function(*arguments)
        times[key] += time.perf_counter() - began
        counts[key] += 1
        return result

    motion = segmenter.motion
    clips, object_frames = [], []
    for position, frame in enumerate(sampled):
        clips.append(timed("extractor resize", scale, frame, prep.width, prep.height))
        timed("motion", lambda f: motion(scale(f, *motion_size(f.width, f.height), "gray")), frame)
        if cues.objects is not None and position % config.objects_every == 0:
            object_frames.append(
                timed("object resize", scale, frame, cues.objects.width, cues.objects.height)
            )
    segments = [
        prep.pack(clips[i : i + config.segment_length]) for i in range(0, len(clips), config.segment_length)
    ]
    features = [timed("extractor", models.extractor, clip)[0] for clip in segments]
    for frame in object_frames:
        timed("objects", cues.objects, [frame])
    profile = SceneProfile.load(REPO_ROOT / "inferences" / "models" / "ped2-profile.npz", expected=cues.setup)
    scorer = SegmentScorer(config, models.detector, profile)
    classes = len(cues.setup.classes)
    for feature in features:
        timed(
            "profile + detector",
            scorer.score,
            [SegmentCues(feature, np.zeros(classes, np.float32), np.zeros(2, np.float32))],
        )
    with VideoWriter(
        REPO_ROOT / "runs" / "bench-cues" / "result.mp4",
        width=WIDTH,
        height=HEIGHT,
        rate=FPS,
        preset=config.result_preset,
    ) as writer:
        for frame in iter_video_frames(video):
            timed(f"encode ({config.result_preset})", writer.write, frame)
    per_second = {key: times[key] / args.seconds for key in times}
    print(f"{'stage':<20} {'calls':>6} {'ms per call':>12} {'s per video s':>14} {'share':>6}")
    total = sum(per_second.values())
    for key in times:
        per_call = 1000 * times[key] / max(counts[key], 1)
        share = per_second[key] / total
        print(f"{key:<20} {counts[key]:>6} {per_call:>12.1f} {per_second[key]:>14.3f} {share:>6.0%}")
    print(f"{'all stages':<20} {'':>6} {'':>12} {total:>14.3f}")
    size = cues.objects.width if cues.objects else 0
    print(
        f"one core's work per second of {FPS} fps 720p offline: {total:.2f} s ({1 / total:.2f}x real time on "
        f"one core, objects every {config.objects_every} sampled frames at {size} px)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
