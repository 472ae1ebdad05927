"""Frames -> extractor input: crop, resize, normalise, pack a segment into [N, 3, T, H, W] float32."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import av
import numpy as np

from inferences.config import InferenceConfig

FULL_FRAME = (0.0, 0.0, 1.0, 1.0)


@dataclass(frozen=True)
class Preprocessor:
    """Crop box (fractions of the frame), output size, RGB mean/std on the [0, 1] scale, segment length."""

    width: int
    height: int
    segment_length: int
    crop: tuple[float, float, float, float] = FULL_FRAME  # x1, y1, x2, y2
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)

    @classmethod
    def from_config(cls, config: InferenceConfig) -> Preprocessor:
        return cls(
            width=config.segment_width,
            height=config.segment_height,
            segment_length=config.segment_length,
            crop=(config.crop_x1, config.crop_y1, config.crop_x2, config.crop_y2),
            mean=config.normalization_mean,
            std=config.normalization_std,
        )

    def frame(self, rgb: np.ndarray) -> np.ndarray:
        """Crop and resize one RGB uint8 frame (H, W, 3) to (height, width, 3) uint8 (FFmpeg bilinear)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 frame (H, W, 3), got {rgb.dtype} {rgb.shape}")
        return self.video_frame(av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24"))

    def video_frame(self, frame: av.VideoFrame) -> np.ndarray:
        """`frame` for a decoded video frame; without a crop, colour conversion and resize are one FFmpeg
        pass (no full-size RGB copy)."""
        return scale(self.cropped(frame), self.width, self.height)

    def cropped(self, frame: av.VideoFrame) -> av.VideoFrame:
        """The crop box of `frame` (the frame itself when the box is the whole frame)."""
        w, h = frame.width, frame.height
        x1, y1, x2, y2 = self.crop
        left, top = round(x1 * w), round(y1 * h)
        right, bottom = max(left + 1, round(x2 * w)), max(top + 1, round(y2 * h))
        if (left, top, right, bottom) == (0, 0, w, h):
            return frame
        rgb = frame.to_ndarray(format="rgb24")[top:bottom, left:right]
        return av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")

    def pack(self, frames: Sequence[np.ndarray]) -> np.ndarray:
        """Normalised segment [1, 3, T, H, W] float32 of 1..T prepared frames (short: last one repeated)."""
        if not 1 <= len(frames) <= self.segment_length:
            raise ValueError(f"a segment holds 1..{self.segment_length} frames, got {len(frames)}")
        frames = list(frames) + [frames[-1]] * (self.segment_length - len(frames))
        clip = np.stack(frames).astype(np.float32)  # T, H, W, 3
        clip *= 1 / 255
        clip -= np.asarray(self.mean, dtype=np.float32)
        clip /= np.asarray(self.std, dtype=np.float32)
        return np.ascontiguousarray(clip.transpose(3, 0, 1, 2))[None]


def scale(frame: av.VideoFrame, width: int, height: int, format: str = "rgb24") -> np.ndarray:
    """`frame` converted to `format` (rgb24 or gray) and resized to width x height in one FFmpeg pass."""
    return frame.to_ndarray(width=width, height=height, format=format, interpolation="BILINEAR")


def ten_crops(clip: np.ndarray, height: int, width: int) -> np.ndarray:
    """[1, 3, T, H', W'] -> [10, 3, T, height, width]: four corners and the centre, then their mirrors."""
    full_h, full_w = clip.shape[-2:]
    top, left = (full_h - height) // 2, (full_w - width) // 2
    bottom, right = full_h - height, full_w - width
    origins = [(0, 0), (0, right), (bottom, 0), (bottom, right), (top, left)]
    crops = [clip[0, :, :, y : y + height, x : x + width] for y, x in origins]
    crops += [crop[..., ::-1] for crop in crops]
    return np.ascontiguousarray(np.stack(crops))
