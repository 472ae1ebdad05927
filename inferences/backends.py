"""One runtime interface over ONNX Runtime (CPU, CUDA) and OpenVINO (CPU), and the choice of a model's path.

A *path* is a backend and a precision (`Choice`). `choices` lists the paths to try for a model, best
first, from the config (`<model>-backend`, `precision`) and the machine's `Capabilities` (the CPU flags
of /proc/cpuinfo and the optimisation capabilities OpenVINO reports): bf16 where the CPU has bf16 matrix
instructions (AMX or AVX512-BF16) and OpenVINO reports BF16, int8 where it has int8 dot products (VNNI or
AMX-INT8) and OpenVINO reports INT8, fp32 otherwise. `open_model` opens the first path that loads and,
for a non-fp32 path, whose outputs on a real input keep a cosine >= `MIN_COSINE` with the fp32 ONNX
Runtime outputs; every path it passes over is logged with the reason (the `inferences` logger).
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime as ort

from inferences.errors import SurveillanceError

log = logging.getLogger("inferences")
CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
MIN_COSINE = 0.999
BF16_FLAGS = ("amx_bf16", "avx512_bf16")
INT8_FLAGS = ("amx_int8", "avx512_vnni", "avx_vnni")
SHOWN_FLAGS = (
    "avx2",
    "fma",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)
_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(bool)": np.bool_}


class ModelError(SurveillanceError):
    """A model file is missing, unreadable or does not follow the ONNX contract."""


@dataclass(frozen=True)
class Capabilities:
    """What this machine offers: CPU flags, OpenVINO's CPU capabilities (empty: OpenVINO not installed),
    ONNX Runtime's providers."""

    cpu_flags: frozenset[str]
    openvino: frozenset[str]
    providers: frozenset[str]

    @property
    def bf16(self) -> bool:
        """bf16 matrix instructions that OpenVINO uses."""
        return "BF16" in self.openvino and any(flag in self.cpu_flags for flag in BF16_FLAGS)

    @property
    def int8(self) -> bool:
        """int8 dot-product instructions (VNNI / AMX-INT8) that OpenVINO uses."""
        return "INT8" in self.openvino and any(flag in self.cpu_flags for flag in INT8_FLAGS)

    def describe(self) -> str:
        """One line: the relevant CPU flags and OpenVINO's capabilities."""
        flags = " ".join(flag for flag in SHOWN_FLAGS if flag in self.cpu_flags) or "none of the SIMD flags"
        openvino = " ".join(sorted(self.openvino)) if self.openvino else "not installed"
        return f"flags: {flags}; OpenVINO CPU: {openvino}"


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The flags of the first CPU in /proc/cpuinfo (empty where there is none)."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return frozenset()
    flags = next((line.split(":", 1)[1] for line in lines if line.startswith(("flags", "Features"))), "")
    return frozenset(flags.split())


def cpu_model(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name ("?" when unknown)."""
    try:
        lines = cpuinfo.read_text().splitlines()
    except OSError:
        return "?"
    return next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "?")


@functools.cache
def openvino_core():
    """The process's OpenVINO Core, or None when OpenVINO is not installed."""
    try:
        import openvino
    except ImportError:
        return None
    return openvino.Core()


@functools.cache
def detect() -> Capabilities:
    """This machine's capabilities (read once)."""
    core = openvino_core()
    openvino = frozenset(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")) if core else frozenset()
    return Capabilities(cpu_flags(), openvino, frozenset(ort.get_available_providers()))


@dataclass(frozen=True)
class Choice:
    """One path: `backend` (onnxruntime | openvino) and `precision` (fp32 | fp16 | int8 | bf16)."""

    backend: str
    precision: str

    def __str__(self) -> str:
        return f"{self.backend} {self.precision}"


def auto_backend(capabilities: Capabilities, providers: Sequence[str]) -> str:
    """CUDA through ONNX Runtime when asked for and present, else OpenVINO when installed, else ONNX
    Runtime on the CPU."""
    if CUDA in providers and CUDA in capabilities.providers:
        return "onnxruntime"
    return "openvino" if capabilities.openvino else "onnxruntime"


def choices(
    capabilities: Capabilities,
    *,
    backend: str,
    precision: str,
    providers: Sequence[str],
    precisions: Sequence[str] = ("fp32", "fp16", "int8", "bf16"),
) -> list[Choice]:
    """The paths to try for a model, best first, ending with fp32 (ONNX Runtime's as the last resort).
    `precisions`: the ones this model has (e.g. an object detector without an int8 file)."""
    chosen = auto_backend(capabilities, providers) if backend == "auto" else backend
    if precision != "auto":
        wanted = [precision]
    elif chosen == "openvino":
        wanted = [p for p, able in (("int8", capabilities.int8), ("bf16", capabilities.bf16)) if able]
    else:
        wanted = []  # ONNX Runtime's int8 and fp16 are slower than its fp32 on CPUs (bench/extract.py)
    paths = [Choice(chosen, p) for p in wanted if p in precisions and p != "fp32"]
    paths.append(Choice(chosen, "fp32"))
    if chosen != "onnxruntime":
        paths.append(Choice("onnxruntime", "fp32"))
    return paths


class Runner:
    """A loaded model on one path: `run(output names, inputs)` -> outputs, like an ONNX Runtime session."""

    choice: Choice
    path: Path
    input_names: list[str]
    output_names: list[str]
    input_types: list[type]
    output_dim: int | None
    metadata: dict[str, str]

    def run(self, outputs: Sequence[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError


def select_providers(requested: Sequence[str]) -> list[str]:
    """The requested providers that this ONNX Runtime has, in order, with CPU appended as last resort."""
    available = set(ort.get_available_providers())
    selected = []
    for provider in requested:
        if provider in available:
            selected.append(provider)
        else:
            log.warning("ONNX Runtime provider %s is not available here; skipped", provider)
    if CPU not in selected:
        selected.append(CPU)
    return selected


def load_onnx_session(path: Path, *, providers: Sequence[str], threads: int = 0, role: str = "model"):
    """An ONNX Runtime InferenceSession for `path`; ModelError naming the file when it is missing or not
    ONNX."""
    if not path.is_file():
        raise ModelError(f"{role} {path}: file not found")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=select_providers(providers))
    except Exception as error:  # onnxruntime raises its own non-ValueError exception types
        raise ModelError(f"{role} {path}: cannot load ONNX model ({str(error).splitlines()[0]})") from None


class OnnxRuntimeRunner(Runner):
    """ONNX Runtime session (thread-safe) with the given providers."""

    def __init__(self, path: Path, *, precision: str, providers: Sequence[str], threads: int, role: str):
        self.choice, self.path = Choice("onnxruntime", precision), path
        self.onnx_session = load_onnx_session(path, providers=providers, threads=threads, role=role)
        self.input_names = [i.name for i in self.onnx_session.get_inputs()]
        self.input_types = [_NUMPY_TYPES.get(i.type, np.float32) for i in self.onnx_session.get_inputs()]
        self.output_names = [o.name for o in self.onnx_session.get_outputs()]
        dim = self.onnx_session.get_outputs()[0].shape[-1] if self.output_names else None
        self.output_dim = dim if isinstance(dim, int) else None
        self.metadata = dict(self.onnx_session.get_modelmeta().custom_metadata_map)

    def run(self, outputs: Sequence[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        return self.onnx_session.run(list(outputs), feeds)


Shapes = Callable[[dict[str, str]], dict[str, list[int]]]


class OpenVinoRunner(Runner):
    """OpenVINO model compiled for the CPU at `precision` (bf16: the fp32 file computed in bf16); one infer
    request per calling thread. `shapes(metadata)` gives input shapes (-1: dynamic) fixed before compiling:
    OpenVINO runs a graph with static sizes faster than one with dynamic sizes (bench/objects.py)."""

    def __init__(
        self,
        path: Path,
        *,
        precision: str,
        threads: int,
        role: str,
        shapes: Shapes | None = None,
        hint: str = "latency",
    ):
        core = openvino_core()
        if core is None:
            raise ModelError("OpenVINO is not installed (pip install openvino)")
        if precision == "bf16" and not detect().bf16:
            raise ModelError("this CPU has no bf16 matrix instructions (AMX or AVX512-BF16) OpenVINO uses")
        self.choice, self.path = Choice("openvino", precision), path
        try:
            model = core.read_model(str(path))
            info = model.get_rt_info()
            framework = info["framework"] if "framework" in info else {}  # noqa: SIM401 (RTMap has no get)
            self.metadata = {key: framework[key].astype(str) for key in framework}
            if shapes is not None and (fixed := shapes(self.metadata)):
                model.reshape(fixed)
            settings = {
                "INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32",
                "PERFORMANCE_HINT": "THROUGHPUT" if hint == "throughput" else "LATENCY",
            }
            if threads:
                settings["INFERENCE_NUM_THREADS"] = threads
            self.compiled = core.compile_model(model, "CPU", settings)
        except Exception as error:  # OpenVINO raises RuntimeError subclasses of its own
            raise ModelError(
                f"{role} {path}: OpenVINO cannot load it ({str(error).splitlines()[0]})"
            ) from None
        self.input_names = [i.get_any_name() for i in model.inputs]
        self.input_types = [i.get_element_type().to_dtype().type for i in model.inputs]
        self.output_names = [o.get_any_name() for o in model.outputs]
        last = model.outputs[0].get_partial_shape()[-1] if self.output_names else None
        self.output_dim = last.get_length() if last is not None and last.is_static else None
        self._local = threading.local()

    def run(self, outputs: Sequence[str], feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        request = getattr(self._local, "request", None)
        if request is None:
            request = self._local.request = self.compiled.create_infer_request()
        request.infer({name: np.ascontiguousarray(value) for name, value in feeds.items()})
        return [request.get_tensor(name).data.copy() for name in outputs]


def cosine(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise cosine similarity of two arrays, flattened after the first axis."""
    a = np.asarray(a, np.float64).reshape(len(a), -1)
    b = np.asarray(b, np.float64).reshape(len(b), -1)
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)


_checked: dict[tuple, float] = {}  # (file, mtime, choice) -> cosine against fp32, for repeated loads
_checked_lock = threading.Lock()


def open_model(
    role: str,
    files: Callable[[Choice], Path],
    paths: Sequence[Choice],
    *,
    providers: Sequence[str],
    threads: int = 0,
    check: Callable[[Runner], np.ndarray | None] | None = None,
    shapes: Shapes | None = None,
    hint: str = "latency",
) -> Runner:
    """The first of `paths` that loads and keeps the outputs: `files(choice)` is the file of a path; a
    non-fp32 path is kept only when `check(runner)` (the first output on a real input) has a cosine >=
    MIN_COSINE with the fp32 ONNX Runtime output on the CPU (no check, or no real input: not kept);
    `shapes`, `hint`: OpenVINO's static input shapes and performance hint (`OpenVinoRunner`). The last path's
    failure raises ModelError."""
    fp32_file = files(Choice("onnxruntime", "fp32"))
    if not fp32_file.is_file():
        raise ModelError(f"{role} {fp32_file}: file not found")
    reference: np.ndarray | None = None
    for index, choice in enumerate(paths):
        last = index == len(paths) - 1
        path = files(choice)
        try:
            runner = load_runner(
                choice, path, providers=providers, threads=threads, role=role, shapes=shapes, hint=hint
            )
        except ModelError as error:
            if last:
                raise
            level = logging.INFO if not path.is_file() else logging.WARNING  # a file not built: no surprise
            log.log(level, "%s: %s unavailable (%s); trying %s", role, choice, error, paths[index + 1])
            continue
        if choice.precision == "fp32":
            return runner
        key = (str(path), path.stat().st_mtime_ns, choice, str(fp32_file))
        with _checked_lock:
            similarity = _checked.get(key)
        if similarity is None:
            if reference is None and check is not None:
                fp32 = load_runner(
                    Choice("onnxruntime", "fp32"), fp32_file, providers=[CPU], threads=threads, role=role
                )
                reference = check(fp32)
            outputs = check(runner) if reference is not None else None
            similarity = float(cosine(reference, outputs).min()) if outputs is not None else math.nan
            with _checked_lock:
                _checked[key] = similarity
        if math.isnan(similarity):
            reason = "no real input here to check it against fp32"
        else:
            reason = f"cosine {similarity:.5f} with fp32 on a real input, below {MIN_COSINE}"
        if similarity >= MIN_COSINE:
            log.info("%s: %s (cosine %.5f with fp32 on a real input)", role, choice, similarity)
            return runner
        log.warning("%s: %s not used (%s); using %s instead", role, choice, reason, paths[index + 1])
    raise AssertionError("paths must end with an fp32 path")  # pragma: no cover


def load_runner(
    choice: Choice,
    path: Path,
    *,
    providers: Sequence[str],
    threads: int,
    role: str,
    shapes: Shapes | None = None,
    hint: str = "latency",
) -> Runner:
    """`path` loaded on `choice` (ModelError when it cannot be); `shapes`, `hint`: see `OpenVinoRunner`."""
    if not path.is_file():
        raise ModelError(f"{role} {path}: file not found")
    if choice.backend == "openvino":
        return OpenVinoRunner(
            path, precision=choice.precision, threads=threads, role=role, shapes=shapes, hint=hint
        )
    if choice.precision == "bf16":
        raise ModelError("ONNX Runtime has no bf16 CPU path")
    return OnnxRuntimeRunner(
        path, precision=choice.precision, providers=providers, threads=threads, role=role
    )
