"""Tiny REAL ONNX models for the inference tests and the benchmark fallback (small data, not mocks).

- extractor: a small 3-D conv net exported to the extractor contract (`clip` [N,3,T,H,W] -> `features`
  [N,D], metadata props as `python -m models prepare` writes them);
- detector: `models.detector.create_detector` exported with `models.export.export_detector`, either with
  random weights or trained for a few seconds on one labelled Ped2 clip (so that its alerts mean something);
- colour models: a category classifier (softmax over "red", "green", "blue" of the mean colour, exported to
  the models/classifier/export.py contract) and a detector that scores segments far from a green clip's
  features high (so that generated coloured videos have predictable intervals and categories).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from torch import nn

from models.detector import create_detector
from models.export import export_detector, export_onnx

FEATURE_DIM = 32


class TinyExtractor(nn.Module):
    """3-D conv features: two strided conv layers, global average pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv3d(3, 16, kernel_size=(3, 7, 7), stride=(2, 4, 4), padding=(1, 3, 3)),
            nn.ReLU(),
            nn.Conv3d(16, FEATURE_DIM, kernel_size=3, stride=2, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool3d(1),
            nn.Flatten(),
        )

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.net(clip)


def create_tiny_extractor(*, seed: int = 0) -> TinyExtractor:
    """A TinyExtractor with seeded (deterministic) weights."""
    torch.manual_seed(seed)
    return TinyExtractor().eval()


def build_extractor(path: Path, *, size: int, segment_length: int = 16, seed: int = 0) -> Path:
    """Export the seeded TinyExtractor for `size` x `size` input to `path`."""
    model = create_tiny_extractor(seed=seed)
    export_onnx(
        model,
        path,
        example_inputs=(torch.randn(2, 3, segment_length, size, size),),
        input_names=["clip"],
        output_names=["features"],
        dynamic_axes={"clip": {0: "batch"}, "features": {0: "batch"}},
        metadata={
            "extractor": "tiny",
            "feature_dim": str(FEATURE_DIM),
            "segment_length": str(segment_length),
            "input_height": str(size),
            "input_width": str(size),
            "normalization_mean": json.dumps([0.5, 0.5, 0.5]),
            "normalization_std": json.dumps([0.5, 0.5, 0.5]),
            "precision": "fp32",
        },
    )
    return Path(path)


def _detector(seed: int):
    torch.manual_seed(seed)
    return create_detector(
        feature_dim=FEATURE_DIM,
        model_dim=16,
        num_heads=2,
        attention_window=5,
        attention_context=8,
        dropout=0.0,
    )


def export(model: nn.Module, path: Path, *, smoothing_window: int) -> Path:
    metadata = {"segment_length": "16", "smoothing_window": str(smoothing_window), "extractor": "tiny"}
    return export_detector(model.eval(), path, metadata=metadata)


def build_random_detector(path: Path, *, smoothing_window: int = 1, seed: int = 0) -> Path:
    """Export an untrained detector (random weights) to `path`."""
    return export(_detector(seed), path, smoothing_window=smoothing_window)


def build_cue_detector(path: Path, *, seed: int = 0) -> Path:
    """Export an untrained detector of the scene profile's cue channels (metadata `inputs` = cues)."""
    from inferences.profile import CHANNELS

    torch.manual_seed(seed)
    model = create_detector(
        feature_dim=len(CHANNELS), model_dim=16, num_heads=2, attention_context=8, dropout=0.0
    )
    metadata = {"segment_length": "16", "smoothing_window": "1", "extractor": "tiny", "inputs": "cues"}
    return export_detector(model.eval(), path, metadata=metadata)


def build_trained_detector(
    path: Path, sequences: list[np.ndarray], labels: list[np.ndarray], *, steps: int = 150, seed: int = 0
) -> Path:
    """Train a detector on feature sequences (T, D) with segment labels (T,) in {0, 1}, export it.

    Random windows of the sequences are used so scores do not depend on where the history starts. The
    features are standardised inside the exported model (the tiny extractor's features vary by ~1e-3), so
    the detector learns from their content in a few steps.
    """
    stacked = np.concatenate(sequences)
    model = Standardised(_detector(seed), stacked.mean(axis=0), stacked.std(axis=0) + 1e-6)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    rng = np.random.default_rng(seed)
    loss_fn = nn.BCEWithLogitsLoss()
    for _ in range(steps):
        batch_x, batch_y = [], []
        for _ in range(8):
            k = rng.integers(len(sequences))
            x, y = sequences[k], labels[k]
            length = int(rng.integers(3, len(x) + 1))
            start = int(rng.integers(0, len(x) - length + 1))
            batch_x.append(x[start : start + length])
            batch_y.append(y[start : start + length])
        longest = max(len(x) for x in batch_x)
        features = torch.zeros(len(batch_x), longest, FEATURE_DIM)
        targets = torch.zeros(len(batch_x), longest)
        mask = torch.zeros(len(batch_x), longest, dtype=torch.bool)
        for i, (x, y) in enumerate(zip(batch_x, batch_y, strict=True)):
            features[i, : len(x)] = torch.from_numpy(x)
            targets[i, : len(y)] = torch.from_numpy(y)
            mask[i, : len(x)] = True
        logits = model.logits(features, mask)
        loss = loss_fn(logits[mask], targets[mask])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return export(model, path, smoothing_window=1)


class Standardised(nn.Module):
    """A detector that standardises its input features with fixed statistics first."""

    def __init__(self, detector: nn.Module, mean: np.ndarray, std: np.ndarray) -> None:
        super().__init__()
        self.detector = detector
        self.feature_dim, self.context_length = detector.feature_dim, detector.context_length
        self.register_buffer("mean", torch.from_numpy(mean.astype(np.float32)))
        self.register_buffer("std", torch.from_numpy(std.astype(np.float32)))

    def logits(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.detector.logits((features - self.mean) / self.std, mask)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.logits(features, mask)) * mask.to(features.dtype)


COLOURS = {"red": (200, 30, 30), "green": (30, 200, 30), "blue": (30, 30, 200)}


class ColourCategory(nn.Module):
    """Class probabilities from the mean colour of a normalised image (N, 3, H, W): red, green, blue."""

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(4 * image.mean(dim=(2, 3)), dim=1)


def build_colour_category(path: Path, *, size: int = 32) -> Path:
    """Export ColourCategory with the metadata props inferences/category.py reads."""
    return export_onnx(
        ColourCategory(),
        path,
        example_inputs=(torch.zeros(2, 3, size, size),),
        input_names=["image"],
        output_names=["probabilities"],
        dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}},
        metadata={
            "classes": json.dumps(list(COLOURS)),
            "input_size": str(size),
            "normalization_mean": json.dumps([0.5, 0.5, 0.5]),
            "normalization_std": json.dumps([0.5, 0.5, 0.5]),
            "backbone": "mean-colour",
        },
    )


class ColourDetector(nn.Module):
    """Segment score sigmoid(scale * (distance to the green features - margin)): ~0 on green, ~1 otherwise."""

    def __init__(self, green: torch.Tensor, margin: float) -> None:
        super().__init__()
        self.feature_dim = FEATURE_DIM
        self.context_length = 1  # one segment at a time
        self.register_buffer("green", green)
        self.margin = margin

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        distance = (features - self.green).norm(dim=-1)
        return torch.sigmoid(10 * (distance / self.margin - 1)) * mask.float()


def build_colour_detector(path: Path, *, size: int, segment_length: int = 16) -> Path:
    """Export a ColourDetector for the seeded tiny extractor (`size` x `size` input) to `path`."""
    extractor = create_tiny_extractor()

    def features(name: str) -> torch.Tensor:
        colour = torch.tensor(COLOURS[name], dtype=torch.float32).view(1, 3, 1, 1, 1) / 255
        clip = ((colour - 0.5) / 0.5).expand(1, 3, segment_length, size, size)
        with torch.no_grad():
            return extractor(clip)[0]

    green = features("green")
    margin = 0.5 * min(float((features(name) - green).norm()) for name in ("red", "blue"))
    return export(ColourDetector(green, margin), path, smoothing_window=1)
