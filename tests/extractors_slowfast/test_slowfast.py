"""SlowFast R50: pytorchvideo parameter tree, checkpoint loading, pathway packing, features, ONNX parity."""

import re
from pathlib import Path

import onnxruntime as ort
import pytest
import torch

from inferences.backends import cosine
from models.export import export_onnx
from models.extractors.slowfast import (
    FEATURE_DIM,
    SlowFastCheckpointError,
    SlowFastFeatures,
    SlowFastInputError,
    create_slowfast_features,
    create_slowfast_r50,
    create_slowfast_r50_detection,
    pack_pathways,
)
from models.zoo import load_checkpoint

torch.set_num_threads(2)

# Expected parameter tree, written from pytorchvideo's create_slowfast (slowfast_r50 hub entry):
# stems 64/8 channels (kernels 1x7x7 / 5x7x7), stage widths slow 256..2048 / fast 32..256, slow stage inputs
# widened by the fast-to-slow fusion (2 x fast channels), conv_a temporal kernel 1,1,3,3 (slow) / 3 (fast),
# fusion conv 7x1x1 stride 4 after stem, res2, res3, res4; head Linear(2048 + 256, classes).
KINETICS_SHAPES = {
    "blocks.0.multipathway_blocks.0.conv.weight": (64, 3, 1, 7, 7),
    "blocks.0.multipathway_blocks.0.norm.running_mean": (64,),
    "blocks.0.multipathway_blocks.1.conv.weight": (8, 3, 5, 7, 7),
    "blocks.0.multipathway_fusion.conv_fast_to_slow.weight": (16, 8, 7, 1, 1),
    "blocks.0.multipathway_fusion.norm.running_var": (16,),
    "blocks.1.multipathway_blocks.0.res_blocks.0.branch1_conv.weight": (256, 80, 1, 1, 1),
    "blocks.1.multipathway_blocks.0.res_blocks.0.branch1_norm.weight": (256,),
    "blocks.1.multipathway_blocks.0.res_blocks.0.branch2.conv_a.weight": (64, 80, 1, 1, 1),
    "blocks.1.multipathway_blocks.0.res_blocks.2.branch2.conv_b.weight": (64, 64, 1, 3, 3),
    "blocks.1.multipathway_blocks.1.res_blocks.0.branch2.conv_a.weight": (8, 8, 3, 1, 1),
    "blocks.1.multipathway_blocks.1.res_blocks.2.branch2.conv_c.weight": (32, 8, 1, 1, 1),
    "blocks.1.multipathway_fusion.conv_fast_to_slow.weight": (64, 32, 7, 1, 1),
    "blocks.2.multipathway_blocks.0.res_blocks.0.branch1_conv.weight": (512, 320, 1, 1, 1),
    "blocks.2.multipathway_blocks.0.res_blocks.3.branch2.conv_a.weight": (128, 512, 1, 1, 1),
    "blocks.2.multipathway_blocks.1.res_blocks.0.branch1_conv.weight": (64, 32, 1, 1, 1),
    "blocks.2.multipathway_fusion.conv_fast_to_slow.weight": (128, 64, 7, 1, 1),
    "blocks.3.multipathway_blocks.0.res_blocks.0.branch2.conv_a.weight": (256, 640, 3, 1, 1),
    "blocks.3.multipathway_blocks.0.res_blocks.5.branch2.norm_c.weight": (1024,),
    "blocks.3.multipathway_blocks.1.res_blocks.5.branch2.conv_b.weight": (32, 32, 1, 3, 3),
    "blocks.3.multipathway_fusion.conv_fast_to_slow.weight": (256, 128, 7, 1, 1),
    "blocks.4.multipathway_blocks.0.res_blocks.0.branch1_conv.weight": (2048, 1280, 1, 1, 1),
    "blocks.4.multipathway_blocks.0.res_blocks.0.branch2.conv_a.weight": (512, 1280, 3, 1, 1),
    "blocks.4.multipathway_blocks.0.res_blocks.2.branch2.conv_c.weight": (2048, 512, 1, 1, 1),
    "blocks.4.multipathway_blocks.1.res_blocks.0.branch1_conv.weight": (256, 128, 1, 1, 1),
    "blocks.4.multipathway_blocks.1.res_blocks.2.branch2.norm_c.num_batches_tracked": (),
    "blocks.6.proj.weight": (400, 2304),
    "blocks.6.proj.bias": (400,),
}
# 110 convolutions + 110 batch norms x 5 tensors + Linear weight and bias.
KINETICS_ENTRIES = 662
KINETICS_PARAMETERS = 34_566_488  # pytorchvideo model zoo: 34.57 M
DETECTION_PARAMETERS = KINETICS_PARAMETERS - (400 - 80) * (2304 + 1)


@pytest.fixture(scope="module")
def kinetics():
    return create_slowfast_r50().eval()


@pytest.fixture(scope="module")
def detection():
    return create_slowfast_r50_detection().eval()


def _randomised(state: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """A random checkpoint of the same layout: weights ~ N(0, 1/fan_in), positive BN variances."""
    generator = torch.Generator().manual_seed(seed)
    result = {}
    for key, value in state.items():
        if not value.is_floating_point():
            result[key] = torch.full_like(value, 7)
        elif key.endswith("running_var"):
            result[key] = torch.rand(value.shape, generator=generator) + 0.5
        elif value.dim() > 1:
            fan_in = value[0].numel()
            result[key] = torch.randn(value.shape, generator=generator) * (2.0 / fan_in) ** 0.5
        else:
            result[key] = torch.randn(value.shape, generator=generator) * 0.1
    return result


def _stage_depths(keys: list[str], prefix: str) -> list[list[int]]:
    depths = []
    for stage in range(1, 5):
        per_pathway = []
        for pathway in range(2):
            stem = f"{prefix}blocks.{stage}.multipathway_blocks.{pathway}.res_blocks."
            pattern = re.compile(re.escape(stem) + r"(\d+)\.")
            per_pathway.append(1 + max(int(m.group(1)) for k in keys if (m := pattern.match(k))))
        depths.append(per_pathway)
    return depths


def test_kinetics_parameter_tree_matches_pytorchvideo(kinetics):
    state = kinetics.state_dict()
    assert len(state) == KINETICS_ENTRIES
    assert sum(p.numel() for p in kinetics.parameters()) == KINETICS_PARAMETERS
    assert round(KINETICS_PARAMETERS / 1e6, 2) == 34.57
    for key, shape in KINETICS_SHAPES.items():
        assert key in state, key
        assert tuple(state[key].shape) == shape, key
    keys = list(state)
    assert _stage_depths(keys, "") == [[3, 3], [4, 4], [6, 6], [3, 3]]
    assert all(".res_blocks.0." in k for k in keys if "branch1" in k)
    assert not any(k.startswith(("blocks.4.multipathway_fusion", "blocks.5.")) for k in keys)


def test_detection_parameter_tree_matches_pytorchvideo(detection):
    state = detection.state_dict()
    assert sum(p.numel() for p in detection.parameters()) == DETECTION_PARAMETERS
    expected = {f"model.{k}": v for k, v in KINETICS_SHAPES.items() if not k.startswith("blocks.6.")}
    expected |= {"detection_head.proj.weight": (80, 2304), "detection_head.proj.bias": (80,)}
    for key, shape in expected.items():
        assert tuple(state[key].shape) == shape, key
    assert len(state) == KINETICS_ENTRIES
    assert _stage_depths(list(state), "model.") == [[3, 3], [4, 4], [6, 6], [3, 3]]


def test_random_checkpoint_loads_strictly_from_a_pytorchvideo_style_file(kinetics, tmp_path: Path):
    random_state = _randomised(kinetics.state_dict(), seed=1)
    torch.save({"model_state": random_state, "epoch": 196}, tmp_path / "SLOWFAST_8x8_R50.pyth")
    loaded = load_checkpoint(tmp_path / "SLOWFAST_8x8_R50.pyth")
    extractor = create_slowfast_features("slowfast_r50", state_dict=loaded)
    for key, value in extractor.backbone.state_dict().items():
        assert torch.equal(value, random_state[key]), key
    assert not extractor.training


def test_detection_checkpoint_does_not_fit_the_kinetics_model(detection):
    with pytest.raises(SlowFastCheckpointError, match=r"does not fit slowfast_r50: .*Missing key"):
        create_slowfast_features("slowfast_r50", state_dict=detection.state_dict())
    with pytest.raises(ValueError, match="unknown SlowFast variant 'slowfast_r101'"):
        create_slowfast_features("slowfast_r101")


@pytest.mark.parametrize(
    ("frames", "expected"),
    [(16, [0, 5, 10, 15]), (8, [0, 7]), (32, [0, 4, 8, 13, 17, 22, 26, 31])],
)
def test_pack_pathways_picks_linspace_frames(frames: int, expected: list[int]):
    clip = torch.arange(frames, dtype=torch.float32).view(1, 1, frames, 1, 1).expand(2, 3, frames, 32, 32)
    slow, fast = pack_pathways(clip)
    assert fast is clip
    assert slow[0, 0, :, 0, 0].tolist() == expected
    assert torch.equal(slow[1, 2, :, 5, 7], torch.tensor(expected, dtype=torch.float32))


@pytest.mark.parametrize(
    ("shape", "message"),
    [
        ((3, 16, 64, 64), r"shape \[N, 3, T, H, W\]"),
        ((1, 1, 16, 64, 64), r"shape \[N, 3, T, H, W\]"),
        ((1, 3, 18, 64, 64), "T=18 must be a positive multiple of alpha=4"),
        ((1, 3, 2, 64, 64), "T=2"),
        ((1, 3, 16, 16, 64), "at least 32x32"),
    ],
)
def test_bad_clip_shapes_are_rejected(kinetics, shape, message):
    with pytest.raises(SlowFastInputError, match=message):
        kinetics.forward_features(torch.zeros(shape))


def test_features_are_2304_and_per_clip(kinetics, detection):
    clips = torch.randn(2, 3, 16, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        features = SlowFastFeatures(kinetics)(clips)
        single = SlowFastFeatures(kinetics)(clips[1:])
        logits = kinetics.blocks[-1](features)
        detection_features = SlowFastFeatures(detection)(clips)
    assert features.shape == (2, FEATURE_DIM) == (2, 2304)
    torch.testing.assert_close(features[1:], single, rtol=1e-4, atol=1e-5)
    assert logits.shape == (2, 400)
    assert detection_features.shape == (2, 2304)
    # Global averages of ReLU outputs: non-negative, and both pathways (slow 2048 | fast 256) are active.
    assert (features >= 0).all()
    assert features[:, :2048].sum() > 0 and features[:, 2048:].sum() > 0


def test_detection_res5_keeps_one_sixteenth_resolution(kinetics, detection):
    clip = torch.zeros(2, 3, 16, 32, 32)
    with torch.no_grad():
        outputs = []
        for blocks in (kinetics.blocks, detection.model.blocks):
            pathways = pack_pathways(clip)
            for block in blocks[:5]:
                pathways = block(pathways)
            outputs.append([tuple(x.shape) for x in pathways])
    assert outputs[0] == [(2, 2048, 4, 1, 1), (2, 256, 16, 1, 1)]
    assert outputs[1] == [(2, 2048, 4, 2, 2), (2, 256, 16, 2, 2)]


@pytest.mark.parametrize("variant", ["slowfast_r50", "slowfast_r50_detection"])
def test_onnx_export_matches_pytorch_with_dynamic_batch(kinetics, detection, variant: str, tmp_path: Path):
    """8-frame clips keep the test fast; the graph is the same as for 16 (only the slow indices differ)."""
    backbone = kinetics if variant == "slowfast_r50" else detection
    state = _randomised(backbone.state_dict(), seed=2)
    extractor = create_slowfast_features(variant, state_dict=state)
    path = export_onnx(
        extractor,
        tmp_path / f"{variant}.onnx",
        example_inputs=(torch.zeros(1, 3, 8, 32, 32),),
        input_names=["clip"],
        output_names=["features"],
        dynamic_axes={"clip": {0: "batch"}, "features": {0: "batch"}},
        metadata={"extractor": variant, "feature_dim": str(FEATURE_DIM)},
    )
    options = ort.SessionOptions()
    options.intra_op_num_threads = 2
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    clips = torch.randn(2, 3, 8, 32, 32, generator=torch.Generator().manual_seed(3))
    (onnx_features,) = session.run(["features"], {"clip": clips.numpy()})
    with torch.no_grad():
        torch_features = extractor(clips).numpy()
    assert onnx_features.shape == (2, 2304)
    similarity = cosine(onnx_features, torch_features)
    assert similarity.min() >= 0.9999, similarity
