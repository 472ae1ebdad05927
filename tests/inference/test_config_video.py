"""Config validation, provider selection, video decoding of generated files (good and bad), preprocessing and
annotation."""

from __future__ import annotations

import logging
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from harness.videos import write_video
from inferences.annotate import PROMPT_FONTS, Annotator, _label
from inferences.config import load_inference_config
from inferences.configfile import ConfigFileError
from inferences.preprocess import Preprocessor
from inferences.runtime import ModelError, load_onnx_session, select_providers
from inferences.video import VideoError, even_size, iter_frames, iter_video_frames, open_video


def test_shipped_config_loads_with_every_field() -> None:
    config = load_inference_config()
    assert config.extraction_model_file.name == "i3d-fp32.onnx"
    assert config.category_model_file is None
    assert config.replace(precision="fp16").extraction_model_file.name == "i3d-fp16.onnx"


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
        ('result-preset = "fastest"', "result-preset"),
        ("capture-interval = -1", "capture-interval"),
        ("history-lenght = 3", "history-lenght"),
        ("threads = true", "threads"),
        ("clip-fps = nan", "clip-fps"),
        ("normalization-mean = [0.5, 0.5, 0.5, 0.5]", "normalization-mean"),
        ('providers = "CPUExecutionProvider"', "providers"),
        ("objects-every = 32", "objects-every"),
        ("reconnect-max-delay = 0.1", "reconnect-max-delay"),
        ('detection-model-path = ""', "detection-model-path"),
    ],
)
def test_invalid_config_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigFileError, match=f"'{field}'"):
        load_inference_config(path)


def test_config_error_names_the_file_and_the_field(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("threads = 2\nsegment-length = 4\n")  # objects-every (8) > segment-length
    with pytest.raises(ConfigFileError) as error:
        load_inference_config(path)
    assert str(error.value).startswith(f"{path}: field 'objects-every' (8) must be <= 'segment-length' (4)")
    path.write_text("segment-width = 4\n")
    with pytest.raises(
        ConfigFileError, match=r"bad\.toml: field 'segment-width' must be an integer in 8\.\.4096"
    ):
        load_inference_config(path)
    path.write_text("normalization-mean = [0.5]\n")  # a short list is invalid, not a missing field
    with pytest.raises(ConfigFileError, match=r"field 'normalization-mean' must be a list of 3 numbers"):
        load_inference_config(path)
    config = load_inference_config()
    with pytest.raises(ConfigFileError, match=r"InferenceConfig: field 'crop-x2' \(0\.2\) must be greater"):
        config.replace(crop_x1=0.5, crop_x2=0.2)  # a changed copy is validated like the file
    assert config.replace(providers=["CPUExecutionProvider"]).providers == ("CPUExecutionProvider",)


def test_config_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="not found"):
        load_inference_config(tmp_path / "missing.toml")
    (tmp_path / "broken.toml").write_text("precision = \n")
    with pytest.raises(ConfigFileError, match="not valid TOML"):
        load_inference_config(tmp_path / "broken.toml")


def test_unavailable_providers_are_skipped_cpu_last(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="inferences"):
        assert select_providers(["NoSuchExecutionProvider"]) == ["CPUExecutionProvider"]
    assert "NoSuchExecutionProvider is not available" in caplog.text
    assert select_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]


def test_missing_or_bad_model_file(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="file not found"):
        load_onnx_session(tmp_path / "none.onnx", providers=["CPUExecutionProvider"])
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ModelError, match="cannot load ONNX model"):
        load_onnx_session(tmp_path / "junk.onnx", providers=["CPUExecutionProvider"])


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


def test_preprocess_decoded_frames_like_rgb_arrays(camera_clip: Path) -> None:
    """A decoded frame goes through one FFmpeg pass (colour conversion + resize); the result matches the
    RGB-array path within rounding, with and without a crop, so offline, live and training features agree."""
    frame = next(iter_video_frames(camera_clip))
    results = []
    for crop in ((0.0, 0.0, 1.0, 1.0), (0.25, 0.1, 0.75, 0.9)):
        prep = Preprocessor(width=224, height=160, segment_length=16, crop=crop)
        direct, via_rgb = prep.video_frame(frame), prep.frame(frame.to_ndarray(format="rgb24"))
        assert direct.shape == via_rgb.shape == (160, 224, 3) and direct.dtype == np.uint8
        assert np.abs(direct.astype(int) - via_rgb).mean() < 1.5
        results.append(direct.astype(int))
    assert np.abs(results[0] - results[1]).mean() > 10  # the crop changed the picture


@pytest.mark.parametrize(("width", "height", "pix_fmt"), [(360, 240, "yuv420p"), (97, 61, "rgb24")])
def test_annotation_on_yuv_planes_matches_rgb(width: int, height: int, pix_fmt: str) -> None:
    """The offline path draws on the YUV 4:2:0 planes; decoded back to RGB it looks like the RGB drawing
    (red border, prompt), and the picture inside is untouched."""
    rng = np.random.default_rng(0)
    rgb = rng.integers(60, 200, (height, width, 3), dtype=np.uint8)
    annotator = Annotator(border=6, prompt="异常 ABNORMAL")
    even_w, even_h = even_size(width, height)
    source = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
    drawn = annotator.video_frame(source, width=even_w, height=even_h)
    assert (drawn.format.name, drawn.width, drawn.height) == ("yuv420p", even_w, even_h)
    out = drawn.to_ndarray(format="rgb24").astype(int)
    plain = source.reformat(width=even_w, height=even_h, format="yuv420p").to_ndarray(format="rgb24")
    strip = out[even_h // 2, 1:5]  # left border, away from the chroma edge
    assert (strip[:, 0] > 230).all() and (strip[:, 1:] < 25).all()
    assert np.abs(out - annotator(plain.copy())).mean() < 3  # 4:2:0 chroma of the prompt, rounding
    inner = (slice(even_h // 2, even_h - 8), slice(8, even_w - 8))
    assert np.array_equal(out[inner], plain[inner])


def test_prompt_font_draws_chinese() -> None:
    """With Debian's fonts-wqy-microhei (installed by `make install`) distinct Chinese characters give
    distinct glyphs, not the same placeholder box."""
    assert any(Path(path).is_file() for path in PROMPT_FONTS), "install fonts-wqy-microhei (make install)"
    assert not np.array_equal(_label("异", 240), _label("常", 240))
