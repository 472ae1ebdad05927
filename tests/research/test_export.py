"""ONNX export of the detector: parity with ONNX Runtime at three sequence lengths, contract metadata."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from models.detector import create_detector
from models.export import export_detector, export_onnx


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[torch.nn.Module, Path]:
    torch.manual_seed(0)
    model = create_detector(feature_dim=24, model_dim=16, attention_window=4, max_distance=8).eval()
    path = tmp_path_factory.mktemp("onnx") / "detector.onnx"
    export_detector(
        model, path, metadata={"segment_length": "16", "smoothing_window": "5", "extractor": "i3d"}
    )
    return model, path


@pytest.mark.parametrize(("batch", "length"), [(1, 1), (3, 9), (2, 45)])
def test_onnx_runtime_matches_pytorch(
    exported: tuple[torch.nn.Module, Path], batch: int, length: int
) -> None:
    model, path = exported
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    features = torch.randn(batch, length, 24)
    mask = torch.ones(batch, length, dtype=torch.bool)
    mask[-1, (length + 1) // 2 :] = False  # a padded row
    (scores,) = session.run(None, {"features": features.numpy(), "mask": mask.numpy()})
    with torch.no_grad():
        expected = model(features, mask).numpy()
    assert scores.shape == (batch, length) and scores.dtype == np.float32
    assert np.abs(scores - expected).max() <= 1e-4


def test_contract_names_and_metadata(exported: tuple[torch.nn.Module, Path]) -> None:
    graph = onnx.load(str(exported[1]))
    assert [i.name for i in graph.graph.input] == ["features", "mask"]
    assert [o.name for o in graph.graph.output] == ["scores"]
    assert graph.graph.input[1].type.tensor_type.elem_type == onnx.TensorProto.BOOL
    assert max(o.version for o in graph.opset_import if o.domain in ("", "ai.onnx")) >= 17
    assert {p.key: p.value for p in graph.metadata_props} == {
        "feature_dim": "24",
        "context_length": "38",
        "segment_length": "16",
        "smoothing_window": "5",
        "extractor": "i3d",
    }


def test_metadata_values_must_be_strings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="strings"):
        export_onnx(
            torch.nn.Identity(),
            tmp_path / "x.onnx",
            example_inputs=(torch.zeros(1),),
            input_names=["x"],
            output_names=["y"],
            dynamic_axes={},
            metadata={"n": 3},
        )
    assert not list(tmp_path.iterdir())
