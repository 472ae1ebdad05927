"""The baseline's classification head on top of a convolutional backbone's feature map."""

from __future__ import annotations

import torch
from torch import nn


class CategoryHead(nn.Sequential):
    """Global average pooling -> Dense 256 ReLU -> Dropout 0.3 -> Dense 1024 ReLU -> Dropout 0.5
    -> Dense 512 ReLU -> Dropout 0.4 -> Dense `num_classes` (logits; softmax in the loss and the export)."""

    def __init__(self, in_features: int, num_classes: int) -> None:
        super().__init__(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(1),
            nn.Linear(in_features, 256),
            nn.ReLU(inplace=True),
            nn.Dropout(0.3),
            nn.Linear(256, 1024),
            nn.ReLU(inplace=True),
            nn.Dropout(0.5),
            nn.Linear(1024, 512),
            nn.ReLU(inplace=True),
            nn.Dropout(0.4),
            nn.Linear(512, num_classes),
        )
        for module in self.modules():  # Keras Dense defaults, as in the baseline
            if isinstance(module, nn.Linear):
                nn.init.xavier_uniform_(module.weight)
                nn.init.zeros_(module.bias)

    def forward(self, feature_map: torch.Tensor) -> torch.Tensor:
        """`(N, C, h, w)` feature map -> `(N, num_classes)` logits."""
        return super().forward(feature_map)
