"""Real inputs for the load-time check of a non-fp32 path (`inferences.backends.open_model`): a segment
and frames of real footage: `inferences/models/check-footage.mp4` (a few seconds of the calibration footage,
written by `prepare`), else the first real video beside the repository (the Ped2 clips, else the Kinetics
sample)."""

from __future__ import annotations

import functools
import itertools

import numpy as np

from inferences.preprocess import Preprocessor

CHECK_SECONDS = 4.0  # of footage kept for the check: a full segment at the default 10 fps sampling


def _first_source():
    from inferences.prepare import MODELS_DIR, default_calibration_sources

    if (MODELS_DIR / "check-footage.mp4").is_file():
        return MODELS_DIR / "check-footage.mp4"
    sources = default_calibration_sources()
    return sources[0] if sources else None


def write_check_footage(sources, path) -> None:
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


@functools.cache
def real_clip(preprocessor: Preprocessor) -> np.ndarray | None:
    """One normalised segment [1, 3, T, H, W] of real footage, or None when there is none here."""
    from inferences.prepare import real_clips

    source = _first_source()
    clips = real_clips([source], preprocessor, 1) if source else []
    return clips[:1] if len(clips) else None


@functools.cache
def real_frames(count: int = 2) -> tuple[np.ndarray, ...] | None:
    """`count` RGB uint8 frames of real footage, one second apart, or None when there is none here."""
    from inferences.video import iter_frames, open_video

    source = _first_source()
    if source is None:
        return None
    step = max(1, round(open_video(source).fps))
    frames = list(itertools.islice(iter_frames(source), 0, step * count, step))
    return tuple(frames) if frames else None
