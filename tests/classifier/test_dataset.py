"""Folder-per-class image dataset: layout, corrupt images, augmentation, configuration errors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from datasets.images import (
    Augmentation,
    ImageDatasetError,
    ImageFolderDataset,
    collate_skipping_corrupt,
    list_classes,
)
from inferences.configfile import ConfigFileError
from models.classifier.config import DEFAULT_CONFIG, load_classifier_config
from models.classifier.model import UCF_CRIME_CLASSES
from tests.classifier.conftest import CORRUPT, TEST_PER_CLASS, TRAIN_PER_CLASS, make_config

MEAN, STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)


def test_layout_and_class_counts(image_dataset: Path) -> None:
    assert list_classes(image_dataset / "Train") == list(UCF_CRIME_CLASSES)
    test = ImageFolderDataset(
        image_dataset / "Test", classes=UCF_CRIME_CLASSES, image_size=64, mean=MEAN, std=STD
    )
    assert len(test) == 14 * TEST_PER_CLASS
    assert test.class_counts() == dict.fromkeys(UCF_CRIME_CLASSES, TEST_PER_CLASS)
    image, label = test[TEST_PER_CLASS]
    assert image.shape == (3, 64, 64) and image.dtype == torch.float32 and label == 1
    pixels = np.asarray(Image.open(test.samples[TEST_PER_CLASS][0]).convert("RGB"), dtype=np.float32)
    np.testing.assert_allclose(image.numpy(), (pixels.transpose(2, 0, 1) / 255 - 0.5) / 0.5, atol=1e-6)


def test_corrupt_image_is_reported_and_skipped(image_dataset: Path, caplog: pytest.LogCaptureFixture) -> None:
    train = ImageFolderDataset(
        image_dataset / "Train", classes=UCF_CRIME_CLASSES, image_size=64, mean=MEAN, std=STD
    )
    assert len(train) == 14 * TRAIN_PER_CLASS + 1
    corrupt_index = next(i for i, (path, _) in enumerate(train.samples) if path.name == CORRUPT.name)
    with caplog.at_level(logging.WARNING):
        assert train[corrupt_index] is None
    assert f"skipping corrupt image {image_dataset / CORRUPT}" in caplog.text
    assert train.corrupt == [image_dataset / CORRUPT]
    images, labels = collate_skipping_corrupt([train[0], train[corrupt_index], train[1]])
    assert images.shape == (2, 3, 64, 64) and labels.tolist() == [0, 0]
    assert collate_skipping_corrupt([None]) is None


def test_images_of_another_size_are_resized(tmp_path: Path) -> None:
    (tmp_path / "Normal").mkdir()
    Image.fromarray(np.full((120, 90, 3), 200, np.uint8)).save(tmp_path / "Normal" / "big.jpg")
    dataset = ImageFolderDataset(tmp_path, classes=["Abuse", "Normal"], image_size=64, mean=MEAN, std=STD)
    image, label = dataset[0]
    assert image.shape == (3, 64, 64) and label == 1


def test_augmentation_flips_and_shifts_with_edge_fill() -> None:
    image = torch.arange(3 * 4 * 10, dtype=torch.float32).reshape(3, 4, 10)
    assert torch.equal(Augmentation()(image), image)
    torch.manual_seed(0)
    flips = [torch.equal(Augmentation(horizontal_flip=True)(image), image.flip(-1)) for _ in range(40)]
    assert 5 < sum(flips) < 35
    torch.manual_seed(1)
    for _ in range(20):
        shifted = Augmentation(width_shift=0.2)(image)
        assert shifted.shape == image.shape
        dx = round(float(shifted[0, 0, 5] - image[0, 0, 5]))
        dx = -dx  # content moved right by dx: shifted[x] == image[x - dx]
        assert abs(dx) <= 2
        for x in range(10):
            assert torch.equal(shifted[:, :, x], image[:, :, min(max(x - dx, 0), 9)])


def test_layout_errors_name_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ImageDatasetError, match="does not exist"):
        list_classes(tmp_path / "absent")
    with pytest.raises(ImageDatasetError, match="no class folders"):
        list_classes(tmp_path)
    (tmp_path / "Dancing").mkdir()
    with pytest.raises(ImageDatasetError, match=r"class folders \['Dancing'\] are not among"):
        ImageFolderDataset(tmp_path, classes=["Abuse"], image_size=64, mean=MEAN, std=STD)
    with pytest.raises(ImageDatasetError, match="no images"):
        ImageFolderDataset(tmp_path, classes=["Dancing"], image_size=64, mean=MEAN, std=STD)


def test_shipped_config_loads_and_bad_fields_are_named(tmp_path: Path) -> None:
    config = load_classifier_config(DEFAULT_CONFIG)
    assert (config.backbone, config.image_size, config.batch_size, config.learning_rate, config.seed) == (
        "densenet121",
        64,
        64,
        3e-5,
        12,
    )
    assert (config.horizontal_flip, config.width_shift, config.height_shift) == (True, 0.1, 0.05)
    assert config.normalization_mean == (0.485, 0.456, 0.406)
    lite = make_config(tmp_path, tmp_path, **{"model.backbone": "efficientnet_lite0"})
    assert lite.normalization_std == (0.5, 0.5, 0.5) and lite.pretrained_path is None
    cases = {
        "training.learning-rate": (-1.0, "field 'training.learning-rate' must be a number in"),
        "training.batch-size": ("64", "field 'training.batch-size' must be an integer"),
        "model.backbone": ("vgg", "field 'model.backbone' is unknown: 'vgg'"),
        "training.device": ("cuda:x", r"field 'training.device' must be auto, cpu or cuda\[:N\]"),
        "training.epoch": (3, "field 'training.epoch' is unknown"),
        "data.normalization-std": ([0.5, 0.0, 0.5], "field 'data.normalization-std' must be positive"),
        "model.pretrained-path": (
            str(tmp_path / "none.pth"),
            "field 'model.pretrained-path' names file .* which does not exist",
        ),
    }
    for field, (value, message) in cases.items():
        with pytest.raises(ConfigFileError, match=message):
            make_config(tmp_path, tmp_path, **{field: value})
    with pytest.raises(ConfigFileError, match="'shipped' is only available for efficientnet_lite0"):
        make_config(
            tmp_path, tmp_path, **{"model.backbone": "densenet121", "model.pretrained-path": "shipped"}
        )
    bad = tmp_path / "bad.toml"
    bad.write_text("[model\n")
    with pytest.raises(ConfigFileError, match=r"bad\.toml: not valid TOML"):
        load_classifier_config(bad)
