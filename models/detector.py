"""The anomaly detector: feature sequence (B, T, D) + padding mask -> per-segment scores in [0, 1].

Pipeline: feature reduction (D -> model width), causal context attention blocks
(`models.attention`), a causal temporal convolution classifier (`models.temporal_conv`), sigmoid.
Every stage is causal in time and bounded: the score of segment t depends only on the `context_length`
segments t - context_length < j <= t (`AnomalyDetector.context_length`), never on later segments nor on
how many came before. So changing future segments never changes past scores, scoring the newest segment
live over a deque of `history-length >= context_length` segments equals offline scoring, and nothing in
the model reveals a segment's index (no zero padding, no unbounded attention).
Smoothing is not part of the model (see `inferences.smoothing`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from inferences.errors import SurveillanceError
from models.attention import ContextBlock
from models.temporal_conv import TemporalConvClassifier


class DetectorCheckpointError(SurveillanceError):
    """A detector checkpoint that is missing or unreadable."""


class AnomalyDetector(nn.Module):
    """Causal anomaly detector; build it with `create_detector`."""

    def __init__(
        self,
        *,
        feature_dim: int,
        model_dim: int,
        num_heads: int,
        num_layers: int,
        attention_window: int,
        attention_context: int,
        alpha: float,
        max_distance: int,
        kernel_size: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.feature_dim = feature_dim
        self.reduction = nn.Sequential(nn.Linear(feature_dim, model_dim), nn.GELU(), nn.Dropout(dropout))
        self.blocks = nn.ModuleList(
            ContextBlock(
                dim=model_dim,
                num_heads=num_heads,
                window=attention_window,
                context=attention_context,
                alpha=alpha,
                max_distance=max_distance,
                dropout=dropout,
            )
            for _ in range(num_layers)
        )
        self.classifier = TemporalConvClassifier(dim=model_dim, kernel_size=kernel_size, dropout=dropout)
        self.context_length = num_layers * (attention_context - 1) + self.classifier.receptive_field

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`features` (B, T, D) float32, `mask` (B, T) bool (True = real segment) -> scores (B, T).

        Scores of padded segments are 0.
        """
        return torch.sigmoid(self.logits(features, mask)) * mask.to(features.dtype)

    def logits(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid scores (B, T), for a numerically stable training loss.

        Sequences start at their first segment (padding, if any, is on the right). The model sees the
        first segment repeated `context_length - 1` times before it, as if it had always been there, so
        the first segments get a full context and their scores do not depend on being first.
        """
        lead = self.context_length - 1
        x = self.reduction(features * mask.unsqueeze(-1).to(features.dtype))  # per segment: reduce once
        x = torch.cat([x[:, :1].expand(-1, lead, -1), x], dim=1)
        mask = torch.cat([mask[:, :1].expand(-1, lead), mask], dim=1)
        keep = mask.unsqueeze(-1).to(x.dtype)
        for block in self.blocks:
            x = block(x, mask)
        return self.classifier(x * keep)[:, lead:]


def create_detector(
    *,
    feature_dim: int,
    model_dim: int = 128,
    num_heads: int = 4,
    num_layers: int = 1,
    attention_window: int = 5,
    attention_context: int = 32,
    alpha: float = 0.5,
    max_distance: int = 64,
    kernel_size: int = 3,
    dropout: float = 0.1,
) -> AnomalyDetector:
    """Build an `AnomalyDetector`; the keyword arguments are what a checkpoint's `model_config` holds."""
    checks = {
        "feature_dim": feature_dim >= 1,
        "model_dim": model_dim >= 1,
        "num_heads": num_heads >= 1,
        "num_layers": num_layers >= 1,
        "attention_window": attention_window >= 1,
        "attention_context": attention_context >= attention_window,
        "alpha": 0.0 <= alpha <= 1.0,
        "max_distance": max_distance >= 1,
        "kernel_size": kernel_size >= 1,
        "dropout": 0.0 <= dropout < 1.0,
    }
    for name, ok in checks.items():
        if not ok:
            raise ValueError(f"create_detector: invalid {name}={locals()[name]!r}")
    return AnomalyDetector(
        feature_dim=feature_dim,
        model_dim=model_dim,
        num_heads=num_heads,
        num_layers=num_layers,
        attention_window=attention_window,
        attention_context=attention_context,
        alpha=alpha,
        max_distance=max_distance,
        kernel_size=kernel_size,
        dropout=dropout,
    )


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a detector checkpoint dict (on CPU); `DetectorCheckpointError` names the file and the problem."""
    path = Path(path)
    if not path.is_file():
        raise DetectorCheckpointError(f"{path}: checkpoint file not found")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # torch raises many types for a corrupt file
        raise DetectorCheckpointError(f"{path}: not a readable checkpoint ({error})") from None
    if not isinstance(checkpoint, dict) or not {"model", "model_config"} <= checkpoint.keys():
        raise DetectorCheckpointError(f"{path}: not a detector checkpoint (needs 'model' and 'model_config')")
    return checkpoint


def load_detector(path: str | Path) -> AnomalyDetector:
    """Load a detector from a checkpoint written by train.py, in eval mode on CPU."""
    checkpoint = read_checkpoint(path)
    try:
        model = create_detector(**checkpoint["model_config"])
        model.load_state_dict(checkpoint["model"])
    except (TypeError, RuntimeError, ValueError) as error:
        raise DetectorCheckpointError(f"{path}: checkpoint does not match the detector ({error})") from None
    return model.eval()
