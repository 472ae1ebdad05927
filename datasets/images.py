"""Folder-per-class image dataset, the UCF-Crime image layout: `<root>/{Train,Test}/<Class>/*.png`.

Images are decoded when read; one that cannot be decoded is reported (a logged warning, and listed in
`ImageFolderDataset.corrupt` of the process that read it) and dropped by `collate_skipping_corrupt`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import Dataset

from inferences.errors import SurveillanceError
from inferences.imaging import normalize_images, resize_rgb

logger = logging.getLogger(__name__)
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp"})


class ImageDatasetError(SurveillanceError):
    """A dataset folder that does not follow the folder-per-class layout."""


@dataclass(frozen=True)
class Augmentation:
    """Random training augmentation: horizontal flip and shifts by up to a fraction of the width/height
    (uniform, new pixels repeat the nearest edge pixel)."""

    horizontal_flip: bool = False
    width_shift: float = 0.0
    height_shift: float = 0.0

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        """Augment one `(3, H, W)` image with torch's global random generator."""
        if self.horizontal_flip and torch.rand(()) < 0.5:
            image = image.flip(-1)
        height, width = image.shape[-2:]
        dx = round(float(torch.empty(()).uniform_(-self.width_shift, self.width_shift)) * width)
        dy = round(float(torch.empty(()).uniform_(-self.height_shift, self.height_shift)) * height)
        if dx == 0 and dy == 0:
            return image
        padded = F.pad(image[None], (abs(dx), abs(dx), abs(dy), abs(dy)), mode="replicate")[0]
        top, left = abs(dy) - dy, abs(dx) - dx
        return padded[:, top : top + height, left : left + width]


def list_classes(split_dir: str | Path) -> list[str]:
    """Sorted class folder names of a split folder."""
    split_dir = Path(split_dir)
    if not split_dir.is_dir():
        raise ImageDatasetError(f"{split_dir}: dataset folder does not exist")
    classes = sorted(p.name for p in split_dir.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise ImageDatasetError(f"{split_dir}: no class folders (expected {split_dir}/<Class>/*.png)")
    return classes


def load_image(path: Path, size: int) -> np.ndarray:
    """Decode an image file to RGB uint8 `(size, size, 3)`; OSError/ValueError when it cannot be decoded."""
    with Image.open(path) as image:
        return resize_rgb(np.asarray(image.convert("RGB")), size)


class ImageFolderDataset(Dataset):
    """`(normalised image (3, S, S) float32, class index)` samples of a split folder; None if corrupt."""

    def __init__(
        self,
        split_dir: str | Path,
        *,
        classes: Sequence[str],
        image_size: int,
        mean: Sequence[float],
        std: Sequence[float],
        augmentation: Augmentation | None = None,
    ) -> None:
        self.root = Path(split_dir)
        self.classes = list(classes)
        self.image_size = image_size
        self.mean, self.std = tuple(mean), tuple(std)
        self.augmentation = augmentation
        unknown = sorted(set(list_classes(self.root)) - set(self.classes))
        if unknown:
            raise ImageDatasetError(
                f"{self.root}: class folders {unknown} are not among the classes {self.classes}"
            )
        self.samples: list[tuple[Path, int]] = []
        for index, name in enumerate(self.classes):
            folder = self.root / name
            if folder.is_dir():
                files = sorted(
                    p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
                )
                self.samples += [(path, index) for path in files]
        if not self.samples:
            raise ImageDatasetError(
                f"{self.root}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in class folders"
            )
        self.corrupt: list[Path] = []

    def __len__(self) -> int:
        return len(self.samples)

    def class_counts(self) -> dict[str, int]:
        """Number of image files per class (corrupt ones included)."""
        counts = dict.fromkeys(self.classes, 0)
        for _, index in self.samples:
            counts[self.classes[index]] += 1
        return counts

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int] | None:
        path, label = self.samples[index]
        try:
            pixels = load_image(path, self.image_size)
        except (OSError, ValueError) as exc:
            logger.warning("skipping corrupt image %s: %s", path, exc)
            self.corrupt.append(path)
            return None
        image = torch.from_numpy(normalize_images(pixels[None], self.mean, self.std)[0])
        if self.augmentation is not None:
            image = self.augmentation(image)
        return image, label


def collate_skipping_corrupt(
    batch: list[tuple[torch.Tensor, int] | None],
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Stack a batch, dropping corrupt (None) samples; None when nothing is left."""
    kept = [sample for sample in batch if sample is not None]
    if not kept:
        return None
    return torch.stack([image for image, _ in kept]), torch.tensor([label for _, label in kept])
