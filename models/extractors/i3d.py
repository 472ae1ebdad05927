"""Inception-I3D (RGB stream, Kinetics-400) in plain PyTorch.

The layer layout, TensorFlow-style SAME padding and the batch norm (epsilon 1e-3, offset but no scale) follow
the original Kinetics-I3D network, so the converted Kinetics-400 weights (`i3d_weights.py`) reproduce its
outputs. Input: RGB clips `[N, 3, T, H, W]` scaled to [-1, 1], 224x224 by default.
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

FEATURE_DIM = 1024
SEGMENT_LENGTH = 16
INPUT_SIZE = 224
# The network's input is RGB scaled to [-1, 1]: (x / 255 - mean) / std with these per-channel values.
NORMALIZATION_MEAN = (0.5, 0.5, 0.5)
NORMALIZATION_STD = (0.5, 0.5, 0.5)

Triple = tuple[int, int, int]


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow SAME padding of one dimension: (before, after), the extra element going after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_spec(shape: torch.Size, kernel: Triple, stride: Triple) -> tuple[list[int], bool]:
    """F.pad argument (last dimension first) for SAME padding of a [N, C, T, H, W] tensor; and symmetry."""
    pads = [same_padding(shape[2 + i], kernel[i], stride[i]) for i in range(3)]
    flat = [value for before_after in reversed(pads) for value in before_after]
    return flat, all(before == after for before, after in pads)


class Unit3D(nn.Module):
    """Conv3d (SAME padding) -> optional batch norm -> optional ReLU."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Triple = (1, 1, 1),
        stride: Triple = (1, 1, 1),
        *,
        batch_norm: bool = True,
        activation: bool = True,
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.kernel, self.stride, self.activation = kernel, stride, activation
        self.conv = nn.Conv3d(in_channels, out_channels, kernel, stride, bias=bias)
        # The original's batch norm has an offset (beta) but no scale: `bn.weight` stays at 1.
        self.bn = nn.BatchNorm3d(out_channels, eps=1e-3, momentum=0.001) if batch_norm else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad, symmetric = _pad_spec(x.shape, self.kernel, self.stride)
        if symmetric:
            x = F.conv3d(x, self.conv.weight, self.conv.bias, self.stride, padding=pad[::2][::-1])
        else:
            x = self.conv(F.pad(x, pad))
        if self.bn is not None:
            x = self.bn(x)
        return F.relu(x) if self.activation else x


class MaxPool3dSame(nn.Module):
    """Max pooling with TensorFlow SAME padding.

    Pads with zeros: every pooling input in I3D is a ReLU output (>= 0) and every window holds at least one
    real element, so this equals TensorFlow's padding that ignores the padded positions.
    """

    def __init__(self, kernel: Triple, stride: Triple) -> None:
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pad, _ = _pad_spec(x.shape, self.kernel, self.stride)
        return F.max_pool3d(F.pad(x, pad), self.kernel, self.stride)


class InceptionBlock(nn.Module):
    """Four parallel branches (1x1; 1x1 -> 3x3; 1x1 -> 3x3; max-pool -> 1x1) concatenated on channels."""

    def __init__(self, in_channels: int, widths: tuple[int, int, int, int, int, int]) -> None:
        super().__init__()
        self.branch0 = Unit3D(in_channels, widths[0])
        self.branch1 = nn.Sequential(Unit3D(in_channels, widths[1]), Unit3D(widths[1], widths[2], (3, 3, 3)))
        self.branch2 = nn.Sequential(Unit3D(in_channels, widths[3]), Unit3D(widths[3], widths[4], (3, 3, 3)))
        self.branch3 = nn.Sequential(MaxPool3dSame((3, 3, 3), (1, 1, 1)), Unit3D(in_channels, widths[5]))
        self.out_channels = widths[0] + widths[2] + widths[4] + widths[5]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch0(x), self.branch1(x), self.branch2(x), self.branch3(x)], dim=1)


# (name, in_channels, branch widths) of the nine mixed blocks; max-pools sit before Mixed_4b and Mixed_5b.
_MIXED = (
    ("Mixed_3b", 192, (64, 96, 128, 16, 32, 32)),
    ("Mixed_3c", 256, (128, 128, 192, 32, 96, 64)),
    ("Mixed_4b", 480, (192, 96, 208, 16, 48, 64)),
    ("Mixed_4c", 512, (160, 112, 224, 24, 64, 64)),
    ("Mixed_4d", 512, (128, 128, 256, 24, 64, 64)),
    ("Mixed_4e", 512, (112, 144, 288, 32, 64, 64)),
    ("Mixed_4f", 528, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5b", 832, (256, 160, 320, 32, 128, 128)),
    ("Mixed_5c", 832, (384, 192, 384, 48, 128, 128)),
)
# Mixed block -> (name, kernel, stride) of the max-pool before it.
_POOL_BEFORE = {
    "Mixed_3b": ("MaxPool3d_3a_3x3", (1, 3, 3), (1, 2, 2)),
    "Mixed_4b": ("MaxPool3d_4a_3x3", (3, 3, 3), (2, 2, 2)),
    "Mixed_5b": ("MaxPool3d_5a_2x2", (2, 2, 2), (2, 2, 2)),
}


class InceptionI3d(nn.Module):
    """Inception-I3D RGB network: `forward_features` -> [N, 1024], `forward` -> [N, num_classes] logits."""

    def __init__(self, num_classes: int = 400) -> None:
        super().__init__()
        layers: dict[str, nn.Module] = {
            "Conv3d_1a_7x7": Unit3D(3, 64, (7, 7, 7), (2, 2, 2)),
            "MaxPool3d_2a_3x3": MaxPool3dSame((1, 3, 3), (1, 2, 2)),
            "Conv3d_2b_1x1": Unit3D(64, 64),
            "Conv3d_2c_3x3": Unit3D(64, 192, (3, 3, 3)),
        }
        for name, in_channels, widths in _MIXED:
            if name in _POOL_BEFORE:
                pool, kernel, stride = _POOL_BEFORE[name]
                layers[pool] = MaxPool3dSame(kernel, stride)
            layers[name] = InceptionBlock(in_channels, widths)
        self.features = nn.Sequential(OrderedDict(layers))
        self.logits = Unit3D(FEATURE_DIM, num_classes, batch_norm=False, activation=False, bias=True)

    def forward_features(self, clip: torch.Tensor) -> torch.Tensor:
        """Global average of the last mixed block (Mixed_5c): [N, 3, T, H, W] -> [N, 1024]."""
        return self.features(clip).mean(dim=(2, 3, 4))

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """Class logits as in the original: 2x7x7 VALID average pool, 1x1x1 conv, mean over time."""
        x = F.avg_pool3d(self.features(clip), (2, 7, 7), stride=1)
        return self.logits(x).mean(dim=(2, 3, 4))


class I3dFeatures(nn.Module):
    """Wraps an InceptionI3d: forward(clip [N, 3, T, H, W]) -> features [N, 1024]; ONNX-exportable."""

    def __init__(self, backbone: InceptionI3d) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.backbone.forward_features(clip)


def create_i3d(*, num_classes: int = 400) -> InceptionI3d:
    """A randomly initialised Inception-I3D; load weights with `i3d_weights.load_i3d_kinetics400`."""
    return InceptionI3d(num_classes=num_classes)
