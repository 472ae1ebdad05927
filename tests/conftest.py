"""Shared test fixtures: the real data folder beside the repository, and a generated real video."""

from pathlib import Path

import pytest

from harness.videos import write_video
from inferences.paths import SHARED_DATA


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The labelled datasets in `../shared/data/`; tests that need them skip when it is absent (get
    UCSD Ped2 with `python -m datasets download ped2`, see docs/operations.md)."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (python -m datasets download ped2)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def camera_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real H.264 MP4 shaped like a Ped2 clip (360x240, 10 fps, 12 s: a moving gradient with noise),
    encoded by FFmpeg's libx264 through PyAV: for the tests that need *a* video, not labelled footage."""
    path = tmp_path_factory.mktemp("camera") / "camera.mp4"
    return write_video(path, frames=120, width=360, height=240, rate=10, noise=20)
