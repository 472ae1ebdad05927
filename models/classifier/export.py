"""ONNX export of the category classifier: input `image` float32 [N,3,H,W] (normalised),
output `probabilities` float32 [N,C] (softmax), dynamic N; metadata props `classes` (JSON list),
`input_size`, `normalization_mean`, `normalization_std` (JSON lists), `backbone`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from models.classifier.model import CategoryNet
from models.export import export_onnx


class _Probabilities(nn.Module):
    """The classifier followed by a softmax over classes."""

    def __init__(self, model: CategoryNet) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(image), dim=1)


def export_category_onnx(
    model: CategoryNet,
    path: str | Path,
    *,
    classes: Sequence[str],
    image_size: int,
    mean: Sequence[float],
    std: Sequence[float],
) -> Path:
    """Write the classifier (on CPU, eval mode) as ONNX with its preprocessing in the metadata."""
    num_classes = model.head[-1].out_features
    if len(classes) != num_classes:
        raise ValueError(f"classes: {len(classes)} names for a model with {num_classes} outputs")
    model = model.cpu()
    example = torch.zeros(2, 3, image_size, image_size)
    return export_onnx(
        _Probabilities(model),
        path,
        example_inputs=(example,),
        input_names=["image"],
        output_names=["probabilities"],
        dynamic_axes={"image": {0: "batch"}, "probabilities": {0: "batch"}},
        metadata={
            "classes": json.dumps(list(classes)),
            "input_size": str(image_size),
            "normalization_mean": json.dumps([float(v) for v in mean]),
            "normalization_std": json.dumps([float(v) for v in std]),
            "backbone": model.backbone_name,
        },
    )
