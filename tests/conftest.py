"""Shared test fixtures: the real data folder beside the repository, and generated real videos."""

from pathlib import Path

import numpy as np
import pytest

from harness.videos import write_video
from inferences.paths import SHARED_DATA

EVENT_FROM = 94  # `event_clip` is abnormal from frame 95 (1-based) on, like Ped2 Test002 (a cyclist)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The labelled datasets in `../shared/data/` (or `$SURVEILLANCE_SHARED_DATA`); tests that need them skip
    when it is absent (get UCSD Ped2 with `python -m datasets download ped2`, see docs/operations.md)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(
            f"real data folder {SHARED_DATA} is absent (UCSD Ped2: python -m datasets download ped2"
            f" --output {SHARED_DATA}; the other folders: docs/operations.md)"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def camera_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real H.264 MP4 shaped like a Ped2 clip (360x240, 10 fps, 12 s: a moving gradient with noise),
    encoded by FFmpeg's libx264 through PyAV: for the tests that need *a* video, not labelled footage."""
    path = tmp_path_factory.mktemp("camera") / "camera.mp4"
    return write_video(path, frames=120, width=360, height=240, rate=10, noise=20)


@pytest.fixture(scope="session")
def event_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A generated real clip with a normal and an abnormal part, and its frame labels (0/1): 180 frames
    (360x240, 10 fps) of a still scene (a gradient, with noise), a blue box walking through it from frame
    95 (1-based) on."""
    path = tmp_path_factory.mktemp("event") / "event.mp4"
    write_video(path, frames=180, width=360, height=240, rate=10, noise=20, drift=0, walker_from=EVENT_FROM)
    return path, (np.arange(180) >= EVENT_FROM).astype(np.float32)
