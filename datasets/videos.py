"""Building a feature dataset from videos: `python -m datasets from-videos ...`.

Input: a folder of videos and an annotation file in the format of `ucsd-ped2/labels.json`:
`{"videos": [{"video": "a.mp4", "frames": 180, "anomaly_intervals": [[61, 180]], "split": "valid"}, ...]}`
(intervals 1-based and inclusive; `split` optional: videos without one are split by a seeded shuffle).
Output: the training layout of `datasets/features.py`, plus each video's other cues in `cues/<name>.npz`.
Each video is cut by the inference engine's one segmenting path (`inferences/segments.py`: a frame every
`prepare-interval` of presentation time, 16 sampled frames a segment, the last one padded by repeating its
last frame) and run through the engine's cue models (`inferences/pipeline.py`: the extractor ONNX file
built by `python -m models prepare`, the object detector, the motion cue), so training features match
inference. Train videos get one label per segment (abnormal when any of its frames is, or with `majority`
when at least half of its frames are), valid videos one label per sampled frame. A finished video (both
`.npy` files present; each written atomically) is skipped on a rerun; a video that cannot be decoded or
disagrees with its annotation is reported and skipped.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from datasets.features import ANNOTATIONS, DatasetError
from inferences.atomic import atomic_path
from inferences.config import InferenceConfig
from inferences.paths import REPO_ROOT
from inferences.pipeline import CueModels
from inferences.preprocess import ten_crops
from inferences.profile import SegmentCues
from inferences.segments import Segment, batches, video_segments
from inferences.video import VideoError

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
            labels[start - 1 : end] = 1
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
            if (
                not isinstance(interval, list)
                or len(interval) != 2
                or not all(isinstance(v, int) and not isinstance(v, bool) for v in interval)
                or not 1 <= interval[0] <= interval[1] <= frames
            ):
                raise DatasetError(
                    f"{where}: anomaly interval {interval!r} must be [start, end] with "
                    f"1 <= start <= end <= frames ({frames}), 1-based inclusive"
                )
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
    """0/1 label per segment of `segment_length` consecutive (sampled) frames: `any` = some frame is
    abnormal, `majority` = at least half of its frames."""
    if rule not in SEGMENT_RULES:
        raise DatasetError(f"segment label rule must be one of {SEGMENT_RULES}, got {rule!r}")
    labels = []
    for start in range(0, frame_labels.size, segment_length):
        chunk = frame_labels[start : start + segment_length]
        labels.append(chunk.any() if rule == "any" else chunk.mean() >= 0.5)
    return np.asarray(labels, dtype=np.uint8)


def dataset_config(
    extractor_model: str | Path = DEFAULT_EXTRACTOR,
    *,
    objects_model: str | Path | None = None,
    prepare_interval: float | None = None,
) -> InferenceConfig:
    """The inference config a dataset is built with: the default engine config, with the extractor's own
    input size and normalisation (from its metadata), and optionally another object model / frame rate."""
    from inferences.runtime import load_onnx_session, model_metadata

    path = Path(extractor_model)
    if not path.is_file():
        raise DatasetError(
            f"{path}: extractor model not found (build it with `python -m models prepare --extractor i3d`)"
        )
    session = load_onnx_session(path, providers=["CPUExecutionProvider"], role="extraction model")
    meta = model_metadata(session)
    base = InferenceConfig()
    try:
        return base.replace(
            extraction_model_path=str(path.resolve()),
            segment_width=int(meta["input_width"]),
            segment_height=int(meta["input_height"]),
            segment_length=int(meta["segment_length"]),
            normalization_mean=tuple(json.loads(meta["normalization_mean"])),
            normalization_std=tuple(json.loads(meta["normalization_std"])),
            objects_model_path=base.objects_model_path if objects_model is None else str(objects_model),
            prepare_interval=prepare_interval or base.prepare_interval,
        )
    except (KeyError, ValueError, TypeError) as error:
        raise DatasetError(f"{path}: extractor metadata missing or invalid ({error})") from None


def dataset_models(
    extractor_model: str | Path = DEFAULT_EXTRACTOR,
    *,
    objects_model: str | Path | None = None,
    prepare_interval: float | None = None,
) -> CueModels:
    """The cue models of `dataset_config`."""
    from inferences.runtime import FeatureExtractor

    config = dataset_config(extractor_model, objects_model=objects_model, prepare_interval=prepare_interval)
    return CueModels(config, FeatureExtractor(config))


@dataclass
class VideoCues:
    """The engine's cues of one video: clip features (segments, D) or (segments, 10, D), pooled object
    confidences (segments, C), motion statistics (segments, K), the source index of every sampled frame
    (in segment order) and the decoded frame count."""

    features: np.ndarray
    objects: np.ndarray
    motion: np.ndarray
    indices: np.ndarray
    frames: int

    def segment_cues(self) -> list[SegmentCues]:
        """Per-segment `SegmentCues` (the first crop when there are ten)."""
        features = self.features if self.features.ndim == 2 else self.features[:, 0]
        return [SegmentCues(features[i], self.objects[i], self.motion[i]) for i in range(len(features))]

    def save(self, input_path: Path) -> None:
        """Features to `input_path`, the other cues to `../cues/<name>.npz` (both atomic)."""
        _save_atomic(input_path, self.features)
        cues = input_path.parent.parent / "cues" / f"{input_path.stem}.npz"
        with atomic_path(cues) as temporary:
            np.savez(
                temporary,
                objects=self.objects,
                motion=self.motion,
                indices=self.indices,
                frames=np.array(self.frames),
            )

    @classmethod
    def load(cls, input_path: Path) -> VideoCues:
        """What `save` wrote."""
        with np.load(input_path.parent.parent / "cues" / f"{input_path.stem}.npz") as cues:
            return cls(
                np.load(input_path), cues["objects"], cues["motion"], cues["indices"], int(cues["frames"])
            )


def extract_video_cues(
    path: str | Path, models: CueModels, *, ten_crop: bool = False, batch_size: int = 4
) -> VideoCues:
    """The cues of one video, cut by the engine's segmenting path (`inferences.segments`)."""
    segmenter = models.segmenter()
    base = segmenter.preprocessor
    if ten_crop:
        segmenter.preprocessor = dataclasses.replace(
            base, width=round(base.width * TEN_CROP_SCALE), height=round(base.height * TEN_CROP_SCALE)
        )
    cues: list[SegmentCues] = []
    crops: list[np.ndarray] = []
    indices: list[int] = []
    frames = 0

    def run(batch: list[Segment]) -> None:
        features = None
        if ten_crop:
            crops.extend(models.extractor(ten_crops(s.clip, base.height, base.width)) for s in batch)
            features = np.stack([c[4] for c in crops[-len(batch) :]])  # the centre crop for the scene cue
        cues.extend(models.cues(batch, features=features))

    for batch in batches(
        video_segments(path, segmenter, interval=models.config.prepare_interval), batch_size
    ):
        if isinstance(batch, int):
            frames = batch
            continue
        run(batch)
        indices.extend(index for segment in batch for index in segment.indices)
    if not cues:
        raise VideoError(f"{path}: no decodable video frames")
    return VideoCues(
        features=np.stack(crops) if ten_crop else np.stack([c.feature for c in cues]),
        objects=np.stack([c.objects for c in cues]).astype(np.float32),
        motion=np.stack([c.motion for c in cues]).astype(np.float32),
        indices=np.asarray(indices, dtype=np.int64),
        frames=frames,
    )


def _save_atomic(path: Path, array: np.ndarray) -> None:
    with atomic_path(path) as temporary:
        np.save(temporary, array)


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
    models: CueModels,
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
    segment_length = models.config.segment_length
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
            cues = extract_video_cues(
                videos_dir / annotation.video, models, ten_crop=ten_crop, batch_size=batch_size
            )
            frames = cues.frames
        except VideoError as error:
            report.failed.append((annotation.video, str(error)))
            tqdm.write(f"skipped {annotation.video}: {error}")
            continue
        if frames != annotation.frames:
            problem = f"decoded {frames} frames but the annotation says {annotation.frames}"
            report.failed.append((annotation.video, problem))
            tqdm.write(f"skipped {annotation.video}: {problem}")
            continue
        labels = annotation.frame_labels()[cues.indices]  # labels of the sampled frames
        if splits[annotation.name] == "train":
            labels = segment_labels(labels, segment_length, segment_rule)
        cues.save(input_path)
        _save_atomic(label_path, labels)  # written last: its presence marks the video finished
        report.built.append(annotation.name)
    for split in SPLITS:
        lines = [
            json.dumps({"input": f"inputs/{a.name}.npy", "label": f"labels/{a.name}.npy"})
            for a in annotations
            if splits[a.name] == split and (output / split / "labels" / f"{a.name}.npy").is_file()
        ]
        if lines:
            (output / split / ANNOTATIONS).write_text("\n".join(lines) + "\n")
    return report
