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


@pytest.fixture(scope="module")
def ped2_labels(shared_data: Path) -> dict[str, dict]:
    data = json.loads((shared_data / "ucsd-ped2" / "labels.json").read_text())
    return {entry["video"]: entry for entry in data["videos"]}


@pytest.fixture
def videos_dir(tmp_path: Path, shared_data: Path) -> Path:
    """Two real Ped2 videos (linked) and a corrupt one."""
    folder = tmp_path / "videos"
    folder.mkdir()
    for name in ("Test002.mp4", "Test009.mp4"):
        (folder / name).symlink_to(shared_data / "ucsd-ped2" / name)
    (folder / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video" * 10)
    return folder


def _annotations(tmp_path: Path, ped2_labels: dict) -> Path:
    def entry(video: str, frames: int, split: str) -> dict:
        intervals = ped2_labels[video]["anomaly_intervals"] if video in ped2_labels else []
        return {"video": video, "frames": frames, "anomaly_intervals": intervals, "split": split}

    videos = [
        entry("Test002.mp4", 180, "train"),
        entry("Test009.mp4", 120, "valid"),
        entry("broken.mp4", 10, "train"),
    ]
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps({"videos": videos}))
    return path


def test_builds_the_training_layout_from_real_videos(tmp_path, videos_dir, ped2_labels, models) -> None:
    output = tmp_path / "dataset"
    report = build_video_dataset(
        videos_dir=videos_dir,
        annotations_path=_annotations(tmp_path, ped2_labels),
        output=output,
        models=models,
        progress=False,
    )
    assert report.built == ["Test002", "Test009"]
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
    frames = np.asarray(ped2_labels["Test002.mp4"]["frame_labels"])  # abnormal from frame 95 (1-based)
    np.testing.assert_array_equal(train.labels, [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1])
    np.testing.assert_array_equal(train.labels, [frames[s : s + 16].max() for s in range(0, 180, 16)])
    np.testing.assert_array_equal(valid.labels, ped2_labels["Test009.mp4"]["frame_labels"])
    # the features are the extractor's output on the preprocessed segments, not placeholders
    assert np.std(train.features[0], axis=0).mean() > 0


def test_rerun_skips_finished_videos(tmp_path, videos_dir, ped2_labels, models) -> None:
    annotations, output = _annotations(tmp_path, ped2_labels), tmp_path / "dataset"
    build_video_dataset(
        videos_dir=videos_dir, annotations_path=annotations, output=output, models=models, progress=False
    )
    written = output / "train" / "inputs" / "Test002.npy"
    stamp = written.stat().st_mtime_ns
    (output / "valid" / "labels" / "Test009.npy").unlink()  # as if interrupted before its label was written
    report = build_video_dataset(
        videos_dir=videos_dir, annotations_path=annotations, output=output, models=models, progress=False
    )
    assert report.finished_before == ["Test002"] and report.built == ["Test009"]
    assert written.stat().st_mtime_ns == stamp
    assert len((output / "valid" / "annotations.json").read_text().splitlines()) == 1


def test_ten_crop_features_and_frame_count_mismatch(tmp_path, videos_dir, ped2_labels, models) -> None:
    annotations = tmp_path / "annotations.json"
    annotations.write_text(
        json.dumps(
            {
                "videos": [
                    {"video": "Test009.mp4", "frames": 120, "anomaly_intervals": [[1, 20]], "split": "valid"},
                    {"video": "Test002.mp4", "frames": 150, "anomaly_intervals": [], "split": "valid"},
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
    assert report.built == ["Test009"]
    assert report.failed == [("Test002.mp4", "decoded 180 frames but the annotation says 150")]
    features = np.load(tmp_path / "ten" / "valid" / "inputs" / "Test009.npy")
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


def test_cli_reports_a_missing_extractor(tmp_path: Path, shared_data: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "datasets",
            "from-videos",
            "--videos",
            str(shared_data / "ucsd-ped2"),
            "--annotations",
            str(shared_data / "ucsd-ped2" / "labels.json"),
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
