"""Still-image preprocessing of the category classifier, shared by its training (datasets/images.py) and
inference (inferences/category.py).

NumPy and Pillow only, so the inference engine can use it without importing torch.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image


def resize_rgb(image: np.ndarray, size: int) -> np.ndarray:
    """Resize an RGB uint8 `(H, W, 3)` image to `(size, size, 3)`, bilinear (no-op when equal)."""
    if image.shape[:2] == (size, size):
        return image
    return np.asarray(Image.fromarray(image).resize((size, size), Image.Resampling.BILINEAR))


def normalize_images(images: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """RGB uint8 `(N, H, W, 3)` -> float32 `(N, 3, H, W)`: scaled to [0, 1], then `(x - mean) / std`."""
    scaled = images.astype(np.float32).transpose(0, 3, 1, 2) / np.float32(255.0)
    mean_ = np.asarray(mean, dtype=np.float32).reshape(1, 3, 1, 1)
    std_ = np.asarray(std, dtype=np.float32).reshape(1, 3, 1, 1)
    return np.ascontiguousarray((scaled - mean_) / std_)
