"""Inference backends: the path chosen from a machine's capabilities, OpenVINO / ONNX Runtime parity on real
footage, the fallback when a path is out of tolerance or unavailable, and the config overrides."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from harness import tiny_models
from harness.videos import write_video
from inferences.backends import Capabilities, Choice, cosine, cpu_flags, detect, load_runner
from inferences.checks import real_clip, real_frames
from inferences.config import InferenceConfig
from inferences.configfile import ConfigFileError, parse_config
from inferences.paths import REPO_ROOT
from inferences.preprocess import Preprocessor
from inferences.runtime import AnomalyDetectorModel, FeatureExtractor
from tests.inference.conftest import SIZE, make_config

pytest.importorskip("openvino")
AMX = frozenset({"avx2", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"})
VNNI = frozenset({"avx2", "avx512f", "avx512_vnni"})
AVX2 = frozenset({"avx2", "fma"})
OV_AMX = frozenset({"FP32", "BF16", "INT8", "FP16"})
OV_VNNI = frozenset({"FP32", "INT8"})
CPU_ONLY = frozenset({"CPUExecutionProvider"})
MODELS = REPO_ROOT / "inferences" / "models"


def paths(capabilities: Capabilities, backend: str = "auto", precision: str = "auto", **kw) -> list[str]:
    from inferences.backends import choices

    providers = kw.pop("providers", ("CUDAExecutionProvider", "CPUExecutionProvider"))
    return [
        str(c) for c in choices(capabilities, backend=backend, precision=precision, providers=providers, **kw)
    ]


def test_capabilities_choose_the_path() -> None:
    amx, vnni = Capabilities(AMX, OV_AMX, CPU_ONLY), Capabilities(VNNI, OV_VNNI, CPU_ONLY)
    assert paths(amx) == ["openvino int8", "openvino bf16", "openvino fp32", "onnxruntime fp32"]
    assert paths(amx, precisions=("fp32", "bf16")) == ["openvino bf16", "openvino fp32", "onnxruntime fp32"]
    assert paths(vnni) == ["openvino int8", "openvino fp32", "onnxruntime fp32"]
    # OpenVINO must report the capability too, and the CPU must have the flags: neither is assumed
    assert paths(Capabilities(VNNI, frozenset({"FP32"}), CPU_ONLY)) == ["openvino fp32", "onnxruntime fp32"]
    assert paths(Capabilities(AVX2, OV_AMX, CPU_ONLY)) == ["openvino fp32", "onnxruntime fp32"]
    assert paths(Capabilities(AMX, frozenset(), CPU_ONLY)) == ["onnxruntime fp32"]  # no OpenVINO
    cuda = Capabilities(AMX, OV_AMX, CPU_ONLY | {"CUDAExecutionProvider"})
    assert paths(cuda) == ["onnxruntime fp32"]
    assert paths(cuda, providers=["CPUExecutionProvider"])[0] == "openvino int8"  # CUDA not asked for
    assert paths(vnni, "onnxruntime", "int8") == ["onnxruntime int8", "onnxruntime fp32"]
    assert paths(vnni, "openvino", "fp32") == ["openvino fp32", "onnxruntime fp32"]


def test_cpu_flags_read_from_cpuinfo(tmp_path: Path) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text(
        "processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx2 avx512_vnni amx_int8\n\nprocessor\t: 1\n"
    )
    assert cpu_flags(info) == {"fpu", "avx2", "avx512_vnni", "amx_int8"}
    assert cpu_flags(tmp_path / "missing") == frozenset()
    assert detect().cpu_flags == cpu_flags()


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny extractor as `tiny-fp32.onnx` and, as its "int8" file, one with other weights (a path whose
    features are far from fp32), with a random detector."""
    folder = tmp_path_factory.mktemp("backends")
    tiny_models.build_extractor(folder / "tiny-fp32.onnx", size=SIZE)
    tiny_models.build_extractor(folder / "tiny-int8.onnx", size=SIZE, seed=1)
    tiny_models.build_random_detector(folder / "random-detector.onnx")
    return folder


def test_openvino_matches_onnxruntime_on_a_real_clip(tiny: Path) -> None:
    clip = real_clip(Preprocessor(SIZE, SIZE, 16))
    assert clip is not None, "no real footage beside the repository (../shared/data)"
    outputs = {
        backend: load_runner(
            Choice(backend, "fp32"),
            tiny / "tiny-fp32.onnx",
            providers=["CPUExecutionProvider"],
            threads=1,
            role="tiny",
        ).run(["features"], {"clip": clip})[0]
        for backend in ("onnxruntime", "openvino")
    }
    assert cosine(outputs["onnxruntime"], outputs["openvino"]).min() >= 0.999


@pytest.mark.skipif(not (MODELS / "i3d-fp32.onnx").is_file(), reason="I3D not built (make install)")
def test_default_extractor_path_keeps_i3d_features_on_a_real_clip() -> None:
    from inferences.config import load_inference_config

    config = load_inference_config().replace(threads=2)
    clip = real_clip(Preprocessor.from_config(config))
    extractor = FeatureExtractor(config)
    fp32 = load_runner(
        Choice("onnxruntime", "fp32"),
        config.extraction_model_file,
        providers=["CPUExecutionProvider"],
        threads=2,
        role="i3d",
    )
    assert cosine(fp32.run(["features"], {"clip": clip})[0], extractor(clip)).min() >= 0.999


@pytest.mark.skipif(
    not (MODELS / "centernet-fp32.onnx").is_file(), reason="CenterNet not built (make install)"
)
def test_openvino_objects_match_onnxruntime_on_real_frames() -> None:
    from inferences.objects import ObjectDetector

    frames = list(real_frames())
    detectors = {
        backend: ObjectDetector(
            MODELS / "centernet-fp32.onnx",
            providers=["CPUExecutionProvider"],
            threads=2,
            backend=backend,
            precision="fp32",
        )
        for backend in ("onnxruntime", "openvino")
    }
    scores = {backend: detector(frames) for backend, detector in detectors.items()}
    assert np.abs(scores["onnxruntime"] - scores["openvino"]).max() < 1e-3
    # OpenVINO runs it compiled for the detector's size (static height and width, any batch)
    shape = detectors["openvino"].runner.compiled.inputs[0].get_partial_shape()
    assert shape[0].is_dynamic and [shape[i].get_length() for i in (1, 2, 3)] == [3, 512, 512]
    assert detectors["openvino"](frames[:1]).shape == (1, 80)


def test_out_of_tolerance_path_falls_back_with_a_message(tiny: Path, caplog) -> None:
    config = make_config(tiny, extraction_backend="openvino", precision="int8")
    with caplog.at_level(logging.WARNING, logger="inferences"):
        extractor = FeatureExtractor(config)
    assert str(extractor.choice) == "openvino fp32"
    assert extractor.path.name == "tiny-fp32.onnx"
    message = " ".join(r.getMessage() for r in caplog.records)
    assert "openvino int8 not used (cosine" in message and "below 0.999" in message, message
    assert "using openvino fp32 instead" in message


@pytest.mark.skipif(detect().bf16, reason="this CPU has bf16: the path is available here")
def test_unavailable_path_falls_back_with_a_message(tiny: Path, caplog) -> None:
    with caplog.at_level(logging.WARNING, logger="inferences"):
        extractor = FeatureExtractor(make_config(tiny, extraction_backend="openvino", precision="bf16"))
        ort = FeatureExtractor(make_config(tiny, extraction_backend="onnxruntime", precision="bf16"))
    assert str(extractor.choice) == "openvino fp32" and str(ort.choice) == "onnxruntime fp32"
    message = " ".join(r.getMessage() for r in caplog.records)
    assert "openvino bf16 unavailable (this CPU has no bf16 matrix instructions" in message, message
    assert "onnxruntime bf16 unavailable (ONNX Runtime has no bf16 CPU path)" in message, message


def test_config_overrides_backend_and_precision(tiny: Path) -> None:
    ort = FeatureExtractor(make_config(tiny, extraction_backend="onnxruntime", precision="fp32"))
    assert str(ort.choice) == "onnxruntime fp32"
    assert ort.runner.onnx_session.get_providers() == ["CPUExecutionProvider"]  # `providers` still applies
    ov = FeatureExtractor(make_config(tiny, extraction_backend="openvino", precision="fp32"))
    assert str(ov.choice) == "openvino fp32"
    clip = real_clip(Preprocessor(SIZE, SIZE, 16))
    assert cosine(ort(clip), ov(clip)).min() >= 0.999
    # the original `precision` picks the file for ONNX Runtime: the (far) "int8" file is checked, not used
    assert FeatureExtractor(
        make_config(tiny, extraction_backend="onnxruntime", precision="int8")
    ).path.name == ("tiny-fp32.onnx")
    detector = tiny / "random-detector.onnx"
    for backend, expected in (("auto", "onnxruntime fp32"), ("openvino", "openvino fp32")):
        model = AnomalyDetectorModel(make_config(tiny, detector=str(detector), detection_backend=backend), 0)
        assert str(model.runner.choice) == expected
        assert model(np.ones((3, model.feature_dim), np.float32)).shape == (3,)
    for field, value in (
        ("extraction-backend", "tensorrt"),
        ("objects-backend", 1),
        ("detection-backend", ""),
        ("precision", "int4"),
        ("objects-precision", "int8"),
        ("performance-hint", "fast"),
    ):
        with pytest.raises(ConfigFileError, match=f"field '{field}' must be one of"):
            parse_config(InferenceConfig, {field: value}, "config.toml")


def test_openvino_hint_is_latency_offline_and_throughput_live(tiny: Path, tmp_path: Path) -> None:
    """`performance-hint = "auto"`: a recorded video's detector gets every thread for one request, live
    cameras' detectors parallel streams; an explicit hint applies to both."""
    from inferences.offline import VideoDetector
    from inferences.stream import StreamDetector

    def hint(extractor: FeatureExtractor) -> str:
        return str(extractor.runner.compiled.get_property("PERFORMANCE_HINT")).rsplit(".", 1)[-1]

    source = str(write_video(tmp_path / "s.mp4", frames=4, width=64, height=48))
    auto = make_config(tiny, extraction_backend="openvino", precision="fp32")
    assert hint(VideoDetector(auto).models.extractor) == "LATENCY"
    assert hint(StreamDetector(auto, source).models.extractor) == "THROUGHPUT"
    latency = auto.replace(performance_hint="latency")
    assert hint(StreamDetector(latency, source).models.extractor) == "LATENCY"


def test_nncf_int8_file_is_kept_only_within_tolerance(tiny: Path, tmp_path: Path) -> None:
    from inferences.runtime import extractor_file, openvino_int8_file
    from models.prepare import default_calibration_sources, real_clips, run_onnx, split_clips
    from models.prepare_openvino import quantize_openvino

    clips = real_clips(default_calibration_sources()[:2], Preprocessor(SIZE, SIZE, 16), 6)
    evaluation, calibration = split_clips(clips)
    fp32 = tiny / "tiny-fp32.onnx"
    path = openvino_int8_file(tmp_path / "tiny-int8.onnx")
    similarity = quantize_openvino(fp32, path, calibration, evaluation, run_onnx(fp32, evaluation))
    assert path.is_file() == (similarity >= 0.999), similarity
    assert path.is_file(), f"the tiny extractor's INT8 should keep its features (cosine {similarity})"
    (tmp_path / "tiny-fp32.onnx").symlink_to(fp32)
    config = make_config(
        tmp_path, detector=str(tiny / "random-detector.onnx"), extraction_backend="openvino", precision="int8"
    )
    assert extractor_file(config, Choice("openvino", "int8")) == path
    assert extractor_file(config, Choice("onnxruntime", "int8")).name == "tiny-int8.onnx"
    extractor = FeatureExtractor(config)
    assert (str(extractor.choice), extractor.path) == ("openvino int8", path)
    # auto uses it only where `prepare` measured it faster on this CPU (its record beside the file)
    import json

    from inferences.runtime import speed_file

    record = json.loads(speed_file(path).read_text())
    assert record["cpu_flags"] == sorted(detect().cpu_flags) and record["int8"] > 0
    auto = config.replace(precision="auto")
    for int8_speed, expected in ((2.0, "openvino int8"), (0.5, "openvino fp32")):
        speed_file(path).write_text(
            json.dumps({"cpu_flags": record["cpu_flags"], "int8": int8_speed, "fp32": 1.0})
        )
        assert str(FeatureExtractor(auto).choice) == (expected if detect().int8 else "openvino fp32")
    # a worse one is refused: the reference is another model's features
    other = run_onnx(tiny / "tiny-int8.onnx", evaluation)
    assert quantize_openvino(fp32, path, calibration, evaluation, other) < 0.999
    assert not path.is_file() and not path.with_suffix(".bin").exists() and not speed_file(path).exists()


def test_prepare_only_openvino_needs_the_fp32_file(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "models", "prepare", "--only-openvino", "--output-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{tmp_path / 'i3d-fp32.onnx'}: not built yet" in result.stderr


def test_check_footage_keeps_a_real_segment(tmp_path: Path) -> None:
    from inferences.checks import write_check_footage
    from models.prepare import default_calibration_sources, real_clips

    sources = default_calibration_sources()[:1]
    write_check_footage(sources, tmp_path / "check-footage.mp4")
    prep = Preprocessor(SIZE, SIZE, 16)
    kept, original = real_clips([tmp_path / "check-footage.mp4"], prep, 1), real_clips(sources, prep, 1)
    assert kept.shape == original.shape == (1, 3, 16, SIZE, SIZE)
    assert np.abs(kept - original).mean() < 0.02  # the same frames, re-encoded at high quality
