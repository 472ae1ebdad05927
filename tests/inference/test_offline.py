"""Offline detection end to end on real video with tiny real ONNX models (and the real I3D when built)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from harness import tiny_models
from harness.videos import write_video
from inferences.config import load_inference_config
from inferences.offline import DetectionCancelled, VideoDetector
from inferences.paths import REPO_ROOT
from inferences.sampling import FrameSampler
from inferences.video import VideoError
from models.detector import create_detector
from tests.inference.conftest import make_config, write_colour_video

BORDER = 8


def decoded(path: Path) -> tuple[Fraction, list[np.ndarray]]:
    with av.open(str(path)) as container:
        rate = container.streams.video[0].average_rate
        return rate, [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def red_border(frame: np.ndarray) -> bool:
    """The inner part of the left and right border strips is red (H.264 keeps it red within a margin)."""
    h = frame.shape[0]
    strips = np.concatenate(
        [frame[h // 4 : 3 * h // 4, 1 : BORDER - 2], frame[h // 4 : 3 * h // 4, -BORDER + 2 : -1]]
    )
    r, g, b = strips.reshape(-1, 3).mean(axis=0)
    return r > 180 and g < 80 and b < 80


def test_event_clip_scores_border_and_intervals(
    model_dir: Path, trained_detector: Path, event_clip, tmp_path
) -> None:
    path, labels = event_clip
    config = make_config(model_dir, trained_detector.name, anomaly_border=BORDER)
    progress: list[float] = []
    result = VideoDetector(config).detect(
        path, output_path=tmp_path / "result.mp4", cover_path=tmp_path / "cover.jpg", progress=progress.append
    )
    assert result.frames == len(labels) == len(result.scores)
    assert len(result.segment_scores) == -(-len(labels) // 16)
    assert result.fps == 10.0 and (result.width, result.height) == (360, 240)
    scores = np.asarray(result.scores)
    abnormal = scores >= config.anomaly_threshold
    assert 0 < abnormal.sum() < len(scores)
    # the detector was trained on this clip: its intervals follow the labelled walking box (a pipeline check)
    assert (abnormal == (labels == 1)).mean() > 0.8
    assert result.peak_score == pytest.approx(scores.max())
    for interval in result.intervals:
        assert abnormal[interval.start_frame : interval.end_frame + 1].all()
        assert interval.start_time == pytest.approx(interval.start_frame / 10)
    assert sum(i.end_frame - i.start_frame + 1 for i in result.intervals) == abnormal.sum()
    # result video: same frame count and rate, red border exactly on the frames at/above the threshold
    rate, frames = decoded(tmp_path / "result.mp4")
    assert rate == 10 and len(frames) == result.frames
    assert [red_border(f) for f in frames] == abnormal.tolist()
    data = (tmp_path / "result.mp4").read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")  # faststart: the index is at the front
    with Image.open(tmp_path / "cover.jpg") as cover:
        assert cover.format == "JPEG" and cover.size == (360, 240)
    assert progress == sorted(progress) and progress[-1] == 1.0 and len(progress) > 3
    assert not list(tmp_path.glob(".*part"))


@pytest.mark.parametrize(
    ("name", "width", "height", "rate", "codec", "pix_fmt", "frames"),
    [
        ("odd.mkv", 97, 61, Fraction(30000, 1001), "libx264", "yuv444p", 37),
        ("odd.avi", 97, 61, Fraction(15, 2), "mpeg4", "yuv420p", 16),
        ("mjpeg.avi", 130, 66, Fraction(25), "mjpeg", "yuvj420p", 5),
    ],
)
def test_odd_videos(config, tmp_path: Path, name, width, height, rate, codec, pix_fmt, frames) -> None:
    source = write_video(
        tmp_path / name, frames=frames, width=width, height=height, rate=rate, codec=codec, pix_fmt=pix_fmt
    )
    everything = make_config(Path(config.extraction_model_path).parent, anomaly_threshold=0.0)
    result = VideoDetector(everything).detect(
        source, output_path=tmp_path / "r.mp4", cover_path=tmp_path / "c.jpg"
    )
    assert result.frames == frames == len(result.scores)
    assert result.fps == pytest.approx(float(rate))
    out_rate, out_frames = decoded(tmp_path / "r.mp4")
    assert out_rate == rate and len(out_frames) == frames
    assert all(red_border(f) for f in out_frames)  # threshold 0: every frame is abnormal
    assert [(i.start_frame, i.end_frame) for i in result.intervals] == [(0, frames - 1)]


@pytest.mark.parametrize(
    ("colours", "abnormal", "interval"),
    [
        (["green"] * 3 + ["red"] * 2 + ["green"] * 3, "red", (48, 79)),
        (["green"] * 6 + ["blue"] * 2, "blue", (96, 127)),
    ],
)
def test_intervals_carry_the_category_of_their_own_frames(
    model_dir: Path, colour_models: Path, tmp_path: Path, colours, abnormal, interval
) -> None:
    """The colour detector flags exactly the non-green segments; the category must come from those frames
    only (most of the video is green, so sampling outside the interval would give "green")."""
    source = write_colour_video(tmp_path / "colours.mp4", colours, rate=10)  # 10 fps: every frame sampled
    config = make_config(model_dir, "colour-detector.onnx", category_model_path=str(colour_models))
    result = VideoDetector(config).detect(
        source, output_path=tmp_path / "r.mp4", cover_path=tmp_path / "c.jpg"
    )
    assert [(i.start_frame, i.end_frame) for i in result.intervals] == [interval]
    (found,) = result.intervals
    assert found.category == abnormal and 0.5 < found.category_probability <= 1
    assert result.to_dict()["intervals"][0]["category"] == abnormal
    plain = VideoDetector(make_config(model_dir, "colour-detector.onnx")).detect(
        source, output_path=tmp_path / "p.mp4", cover_path=tmp_path / "p.jpg"
    )
    assert [i.to_dict() for i in plain.intervals] == [
        {k: v for k, v in found.to_dict().items() if not k.startswith("category")}
    ]


def test_frame_sampler_takes_frames_at_the_training_rate() -> None:
    def taken(fps: float, count: int, times: list[float] | None = None) -> list[int]:
        sampler = FrameSampler(0.1, fps=fps)
        times = times or [i / fps for i in range(count)]
        return [i for i, t in enumerate(times) if sampler.take(t)]

    assert taken(25, 25) == [0, 3, 5, 8, 10, 13, 15, 18, 20, 23]  # 10 per second, from the first frame
    assert len(taken(25, 2500)) == 1000 and len(taken(30000 / 1001, 2997)) == 1000
    assert taken(10, 50) == list(range(50)) and taken(7.5, 20) == list(range(20))
    jittery = [i / 10 + (0.02 if i % 2 else -0.02) for i in range(20)]
    assert taken(10, 20, jittery) == list(range(20))  # at or below 10 fps: every frame, whatever the times


def test_25_fps_video_is_segmented_at_the_training_rate(config, tmp_path: Path) -> None:
    """101 frames at 25 fps (4.04 s) -> 41 frames sampled at 10 fps -> 3 segments (the last one partial);
    segment k starts at original frame 40 * k (16 samples = 1.6 s), and every original frame gets the
    score of the segment holding the newest sampled frame at or before it."""
    source = write_video(tmp_path / "v25.mp4", frames=101, width=64, height=48, rate=25)
    result = VideoDetector(config).detect(
        source, output_path=tmp_path / "r.mp4", cover_path=tmp_path / "c.jpg"
    )
    assert result.frames == len(result.scores) == 101 and result.fps == 25
    assert len(result.segment_scores) == -(-41 // 16) == 3
    np.testing.assert_allclose(result.scores, np.repeat(result.segment_scores, [40, 40, 21]), rtol=1e-6)
    assert len(set(result.segment_scores)) == 3
    rate, frames = decoded(tmp_path / "r.mp4")
    assert rate == 25 and len(frames) == 101


def test_25_fps_scores_step_where_the_content_changes(model_dir: Path, colour_models: Path, tmp_path: Path):
    """1.6 s (40 frames at 25 fps, 16 samples at 10 fps) per colour: each colour is exactly one segment, so
    the red part (frames 120..199) and only it is abnormal, and exactly its frames get the red border."""
    colours = ["green"] * 3 + ["red"] * 2 + ["green"] * 3
    source = write_colour_video(tmp_path / "colours.mp4", colours, frames_per_colour=40)
    config = make_config(model_dir, "colour-detector.onnx", anomaly_border=BORDER)
    result = VideoDetector(config).detect(
        source, output_path=tmp_path / "r.mp4", cover_path=tmp_path / "c.jpg"
    )
    assert result.frames == len(result.scores) == 320 and len(result.segment_scores) == 8
    segment_abnormal = np.asarray(result.segment_scores) >= config.anomaly_threshold
    assert segment_abnormal.tolist() == [False] * 3 + [True] * 2 + [False] * 3
    abnormal = np.asarray(result.scores) >= config.anomaly_threshold
    assert np.flatnonzero(abnormal).tolist() == list(range(120, 200))
    assert [(i.start_frame, i.end_frame) for i in result.intervals] == [(120, 199)]
    assert result.intervals[0].start_time == pytest.approx(4.8) and result.intervals[0].end_time == 8.0
    rate, frames = decoded(tmp_path / "r.mp4")
    assert rate == 25 and [red_border(f) for f in frames] == abnormal.tolist()


def test_bad_video_and_cancel(config, tmp_path: Path) -> None:
    detector = VideoDetector(config)
    (tmp_path / "notes.mp4").write_text("not a video\n")
    with pytest.raises(VideoError, match=r"notes\.mp4"):
        detector.detect(tmp_path / "notes.mp4", output_path=tmp_path / "r.mp4", cover_path=tmp_path / "c.jpg")
    source = write_video(tmp_path / "long.mp4", frames=200, width=64, height=48)
    cancel = threading.Event()

    def progress(value: float) -> None:
        if value > 0.2:
            cancel.set()

    with pytest.raises(DetectionCancelled):
        detector.detect(
            source,
            output_path=tmp_path / "r.mp4",
            cover_path=tmp_path / "c.jpg",
            progress=progress,
            cancel=cancel,
        )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["long.mp4", "notes.mp4"]  # no partial outputs


def test_result_video_uses_the_configured_x264_preset(model_dir: Path, tmp_path: Path) -> None:
    """x264 writes its settings into the stream: ultrafast turns CABAC off, veryfast (the default) keeps
    it."""
    source = write_video(tmp_path / "s.mp4", frames=20, width=64, height=48)
    for preset, cabac in (("ultrafast", b"cabac=0"), (load_inference_config().result_preset, b"cabac=1")):
        config = make_config(model_dir, result_preset=preset, anomaly_threshold=0.0)  # every frame drawn
        VideoDetector(config).detect(source, output_path=tmp_path / "r.mp4", cover_path=tmp_path / "c.jpg")
        assert cabac in (tmp_path / "r.mp4").read_bytes()


def test_a_video_without_flagged_frames_is_copied_not_encoded(model_dir: Path, tmp_path: Path) -> None:
    """Nothing to draw (threshold 1): an H.264 MP4 source is copied as it is (the same decoded pixels, its
    own encoder settings), with the index at the front and a cover; another codec is still encoded."""
    calm = make_config(model_dir, anomaly_threshold=1.0, result_preset="ultrafast")
    detector = VideoDetector(calm)
    source = write_video(tmp_path / "s.mp4", frames=40, width=64, height=48, rate=10)
    result = detector.detect(source, output_path=tmp_path / "r.mp4", cover_path=tmp_path / "c.jpg")
    assert max(result.scores) < 1.0 and result.intervals == []
    assert (tmp_path / "r.mp4").read_bytes().find(b"cabac=1") > 0, "x264's ultrafast would write cabac=0"
    (rate, copied), (_, original) = decoded(tmp_path / "r.mp4"), decoded(source)
    assert rate == 10 and len(copied) == 40
    assert all(np.array_equal(a, b) for a, b in zip(copied, original, strict=True))
    data = (tmp_path / "r.mp4").read_bytes()
    assert 0 < data.find(b"moov") < data.find(b"mdat")
    with Image.open(tmp_path / "c.jpg") as cover:
        assert cover.size == (64, 48)
    other = write_video(tmp_path / "s.avi", frames=20, width=64, height=48, rate=10, codec="mpeg4")
    late = tmp_path / "late.mp4"  # H.264 in MP4, first frame at 5 s: frame i would not play at i / rate
    subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(source), "-c", "copy", "-output_ts_offset", "5", str(late)],
        check=True,
    )
    for encoded in (other, late):
        detector.detect(encoded, output_path=tmp_path / "o.mp4", cover_path=tmp_path / "o.jpg")
        with av.open(str(tmp_path / "o.mp4")) as container:
            assert container.streams.video[0].codec_context.name == "h264"
            assert next(container.decode(video=0)).time == 0.0
        assert b"cabac=0" in (tmp_path / "o.mp4").read_bytes(), encoded.name


def test_detect_cli(model_dir: Path, tmp_path: Path) -> None:
    source = write_video(tmp_path / "in.mp4", frames=40, width=96, height=64, rate=25)
    toml = tmp_path / "config.toml"
    toml.write_text(
        f'providers = ["CPUExecutionProvider"]\nthreads = 1\nsegment-width = 64\nsegment-height = 64\n'
        f'extraction-model-path = "{model_dir}/tiny-{{precision}}.onnx"\n'
        f'detection-model-path = "{model_dir}/random-detector.onnx"\nanomaly-threshold = 0.0\n'
    )
    run = [sys.executable, "-m", "inferences", "detect", "--config", str(toml)]
    done = subprocess.run(
        [*run, str(source), "--output", str(tmp_path / "out.mp4"), "--scores", str(tmp_path / "scores.json")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["fps"] == 25 and scores["frames"] == 40 and len(scores["scores"]) == 40
    assert scores["intervals"][0]["start_frame"] == 0 and (tmp_path / "out.jpg").is_file()
    bad = subprocess.run(
        [*run, str(tmp_path / "missing.mp4"), "--output", str(tmp_path / "x.mp4")],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "file not found" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_real_i3d_end_to_end(camera_clip: Path, tmp_path: Path) -> None:
    """The built I3D extractor (and the shipped detector, or an untrained one of the same shape until it is
    built) on the generated clip (shaped like Ped2's shortest: 120 frames, 10 fps): the config matches the
    model, one score per frame, borders."""
    config = load_inference_config()
    if not config.extraction_model_file.is_file():
        pytest.skip(f"{config.extraction_model_file.relative_to(REPO_ROOT)} is not built yet (make install)")
    if not config.detection_model_file.is_file():
        detector = tmp_path / "untrained-i3d-detector.onnx"
        tiny_models.export(create_detector(feature_dim=1024), detector, smoothing_window=1)
        config = config.replace(detection_model_path=str(detector))
    config = config.replace(providers=("CPUExecutionProvider",), threads=2)
    result = VideoDetector(config).detect(
        camera_clip, output_path=tmp_path / "r.mp4", cover_path=tmp_path / "c.jpg"
    )
    assert result.frames == len(result.scores) == 120 and len(result.segment_scores) == 8
    assert all(0.0 <= s <= 1.0 for s in result.scores)
    rate, frames = decoded(tmp_path / "r.mp4")
    assert rate == 10 and len(frames) == 120
    assert [red_border(f) for f in frames] == [s >= config.anomaly_threshold for s in result.scores]
