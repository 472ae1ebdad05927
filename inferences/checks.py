"""Real footage for the engine: the load-time check of a non-fp32 path (`inferences.backends.open_model`)
takes a segment and frames of `inferences/models/check-footage.mp4` (a few seconds of the calibration
footage, written by `prepare`), else of the first real video beside the repository (`real_footage`)."""

from __future__ import annotations

import functools
import itertools
from pathlib import Path

import numpy as np

from inferences.config import InferenceConfig
from inferences.paths import MODELS_DIR, SHARED_DATA
from inferences.preprocess import Preprocessor

CHECK_FOOTAGE = MODELS_DIR / "check-footage.mp4"
CHECK_SECONDS = 4.0  # of footage kept for the check: a full segment at the default 10 fps sampling


def real_footage() -> list[Path]:
    """The real Ped2 videos beside the repository, else the Kinetics sample GIF, else nothing."""
    ped2 = sorted((SHARED_DATA / "ucsd-ped2").glob("*.mp4"))
    if ped2:
        return ped2
    gif = SHARED_DATA / "kinetics-i3d" / "v_CricketShot_g04_c01_rgb.gif"
    return [gif] if gif.is_file() else []


def _check_source() -> Path | None:
    if CHECK_FOOTAGE.is_file():
        return CHECK_FOOTAGE
    footage = real_footage()
    return footage[0] if footage else None


@functools.cache
def real_clip(preprocessor: Preprocessor) -> np.ndarray | None:
    """The first full normalised segment [1, 3, T, H, W] of real footage (sampled like the engine samples
    it), or None when there is none here."""
    from inferences.segments import Segmenter, video_segments

    source = _check_source()
    if source is None:
        return None
    interval = InferenceConfig().prepare_interval
    for segment in video_segments(source, Segmenter(preprocessor), interval=interval):
        if isinstance(segment, int) or len(segment.indices) < preprocessor.segment_length:
            return None
        return segment.clip
    return None


@functools.cache
def real_frames(count: int = 2) -> tuple[np.ndarray, ...] | None:
    """`count` RGB uint8 frames of real footage, one second apart, or None when there is none here."""
    from inferences.video import iter_frames, open_video

    source = _check_source()
    if source is None:
        return None
    step = max(1, round(open_video(source).fps))
    frames = list(itertools.islice(iter_frames(source), 0, step * count, step))
    return tuple(frames) if frames else None


def write_check_footage(sources: list[Path], path: Path) -> None:
    """The first CHECK_SECONDS of the first of `sources` (real footage) as `path`, for the load-time check
    on machines without the calibration footage."""
    from inferences.video import VideoWriter, iter_frames, open_video

    if not sources:
        return
    info = open_video(sources[0])
    frames = itertools.islice(iter_frames(sources[0]), max(1, round(CHECK_SECONDS * info.fps)))
    with VideoWriter(path, width=info.width, height=info.height, rate=info.rate, crf=18) as writer:
        for frame in frames:
            writer.write(frame)
