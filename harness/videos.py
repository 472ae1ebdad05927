"""Generated test videos, without torch (also used by the benchmarks, whose memory figures must not
include it)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def write_video(
    path: Path,
    *,
    frames: int,
    width: int,
    height: int,
    rate: Fraction | int = 25,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    seed: int = 0,
    noise: int = 30,
    drift: int = 7,
    walker_from: int | None = None,
) -> Path:
    """A generated video: a gradient moving `drift` grey levels a frame plus uniform noise of `noise` grey
    levels; from frame `walker_from` (0-based) on, also a blue box (a quarter of the height tall)
    walking to the right."""
    rng = np.random.default_rng(seed)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        x = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
        for i in range(frames):
            image = (x + drift * i) % 256 + rng.integers(0, noise + 1, (height, width, 3))
            if walker_from is not None and i >= walker_from:
                left = 6 * (i - walker_from) % (width - width // 8)
                image[height // 2 : height // 2 + height // 4, left : left + width // 8] = (40, 90, 220)
            frame = av.VideoFrame.from_ndarray(np.clip(image, 0, 255).astype(np.uint8), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
