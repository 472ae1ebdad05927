"""Building a feature dataset from videos: `python -m datasets from-videos ...`.

Input: a folder of videos and an annotation file in the format of `ucsd-ped2/labels.json`:
`{"videos": [{"video": "a.mp4", "frames": 180, "anomaly_intervals": [[61, 180]], "split": "valid"}, ...]}`
(intervals 1-based and inclusive; `split` optional: videos without one are split by a seeded shuffle).
Output: the training layout of `datasets/features.py`. Each video is decoded with the shared reader
(`inferences/video.py`, any container or codec FFmpeg reads), cut into non-overlapping 16-frame segments
(the last one padded by repeating its last frame), preprocessed like inference (`inferences/preprocess.py`)
and run through an extractor ONNX file built by `python -m inferences prepare`. Train videos get one label
per segment (abnormal when any of its frames is, or with `majority` when at least half of its frames are),
valid videos one label per frame. A finished video (both `.npy` files present; each written atomically) is
skipped on a rerun; a video that cannot be decoded or disagrees with its annotation is reported and skipped.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from datasets.features import ANNOTATIONS, DatasetError
from inferences.config import REPO_ROOT
from inferences.preprocess import Preprocessor
from inferences.video import VideoError, iter_video_frames

DEFAULT_EXTRACTOR = REPO_ROOT / "inferences" / "models" / "i3d-fp32.onnx"
SEGMENT_RULES = ("any", "majority")
SPLITS = ("train", "valid")
TEN_CROP_SCALE = 256 / 224  # frames are resized to this multiple of the input size before 10-crop


@dataclass(frozen=True)
class VideoAnnotation:
    """One annotated video: file name, frame count, 1-based inclusive abnormal intervals, optional split."""

    video: str
    frames: int
    intervals: tuple[tuple[int, int], ...]
    split: str | None = None

    @property
    def name(self) -> str:
        return Path(self.video).stem

    def frame_labels(self) -> np.ndarray:
        """0/1 uint8 label per frame."""
        labels = np.zeros(self.frames, dtype=np.uint8)
        for start, end in self.intervals:
            labels[start - 1:end] = 1
        return labels


def read_video_annotations(path: str | Path) -> list[VideoAnnotation]:
    """Validated annotations; DatasetError naming the file, the video and the field otherwise."""
    path = Path(path)
    if not path.is_file():
        raise DatasetError(f"{path}: annotation file not found")
    try:
        data = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("videos"), list) or not data["videos"]:
        raise DatasetError(f'{path}: expected {{"videos": [...]}} with at least one video')
    annotations, names = [], set()
    for number, entry in enumerate(data["videos"], start=1):
        where = f"{path}: video #{number}"
        if not isinstance(entry, dict) or not isinstance(entry.get("video"), str) or not entry["video"]:
            raise DatasetError(f"{where}: field 'video' must be a file name")
        where = f"{path}: video {entry['video']!r}"
        frames = entry.get("frames")
        if not isinstance(frames, int) or isinstance(frames, bool) or frames < 1:
            raise DatasetError(f"{where}: field 'frames' must be an integer >= 1, got {frames!r}")
        intervals = entry.get("anomaly_intervals", [])
        if not isinstance(intervals, list):
            raise DatasetError(f"{where}: field 'anomaly_intervals' must be a list of [start, end] pairs")
        checked = []
        for interval in intervals:
            if (not isinstance(interval, list) or len(interval) != 2
                    or not all(isinstance(v, int) and not isinstance(v, bool) for v in interval)
                    or not 1 <= interval[0] <= interval[1] <= frames):
                raise DatasetError(f"{where}: anomaly interval {interval!r} must be [start, end] with "
                                   f"1 <= start <= end <= frames ({frames}), 1-based inclusive")
            checked.append((interval[0], interval[1]))
        split = entry.get("split")
        if split is not None and split not in SPLITS:
            raise DatasetError(f"{where}: field 'split' must be 'train' or 'valid', got {split!r}")
        name = Path(entry["video"]).stem
        if name in names:
            raise DatasetError(f"{where}: a second video named {name!r} (output files are named by stem)")
        names.add(name)
        annotations.append(VideoAnnotation(entry["video"], frames, tuple(checked), split))
    return annotations


def segment_labels(frame_labels: np.ndarray, segment_length: int, rule: str = "any") -> np.ndarray:
    """0/1 label per segment: `any` = some frame is abnormal, `majority` = at least half of its frames."""
    if rule not in SEGMENT_RULES:
        raise DatasetError(f"segment label rule must be one of {SEGMENT_RULES}, got {rule!r}")
    labels = []
    for start in range(0, frame_labels.size, segment_length):
        chunk = frame_labels[start:start + segment_length]
        labels.append(chunk.any() if rule == "any" else chunk.mean() >= 0.5)
    return np.asarray(labels, dtype=np.uint8)


class OnnxExtractor:
    """An extractor ONNX file from `prepare` with the preprocessing its metadata describes."""

    def __init__(self, path: str | Path = DEFAULT_EXTRACTOR, *, threads: int = 0) -> None:
        from inferences.runtime import create_session

        self.path = Path(path)
        if not self.path.is_file():
            raise DatasetError(f"{self.path}: extractor model not found (build it with "
                               "`python -m inferences prepare --extractor i3d`)")
        self.session = create_session(self.path, providers=["CPUExecutionProvider"], threads=threads,
                                      role="extraction model")
        meta = dict(self.session.get_modelmeta().custom_metadata_map)
        try:
            self.name = meta["extractor"]
            self.feature_dim = int(meta["feature_dim"])
            self.preprocessor = Preprocessor(
                width=int(meta["input_width"]), height=int(meta["input_height"]),
                segment_length=int(meta["segment_length"]),
                mean=tuple(json.loads(meta["normalization_mean"])),
                std=tuple(json.loads(meta["normalization_std"])),
            )
        except (KeyError, ValueError, TypeError) as error:
            raise DatasetError(f"{self.path}: extractor metadata missing or invalid ({error})") from None

    def __call__(self, clips: np.ndarray) -> np.ndarray:
        """Features [N, D] of normalised clips [N, 3, T, H, W]."""
        (features,) = self.session.run(["features"], {"clip": np.ascontiguousarray(clips, dtype=np.float32)})
        return np.asarray(features, dtype=np.float32)


def ten_crops(clip: np.ndarray, height: int, width: int) -> np.ndarray:
    """[1, 3, T, H', W'] -> [10, 3, T, height, width]: four corners and the centre, then their mirrors."""
    full_h, full_w = clip.shape[-2:]
    top, left = (full_h - height) // 2, (full_w - width) // 2
    bottom, right = full_h - height, full_w - width
    origins = [(0, 0), (0, right), (bottom, 0), (bottom, right), (top, left)]
    crops = [clip[0, :, :, y:y + height, x:x + width] for y, x in origins]
    crops += [crop[..., ::-1] for crop in crops]
    return np.ascontiguousarray(np.stack(crops))


def extract_video_features(
    path: str | Path, extractor: OnnxExtractor, *, ten_crop: bool = False, batch_size: int = 4
) -> tuple[np.ndarray, int]:
    """(features (segments, D) or (segments, 10, D) float32, decoded frame count) of one video."""
    path, base = Path(path), extractor.preprocessor
    if ten_crop:
        scaled = Preprocessor(
            width=round(base.width * TEN_CROP_SCALE), height=round(base.height * TEN_CROP_SCALE),
            segment_length=base.segment_length, crop=base.crop, mean=base.mean, std=base.std,
        )
        features, frames = [], 0
        for clip, count in scaled.segments(iter_video_frames(path)):
            features.append(extractor(ten_crops(clip, base.height, base.width)))
            frames += count
        if not features:
            raise VideoError(f"{path}: no decodable video frames")
        return np.stack(features), frames
    features, batch, frames = [], [], 0
    for clip, count in base.segments(iter_video_frames(path)):
        batch.append(clip[0])
        frames += count
        if len(batch) == batch_size:
            features.append(extractor(np.stack(batch)))
            batch = []
    if batch:
        features.append(extractor(np.stack(batch)))
    if not features:
        raise VideoError(f"{path}: no decodable video frames")
    return np.concatenate(features), frames


def _save_atomic(path: Path, array: np.ndarray) -> None:
    temporary = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npy")
    try:
        np.save(temporary, array)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


@dataclass
class BuildReport:
    """Videos written now, skipped because already finished, and failed (name, reason)."""

    built: list[str] = field(default_factory=list)
    finished_before: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def assign_splits(annotations: list[VideoAnnotation], valid_fraction: float, seed: int) -> dict[str, str]:
    """Video name -> split: the annotated split, else a seeded shuffle sends `valid_fraction` to valid."""
    if not 0.0 <= valid_fraction <= 1.0:
        raise DatasetError(f"valid fraction must be in [0, 1], got {valid_fraction}")
    free = [a.name for a in annotations if a.split is None]
    order = np.random.default_rng(seed).permutation(len(free))
    valid = {free[i] for i in order[: round(valid_fraction * len(free))]}
    return {a.name: a.split or ("valid" if a.name in valid else "train") for a in annotations}


def build_video_dataset(
    *,
    videos_dir: str | Path,
    annotations_path: str | Path,
    output: str | Path,
    extractor: OnnxExtractor,
    ten_crop: bool = False,
    segment_rule: str = "any",
    valid_fraction: float = 0.3,
    seed: int = 0,
    batch_size: int = 4,
    progress: bool = True,
) -> BuildReport:
    """Extract and label every annotated video into `output/{train,valid}`; see the module docstring."""
    if segment_rule not in SEGMENT_RULES:
        raise DatasetError(f"segment label rule must be one of {SEGMENT_RULES}, got {segment_rule!r}")
    if batch_size < 1:
        raise DatasetError(f"batch size must be >= 1, got {batch_size}")
    videos_dir, output = Path(videos_dir), Path(output)
    if not videos_dir.is_dir():
        raise DatasetError(f"{videos_dir}: videos folder not found")
    annotations = read_video_annotations(annotations_path)
    splits = assign_splits(annotations, valid_fraction, seed)
    segment_length = extractor.preprocessor.segment_length
    report = BuildReport()
    for split in SPLITS:
        for folder in ("inputs", "labels"):
            (output / split / folder).mkdir(parents=True, exist_ok=True)
    bar = tqdm(annotations, desc="videos", unit="video", disable=not progress)
    for annotation in bar:
        bar.set_postfix_str(annotation.video)
        split_dir = output / splits[annotation.name]
        input_path = split_dir / "inputs" / f"{annotation.name}.npy"
        label_path = split_dir / "labels" / f"{annotation.name}.npy"
        if input_path.is_file() and label_path.is_file():
            report.finished_before.append(annotation.name)
            continue
        try:
            features, frames = extract_video_features(videos_dir / annotation.video, extractor,
                                                      ten_crop=ten_crop, batch_size=batch_size)
        except VideoError as error:
            report.failed.append((annotation.video, str(error)))
            tqdm.write(f"skipped {annotation.video}: {error}")
            continue
        if frames != annotation.frames:
            problem = f"decoded {frames} frames but the annotation says {annotation.frames}"
            report.failed.append((annotation.video, problem))
            tqdm.write(f"skipped {annotation.video}: {problem}")
            continue
        labels = annotation.frame_labels()
        if splits[annotation.name] == "train":
            labels = segment_labels(labels, segment_length, segment_rule)
        _save_atomic(input_path, features)
        _save_atomic(label_path, labels)  # written last: its presence marks the video finished
        report.built.append(annotation.name)
    for split in SPLITS:
        lines = [json.dumps({"input": f"inputs/{a.name}.npy", "label": f"labels/{a.name}.npy"})
                 for a in annotations if splits[a.name] == split
                 and (output / split / "labels" / f"{a.name}.npy").is_file()]
        if lines:
            (output / split / ANNOTATIONS).write_text("\n".join(lines) + "\n")
    return report
