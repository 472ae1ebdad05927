"""Dataset loading (every kind of bad input names the file), the synthetic generator, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from datasets.__main__ import main as datasets_main
from datasets.features import DatasetError, load_feature_split, read_annotations

from .conftest import FEATURE_DIM


def test_synthetic_dataset_layout(synthetic_root: Path) -> None:
    train = load_feature_split(
        synthetic_root / "train", feature_dim=FEATURE_DIM, per_frame_labels=False, segment_length=16
    )
    valid = load_feature_split(
        synthetic_root / "valid", feature_dim=FEATURE_DIM, per_frame_labels=True, segment_length=16
    )
    assert len(train) == 24 and len(valid) == 10
    assert all(v.name.startswith("synthetic-") for v in train + valid)
    assert train[0].features.shape[0] == 2 and train[0].features.shape[2] == FEATURE_DIM
    assert {bool(v.labels.any()) for v in valid} == {True, False}
    assert all(v.labels.size <= v.num_segments * 16 for v in valid)
    names = [Path(i).stem for i, _ in read_annotations(synthetic_root / "valid")]
    assert names == [v.name for v in valid]  # annotation order kept


@pytest.fixture
def split(tmp_path: Path, synthetic_root: Path) -> Path:
    """A writable copy of the tiny valid split."""
    return Path(shutil.copytree(synthetic_root / "valid", tmp_path / "valid"))


def _first(split: Path) -> tuple[Path, Path]:
    entry = json.loads((split / "annotations.json").read_text().splitlines()[0])
    return split / entry["input"], split / entry["label"]


def _load(split: Path) -> None:
    load_feature_split(split, feature_dim=FEATURE_DIM, per_frame_labels=True, segment_length=16)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda i, label: i.unlink(), "feature file not found"),
        (lambda i, label: label.unlink(), "label file not found"),
        (
            lambda i, label: np.save(i, np.zeros((5, FEATURE_DIM + 1), np.float32)),
            "feature dimension 17 disagrees",
        ),
        (lambda i, label: np.save(i, np.zeros((0, FEATURE_DIM), np.float32)), "empty sequence"),
        (lambda i, label: np.save(i, np.full((5, FEATURE_DIM), np.nan, np.float32)), "NaN"),
        (lambda i, label: np.save(label, np.zeros(7 * 16, np.uint8)), "frame labels disagree"),
        (lambda i, label: i.write_bytes(b"garbage"), "not a readable .npy"),
    ],
)
def test_bad_input_names_the_file(split: Path, damage, message: str) -> None:
    features, labels = _first(split)
    np.save(features, np.zeros((5, FEATURE_DIM), np.float32))
    np.save(labels, np.zeros(5 * 16 - 3, np.uint8))
    _load(split)  # the repaired file is fine
    damage(features, labels)
    with pytest.raises(DatasetError, match=message) as error:
        _load(split)
    assert features.name in str(error.value) or labels.name in str(error.value)
    assert "\n" not in str(error.value)


def test_bad_annotations_are_named(split: Path) -> None:
    (split / "annotations.json").write_text('{"input": "inputs/a.npy"}\n')
    with pytest.raises(DatasetError, match=r"annotations.json:1: expected"):
        _load(split)
    (split / "annotations.json").unlink()
    with pytest.raises(DatasetError, match="annotations file not found"):
        _load(split)


def test_segment_label_length_is_checked(synthetic_root: Path, tmp_path: Path) -> None:
    train = Path(shutil.copytree(synthetic_root / "train", tmp_path / "train"))
    _, labels = _first(train)
    np.save(labels, np.zeros(3, np.uint8))
    with pytest.raises(DatasetError, match="3 segment labels disagree"):
        load_feature_split(train, feature_dim=FEATURE_DIM, per_frame_labels=False, segment_length=16)


def test_cli_writes_synthetic_dataset_and_reports_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert (
        datasets_main(
            [
                "synthetic",
                "--output",
                str(tmp_path / "s"),
                "--feature-dim",
                "8",
                "--train-videos",
                "3",
                "--valid-videos",
                "2",
                "--max-segments",
                "20",
            ]
        )
        == 0
    )
    assert (
        len(
            load_feature_split(
                tmp_path / "s" / "train", feature_dim=8, per_frame_labels=False, segment_length=16
            )
        )
        == 3
    )
    assert datasets_main(["synthetic", "--output", str(tmp_path / "t"), "--valid-videos", "1"]) == 2
    assert capsys.readouterr().err.startswith("error: ")
