"""Feature-extractor speed: PyTorch eager vs ONNX Runtime fp32 vs INT8, against a measured matmul peak.

    python bench/extract.py [--extractors i3d slowfast_r50] [--threads 2] [--seconds 20]

For each extractor at its default input (16 x 224 x 224, batch 1): segments per second of PyTorch eager,
ONNX Runtime fp32 and ONNX Runtime INT8 (the files `python -m models prepare` writes; exported on the
fly into a temporary folder when absent, INT8 then calibrated on the Ped2 clips), the achieved GFLOP/s
(FLOPs of one segment counted by PyTorch's FlopCounterMode, 2 per multiply-add) and that as a share of
the fp32 matrix-multiply peak measured in the same run with the same thread count (the best of PyTorch's
and ONNX Runtime's 2048 x 2048 sgemm). All paths and the matmuls are timed round-robin, best call kept,
so other jobs on a shared machine disturb the ratios little. SlowFast uses its real weights when
`models/zoo.py` can load them (cached or downloaded), else random ones (speed does not depend on the
weights; accuracy then is not checked).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from inferences.runtime import load_onnx_session
from models.prepare import (
    MODELS_DIR,
    build_extractor,
    cosine,
    default_calibration_sources,
    export_fp32,
    extractor_spec,
    quantize_int8,
    real_clips,
    split_clips,
)

MATMUL_SIZE = 2048
MATMUL_FLOPS = 2 * MATMUL_SIZE**3


def best_rates(runs: dict[str, Callable[[], object]], seconds: float) -> dict[str, float]:
    """Calls per second of each function: one warm-up call each, then round-robin single calls for about
    `seconds` per function, keeping each one's fastest call. Interleaving and best-of make the ratios
    robust to other jobs on a shared machine (they approximate the speed of an idle machine)."""
    for run in runs.values():
        run()
    best = dict.fromkeys(runs, float("inf"))
    deadline = time.perf_counter() + seconds * len(runs)
    rounds = 0
    while rounds < 3 or time.perf_counter() < deadline:
        for name, run in runs.items():
            started = time.perf_counter()
            run()
            best[name] = min(best[name], time.perf_counter() - started)
        rounds += 1
    return {name: 1.0 / elapsed for name, elapsed in best.items()}


def matmul_runs(threads: int, folder: Path) -> dict[str, Callable[[], object]]:
    """fp32 2048^2 matmuls in PyTorch and in ONNX Runtime (MLAS); each does MATMUL_FLOPS."""
    import onnx
    from onnx import TensorProto, helper

    a = np.random.default_rng(0).standard_normal((MATMUL_SIZE, MATMUL_SIZE), dtype=np.float32)
    ta = torch.from_numpy(a)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "matmul",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, [MATMUL_SIZE, MATMUL_SIZE]) for n in "ab"],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [MATMUL_SIZE, MATMUL_SIZE])],
    )
    path = folder / "matmul.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(path))
    matmul = load_onnx_session(path, providers=["CPUExecutionProvider"], threads=threads)
    return {"matmul torch": lambda: ta @ ta, "matmul onnxruntime": lambda: matmul.run(None, {"a": a, "b": a})}


def segment_flops(module: torch.nn.Module, clip: torch.Tensor) -> float:
    """FLOPs of one forward pass (FlopCounterMode: 2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(clip)
    return float(counter.get_total_flops())


def model_files(name: str, module, spec, folder: Path, calibration: np.ndarray) -> dict[str, Path]:
    """fp32 / int8 files: the prepared ones in inferences/models, else exported now into `folder`."""
    files = {precision: MODELS_DIR / f"{name}-{precision}.onnx" for precision in ("fp32", "int8")}
    if not files["fp32"].is_file():
        files["fp32"] = export_fp32(module, spec, folder / f"{name}-fp32.onnx")
    if not files["int8"].is_file():
        files["int8"] = quantize_int8(files["fp32"], folder / f"{name}-int8.onnx", spec, calibration)
    return files


def bench_extractor(name: str, threads: int, seconds: float, folder: Path) -> dict[str, float]:
    """Segments/s of one extractor (PyTorch eager, ORT fp32, ORT INT8) and of the matmuls, interleaved."""
    try:
        module, spec = build_extractor(name)
        weights = "real"
    except ValueError as error:  # no cached SlowFast checkpoint and no network: random weights
        if name == "i3d":
            raise
        print(f"{name}: {error}; timing random weights", file=sys.stderr)
        from models.extractors.slowfast import create_slowfast_features

        module, spec, weights = create_slowfast_features(name), extractor_spec(name), "random"
    clips = real_clips(default_calibration_sources(), spec.preprocessor(), 12)
    if len(clips) == 0:
        clips = np.random.default_rng(0).uniform(-1, 1, (12, 3, spec.segment_length, spec.height, spec.width))
        clips = clips.astype(np.float32)
    # The clips `prepare` checks with (it calibrated INT8 on the others): accuracy on unseen clips.
    evaluation, calibration = split_clips(clips)
    files = model_files(name, module, spec, folder, calibration)
    clip = clips[:1]
    sessions = {
        precision: load_onnx_session(path, providers=["CPUExecutionProvider"], threads=threads)
        for precision, path in files.items()
    }
    result: dict[str, float] = {"gflop_per_segment": segment_flops(module, torch.from_numpy(clip)) / 1e9}
    if weights == "real":
        with torch.no_grad():
            reference = module(torch.from_numpy(evaluation)).numpy()
        for precision, ort_session in sessions.items():
            outputs = [ort_session.run(["features"], {"clip": c[None]})[0] for c in evaluation]
            result[f"{precision}_cosine"] = float(cosine(reference, np.concatenate(outputs)).min())

    def eager() -> None:
        with torch.no_grad():
            module(torch.from_numpy(clip))

    runs: dict[str, Callable[[], object]] = {"torch": eager}
    for precision, ort_session in sessions.items():
        runs[precision] = lambda s=ort_session: s.run(["features"], {"clip": clip})
    runs.update(matmul_runs(threads, folder))
    result.update(best_rates(runs, seconds))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extractors", nargs="+", default=["i3d", "slowfast_r50"])
    parser.add_argument("--threads", type=int, default=2, help="threads for PyTorch and ONNX Runtime")
    parser.add_argument("--seconds", type=float, default=20.0, help="timing per measurement")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        print(
            f"{'extractor':<14}{'path':<10}{'segments/s':>12}{'GFLOP/s':>10}{'of peak':>9}{'vs eager':>10}"
            f"{'cosine':>9}"
        )
        for name in args.extractors:
            result = bench_extractor(name, args.threads, args.seconds, Path(tmp))
            gflop = result["gflop_per_segment"]
            peak = max(result["matmul torch"], result["matmul onnxruntime"]) * MATMUL_FLOPS / 1e9
            for path in ("torch", "fp32", "int8"):
                speed = result[path]
                cos = result.get(f"{path}_cosine")
                print(
                    f"{name:<14}{path:<10}{speed:>12.3f}{speed * gflop:>10.1f}{speed * gflop / peak:>9.0%}"
                    f"{speed / result['torch']:>9.2f}x{'' if cos is None else f'{cos:>9.4f}'}"
                )
            print(
                f"{name:<14}{gflop:.1f} GFLOP per segment; fp32 matmul peak ({args.threads} threads, "
                f"{MATMUL_SIZE}^2, best of torch {result['matmul torch'] * MATMUL_FLOPS / 1e9:.1f} and "
                f"onnxruntime {result['matmul onnxruntime'] * MATMUL_FLOPS / 1e9:.1f}) {peak:.1f} GFLOP/s"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
