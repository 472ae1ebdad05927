"""Config validation, provider selection, and video decoding of generated files (good and bad)."""

from __future__ import annotations

import dataclasses
import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from inferences.config import ConfigError, load_inference_config
from inferences.preprocess import Preprocessor
from inferences.runtime import ModelError, create_session, select_providers
from inferences.video import VideoError, iter_frames, open_video
from tests.inference.conftest import write_video


def test_shipped_config_loads_with_every_field() -> None:
    config = load_inference_config()
    assert config.extraction_model_file.name == "i3d-fp32.onnx"
    assert config.category_model_file is None
    assert dataclasses.replace(config, precision="fp16").extraction_model_file.name == "i3d-fp16.onnx"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('precision = "fp64"', "precision"),
        ("segment-length = 0", "segment-length"),
        ('segment-width = "224"', "segment-width"),
        ("crop-x1 = 0.6\ncrop-x2 = 0.5", "crop-x2"),
        ("normalization-std = [0.5, 0.0, 0.5]", "normalization-std"),
        ("normalization-mean = [0.5]", "normalization-mean"),
        ("anomaly-threshold = 1.5", "anomaly-threshold"),
        ("providers = []", "providers"),
        ("capture-interval = -1", "capture-interval"),
        ("history-lenght = 3", "history-lenght"),
    ],
)
def test_invalid_config_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigError, match=f"'{field}'"):
        load_inference_config(path)


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_inference_config(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("precision = \n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_inference_config(tmp_path / "broken.toml")


def test_unavailable_providers_are_skipped_cpu_last(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="inferences"):
        assert select_providers(["NoSuchExecutionProvider"]) == ["CPUExecutionProvider"]
    assert "NoSuchExecutionProvider is not available" in caplog.text
    assert select_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_missing_or_bad_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="file not found"):
        create_session(tmp_path / "none.onnx", providers=["CPUExecutionProvider"])
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load ONNX model"):
        create_session(tmp_path / "junk.onnx", providers=["CPUExecutionProvider"])


@pytest.mark.parametrize(
    ("name", "width", "height", "rate", "codec", "pix_fmt"),
    [
        ("h264.mkv", 97, 61, Fraction(30000, 1001), "libx264", "yuv444p"),
        ("mpeg4.avi", 97, 61, Fraction(15, 2), "mpeg4", "yuv420p"),
        ("mjpeg.avi", 130, 66, Fraction(25), "mjpeg", "yuvj420p"),
        ("mjpeg.mkv", 98, 62, Fraction(15, 2), "mjpeg", "yuvj422p"),
    ],
)
def test_generated_videos_decode(tmp_path: Path, name, width, height, rate, codec, pix_fmt) -> None:
    path = write_video(
        tmp_path / name, frames=21, width=width, height=height, rate=rate, codec=codec, pix_fmt=pix_fmt
    )
    info = open_video(path)
    assert (info.width, info.height, info.rate, info.frames) == (width, height, rate, 21)
    frames = list(iter_frames(path))
    assert len(frames) == 21
    assert frames[0].shape == (height, width, 3) and frames[0].dtype == np.uint8


def _empty(folder: Path) -> Path:
    (folder / "empty.mp4").write_bytes(b"")
    return folder / "empty.mp4"


def _text(folder: Path) -> Path:
    (folder / "notes.mp4").write_text("these are not video bytes\n" * 50)
    return folder / "notes.mp4"


def _truncated(tmp_path: Path) -> Path:
    path = write_video(tmp_path / "whole.mp4", frames=30, width=64, height=48)
    data = path.read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(data[: len(data) // 2])
    return tmp_path / "truncated.mp4"


def _audio_only(tmp_path: Path) -> Path:
    path = tmp_path / "sound.wav"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
        frame.sample_rate = 8000
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.mp4", "file not found"),
        (lambda d: d, "not a file"),
        (_empty, "empty file"),
        (
            _text,
            "not a readable video",
        ),
        (_truncated, "not a readable video"),
        (_audio_only, "no video stream"),
    ],
    ids=["missing", "directory", "zero-length", "non-video", "truncated", "audio-only"],
)
def test_bad_videos_raise_clear_errors(tmp_path: Path, make, message: str) -> None:
    path = make(tmp_path)
    with pytest.raises(VideoError, match=message) as error:
        open_video(path)
    assert str(path) in str(error.value)
    assert isinstance(error.value, ValueError)


def test_preprocess_crop_resize_normalise_and_pad() -> None:
    frame = np.zeros((40, 80, 3), np.uint8)
    frame[:, 40:] = 255  # right half white
    prep = Preprocessor(width=8, height=4, segment_length=4, crop=(0.5, 0.0, 1.0, 1.0))
    small = prep.frame(frame)
    assert small.shape == (4, 8, 3) and small.min() == 255  # the crop kept only the white half
    clip = prep.pack([small, np.zeros_like(small)])
    assert clip.shape == (1, 3, 4, 4, 8) and clip.dtype == np.float32
    assert clip[0, :, 0].min() == 1.0 and clip[0, :, 1:].max() == -1.0  # padded with the last frame
    with pytest.raises(ValueError, match=r"1\.\.4 frames"):
        prep.pack([small] * 5)
