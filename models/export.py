"""ONNX export: a generic `export_onnx` (used for the detector, the extractors and the classifier) and
`export_detector` with the detector's contract (inputs `features` [B,T,D] float32 and `mask` [B,T] bool,
output `scores` [B,T], dynamic B and T, opset 18, string metadata props).

Exporter: the TorchScript-based `torch.onnx.export(..., dynamo=False)`. It traces the module once and
keeps every shape computation symbolic, giving a compact graph whose dynamic axes work at any length;
the test suite checks parity with ONNX Runtime at sequence lengths 1, 9 and 45.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Sequence
from pathlib import Path

import onnx
import torch
from torch import nn

from inferences.atomic import atomic_path

OPSET = 18


def export_onnx(
    model: nn.Module,
    path: str | Path,
    *,
    example_inputs: tuple[torch.Tensor, ...],
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: dict[str, dict[int, str]],
    metadata: dict[str, str],
) -> Path:
    """Export `model` (in eval mode, on CPU) to `path` with string `metadata` props; written atomically."""
    path = Path(path)
    bad = {key: value for key, value in metadata.items() if not isinstance(value, str)}
    if bad:
        raise ValueError(f"export_onnx: metadata values must be strings, got {bad!r}")
    was_training = model.training
    model.eval()
    try:
        with atomic_path(path) as temporary, torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tracer warnings about Python values in shape arithmetic
            torch.onnx.export(
                model,
                example_inputs,
                str(temporary),
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes=dynamic_axes,
                opset_version=OPSET,
                dynamo=False,
            )
            graph = onnx.load(str(temporary))
            for key, value in metadata.items():
                graph.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
            onnx.checker.check_model(graph)
            onnx.save(graph, str(temporary))
    finally:
        model.train(was_training)
    return path


def export_detector(model: nn.Module, path: str | Path, *, metadata: dict[str, str]) -> Path:
    """Export an `AnomalyDetector` per the contract; `metadata` should hold `segment_length`,
    `smoothing_window` and `extractor` (`feature_dim` and `context_length` are filled in from the model).
    A CPU copy of the model is exported; `model` itself stays where it is."""
    feature_dim = model.feature_dim
    features = torch.randn(1, 16, feature_dim)
    mask = torch.ones(1, 16, dtype=torch.bool)
    return export_onnx(
        copy.deepcopy(model).cpu(),
        path,
        example_inputs=(features, mask),
        input_names=["features", "mask"],
        output_names=["scores"],
        dynamic_axes={
            "features": {0: "batch", 1: "segments"},
            "mask": {0: "batch", 1: "segments"},
            "scores": {0: "batch", 1: "segments"},
        },
        metadata={"feature_dim": str(feature_dim), "context_length": str(model.context_length), **metadata},
    )
