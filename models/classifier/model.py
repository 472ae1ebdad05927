"""The category classifier: an ImageNet backbone plus the baseline head; builder and checkpoint loading."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from inferences.errors import SurveillanceError
from models.classifier.densenet import create_densenet121, remap_legacy_keys
from models.classifier.efficientnet_lite import create_efficientnet_lite0
from models.classifier.head import CategoryHead

logger = logging.getLogger(__name__)

UCF_CRIME_CLASSES = (
    "Abuse", "Arrest", "Arson", "Assault", "Burglary", "Explosion", "Fighting",
    "Normal", "RoadAccidents", "Robbery", "Shooting", "Shoplifting", "Stealing", "Vandalism",
)  # fmt: skip
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ClassifierCheckpointError(SurveillanceError):
    """A weights or checkpoint file that cannot be used (missing, unreadable, wrong keys or shapes)."""


@dataclass(frozen=True)
class Backbone:
    """How to build one backbone and read its ImageNet checkpoint."""

    build: Callable[[], nn.Module]
    classifier_prefix: str  # keys of the ImageNet classifier, dropped when loading into the backbone
    normalization_mean: tuple[float, float, float]
    normalization_std: tuple[float, float, float]
    remap_keys: Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]] = dict


BACKBONES: dict[str, Backbone] = {
    "densenet121": Backbone(
        build=lambda: create_densenet121(num_classes=None),
        classifier_prefix="classifier.",
        normalization_mean=IMAGENET_MEAN,
        normalization_std=IMAGENET_STD,
        remap_keys=remap_legacy_keys,
    ),
    # Converted from TensorFlow: inputs in [-1, 1].
    "efficientnet_lite0": Backbone(
        build=lambda: create_efficientnet_lite0(num_classes=None),
        classifier_prefix="_fc.",
        normalization_mean=(0.5, 0.5, 0.5),
        normalization_std=(0.5, 0.5, 0.5),
    ),
}


class CategoryNet(nn.Module):
    """Backbone feature map -> `CategoryHead` -> logits `(N, num_classes)`."""

    def __init__(self, backbone: nn.Module, head: CategoryHead, *, backbone_name: str) -> None:
        super().__init__()
        self.backbone_name = backbone_name
        self.backbone = backbone
        self.head = head

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone.forward_features(image))


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise ClassifierCheckpointError(f"{path}: weights file does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for unreadable files
        raise ClassifierCheckpointError(f"{path}: cannot read weights: {exc}") from exc
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ClassifierCheckpointError(f"{path}: not a state dict of tensors")
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_backbone_weights(backbone: nn.Module, name: str, path: Path) -> None:
    """Load an ImageNet checkpoint of backbone `name` into `backbone` (its classifier keys are dropped)."""
    spec = BACKBONES[name]
    state = spec.remap_keys(_read_state_dict(path))
    state = {k: v for k, v in state.items() if not k.startswith(spec.classifier_prefix)}
    expected = backbone.state_dict()
    # Checkpoints from before PyTorch 0.4 (torchvision's densenet121-a639ec97.pth) lack num_batches_tracked.
    missing = sorted(k for k in set(expected) - set(state) if not k.endswith("num_batches_tracked"))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ClassifierCheckpointError(
            f"{path}: not a {name} checkpoint ({len(missing)} missing keys, e.g. {missing[:3]}; "
            f"{len(unexpected)} unexpected keys, e.g. {unexpected[:3]})"
        )
    wrong = [k for k, v in state.items() if v.shape != expected[k].shape]
    if wrong:
        raise ClassifierCheckpointError(
            f"{path}: {len(wrong)} tensors of the wrong shape for {name}, e.g. {wrong[0]} "
            f"{tuple(state[wrong[0]].shape)} != {tuple(expected[wrong[0]].shape)}"
        )
    backbone.load_state_dict(state, strict=True)


def create_category_classifier(
    *, backbone: str, pretrained_path: str | Path | None = None, num_classes: int = len(UCF_CRIME_CLASSES)
) -> CategoryNet:
    """Build the classifier; `pretrained_path`: the backbone's ImageNet weights (None = random, warned)."""
    if backbone not in BACKBONES:
        raise ValueError(f"backbone: unknown {backbone!r}; expected one of {sorted(BACKBONES)}")
    if num_classes < 2:
        raise ValueError(f"num_classes: must be at least 2, got {num_classes}")
    net = BACKBONES[backbone].build()
    if pretrained_path is None:
        logger.warning(
            "%s backbone is RANDOMLY INITIALISED (no pretrained weights given); accuracy will be far below "
            "an ImageNet-initialised model",
            backbone,
        )
    else:
        load_backbone_weights(net, backbone, Path(pretrained_path))
        logger.info("%s backbone loaded from %s", backbone, pretrained_path)
    return CategoryNet(net, CategoryHead(net.num_features, num_classes), backbone_name=backbone)


def load_category_checkpoint(path: str | Path) -> tuple[CategoryNet, dict[str, Any]]:
    """Rebuild the model of a training checkpoint (see `training`); returns (model, checkpoint dict)."""
    path = Path(path)
    if not path.is_file():
        raise ClassifierCheckpointError(f"{path}: checkpoint does not exist")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ClassifierCheckpointError(f"{path}: cannot read checkpoint: {exc}") from exc
    required = ("model", "model_config", "classes", "image_size", "normalization_mean", "normalization_std")
    missing = [key for key in required if not isinstance(checkpoint, dict) or key not in checkpoint]
    if missing:
        raise ClassifierCheckpointError(f"{path}: not a category classifier checkpoint (missing {missing})")
    config = checkpoint["model_config"]
    if config.get("backbone") not in BACKBONES:
        raise ClassifierCheckpointError(f"{path}: unknown backbone {config.get('backbone')!r}")
    net = BACKBONES[config["backbone"]].build()
    model = CategoryNet(
        net, CategoryHead(net.num_features, config["num_classes"]), backbone_name=config["backbone"]
    )
    try:
        model.load_state_dict(checkpoint["model"], strict=True)
    except RuntimeError as exc:
        raise ClassifierCheckpointError(f"{path}: weights do not fit the model: {exc}") from exc
    return model, checkpoint
