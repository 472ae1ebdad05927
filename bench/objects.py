"""Object-detector (CenterNet) speed on the CPU: ONNX Runtime, OpenVINO (dynamic H and W, and the engine's
path: compiled for the input size) and PyTorch eager per input size and threads, and optionally the UCSD
Ped2 frame AUC of the "bicycle" class score alone at each size.

    python bench/objects.py [--sizes 512 416 320] [--threads 2 1] [--seconds 3] [--auc]

Speed: ms per frame at batch 1 (square input of each size, one file with dynamic H and W: the one
`python -m models prepare --objects centernet` writes, exported on the fly into a temporary folder when
absent), best call of round-robin runs (`bench/extract.py`'s `best_rates`), and PyTorch eager / ONNX
Runtime and OpenVINO dynamic / the engine's OpenVINO path as ratios. AUC: every frame of the 12 Ped2
test clips through `ObjectDetector` (FFmpeg bilinear resize of the whole frame), the bicycle score against
the frame labels, pooled over all frames.
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from bench.extract import best_rates
from inferences.backends import CPU, OpenVinoRunner, detect
from inferences.objects import ObjectDetector
from inferences.paths import MODELS_DIR, SHARED_DATA
from inferences.runtime import load_onnx_session
from models.objects.centernet import create_centernet, default_weights_dir
from models.prepare_objects import prepare_objects

SIMD_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512_vnni",
    "avx512_bf16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


def cpu_description() -> str:
    """CPU model, logical cores and the SIMD flags that matter for fp32 inference, from /proc/cpuinfo."""
    info = Path("/proc/cpuinfo").read_text()
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {key.strip(): value.strip() for key, value in fields.items()}
    flags = set(fields.get("flags", "").split())
    cores = info.count("processor\t:")
    present = " ".join(flag for flag in SIMD_FLAGS if flag in flags)
    return f"{fields.get('model name', '?')}, {cores} logical cores; flags: {present}"


def bench_speed(path: Path, sizes: list[int], threads: list[int], seconds: float) -> None:
    """ms/frame of ONNX Runtime, OpenVINO (dynamic and the engine's static sizes) and PyTorch eager at
    batch 1 for each thread count and size."""
    module = create_centernet(weights_dir=default_weights_dir())
    rng = np.random.default_rng(0)
    openvino = bool(detect().openvino)
    names = ["ort", "ov_dynamic", "ov_engine", "eager"]
    print(f"{'threads':>7} {'size':>9} " + " ".join(f"{n + ' ms':>13}" for n in names), end=" ")
    print(f"{'eager/ort':>10} {'ov_dynamic/ov_engine':>21}")
    for count in threads:
        torch.set_num_threads(count)
        runners = {"ort": load_onnx_session(path, providers=[CPU], threads=count, role="objects")}
        if openvino:
            runners["ov_dynamic"] = OpenVinoRunner(path, precision="fp32", threads=count, role="objects")
        for size in sizes:
            image = rng.uniform(0, 255, (1, 3, size, size)).astype(np.float32)
            if openvino:
                runners["ov_engine"] = ObjectDetector(
                    path,
                    providers=[CPU],
                    threads=count,
                    input_size=size,
                    backend="openvino",
                    precision="fp32",
                ).runner
            runs = {
                name: functools.partial(runner.run, ["class_scores"], {"image": image})
                for name, runner in runners.items()
            }
            runs["eager"] = functools.partial(eager_run, module, torch.from_numpy(image))
            ms = {name: 1000 / rate for name, rate in best_rates(runs, seconds).items()}
            cells = " ".join(f"{ms.get(name, float('nan')):>13.1f}" for name in names)
            ratio = ms.get("ov_dynamic", float("nan")) / ms.get("ov_engine", float("nan"))
            print(f"{count:>7} {size:>4}x{size:<4} {cells} {ms['eager'] / ms['ort']:>10.2f} {ratio:>21.2f}")


def eager_run(module: torch.nn.Module, tensor: torch.Tensor) -> object:
    """One PyTorch eager call without autograd."""
    with torch.no_grad():
        return module(tensor)


def bench_auc(path: Path, sizes: list[int], threads: int) -> None:
    """Frame AUC of the bicycle score alone on the Ped2 test clips at each input size."""
    from sklearn.metrics import roc_auc_score

    from inferences.video import iter_video_frames

    folder = SHARED_DATA / "ucsd-ped2"
    labels = json.loads((folder / "labels.json").read_text())
    detectors = {
        size: ObjectDetector(path, providers=["CPUExecutionProvider"], threads=threads, input_size=size)
        for size in sizes
    }
    bicycle = detectors[sizes[0]].classes.index("bicycle")
    truth: list[int] = []
    scores: dict[int, list[float]] = {size: [] for size in sizes}
    started = time.perf_counter()
    for video in labels["videos"]:
        frames = [frame.to_ndarray(format="rgb24") for frame in iter_video_frames(folder / video["video"])]
        if len(frames) != len(video["frame_labels"]):
            raise SystemExit(f"{video['video']}: {len(frames)} frames, {len(video['frame_labels'])} labels")
        truth += video["frame_labels"]
        for size, detector in detectors.items():
            batches = [detector(frames[i : i + 8])[:, bicycle] for i in range(0, len(frames), 8)]
            scores[size] += np.concatenate(batches).tolist()
    print(f"Ped2 test, {len(truth)} frames ({sum(truth)} abnormal), {time.perf_counter() - started:.0f} s:")
    for size in sizes:
        print(f"  {size}x{size}: bicycle-score frame AUC {roc_auc_score(truth, scores[size]):.4f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 416, 320])
    parser.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    parser.add_argument("--seconds", type=float, default=3.0, help="timing per path and setting")
    parser.add_argument("--auc", action="store_true", help="also the Ped2 bicycle-score AUC per size")
    args = parser.parse_args(argv)
    print(cpu_description())
    with tempfile.TemporaryDirectory() as tmp:
        path = MODELS_DIR / "centernet-fp32.onnx"
        if not path.is_file():
            path = prepare_objects("centernet", output_dir=Path(tmp)).path
        bench_speed(path, args.sizes, args.threads, args.seconds)
        if args.auc:
            bench_auc(path, args.sizes, max(args.threads))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
