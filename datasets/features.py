"""Feature datasets in the training layout, validated on load.

Layout: `<root>/{train,valid}/annotations.json` (JSON lines `{"input": ..., "label": ...}`, paths relative
to that file, order kept), `inputs/*.npy` float32 `(segments, D)` or `(segments, crops, D)`,
`labels/*.npy`: per segment (train) or per frame (valid). Every problem raises `DatasetError` naming the
file and the problem.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inferences.errors import SurveillanceError

ANNOTATIONS = "annotations.json"


class DatasetError(SurveillanceError):
    """A dataset file that is missing or malformed."""


@dataclass(frozen=True)
class Video:
    """One validated video: features (crops, segments, D) memory-mapped or in memory, labels."""

    name: str
    input_path: Path
    features: np.ndarray
    labels: np.ndarray

    @property
    def num_segments(self) -> int:
        return self.features.shape[1]


def read_annotations(split_dir: str | Path) -> list[tuple[Path, Path]]:
    """(input path, label path) pairs of `split_dir/annotations.json`, in file order."""
    path = Path(split_dir) / ANNOTATIONS
    if not path.is_file():
        raise DatasetError(f"{path}: annotations file not found")
    pairs = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except json.JSONDecodeError as error:
            raise DatasetError(f"{path}:{number}: not valid JSON ({error.msg})") from None
        if not isinstance(entry, dict) or not all(isinstance(entry.get(k), str) for k in ("input", "label")):
            raise DatasetError(f'{path}:{number}: expected {{"input": "...", "label": "..."}}')
        pairs.append((path.parent / entry["input"], path.parent / entry["label"]))
    if not pairs:
        raise DatasetError(f"{path}: no videos listed")
    return pairs


def _load_npy(path: Path, what: str) -> np.ndarray:
    if not path.is_file():
        raise DatasetError(f"{path}: {what} file not found")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        raise DatasetError(f"{path}: not a readable .npy file ({error})") from None


def load_features(path: str | Path, *, feature_dim: int) -> np.ndarray:
    """Validated features as (crops, segments, D) float32, memory-mapped when stored as float32."""
    path = Path(path)
    array = _load_npy(path, "feature")
    if array.ndim not in (2, 3):
        raise DatasetError(
            f"{path}: features must be (segments, D) or (segments, crops, D), got {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise DatasetError(f"{path}: features must be floating point, got {array.dtype}")
    if array.shape[-1] != feature_dim:
        raise DatasetError(
            f"{path}: feature dimension {array.shape[-1]} disagrees with feature-dim {feature_dim}"
        )
    if array.shape[0] == 0 or (array.ndim == 3 and array.shape[1] == 0):
        raise DatasetError(f"{path}: empty sequence (shape {array.shape})")
    for start in range(0, array.shape[0], 256):  # chunked: large files stay memory-mapped
        if not np.isfinite(array[start : start + 256]).all():
            raise DatasetError(f"{path}: features contain NaN or infinity")
    array = array[:, None, :] if array.ndim == 2 else array
    return np.asarray(array.transpose(1, 0, 2), dtype=np.float32)


def load_labels(path: str | Path, *, num_segments: int, per_frame: bool, segment_length: int) -> np.ndarray:
    """Validated 0/1 labels: per segment (length = segments) or per frame (ceil(frames / L) = segments)."""
    path = Path(path)
    labels = np.asarray(_load_npy(path, "label"))
    if labels.ndim != 1 or not np.isin(labels, (0, 1)).all():
        raise DatasetError(f"{path}: labels must be a 1-D array of 0/1 values")
    if per_frame and math.ceil(labels.size / segment_length) != num_segments:
        raise DatasetError(
            f"{path}: {labels.size} frame labels disagree with the input's {num_segments} segments "
            f"of {segment_length} frames"
        )
    if not per_frame and labels.size != num_segments:
        raise DatasetError(
            f"{path}: {labels.size} segment labels disagree with the input's {num_segments} segments"
        )
    return labels.astype(np.float32)


def load_feature_split(
    split_dir: str | Path, *, feature_dim: int, per_frame_labels: bool, segment_length: int
) -> list[Video]:
    """Every video of one split, validated."""
    videos = []
    for input_path, label_path in read_annotations(split_dir):
        features = load_features(input_path, feature_dim=feature_dim)
        labels = load_labels(
            label_path,
            num_segments=features.shape[1],
            per_frame=per_frame_labels,
            segment_length=segment_length,
        )
        videos.append(Video(name=input_path.stem, input_path=input_path, features=features, labels=labels))
    return videos


def write_split(split_dir: str | Path, videos: list[tuple[str, np.ndarray, np.ndarray]]) -> None:
    """Write (name, features, labels) triples as `split_dir/{inputs,labels}/<name>.npy` + annotations."""
    split_dir = Path(split_dir)
    (split_dir / "inputs").mkdir(parents=True, exist_ok=True)
    (split_dir / "labels").mkdir(parents=True, exist_ok=True)
    lines = []
    for name, features, labels in videos:
        np.save(split_dir / "inputs" / f"{name}.npy", np.asarray(features, dtype=np.float32))
        np.save(split_dir / "labels" / f"{name}.npy", np.asarray(labels, dtype=np.uint8))
        lines.append(json.dumps({"input": f"inputs/{name}.npy", "label": f"labels/{name}.npy"}))
    (split_dir / ANNOTATIONS).write_text("\n".join(lines) + "\n")
