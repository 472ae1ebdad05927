"""Causal context attention: relative position bias, global + local attention fused by `alpha`."""

from __future__ import annotations

import torch
from torch import nn


class RelativePositionBias(nn.Module):
    """A learnable function of the distance |i - j| between segments, one value per head.

    Distances beyond `max_distance` share the last entry, so any sequence length works.
    """

    def __init__(self, *, num_heads: int, max_distance: int) -> None:
        super().__init__()
        self.max_distance = max_distance
        self.table = nn.Parameter(torch.zeros(num_heads, max_distance + 1))

    def forward(self, distance: torch.Tensor) -> torch.Tensor:
        """`distance` (T, T) int64 -> bias (heads, T, T)."""
        return self.table[:, distance.clamp(max=self.max_distance)]


class ContextAttention(nn.Module):
    """Multi-head attention over segments that is causal in time.

    One similarity matrix (scaled dot product + relative position bias) feeds two attention maps:
    the global one over the `context` segments i - context < j <= i and the local one over the `window`
    segments i - window < j <= i (both look back only). Bounding the global map by `context` makes a
    segment's output independent of how long the sequence before it is: the same content gives the same
    output at position 5 and at position 500, and live scoring over a `history-length` deque equals
    offline scoring of the whole video. Their outputs are fused as
    `alpha * global + (1 - alpha) * local`. Masking future segments (j > i) in both maps is what
    makes the detector's score for segment i independent of segments after i, so live scoring of the
    newest segment equals offline scoring. Padded keys (mask False) are ignored; every segment may
    always attend to itself, so no row is empty and no NaN can appear.
    """

    def __init__(
        self,
        *,
        dim: int,
        num_heads: int,
        window: int,
        context: int,
        alpha: float,
        max_distance: int,
        dropout: float,
    ) -> None:
        super().__init__()
        if dim % num_heads:
            raise ValueError(f"model width {dim} is not divisible by the number of heads {num_heads}")
        self.num_heads = num_heads
        self.window = window
        self.context = context
        self.alpha = alpha
        self.scale = (dim // num_heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.position = RelativePositionBias(num_heads=num_heads, max_distance=max_distance)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """`x` (B, T, C), `mask` (B, T) bool (True = real segment) -> (B, T, C)."""
        batch, length, dim = x.shape
        q, k, v = self.qkv(x).view(batch, length, 3, self.num_heads, -1).permute(2, 0, 3, 1, 4)
        positions = torch.arange(length, device=x.device)
        offset = positions[:, None] - positions[None, :]  # i - j
        logits = (q @ k.transpose(-1, -2)) * self.scale + self.position(offset.abs())
        causal = (offset >= 0) & (offset < self.context)
        keys = mask[:, None, None, :] | (offset == 0)  # (B, 1, T, T)
        global_allowed = causal & keys
        local_allowed = global_allowed & (offset < self.window)
        lowest = torch.finfo(logits.dtype).min
        global_attention = self.dropout(logits.masked_fill(~global_allowed, lowest).softmax(-1))
        local_attention = self.dropout(logits.masked_fill(~local_allowed, lowest).softmax(-1))
        fused = self.alpha * (global_attention @ v) + (1.0 - self.alpha) * (local_attention @ v)
        return self.proj(fused.transpose(1, 2).reshape(batch, length, dim))


class ContextBlock(nn.Module):
    """Context attention, residual + LayerNorm, feed-forward, residual + LayerNorm (all per segment)."""

    def __init__(
        self,
        *,
        dim: int,
        num_heads: int,
        window: int,
        context: int,
        alpha: float,
        max_distance: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.attention = ContextAttention(
            dim=dim,
            num_heads=num_heads,
            window=window,
            context=context,
            alpha=alpha,
            max_distance=max_distance,
            dropout=dropout,
        )
        self.norm1 = nn.LayerNorm(dim)
        self.feed_forward = nn.Sequential(
            nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim)
        )
        self.norm2 = nn.LayerNorm(dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.norm1(x + self.dropout(self.attention(x, mask)))
        return self.norm2(x + self.dropout(self.feed_forward(x)))
