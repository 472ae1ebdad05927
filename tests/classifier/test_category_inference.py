"""inferences/category.py with a real exported classifier on real Ped2 frames and on generated images."""

from __future__ import annotations

from itertools import islice
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from datasets.images import ImageFolderDataset
from inferences.category import CategoryClassifier
from inferences.runtime import ModelError
from inferences.video import iter_frames
from models.classifier.config import ClassifierConfig
from models.classifier.model import UCF_CRIME_CLASSES, load_category_checkpoint
from models.classifier.training import TrainResult
from models.export import export_onnx


def test_classify_decoded_video_frames(
    trained: tuple[ClassifierConfig, TrainResult], camera_clip: Path
) -> None:
    config, result = trained
    frames = list(islice(iter_frames(camera_clip), 0, 40, 5))
    assert frames[0].shape == (240, 360, 3) and frames[0].dtype == np.uint8
    classifier = CategoryClassifier(result.onnx_path)
    assert classifier.classes == list(UCF_CRIME_CLASSES) and classifier.input_size == 64
    category, probability = classifier.classify(frames)
    # The same frames through the PyTorch checkpoint.
    model, _ = load_category_checkpoint(config.best_checkpoint)
    resized = np.stack(
        [np.asarray(Image.fromarray(f).resize((64, 64), Image.Resampling.BILINEAR)) for f in frames]
    )
    mean, std = (
        torch.tensor(v).view(1, 3, 1, 1) for v in (config.normalization_mean, config.normalization_std)
    )
    image = (torch.from_numpy(resized).permute(0, 3, 1, 2).float() / 255 - mean) / std
    model.eval()
    with torch.no_grad():
        expected = torch.softmax(model(image), dim=1).mean(dim=0)
    assert category == UCF_CRIME_CLASSES[int(expected.argmax())]
    assert probability == pytest.approx(float(expected.max()), abs=1e-5)
    assert 1 / 14 <= probability <= 1


def test_probabilities_on_generated_images_agree_with_evaluation(
    trained: tuple[ClassifierConfig, TrainResult],
) -> None:
    config, result = trained
    test = ImageFolderDataset(
        config.dataset_root / "Test",
        classes=UCF_CRIME_CLASSES,
        image_size=64,
        mean=config.normalization_mean,
        std=config.normalization_std,
    )
    frames = [np.asarray(Image.open(path).convert("RGB")) for path, _ in test.samples]
    labels = np.array([label for _, label in test.samples])
    classifier = CategoryClassifier(result.onnx_path, batch_size=8)  # several batches
    probabilities = classifier.probabilities(frames)
    assert probabilities.shape == (len(frames), 14)
    assert float((probabilities.argmax(axis=1) == labels).mean()) == pytest.approx(result.best_accuracy)


def test_bad_frames_and_models_are_named(
    trained: tuple[ClassifierConfig, TrainResult], tmp_path: Path
) -> None:
    classifier = CategoryClassifier(trained[1].onnx_path)
    frame = np.zeros((48, 64, 3), np.uint8)
    with pytest.raises(ValueError, match="frames: no frames"):
        classifier.classify([])
    with pytest.raises(
        ValueError, match=r"frames\[1\]: expected an RGB uint8 array \(H, W, 3\), got float32"
    ):
        classifier.classify([frame, frame.astype(np.float32)])
    with pytest.raises(ValueError, match=r"frames\[0\]: .* got uint8 \(48, 64\)"):
        classifier.classify([frame[..., 0]])
    with pytest.raises(ModelError, match=r"absent\.onnx: file not found"):
        CategoryClassifier(tmp_path / "absent.onnx")
    plain = export_onnx(
        nn.Sequential(nn.Flatten(), nn.Linear(12, 14)),
        tmp_path / "plain.onnx",
        example_inputs=(torch.zeros(1, 3, 2, 2),),
        input_names=["image"],
        output_names=["probabilities"],
        dynamic_axes={},
        metadata={},
    )
    with pytest.raises(ModelError, match=r"plain\.onnx: missing or malformed metadata"):
        CategoryClassifier(plain)
