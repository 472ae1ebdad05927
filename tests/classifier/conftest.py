"""A small generated UCF-Crime-layout image dataset and one classifier trained on it (shared by the tests)."""

from __future__ import annotations

import colorsys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.classifier.config import ClassifierConfig, parse_classifier_config
from models.classifier.model import UCF_CRIME_CLASSES
from models.classifier.training import TrainResult, train_classifier

TRAIN_PER_CLASS = 6
TEST_PER_CLASS = 3
CORRUPT = Path("Train") / "Abuse" / "corrupt.png"


def class_image(index: int, rng: np.random.Generator, size: int = 64) -> np.ndarray:
    """A 64x64 RGB image whose hue and stripe frequency depend on the class, plus noise."""
    red, green, blue = colorsys.hsv_to_rgb(index / len(UCF_CRIME_CLASSES), 0.9, 0.9)
    stripes = 0.5 + 0.5 * np.sin(np.arange(size) * (index % 4 + 1) * np.pi / 8 + rng.uniform(0, 2 * np.pi))
    image = np.empty((size, size, 3))
    for channel, value in enumerate((red, green, blue)):
        image[..., channel] = 255 * value * (0.6 + 0.4 * stripes[None, :])
    image += rng.normal(0, 12, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """One intra-op thread: far faster than two on the shared, busy 2-core machine; restored afterwards."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def image_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`root/{Train,Test}/<Class>/*.png` for the 14 classes, with one corrupt PNG in Train/Abuse."""
    root = tmp_path_factory.mktemp("ucf-crime-images")
    rng = np.random.default_rng(0)
    for split, count in (("Train", TRAIN_PER_CLASS), ("Test", TEST_PER_CLASS)):
        for index, name in enumerate(UCF_CRIME_CLASSES):
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(count):
                Image.fromarray(class_image(index, rng)).save(folder / f"{name}_{i:03d}.png")
    good = (root / "Train" / "Abuse" / "Abuse_000.png").read_bytes()
    (root / CORRUPT).write_bytes(good[: len(good) // 3])  # truncated PNG
    return root


def make_config(root: Path, out: Path, **overrides: object) -> ClassifierConfig:
    """A fast test configuration: DenseNet-121 from random initialisation (its batch norms adapt within
    a few steps), small batches and a learning rate far above the baseline's so 5 epochs learn."""
    sections: dict[str, dict[str, object]] = {
        "model": {"backbone": "densenet121", "pretrained-path": ""},
        "data": {"root": str(root), "image-size": 64},
        "augmentation": {"horizontal-flip": True, "width-shift": 0.1, "height-shift": 0.05},
        "training": {
            "epochs": 5,
            "batch-size": 8,
            "learning-rate": 0.01,
            "momentum": 0.9,
            "seed": 12,
            "device": "cpu",
            "num-workers": 0,
        },
        "output": {
            "checkpoint-dir": str(out / "checkpoints"),
            "onnx-path": str(out / "category.onnx"),
            "eval-dir": str(out / "eval"),
        },
    }
    for dotted, value in overrides.items():
        section, key = dotted.split(".")
        sections[section][key] = value
    return parse_classifier_config(sections, "test-config")


@pytest.fixture(scope="session")
def trained(
    image_dataset: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[ClassifierConfig, TrainResult]:
    """One short training run (shared): config and result; checkpoints and ONNX are on disk."""
    config = make_config(image_dataset, tmp_path_factory.mktemp("classifier-run"))
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # session fixtures run before the module-scoped `one_torch_thread`
    try:
        return config, train_classifier(config, progress=False)
    finally:
        torch.set_num_threads(previous)
