"""Building a feature dataset from real videos: layout, labels, 10-crop, resume, bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from datasets.features import DatasetError, load_feature_split
from datasets.videos import build_video_dataset, dataset_models, read_video_annotations, segment_labels
from harness import tiny_models
from harness.videos import write_video
from inferences.paths import REPO_ROOT
from inferences.pipeline import CueModels
from inferences.preprocess import ten_crops

SIZE = 64


@pytest.fixture(scope="module", autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> CueModels:
    """A tiny real extractor ONNX (64x64 input, 32-d features) with the contract's metadata, no object cue."""
    path = tiny_models.build_extractor(tmp_path_factory.mktemp("extractor") / "tiny-fp32.onnx", size=SIZE)
    return dataset_models(path, objects_model="")


# the annotations of the generated clips: 1-based inclusive abnormal frames, and the frame labels they mean
INTERVALS = {"cam1.mp4": [[95, 180]], "cam2.mp4": [[11, 30], [91, 120]]}
CAM2_FRAME_LABELS = np.r_[np.zeros(10), np.ones(20), np.zeros(60), np.ones(30)]


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A second real H.264 clip, unlike `camera_clip`: 180 frames (18 s at 10 fps), 360x240."""
    path = tmp_path_factory.mktemp("long") / "long.mp4"
    return write_video(path, frames=180, width=360, height=240, rate=10, seed=1, noise=20)


@pytest.fixture
def videos_dir(tmp_path: Path, long_clip: Path, camera_clip: Path) -> Path:
    """Two generated real videos (linked: 180 and 120 frames) and a corrupt one."""
    folder = tmp_path / "videos"
    folder.mkdir()
    (folder / "cam1.mp4").symlink_to(long_clip)
    (folder / "cam2.mp4").symlink_to(camera_clip)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 10)
    return folder


def _annotations(tmp_path: Path) -> Path:
    def entry(video: str, frames: int, split: str) -> dict:
        intervals = INTERVALS.get(video, [])
        return {"video": video, "frames": frames, "anomaly_intervals": intervals, "split": split}

    videos = [
        entry("cam1.mp4", 180, "train"),
        entry("cam2.mp4", 120, "valid"),
        entry("broken.mp4", 10, "train"),
    ]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps({"videos": videos}))
    return path


def test_builds_the_training_layout_from_real_videos(tmp_path, videos_dir, models) -> None:
    output = tmp_path / "dataset"
    report = build_video_dataset(
        videos_dir=videos_dir,
        annotations_path=_annotations(tmp_path),
        output=output,
        models=models,
        progress=False,
    )
    assert report.built == ["cam1", "cam2"]
    assert [video for video, _ in report.failed] == ["broken.mp4"]
    assert "broken.mp4" in report.failed[0][1]

    (train,) = load_feature_split(
        output / "train", feature_dim=tiny_models.FEATURE_DIM, per_frame_labels=False, segment_length=16
    )
    (valid,) = load_feature_split(
        output / "valid", feature_dim=tiny_models.FEATURE_DIM, per_frame_labels=True, segment_length=16
    )
    assert train.features.shape == (1, 12, tiny_models.FEATURE_DIM)  # ceil(180 / 16) segments
    assert valid.features.shape == (1, 8, tiny_models.FEATURE_DIM)  # ceil(120 / 16)
    frames = np.r_[np.zeros(94), np.ones(86)]  # abnormal from frame 95 (1-based)
    np.testing.assert_array_equal(train.labels, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(train.labels, [frames[s : s + 16].max() for s in range(0, 180, 16)])
    np.testing.assert_array_equal(valid.labels, CAM2_FRAME_LABELS)
    # the features are the extractor's output on the preprocessed segments, not placeholders
    assert np.std(train.features[0], axis=0).mean() > 0


def test_rerun_skips_finished_videos(tmp_path, videos_dir, models) -> None:
    annotations, output = _annotations(tmp_path), tmp_path / "dataset"
    build_video_dataset(
        videos_dir=videos_dir, annotations_path=annotations, output=output, models=models, progress=False
    )
    written = output / "train" / "inputs" / "cam1.npy"
    stamp = written.stat().st_mtime_ns
    (output / "valid" / "labels" / "cam2.npy").unlink()  # as if interrupted before its label was written
    report = build_video_dataset(
        videos_dir=videos_dir, annotations_path=annotations, output=output, models=models, progress=False
    )
    assert report.finished_before == ["cam1"] and report.built == ["cam2"]
    assert written.stat().st_mtime_ns == stamp
    assert len((output / "valid" / "annotations.json").read_text().splitlines()) == 1


def test_ten_crop_features_and_frame_count_mismatch(tmp_path, videos_dir, models) -> None:
    annotations = tmp_path / "annotations.json"
    annotations.write_text(
        json.dumps(
            {
                "videos": [
                    {"video": "cam2.mp4", "frames": 120, "anomaly_intervals": [[1, 20]], "split": "valid"},
                    {"video": "cam1.mp4", "frames": 150, "anomaly_intervals": [], "split": "valid"},
                ]
            }
        )
    )
    report = build_video_dataset(
        videos_dir=videos_dir,
        annotations_path=annotations,
        output=tmp_path / "ten",
        models=models,
        ten_crop=True,
        progress=False,
    )
    assert report.built == ["cam2"]
    assert report.failed == [("cam1.mp4", "decoded 180 frames but the annotation says 150")]
    features = np.load(tmp_path / "ten" / "valid" / "inputs" / "cam2.npy")
    assert features.shape == (8, 10, tiny_models.FEATURE_DIM)
    assert not np.allclose(features[:, 0], features[:, 4])  # corner and centre crops see different pixels


def test_ten_crops_geometry() -> None:
    clip = np.arange(1 * 3 * 2 * 6 * 8, dtype=np.float32).reshape(1, 3, 2, 6, 8)
    crops = ten_crops(clip, 4, 4)
    assert crops.shape == (10, 3, 2, 4, 4)
    np.testing.assert_array_equal(crops[0], clip[0, :, :, :4, :4])
    np.testing.assert_array_equal(crops[3], clip[0, :, :, 2:, 4:])
    np.testing.assert_array_equal(crops[4], clip[0, :, :, 1:5, 2:6])
    np.testing.assert_array_equal(crops[9], crops[4][..., ::-1])


def test_segment_label_rules() -> None:
    frames = np.zeros(40, dtype=np.uint8)
    frames[14:16] = 1  # 2 of segment 0's frames
    frames[32:37] = 1  # 5 of the 8 frames of the partial last segment
    np.testing.assert_array_equal(segment_labels(frames, 16, "any"), [1, 0, 1])
    np.testing.assert_array_equal(segment_labels(frames, 16, "majority"), [0, 0, 1])
    with pytest.raises(DatasetError, match="segment label rule"):
        segment_labels(frames, 16, "some")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"videos": []}', "at least one video"),
        ('{"videos": [{"frames": 10}]}', "field 'video'"),
        ('{"videos": [{"video": "a.mp4", "frames": 0}]}', "field 'frames'"),
        (
            '{"videos": [{"video": "a.mp4", "frames": 10, "anomaly_intervals": [[5, 11]]}]}',
            "1 <= start <= end",
        ),
        (
            '{"videos": [{"video": "a.mp4", "frames": 10, "anomaly_intervals": [[0, 3]]}]}',
            "1-based inclusive",
        ),
        ('{"videos": [{"video": "a.mp4", "frames": 10, "split": "test"}]}', "field 'split'"),
        ('{"videos": [{"video": "a.mp4", "frames": 10}, {"video": "a.avi", "frames": 9}]}', "a second video"),
    ],
)
def test_bad_annotation_files(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "labels.json"
    path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        read_video_annotations(path)


def test_cli_reports_a_missing_extractor(tmp_path: Path, videos_dir: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "datasets",
            "from-videos",
            "--videos",
            str(videos_dir),
            "--annotations",
            str(_annotations(tmp_path)),
            "--output",
            str(tmp_path / "out"),
            "--extractor-model",
            str(tmp_path / "none.onnx"),
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "none.onnx: extractor model not found" in result.stderr
