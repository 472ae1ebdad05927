"""Abnormal-frame annotation: a red border and the prompt text, drawn in place on RGB uint8 frames."""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

RED = np.array([255, 0, 0], dtype=np.uint8)
WHITE = np.array([255, 255, 255], dtype=np.uint8)


@lru_cache(maxsize=16)
def _label(prompt: str, frame_height: int) -> np.ndarray:
    """Alpha mask (h, w) float32 of the prompt text, sized to the frame height."""
    font = ImageFont.load_default(size=max(10, frame_height // 18))
    left, top, right, bottom = font.getbbox(prompt)
    pad = max(2, (bottom - top) // 4)
    image = Image.new("L", (right - left + 2 * pad, bottom - top + 2 * pad), 0)
    ImageDraw.Draw(image).text((pad - left, pad - top), prompt, fill=255, font=font)
    return np.asarray(image, dtype=np.float32) / 255


class Annotator:
    """Draws a red border `border` px wide and `prompt` (white on red, top left inside the border)."""

    def __init__(self, *, border: int, prompt: str) -> None:
        self.border = border
        self.prompt = prompt

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """Annotate an RGB uint8 frame (H, W, 3) in place and return it."""
        h, w = frame.shape[:2]
        b = min(self.border, h // 2, w // 2)
        if b:
            frame[:b] = RED
            frame[h - b :] = RED
            frame[:, :b] = RED
            frame[:, w - b :] = RED
        if self.prompt:
            alpha = _label(self.prompt, h)[: max(0, h - 2 * b), : max(0, w - 2 * b)]
            region = frame[b : b + alpha.shape[0], b : b + alpha.shape[1]]
            a = alpha[..., None]
            region[:] = (WHITE * a + RED * (1 - a)).astype(np.uint8)
        return frame
