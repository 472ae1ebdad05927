"""Abnormal-frame annotation: a red border and the prompt text, drawn on RGB uint8 frames (live path) or
straight on the planes of a YUV 4:2:0 video frame (offline path, no RGB round trip)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw, ImageFont

RED = np.array([255, 0, 0], dtype=np.uint8)
WHITE = np.array([255, 255, 255], dtype=np.uint8)
# The same colours in limited-range BT.601 Y, Cb, Cr (what the RGB path gives after x264's conversion).
RED_YUV = (81, 90, 240)
WHITE_YUV = (235, 128, 128)


# Fonts that also draw Chinese prompts (Debian's fonts-wqy-microhei, installed by `make install`); Pillow's
# built-in font (Latin only) when none is present.
PROMPT_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for path in PROMPT_FONTS:
        if Path(path).is_file():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default(size=size)


@lru_cache(maxsize=16)
def _label(prompt: str, frame_height: int) -> np.ndarray:
    """Alpha mask (h, w) float32 of the prompt text, sized to the frame height."""
    font = _font(max(10, frame_height // 18))
    left, top, right, bottom = font.getbbox(prompt)
    pad = max(2, (bottom - top) // 4)
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(image).text((pad - left, pad - top), prompt, fill=255, font=font)
    return np.asarray(image, dtype=np.float32) / 255


def _draw(plane: np.ndarray, border: int, alpha: np.ndarray | None, fill, ink) -> None:
    """Border `border` px of `fill` around a (H, W[, C]) plane and `alpha`-blended `ink` over `fill` inside
    its top left corner, in place."""
    h, w = plane.shape[:2]
    if border:
        for strip in (plane[:border], plane[h - border :], plane[:, :border], plane[:, w - border :]):
            strip[:] = fill
    if alpha is not None and alpha.size:
        alpha = alpha[: max(0, h - 2 * border), : max(0, w - 2 * border)]
        region = plane[border : border + alpha.shape[0], border : border + alpha.shape[1]]
        a = alpha if plane.ndim == 2 else alpha[..., None]
        ink, fill = np.asarray(ink, np.float32), np.asarray(fill, np.float32)
        region[:] = (ink * a + fill * (1 - a)).astype(np.uint8)


class Annotator:
    """Draws a red border `border` px wide and `prompt` (white on red, top left inside the border)."""

    def __init__(self, *, border: int, prompt: str) -> None:
        self.border = border
        self.prompt = prompt

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Annotate an RGB uint8 frame (H, W, 3) in place and return it."""
        h, w = frame.shape[:2]
        alpha = _label(self.prompt, h) if self.prompt else None
        _draw(frame, min(self.border, h // 2, w // 2), alpha, RED, WHITE)
        return frame

    def video_frame(self, frame: av.VideoFrame, *, width: int, height: int) -> av.VideoFrame:
        """Annotated yuv420p copy of a decoded frame, `width` x `height` (both even), drawn on its planes."""
        if (frame.format.name, frame.width, frame.height) != ("yuv420p", width, height):
            frame = frame.reformat(width=width, height=height, format="yuv420p")
        planes = frame.to_ndarray()  # Y, then U and V at half size, one after the other
        flat, luma, chroma = planes.reshape(-1), height * width, height * width // 4
        b = min(self.border, height // 2, width // 2)
        alpha = _label(self.prompt, height) if self.prompt else None
        _draw(flat[:luma].reshape(height, width), b, alpha, RED_YUV[0], WHITE_YUV[0])
        half = _chroma_label(self.prompt, height) if self.prompt else None
        for index, offset in ((1, luma), (2, luma + chroma)):
            plane = flat[offset : offset + chroma].reshape(height // 2, width // 2)
            _draw(plane, (b + 1) // 2, half, RED_YUV[index], WHITE_YUV[index])
        return av.VideoFrame.from_ndarray(planes, format="yuv420p")


@lru_cache(maxsize=16)
def _chroma_label(prompt: str, frame_height: int) -> np.ndarray:
    """`_label` at half resolution (2x2 means; odd sizes padded), for the 4:2:0 chroma planes."""
    alpha = _label(prompt, frame_height)
    h, w = alpha.shape
    padded = np.pad(alpha, ((0, h % 2), (0, w % 2)))
    return padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).mean(axis=(1, 3))
