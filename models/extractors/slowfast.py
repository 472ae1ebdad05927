"""SlowFast R50 (8x8) in plain PyTorch, state-dict compatible with pytorchvideo's model zoo.

Two variants share one backbone:

- `create_slowfast_r50()`: pytorchvideo's `slowfast_r50` (Kinetics-400, `SLOWFAST_8x8_R50.pyth`);
  keys `blocks.0` .. `blocks.6` (`blocks.6.proj` is the 400-way classifier).
- `create_slowfast_r50_detection()`: pytorchvideo's `slowfast_r50_detection` (AVA,
  `SLOWFAST_8x8_R50_DETECTION.pyth`); keys `model.blocks.0` .. `model.blocks.5` and
  `detection_head.proj` (80 AVA actions). Its res5 stage has spatial stride 1 and dilation 2.

Both load the official `{"model_state": state_dict}` files with `strict=True`. The feature used by the
anomaly detector is the global average of the slow pathway's res5 output (2048 channels) concatenated with
the fast pathway's (256) = 2304, computed by `forward_features` / `SlowFastFeatures`.

Layout of the parameter tree (pathway 0 = slow, 1 = fast):
`blocks.{0..4}.multipathway_blocks.{0,1}` (stem, then res2..res5 stages of `res_blocks.{i}` with
`branch1_conv`/`branch1_norm` shortcut and `branch2.{conv,norm}_{a,b,c}` bottleneck) and
`blocks.{0..3}.multipathway_fusion.{conv_fast_to_slow,norm}` (fast-to-slow lateral connections).
"""

from collections.abc import Sequence

import torch
from torch import nn

from inferences.errors import SurveillanceError

ALPHA = 4
"""Frame-rate ratio between the fast and the slow pathway (pytorchvideo's `slow_fast_alpha`)."""
BETA_INV = 8
"""Channel ratio slow / fast (pytorchvideo's `slowfast_channel_reduction_ratio`)."""
FUSION_CHANNEL_RATIO = 2
"""Fast-to-slow lateral conv output channels = 2 x the fast pathway's channels."""
FUSION_KERNEL_T = 7
STAGE_DEPTHS = (3, 4, 6, 3)
"""Bottleneck blocks in res2..res5 (ResNet-50)."""
SLOW_CONV_A_KERNEL_T = (1, 1, 3, 3)
"""Temporal kernel of each stage's first conv (conv_a) in the slow pathway; the fast one uses 3 throughout."""
FAST_CONV_A_KERNEL_T = (3, 3, 3, 3)
STEM_CHANNELS = (64, 64 // BETA_INV)
STEM_KERNEL_T = (1, 5)
FEATURE_DIM = 2048 + 2048 // BETA_INV
"""2304: slow res5 channels + fast res5 channels."""
SEGMENT_LENGTH = 16
INPUT_SIZE = 224
NORMALIZATION_MEAN = (0.45, 0.45, 0.45)
NORMALIZATION_STD = (0.225, 0.225, 0.225)


class SlowFastInputError(SurveillanceError):
    """The clip given to a SlowFast model has the wrong shape."""


class SlowFastCheckpointError(SurveillanceError):
    """A state dict whose keys or shapes differ from the SlowFast variant's."""


def _conv3d(
    dim_in: int,
    dim_out: int,
    kernel: Sequence[int],
    *,
    stride: Sequence[int] = (1, 1, 1),
    dilation: Sequence[int] = (1, 1, 1),
) -> nn.Conv3d:
    """A bias-free 3-D convolution with 'same' padding for odd kernels."""
    padding = tuple(d * (k // 2) for k, d in zip(kernel, dilation, strict=True))
    return nn.Conv3d(
        dim_in,
        dim_out,
        tuple(kernel),
        stride=tuple(stride),
        padding=padding,
        dilation=tuple(dilation),
        bias=False,
    )


class _Stem(nn.Module):
    """Conv (T x 7 x 7, spatial stride 2) -> BN -> ReLU -> max-pool (1 x 3 x 3, stride 2)."""

    def __init__(self, dim_out: int, kernel_t: int) -> None:
        super().__init__()
        self.conv = _conv3d(3, dim_out, (kernel_t, 7, 7), stride=(1, 2, 2))
        self.norm = nn.BatchNorm3d(dim_out)
        self.activation = nn.ReLU()
        self.pool = nn.MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.activation(self.norm(self.conv(x))))


class _Bottleneck(nn.Module):
    """Tx1x1 conv -> 1x3x3 conv (carries the spatial stride) -> 1x1x1 conv, BN after each."""

    def __init__(
        self, dim_in: int, dim_inner: int, dim_out: int, *, kernel_t: int, stride: int, dilation: int
    ) -> None:
        super().__init__()
        self.conv_a = _conv3d(dim_in, dim_inner, (kernel_t, 1, 1))
        self.norm_a = nn.BatchNorm3d(dim_inner)
        self.act_a = nn.ReLU()
        self.conv_b = _conv3d(
            dim_inner, dim_inner, (1, 3, 3), stride=(1, stride, stride), dilation=(1, dilation, dilation)
        )
        self.norm_b = nn.BatchNorm3d(dim_inner)
        self.act_b = nn.ReLU()
        self.conv_c = _conv3d(dim_inner, dim_out, (1, 1, 1))
        self.norm_c = nn.BatchNorm3d(dim_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act_a(self.norm_a(self.conv_a(x)))
        x = self.act_b(self.norm_b(self.conv_b(x)))
        return self.norm_c(self.conv_c(x))


class _ResBlock(nn.Module):
    """ReLU(shortcut(x) + bottleneck(x)); the shortcut is a 1x1x1 conv + BN when the shape changes."""

    def __init__(
        self, dim_in: int, dim_inner: int, dim_out: int, *, kernel_t: int, stride: int, dilation: int
    ) -> None:
        super().__init__()
        if dim_in != dim_out or stride != 1:
            self.branch1_conv = _conv3d(dim_in, dim_out, (1, 1, 1), stride=(1, stride, stride))
            self.branch1_norm = nn.BatchNorm3d(dim_out)
        else:
            self.branch1_conv = None
            self.branch1_norm = None
        self.branch2 = _Bottleneck(
            dim_in, dim_inner, dim_out, kernel_t=kernel_t, stride=stride, dilation=dilation
        )
        self.activation = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.branch1_conv is None else self.branch1_norm(self.branch1_conv(x))
        return self.activation(shortcut + self.branch2(x))


class _ResStage(nn.Module):
    """A sequence of residual blocks; only the first one changes channels and resolution."""

    def __init__(
        self,
        depth: int,
        dim_in: int,
        dim_inner: int,
        dim_out: int,
        *,
        kernel_t: int,
        stride: int,
        dilation: int,
    ) -> None:
        super().__init__()
        self.res_blocks = nn.ModuleList(
            _ResBlock(
                dim_in if i == 0 else dim_out,
                dim_inner,
                dim_out,
                kernel_t=kernel_t,
                stride=stride if i == 0 else 1,
                dilation=dilation,
            )
            for i in range(depth)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.res_blocks:
            x = block(x)
        return x


class _FuseFastToSlow(nn.Module):
    """Lateral connection: time-strided conv of the fast features, concatenated to the slow ones."""

    def __init__(self, fast_dim: int) -> None:
        super().__init__()
        dim_out = fast_dim * FUSION_CHANNEL_RATIO
        self.conv_fast_to_slow = _conv3d(fast_dim, dim_out, (FUSION_KERNEL_T, 1, 1), stride=(ALPHA, 1, 1))
        self.norm = nn.BatchNorm3d(dim_out)
        self.activation = nn.ReLU()

    def forward(self, pathways: list[torch.Tensor]) -> list[torch.Tensor]:
        slow, fast = pathways
        fused = self.activation(self.norm(self.conv_fast_to_slow(fast)))
        return [torch.cat([slow, fused], dim=1), fast]


class _PathwayStage(nn.Module):
    """One block per pathway, then the fast-to-slow fusion (identity after res5)."""

    def __init__(self, slow: nn.Module, fast: nn.Module, fusion: nn.Module) -> None:
        super().__init__()
        self.multipathway_blocks = nn.ModuleList([slow, fast])
        self.multipathway_fusion = fusion

    def forward(self, pathways: list[torch.Tensor]) -> list[torch.Tensor]:
        outputs = [block(x) for block, x in zip(self.multipathway_blocks, pathways, strict=True)]
        return self.multipathway_fusion(outputs)


class _GlobalPoolConcat(nn.Module):
    """Global spatio-temporal average of each pathway, concatenated along channels: [N, 2304].

    Stands at pytorchvideo's parameter-free `PoolConcatPathway` position (`blocks.5`).
    """

    def forward(self, pathways: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat([x.mean(dim=(2, 3, 4)) for x in pathways], dim=1)


def _backbone_blocks(*, detection: bool) -> list[nn.Module]:
    """Stem, res2..res5 (both pathways, with fusions) and the pooling block: pytorchvideo's blocks 0..5."""
    fast_stem_dim = STEM_CHANNELS[1]
    blocks: list[nn.Module] = [
        _PathwayStage(
            _Stem(STEM_CHANNELS[0], STEM_KERNEL_T[0]),
            _Stem(fast_stem_dim, STEM_KERNEL_T[1]),
            _FuseFastToSlow(fast_stem_dim),
        )
    ]
    dim_in, dim_out = STEM_CHANNELS[0], STEM_CHANNELS[0] * 4
    for idx, depth in enumerate(STAGE_DEPTHS):
        last = idx == len(STAGE_DEPTHS) - 1
        # The detection variant keeps res5 at 1/16 resolution: stride 1, dilation 2 (as for AVA).
        stride = 1 if idx == 0 or (last and detection) else 2
        dilation = 2 if last and detection else 1
        slow_in = dim_in + dim_in * FUSION_CHANNEL_RATIO // BETA_INV
        slow = _ResStage(
            depth,
            slow_in,
            dim_out // 4,
            dim_out,
            kernel_t=SLOW_CONV_A_KERNEL_T[idx],
            stride=stride,
            dilation=dilation,
        )
        fast = _ResStage(
            depth,
            dim_in // BETA_INV,
            dim_out // 4 // BETA_INV,
            dim_out // BETA_INV,
            kernel_t=FAST_CONV_A_KERNEL_T[idx],
            stride=stride,
            dilation=dilation,
        )
        fusion = nn.Identity() if last else _FuseFastToSlow(dim_out // BETA_INV)
        blocks.append(_PathwayStage(slow, fast, fusion))
        dim_in, dim_out = dim_out, dim_out * 2
    blocks.append(_GlobalPoolConcat())
    return blocks


def pack_pathways(clip: torch.Tensor, alpha: int = ALPHA) -> list[torch.Tensor]:
    """Split a clip [N,3,T,H,W] into [slow, fast] like pytorchvideo's PackPathway.

    fast = all T frames; slow = frames at `linspace(0, T-1, T // alpha)` truncated to integers.
    """
    if clip.dim() != 5 or clip.shape[1] != 3:
        raise SlowFastInputError(f"clip must have shape [N, 3, T, H, W], got {list(clip.shape)}")
    frames = clip.shape[2]
    if frames < alpha or frames % alpha:
        raise SlowFastInputError(f"clip length T={frames} must be a positive multiple of alpha={alpha}")
    if clip.shape[3] < 32 or clip.shape[4] < 32:
        raise SlowFastInputError(f"clip frames must be at least 32x32, got {clip.shape[3]}x{clip.shape[4]}")
    index = torch.linspace(0, frames - 1, frames // alpha).long().to(clip.device)
    return [torch.index_select(clip, 2, index), clip]


def _features(blocks: nn.ModuleList, clip: torch.Tensor) -> torch.Tensor:
    """Run blocks 0..5 on a clip: the 2304-d slow+fast global-average feature."""
    pathways = pack_pathways(clip)
    for block in blocks[:-1]:
        pathways = block(pathways)
    return blocks[-1](pathways)


class _ClassifierHead(nn.Module):
    """Dropout + linear projection of the pooled 2304-d feature (pytorchvideo's `blocks.6`)."""

    def __init__(self, num_classes: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.proj = nn.Linear(FEATURE_DIM, num_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.proj(self.dropout(features))


class SlowFastR50(nn.Module):
    """SlowFast R50 8x8 for Kinetics classification (pytorchvideo `slowfast_r50` parameter tree).

    The classifier pools globally before the projection; at the training size (32 frames, 224x224)
    this equals pytorchvideo's AvgPool3d((8,7,7)/(32,7,7)) head exactly.
    """

    def __init__(self, *, num_classes: int, dropout: float) -> None:
        super().__init__()
        head = _ClassifierHead(num_classes, dropout)
        self.blocks = nn.ModuleList([*_backbone_blocks(detection=False), head])

    def forward_features(self, clip: torch.Tensor) -> torch.Tensor:
        """clip [N,3,T,H,W] normalised -> [N, 2304]."""
        return _features(self.blocks[:-1], clip)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """clip [N,3,T,H,W] normalised -> class logits [N, num_classes]."""
        return self.blocks[-1](self.forward_features(clip))


class _Trunk(nn.Module):
    """Container giving the detection backbone pytorchvideo's `model.blocks.*` key prefix."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(_backbone_blocks(detection=True))


class _RoIHeadParameters(nn.Module):
    """The parameters of pytorchvideo's ROI-align action head (`detection_head.proj`).

    Kept only so that the AVA checkpoint loads with strict=True; person-box action classification is
    not used here (features are whole-frame averages), so this module has no forward.
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.proj = nn.Linear(FEATURE_DIM, num_classes)


class SlowFastR50Detection(nn.Module):
    """SlowFast R50 8x8 fine-tuned on AVA (pytorchvideo `slowfast_r50_detection` parameter tree)."""

    def __init__(self, *, num_classes: int) -> None:
        super().__init__()
        self.model = _Trunk()
        self.detection_head = _RoIHeadParameters(num_classes)

    def forward_features(self, clip: torch.Tensor) -> torch.Tensor:
        """clip [N,3,T,H,W] normalised -> [N, 2304] (res5 at 1/16 resolution, globally averaged)."""
        return _features(self.model.blocks, clip)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        """Same as `forward_features`: the box-level action head is not implemented."""
        return self.forward_features(clip)


class SlowFastFeatures(nn.Module):
    """Wraps either SlowFast variant: forward(clip [N,3,T,H,W]) -> features [N, 2304]; ONNX-exportable."""

    def __init__(self, backbone: SlowFastR50 | SlowFastR50Detection) -> None:
        super().__init__()
        self.backbone = backbone

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.backbone.forward_features(clip)


def create_slowfast_r50(*, num_classes: int = 400, dropout: float = 0.5) -> SlowFastR50:
    """SlowFast R50 8x8 (Kinetics-400 layout); load `SLOWFAST_8x8_R50.pyth`'s `model_state` strictly."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    if not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be in [0, 1), got {dropout}")
    return SlowFastR50(num_classes=num_classes, dropout=dropout)


def create_slowfast_r50_detection(*, num_classes: int = 80) -> SlowFastR50Detection:
    """SlowFast R50 8x8 AVA layout; load `SLOWFAST_8x8_R50_DETECTION.pyth`'s `model_state` strictly."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be >= 1, got {num_classes}")
    return SlowFastR50Detection(num_classes=num_classes)


def create_slowfast_features(
    variant: str, *, state_dict: dict[str, torch.Tensor] | None = None
) -> SlowFastFeatures:
    """The feature extractor for `variant` ('slowfast_r50' | 'slowfast_r50_detection') in eval mode.

    `state_dict` (e.g. from `models.zoo.load_checkpoint`) is loaded with strict=True.
    """
    builders = {"slowfast_r50": create_slowfast_r50, "slowfast_r50_detection": create_slowfast_r50_detection}
    if variant not in builders:
        raise ValueError(f"unknown SlowFast variant {variant!r}; expected one of {sorted(builders)}")
    backbone = builders[variant]()
    if state_dict is not None:
        try:
            backbone.load_state_dict(state_dict, strict=True)
        except RuntimeError as error:
            detail = " ".join(str(error).split())
            raise SlowFastCheckpointError(f"checkpoint does not fit {variant}: {detail[:400]}") from None
    return SlowFastFeatures(backbone).eval()
