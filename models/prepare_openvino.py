"""The OpenVINO INT8 extractor file (`<name>-int8-openvino.xml` + `.bin`), written by `prepare`.

NNCF post-training quantisation of the fp32 ONNX file with accuracy control: int8 weights and activations
calibrated on real clips, then the operations that move the features most are reverted to floating point
one by one until every calibration clip keeps a cosine >= 1 - MAX_DROP with its fp32 features. The file is
kept only when the clips *not* used for calibration keep a cosine >= `backends.MIN_COSINE` too.
OpenVINO runs it with int8 dot-product instructions (VNNI, AMX-INT8) where the CPU has them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from inferences.backends import MIN_COSINE, cosine
from inferences.runtime import speed_file

MAX_DROP = 0.0008  # of the minimum cosine on the calibration clips: a margin above 1 - MIN_COSINE's 0.001


def openvino_available() -> bool:
    """Whether OpenVINO and NNCF are installed."""
    try:
        import nncf  # noqa: F401
        import openvino  # noqa: F401
    except ImportError:
        return False
    return True


def quantize_openvino(
    fp32_path: Path,
    path: Path,
    calibration: np.ndarray,
    evaluation: np.ndarray,
    reference: np.ndarray,
    *,
    threads: int = 0,
) -> float:
    """Write `path` (OpenVINO IR) from `fp32_path` when its features on `evaluation` keep a cosine >=
    MIN_COSINE with `reference` (their fp32 features); returns that minimum cosine (the file is removed
    when below)."""
    import nncf
    import openvino as ov

    from inferences.runtime import load_onnx_session

    nncf.set_log_level(logging.ERROR)
    fp32 = load_onnx_session(fp32_path, providers=["CPUExecutionProvider"], threads=threads, role="extractor")
    targets = [(clip, fp32.run(["features"], {"clip": clip[None]})[0]) for clip in calibration]

    def worst_cosine(compiled, items) -> float:
        request = compiled.create_infer_request()
        return min(float(cosine(features, request.infer({0: clip[None]})[0])[0]) for clip, features in items)

    core = ov.Core()
    quantized = nncf.quantize_with_accuracy_control(
        core.read_model(str(fp32_path)),
        nncf.Dataset(list(calibration), lambda clip: clip[None]),
        nncf.Dataset(targets, lambda item: item[0][None]),
        validation_fn=worst_cosine,
        max_drop=MAX_DROP,
        drop_type=nncf.DropType.ABSOLUTE,
        preset=nncf.QuantizationPreset.MIXED,
        subset_size=len(calibration),
    )
    settings = {"INFERENCE_PRECISION_HINT": "f32", **({"INFERENCE_NUM_THREADS": threads} if threads else {})}
    request = core.compile_model(quantized, "CPU", settings).create_infer_request()
    features = np.concatenate([request.infer({0: clip[None]})[0] for clip in evaluation])
    similarity = float(cosine(reference, features).min())
    if similarity >= MIN_COSINE:
        ov.save_model(quantized, str(path))
        record_speed(fp32_path, path, evaluation[:1], threads=threads)
    else:
        for stale in (path, path.with_suffix(".bin"), speed_file(path)):
            stale.unlink(missing_ok=True)
    return similarity


def record_speed(fp32_path: Path, path: Path, clip: np.ndarray, *, threads: int = 0, rounds: int = 3) -> dict:
    """Segments/s of the INT8 file and of the best floating-point OpenVINO path (bf16 where the CPU has it,
    else fp32) on this CPU, interleaved, best call of `rounds`; written beside `path` with the CPU flags,
    so the engine uses INT8 by default only where it measured faster (`inferences.runtime`)."""
    from inferences.backends import OpenVinoRunner, detect

    capabilities = detect()
    floating = "bf16" if capabilities.bf16 else "fp32"
    runners = {
        "int8": OpenVinoRunner(path, precision="int8", threads=threads, role="extractor"),
        floating: OpenVinoRunner(fp32_path, precision=floating, threads=threads, role="extractor"),
    }
    best = dict.fromkeys(runners, float("inf"))
    for _ in range(rounds + 1):  # the first round warms up
        for name, runner in runners.items():
            started = time.perf_counter()
            runner.run(["features"], {"clip": clip})
            best[name] = min(best[name], time.perf_counter() - started)
    record = {
        "cpu_flags": sorted(capabilities.cpu_flags),
        **{name: 1 / seconds for name, seconds in best.items()},
    }
    speed_file(path).write_text(json.dumps(record, indent=1))
    return record


def openvino_int8(
    report,
    fp32: Path,
    path: Path,
    calibration: np.ndarray,
    evaluation: np.ndarray,
    fp32_features: np.ndarray,
    step: Callable[[str], None],
) -> None:
    """Into `prepare`'s report: the NNCF-quantised OpenVINO INT8 file `path` when OpenVINO and NNCF are
    installed."""
    if not openvino_available():
        report.notes.append("OpenVINO INT8 not written: openvino / nncf not installed")
        return
    step(f"quantizing int8 for OpenVINO (NNCF, accuracy control) on {len(calibration)} real clips")
    report.openvino_int8_cosine = quantize_openvino(fp32, path, calibration, evaluation, fp32_features)
    if path.is_file():
        report.written.append(path)
    else:
        cos = report.openvino_int8_cosine
        report.notes.append(f"OpenVINO INT8 not written: cosine {cos:.5f} against fp32 on unseen clips")
