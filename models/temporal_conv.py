"""Causal 1-D temporal convolutions: the output at time t depends only on inputs at times <= t.

The left padding repeats the first segment instead of adding zeros: zeros would make the start of a
sequence visible to the model (it could learn "how many segments came before" instead of what is in them).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional


class CausalConv1d(nn.Conv1d):
    """A Conv1d padded on the left only, by (kernel_size - 1) * dilation copies of the first time step, so it
    never looks ahead and a constant input gives a constant output at every position."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, *, dilation: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, dilation=dilation)
        self.left_padding = (kernel_size - 1) * dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x` (B, C, T) -> (B, C_out, T)."""
        if not self.left_padding:
            return super().forward(x)
        return super().forward(functional.pad(x, (self.left_padding, 0), mode="replicate"))


class TemporalConvClassifier(nn.Module):
    """Causal convolutions from the model width down to one logit per segment; each logit sees
    `receptive_field` segments of its input (the current one and the ones before it)."""

    def __init__(self, *, dim: int, kernel_size: int, dropout: float) -> None:
        super().__init__()
        hidden = max(dim // 2, 1)
        self.layers = nn.Sequential(
            CausalConv1d(dim, hidden, kernel_size),
            nn.GELU(),
            nn.Dropout(dropout),
            CausalConv1d(hidden, max(hidden // 2, 1), kernel_size, dilation=2),
            nn.GELU(),
            nn.Dropout(dropout),
            CausalConv1d(max(hidden // 2, 1), 1, 1),
        )

    @property
    def receptive_field(self) -> int:
        """Segments of input that one output logit depends on."""
        return 1 + sum(layer.left_padding for layer in self.layers if isinstance(layer, CausalConv1d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`x` (B, T, C) -> logits (B, T)."""
        return self.layers(x.transpose(1, 2)).squeeze(1)
