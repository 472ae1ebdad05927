"""Feature-extractor speed on every path (PyTorch eager, ONNX Runtime, OpenVINO) against measured peaks.

    python bench/extract.py [--extractors i3d slowfast_r50] [--threads 2] [--seconds 10]

Prints the CPU's model, flags and OpenVINO's capabilities. For each extractor at its default input
(16 x 224 x 224, batch 1): segments per second of PyTorch eager, ONNX Runtime fp32 and INT8 (the QDQ file
`python -m models prepare` writes), OpenVINO fp32, bf16 (only where the CPU has bf16 matrix
instructions) and INT8 (the NNCF file `prepare` writes, else the QDQ file), and the path the engine picks
by default (`inferences.runtime.FeatureExtractor`, with its load-time check). Each row gives the achieved
GFLOP/s (FLOPs of one segment counted by PyTorch's FlopCounterMode, 2 per multiply-add), that as a share of
the matrix-multiply peak of its precision, the speed-up over eager and the cosine with PyTorch's features
on real clips that INT8 calibration did not see. The physical limit is measured in the same run with the
same threads: 2048 x 2048 matrix multiplies in fp32 (PyTorch, ONNX Runtime, OpenVINO), bf16 (PyTorch,
OpenVINO; only where the CPU has bf16 instructions) and int8 (PyTorch `_int_mm`, ONNX Runtime
MatMulInteger, OpenVINO's quantised MatMul), best kept. Everything is timed round-robin, best call kept,
so other jobs on a shared machine disturb the ratios little. The last line: `default path: <backend>
<precision> N.NNx eager`.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from inferences.backends import OpenVinoRunner, cpu_model, detect, load_onnx_session
from inferences.config import load_inference_config
from inferences.runtime import FeatureExtractor, openvino_int8_file
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

SIZE = 2048
MATMUL_FLOPS = 2 * SIZE**3


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


def _onnx_file(folder: Path, name: str, nodes, inputs, output_type: int, initializers=()) -> Path:
    import onnx
    from onnx import helper

    graph = helper.make_graph(
        nodes,
        name,
        inputs,
        [helper.make_tensor_value_info("c", output_type, [SIZE, SIZE])],
        initializer=list(initializers),
    )
    path = folder / f"{name}.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9), str(path))
    return path


def matmul_runs(threads: int, folder: Path, bf16: bool) -> dict[str, Callable[[], object]]:
    """2048^2 matrix multiplies, each MATMUL_FLOPS: `peak <precision> <library>` -> one call."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    a = rng.standard_normal((SIZE, SIZE), dtype=np.float32)
    q = rng.integers(-100, 100, (SIZE, SIZE), dtype=np.int8)
    ta, tq = torch.from_numpy(a), torch.from_numpy(q)
    f32 = TensorProto.FLOAT
    floats = [helper.make_tensor_value_info(n, f32, [SIZE, SIZE]) for n in "ab"]
    fp32_file = _onnx_file(folder, "matmul", [helper.make_node("MatMul", ["a", "b"], ["c"])], floats, f32)
    integer_file = _onnx_file(
        folder,
        "matmul_integer",
        [helper.make_node("MatMulInteger", ["a", "b"], ["c"])],
        [
            helper.make_tensor_value_info("a", TensorProto.UINT8, [SIZE, SIZE]),
            helper.make_tensor_value_info("b", TensorProto.INT8, [SIZE, SIZE]),
        ],
        TensorProto.INT32,
    )
    scale, zero = numpy_helper.from_array(np.float32(0.05), "s"), numpy_helper.from_array(np.int8(0), "z")
    qdq = [helper.make_node("QuantizeLinear", [n, "s", "z"], [f"{n}q"]) for n in "ab"]
    qdq += [helper.make_node("DequantizeLinear", [f"{n}q", "s", "z"], [f"{n}d"]) for n in "ab"]
    qdq_file = _onnx_file(
        folder,
        "matmul_qdq",
        [*qdq, helper.make_node("MatMul", ["ad", "bd"], ["c"])],
        floats,
        f32,
        [scale, zero],
    )
    ort_fp32 = load_onnx_session(fp32_file, providers=["CPUExecutionProvider"], threads=threads)
    ort_int8 = load_onnx_session(integer_file, providers=["CPUExecutionProvider"], threads=threads)
    u8 = (q.astype(np.int16) + 128).astype(np.uint8)
    runs: dict[str, Callable[[], object]] = {
        "peak fp32 torch": lambda: ta @ ta,
        "peak fp32 onnxruntime": lambda: ort_fp32.run(None, {"a": a, "b": a}),
        "peak int8 torch": lambda: torch._int_mm(tq, tq),
        "peak int8 onnxruntime": lambda: ort_int8.run(None, {"a": u8, "b": q}),
    }
    if detect().openvino:
        for precision, path in (("fp32", fp32_file), ("int8", qdq_file)) + (
            (("bf16", fp32_file),) if bf16 else ()
        ):
            runner = OpenVinoRunner(path, precision=precision, threads=threads, role="matmul")
            runs[f"peak {precision} openvino"] = lambda r=runner: r.run(["c"], {"a": a, "b": a})
    if bf16:
        tb = ta.to(torch.bfloat16)
        runs["peak bf16 torch"] = lambda: tb @ tb
    return runs


def segment_flops(module: torch.nn.Module, clip: torch.Tensor) -> float:
    """FLOPs of one forward pass (FlopCounterMode: 2 per multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        module(clip)
    return float(counter.get_total_flops())


def model_files(name: str, module, spec, folder: Path, calibration: np.ndarray) -> dict[str, Path]:
    """fp32 / int8 / OpenVINO int8 files: the prepared ones in inferences/models, else made now in `folder`
    (OpenVINO int8 then the QDQ file)."""
    files = {precision: MODELS_DIR / f"{name}-{precision}.onnx" for precision in ("fp32", "int8")}
    if not files["fp32"].is_file():
        files["fp32"] = export_fp32(module, spec, folder / f"{name}-fp32.onnx")
    if not files["int8"].is_file():
        files["int8"] = quantize_int8(files["fp32"], folder / f"{name}-int8.onnx", spec, calibration)
    nncf = openvino_int8_file(MODELS_DIR / f"{name}-int8.onnx")
    files["openvino int8"] = nncf if nncf.is_file() else files["int8"]
    return files


def bench_extractor(name: str, threads: int, seconds: float, folder: Path) -> tuple[dict, dict, str]:
    """(segments/s and peaks by row, cosine by row, the default path) for one extractor, interleaved."""
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
    evaluation, calibration = split_clips(clips)  # the clips `prepare` checks with: unseen by calibration
    files = model_files(name, module, spec, folder, calibration)
    capabilities = detect()
    runners: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
    for precision in ("fp32", "int8"):
        session = load_onnx_session(files[precision], providers=["CPUExecutionProvider"], threads=threads)
        runners[f"onnxruntime {precision}"] = lambda c, s=session: s.run(["features"], {"clip": c})[0]
    if capabilities.openvino:
        ov_paths = [("fp32", files["fp32"]), ("int8", files["openvino int8"])]
        ov_paths += [("bf16", files["fp32"])] if capabilities.bf16 else []
        for precision, path in ov_paths:
            runner = OpenVinoRunner(path, precision=precision, threads=threads, role=name)
            runners[f"openvino {precision}"] = lambda c, r=runner: r.run(["features"], {"clip": c})[0]
    default = ""
    if name == "i3d":  # the engine's own choice for the default config on this machine
        config = load_inference_config().replace(threads=threads)
        extractor = FeatureExtractor(config)
        default = str(extractor.choice)
        runners["default"] = extractor
    clip = clips[:1]
    cosines: dict[str, float] = {}
    if weights == "real":
        with torch.no_grad():
            reference = module(torch.from_numpy(evaluation)).numpy()
        for row, run in runners.items():
            outputs = np.concatenate([run(c[None]) for c in evaluation])
            cosines[row] = float(cosine(reference, outputs).min())

    def eager() -> None:
        with torch.no_grad():
            module(torch.from_numpy(clip))

    runs: dict[str, Callable[[], object]] = {"torch eager": eager}
    runs.update({row: lambda r=run: r(clip) for row, run in runners.items()})
    runs.update(matmul_runs(threads, folder, capabilities.bf16) if name == "i3d" else {})
    rates = best_rates(runs, seconds)
    rates["gflop_per_segment"] = segment_flops(module, torch.from_numpy(clip)) / 1e9
    return rates, cosines, default


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extractors", nargs="+", default=["i3d"])
    parser.add_argument("--threads", type=int, default=2, help="threads for every library")
    parser.add_argument("--seconds", type=float, default=10.0, help="timing per measurement")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
    torch.set_num_threads(args.threads)
    capabilities = detect()
    print(f"CPU: {cpu_model()}; {capabilities.describe()}; {args.threads} threads")
    default = ""
    peaks: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.extractors:
            rates, cosines, chosen = bench_extractor(name, args.threads, args.seconds, Path(tmp))
            default = chosen or default
            for row in [r for r in rates if r.startswith("peak ")]:
                peaks[row] = rates.pop(row) * MATMUL_FLOPS / 1e9
            best_peak = {
                p: max((v for k, v in peaks.items() if k.split()[1] == p), default=0.0)
                for p in ("fp32", "bf16", "int8")
            }
            gflop, eager = rates.pop("gflop_per_segment"), rates["torch eager"]
            print(
                f"{'extractor':<10}{'path':<20}{'segments/s':>11}{'GFLOP/s':>9}{'of peak':>9}{'vs eager':>10}"
                f"{'cosine':>9}"
            )
            for row, speed in rates.items():
                precision = (chosen if row == "default" else row).split()[-1]
                peak = best_peak.get(precision if precision in best_peak else "fp32") or float("nan")
                cos = cosines.get(row)
                label = f"default ({chosen})" if row == "default" else row
                print(
                    f"{name:<10}{label:<20}{speed:>11.3f}{speed * gflop:>9.1f}{speed * gflop / peak:>9.0%}"
                    f"{speed / eager:>9.2f}x{'' if cos is None else f'{cos:>9.5f}'}"
                )
            if name == "i3d":
                default_ratio = rates["default"] / eager
            print(f"{name:<10}{gflop:.1f} GFLOP per segment")
    print(f"{'physical limit':<30}{'GFLOP/s (int8: GOP/s)':>22}")
    for row, value in sorted(peaks.items()):
        print(f"{row:<30}{value:>22.1f}")
    if default:
        print(f"default path: {default} {default_ratio:.2f}x eager")
    return 0


if __name__ == "__main__":
    sys.exit(main())
