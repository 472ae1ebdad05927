"""Importer for features in the RTFM distribution format (ShanghaiTech / UCF-Crime).

RTFM format: one `T x crops x D` `.npy` per video, a list file per split (one feature file name or
path per line) and, for the test split, one frame-level ground-truth `.npy` that concatenates the frame
labels of every listed video in list order, each video counting T x 16 frames. The importer splits the
ground truth by that order, checks that the total matches exactly, and writes the training layout:
valid videos keep their frame labels, train videos get segment labels (a segment is abnormal when any of
its frames is). Because the ground truth can only be split when every listed video's length is known,
a listed video whose feature file is missing is an error (no skip option).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets.features import DatasetError, write_split

RTFM_SEGMENT_LENGTH = 16


def read_list(list_path: str | Path, features_dir: str | Path) -> list[Path]:
    """Feature file paths of a list file: each entry's file name looked up in `features_dir`."""
    list_path = Path(list_path)
    if not list_path.is_file():
        raise DatasetError(f"{list_path}: list file not found")
    names = [line.strip() for line in list_path.read_text().splitlines() if line.strip()]
    if not names:
        raise DatasetError(f"{list_path}: no videos listed")
    return [Path(features_dir) / Path(name).name for name in names]


def import_rtfm(
    *,
    features_dir: str | Path,
    list_path: str | Path,
    gt_path: str | Path,
    output: str | Path,
    valid_fraction: float = 0.3,
    seed: int = 0,
) -> dict[str, int]:
    """Import the listed videos with their frame labels into `output/{train,valid}`; a seeded shuffle
    puts `valid_fraction` of the videos in valid/. Returns the number of videos per split."""
    if not 0.0 <= valid_fraction <= 1.0:
        raise DatasetError(f"valid fraction must be in [0, 1], got {valid_fraction}")
    paths = read_list(list_path, features_dir)
    missing = [path for path in paths if not path.is_file()]
    if missing:
        raise DatasetError(
            f"{missing[0]}: feature file missing for a listed video ({len(missing)} of {len(paths)} listed "
            f"in {list_path} are missing; the ground truth is split by list order, so all are needed)"
        )
    gt_path = Path(gt_path)
    if not gt_path.is_file():
        raise DatasetError(f"{gt_path}: ground-truth file not found")
    gt = np.load(gt_path, allow_pickle=False)
    if gt.ndim != 1 or not np.isin(gt, (0, 1)).all():
        raise DatasetError(f"{gt_path}: ground truth must be a 1-D array of 0/1 frame labels")
    arrays = [np.load(path, mmap_mode="r", allow_pickle=False) for path in paths]
    for path, array in zip(paths, arrays, strict=True):
        if array.ndim not in (2, 3) or array.shape[0] == 0:
            raise DatasetError(f"{path}: expected T x crops x D (or T x D) features, got shape {array.shape}")
    total = sum(array.shape[0] * RTFM_SEGMENT_LENGTH for array in arrays)
    if total != gt.size:
        raise DatasetError(
            f"{gt_path}: has {gt.size} frames but the {len(paths)} listed videos have {total} "
            f"(segments x {RTFM_SEGMENT_LENGTH})"
        )
    order = np.random.default_rng(seed).permutation(len(paths))
    valid_set = set(order[: round(valid_fraction * len(paths))].tolist())
    splits: dict[str, list[tuple[str, np.ndarray, np.ndarray]]] = {"train": [], "valid": []}
    offset = 0
    for index, (path, array) in enumerate(zip(paths, arrays, strict=True)):
        frames = gt[offset : offset + array.shape[0] * RTFM_SEGMENT_LENGTH].astype(np.uint8)
        offset += frames.size
        if not np.isfinite(array).all():
            raise DatasetError(f"{path}: features contain NaN or infinity")
        if index in valid_set:
            splits["valid"].append((path.stem, array, frames))
        else:
            segments = frames.reshape(-1, RTFM_SEGMENT_LENGTH).max(axis=1)
            splits["train"].append((path.stem, array, segments))
    for split, videos in splits.items():
        if videos:
            write_split(Path(output) / split, videos)
    return {split: len(videos) for split, videos in splits.items()}
