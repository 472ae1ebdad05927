"""`prepare`: I3D ONNX files (fp32, fp16, int8) with the contract's I/O and metadata, parity on real clips."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from inferences.paths import REPO_ROOT
from inferences.preprocess import Preprocessor
from models.extractors.i3d import I3dFeatures
from models.prepare import (
    EXTRACTORS,
    PrepareReport,
    cosine,
    prepare,
    real_clips,
    run_onnx,
    split_clips,
)

PREPROCESSOR = Preprocessor(width=224, height=224, segment_length=16)


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory, camera_clip: Path, i3d) -> tuple[Path, PrepareReport]:
    """`prepare("i3d")` into a temporary folder, INT8 calibrated on the generated camera clip's real frames
    (the OpenVINO INT8 file, minutes of NNCF, is tested on the tiny extractor in test_backends.py)."""
    folder = tmp_path_factory.mktemp("prepared")
    return folder, prepare("i3d", output_dir=folder, calibration_sources=[camera_clip], openvino=False)


@pytest.fixture(scope="module")
def event_clips(event_clip: tuple[Path, np.ndarray]) -> np.ndarray:
    """Two real segments of the event clip (one normal, one with the walking box) that no calibration saw."""
    clips = real_clips([event_clip[0]], PREPROCESSOR, 7)
    return clips[[0, 6]]


def test_writes_three_files_with_contract_metadata(prepared) -> None:
    _, report = prepared
    assert [p.name for p in report.written] == ["i3d-fp32.onnx", "i3d-fp16.onnx", "i3d-int8.onnx"]
    for path in report.written:
        model = onnx.load(str(path), load_external_data=False)
        meta = {p.key: p.value for p in model.metadata_props}
        assert meta["extractor"] == "i3d"
        assert meta["feature_dim"] == "1024" and meta["segment_length"] == "16"
        assert meta["input_height"] == meta["input_width"] == "224"
        assert json.loads(meta["normalization_mean"]) == json.loads(meta["normalization_std"]) == [0.5] * 3
        assert meta["precision"] == path.stem.split("-")[-1]
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        (clip,) = session.get_inputs()
        (features,) = session.get_outputs()
        assert (clip.name, clip.type, clip.shape[1:]) == ("clip", "tensor(float)", [3, 16, 224, 224])
        assert (features.name, features.type, features.shape[1]) == ("features", "tensor(float)", 1024)
        assert isinstance(clip.shape[0], str)  # dynamic N


def test_fp32_matches_pytorch_on_real_clips(prepared, i3d, event_clips: np.ndarray) -> None:
    folder, report = prepared
    assert report.fp32_cosine >= 0.9999
    with torch.no_grad():
        reference = I3dFeatures(i3d)(torch.from_numpy(event_clips)).numpy()
    session = ort.InferenceSession(str(folder / "i3d-fp32.onnx"), providers=["CPUExecutionProvider"])
    (batched,) = session.run(["features"], {"clip": event_clips})  # N = 2 in one call
    assert batched.shape == (2, 1024)
    assert cosine(reference, batched).min() >= 0.9999
    np.testing.assert_allclose(batched, reference, rtol=1e-3, atol=1e-4)


def test_fp16_and_int8_keep_the_features_on_unseen_real_clips(prepared, event_clips: np.ndarray) -> None:
    folder, report = prepared
    fp32 = run_onnx(folder / "i3d-fp32.onnx", event_clips)
    assert report.fp16_cosine >= 0.999 and report.int8_cosine >= 0.99
    assert cosine(fp32, run_onnx(folder / "i3d-fp16.onnx", event_clips)).min() >= 0.999
    assert cosine(fp32, run_onnx(folder / "i3d-int8.onnx", event_clips)).min() >= 0.99
    assert cosine(fp32[:1], fp32[1:]) < 0.99  # the two clips differ, so the check can fail


@pytest.mark.parametrize(("count", "checked"), [(0, []), (1, [0]), (2, [1]), (4, [2]), (12, [2, 5, 8, 11])])
def test_check_clips_are_never_calibration_clips(count: int, checked: list[int]) -> None:
    clips = np.arange(count, dtype=np.float32)
    evaluation, calibration = split_clips(clips)
    assert evaluation.tolist() == checked
    assert sorted(evaluation.tolist() + calibration.tolist()) == list(range(count))


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "models", "prepare", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--checkpoint", "/nonexistent/i3d.pt"], "error: /nonexistent/i3d.pt: no such checkpoint file"),
        (["--extractor", "alexnet"], "invalid choice: 'alexnet'"),
        (["--input-size", "8"], "error: input size must be in 32..1024, got 8"),
    ],
)
def test_cli_reports_bad_input(args: list[str], message: str) -> None:
    result = _cli(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_lists_the_extractors() -> None:
    result = _cli("--help")
    assert result.returncode == 0
    assert all(name in result.stdout for name in EXTRACTORS)
