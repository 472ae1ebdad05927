"""The RTFM-format importer on the real ShanghaiTech sample (../shared/data/rtfm-shanghaitech-sample)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from datasets.__main__ import main as datasets_main
from datasets.features import DatasetError, load_feature_split
from datasets.rtfm import import_rtfm, read_list

GT_FRAMES = 142_912


@pytest.fixture
def sample(shared_data: Path) -> Path:
    return shared_data / "rtfm-shanghaitech-sample"


def test_full_test_list_stops_at_the_first_missing_feature_file(sample: Path, tmp_path: Path) -> None:
    paths = read_list(sample / "shanghai-i3d-test-10crop.list", sample)
    assert len(paths) == 199 and paths[44].name == "01_001_i3d.npy"
    assert np.load(sample / "gt-sh.npy").size == GT_FRAMES
    with pytest.raises(DatasetError, match=r"01_0015_i3d.npy: feature file missing .* \(198 of 199 listed"):
        import_rtfm(
            features_dir=sample,
            list_path=sample / "shanghai-i3d-test-10crop.list",
            gt_path=sample / "gt-sh.npy",
            output=tmp_path / "out",
        )
    assert not (tmp_path / "out").exists()


def test_total_frames_must_match_the_ground_truth(sample: Path, tmp_path: Path) -> None:
    (tmp_path / "one.list").write_text("01_001_i3d.npy\n")
    with pytest.raises(DatasetError, match=f"has {GT_FRAMES} frames but the 1 listed videos have 768"):
        import_rtfm(
            features_dir=sample,
            list_path=tmp_path / "one.list",
            gt_path=sample / "gt-sh.npy",
            output=tmp_path / "out",
        )


def test_import_real_features(sample: Path, tmp_path: Path) -> None:
    # Both sample videos are normal, so their true frame labels are all zeros: 48 and 31 segments x 16.
    (tmp_path / "two.list").write_text("01_001_i3d.npy\n01_002_i3d.npy\n")
    gt = np.zeros((48 + 31) * 16)
    gt[20 * 16 + 3] = 1  # one abnormal frame to check that labels land in the right video and segment
    np.save(tmp_path / "gt.npy", gt)
    code = datasets_main(
        [
            "import-rtfm",
            "--features",
            str(sample),
            "--list",
            str(tmp_path / "two.list"),
            "--gt",
            str(tmp_path / "gt.npy"),
            "--output",
            str(tmp_path / "out"),
            "--valid-fraction",
            "0.5",
            "--seed",
            "3",
        ]
    )
    assert code == 0
    train = load_feature_split(
        tmp_path / "out" / "train", feature_dim=2048, per_frame_labels=False, segment_length=16
    )
    valid = load_feature_split(
        tmp_path / "out" / "valid", feature_dim=2048, per_frame_labels=True, segment_length=16
    )
    videos = {v.name: v for v in train + valid}
    assert sorted(videos) == ["01_001_i3d", "01_002_i3d"]
    first = videos["01_001_i3d"]
    assert first.features.shape == (10, 48, 2048)
    np.testing.assert_array_equal(first.features[3], np.load(sample / "01_001_i3d.npy")[:, 3])
    labels = first.labels if first.labels.size == 48 else first.labels.reshape(48, 16).max(1)
    assert np.flatnonzero(labels).tolist() == [20]
    assert not videos["01_002_i3d"].labels.any()
