"""UCSD Ped2 benchmark, standard protocol: learn normal from the 16 training clips, score the 12 test clips.

    python bench/ped2.py [--folds 4] [--ship] [--objects-model inferences/models/centernet-fp32.onnx]

1. Cues of the 16 normal training clips (`../shared/data/ucsd-ped2-train/`) and of the 12 test clips
   (`../shared/data/ucsd-ped2/`) through the dataset builder, i.e. the engine's one segmenting path
   (cached in `<work-dir>/cues-.../`).
2. The scene profile is calibrated on the training clips only. Each training clip's own cue channels are
   measured against a profile of the other 15 (so they look like unseen normal footage).
3. Each cue channel alone and their training-free sum are scored on the test clips.
4. The learned detector (attention + temporal convolutions over the cue channels), cross-validated: video i
   of the test clips (labels.json order) is in fold i % folds; each fold trains on the 16 normal clips plus
   the other folds' test clips (segment labels: most frames abnormal) for a fixed number of epochs with a
   fixed seed, and its last checkpoint scores the held-out clips. No test clip is ever scored by a model or
   a profile that saw it; no setting is chosen on the test clips.
Metrics over frames: micro AUC (all 2010 frames pooled), macro AUC (mean over clips), AP, FAR (share of
normal frames scored at or above the default threshold). `--ship` then trains on all 28 clips and writes the
shipped detector and the Ped2 scene profile. The last line:
`ped2: micro AUC 0.xxx, macro AUC 0.xxx, AP 0.xxx, FAR@threshold 0.xxx`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from datasets.features import write_split
from datasets.videos import (
    VideoCues,
    build_video_dataset,
    dataset_config,
    read_video_annotations,
    segment_labels,
)
from inferences.config import InferenceConfig
from inferences.paths import MODELS_DIR, REPO_ROOT, SHARED_DATA
from inferences.pipeline import CueModels
from inferences.profile import CHANNELS, CueSetup, SceneProfile
from inferences.runtime import FeatureExtractor
from inferences.smoothing import smooth_scores
from models.config import ResearchConfig
from models.detector import load_detector
from models.export import export_detector
from models.metrics import average_precision, roc_auc
from models.training import train_detector

TEST, TRAIN = SHARED_DATA / "ucsd-ped2", SHARED_DATA / "ucsd-ped2-train"
MODELS = MODELS_DIR
SHIPPED_DETECTOR = MODELS / "ped2-cue-detector.onnx"
SHIPPED_PROFILE = MODELS / "ped2-profile.npz"
SEGMENT_LENGTH = 16
THRESHOLD = InferenceConfig().anomaly_threshold

# Detector settings, fixed before looking at any test score.
TRAINING = {
    "seed": 0,
    "num_epochs": 40,
    "batch_size": 8,
    "group_size": 1,
    "learning_rate": 1e-3,
    "weight_decay": 1e-4,
    "alpha": 0.5,
    "attention_window": 5,
    "attention_context": 32,
    "temporal_crop": 8,
    "splice": 0.8,
    "smoothing_window": 3,
    "model_dim": 32,
}


def extract(
    work: Path, objects_model: str
) -> tuple[list[str], list[VideoCues], list[VideoCues], list[np.ndarray], CueSetup]:
    """(test names, train cues, test cues, test frame labels) through the dataset builder (cached)."""
    config = dataset_config(objects_model=objects_model)
    models = CueModels(config, FeatureExtractor(config))
    objects = f"{Path(objects_model).stem}-every{config.objects_every}" if objects_model else "no-objects"
    root = work / f"cues-{config.extraction_model_file.stem}-{objects}"
    for videos in (TRAIN, TEST):
        report = build_video_dataset(
            videos_dir=videos,
            annotations_path=videos / "labels.json",
            output=root,
            models=models,
            valid_fraction=1.0,
        )
        if report.failed:
            raise SystemExit(f"error: could not extract {report.failed}")
    train = [
        VideoCues.load(root / "train" / "inputs" / f"{a.name}.npy")
        for a in read_video_annotations(TRAIN / "labels.json")
    ]
    annotations = read_video_annotations(TEST / "labels.json")
    test = [VideoCues.load(root / "valid" / "inputs" / f"{a.name}.npy") for a in annotations]
    labels = [a.frame_labels()[c.indices] for a, c in zip(annotations, test, strict=True)]
    return [a.name for a in annotations], train, test, labels, models.setup


def train_channels(setup, train: list[VideoCues]) -> list[np.ndarray]:
    """Each training clip's channels against a profile of the other training clips."""
    channels = []
    for i, video in enumerate(train):
        others = [v.segment_cues() for j, v in enumerate(train) if j != i]
        channels.append(SceneProfile.from_videos(setup, others).channels(video.segment_cues())[0])
    return channels


def smoothed_frame_scores(segment_scores: np.ndarray, frames: int) -> np.ndarray:
    """Centred-smoothed segment scores, one per (sampled) frame."""
    smoothed = smooth_scores(segment_scores, TRAINING["smoothing_window"], causal=False)
    return np.repeat(smoothed, SEGMENT_LENGTH)[:frames]


def metrics(scores: list[np.ndarray], labels: list[np.ndarray], *, far: bool = True) -> dict[str, float]:
    """Micro AUC (frames pooled), macro AUC (mean over the clips that have normal and abnormal frames),
    AP over frames, FAR at the default threshold (only for scores that are probabilities)."""
    pooled, truth = np.concatenate(scores), np.concatenate(labels)
    both = [(s, y) for s, y in zip(scores, labels, strict=True) if 0 < y.sum() < y.size]
    return {
        "micro_auc": roc_auc(truth, pooled),
        "macro_auc": float(np.mean([roc_auc(y, s) for s, y in both])),
        "ap": average_precision(truth, pooled),
        **({"far": float(np.mean(pooled[truth == 0] >= THRESHOLD))} if far else {}),
    }


def research_config(root: Path, run: Path, feature_dim: int) -> ResearchConfig:
    return ResearchConfig(
        device="cpu",
        num_workers=0,
        log_interval=10,
        load_checkpoint=False,
        load_checkpoint_path=run / "last.pt",
        best_checkpoint_path=run / "best.pt",
        last_checkpoint_path=run / "last.pt",
        train_dataset=root / "train",
        valid_dataset=root / "valid",
        feature_dim=feature_dim,
        segment_length=SEGMENT_LENGTH,
        **TRAINING,
    )


def train_fold(
    root: Path,
    normal: list[np.ndarray],
    train: list[tuple[np.ndarray, np.ndarray]],
    held_out: list[tuple[np.ndarray, np.ndarray]],
) -> tuple[Path, list[np.ndarray]]:
    """Train on normal clips (label 0) + labelled test clips; (last checkpoint, held-out frame scores)."""
    write_split(
        root / "train",
        [(f"normal{i:02d}", x, np.zeros(len(x), np.uint8)) for i, x in enumerate(normal)]
        + [
            (f"test{i:02d}", x, segment_labels(y, SEGMENT_LENGTH, "majority"))
            for i, (x, y) in enumerate(train)
        ],
    )
    write_split(root / "valid", [(f"held{i:02d}", x, y) for i, (x, y) in enumerate(held_out)])
    config = research_config(root, root / "run", normal[0].shape[1])
    train_detector(config, progress=False)
    model = load_detector(config.last_checkpoint_path)
    with torch.no_grad():
        scores = [
            model(torch.from_numpy(x)[None], torch.ones(1, len(x), dtype=torch.bool))[0].numpy()
            for x, _ in held_out
        ]
    return config.last_checkpoint_path, [
        smoothed_frame_scores(s, len(y)) for s, (_, y) in zip(scores, held_out, strict=True)
    ]


def cross_validate(
    args: argparse.Namespace,
    normal: list[np.ndarray],
    channels: list[np.ndarray],
    labels: list[np.ndarray],
    used: list[int],
) -> list[np.ndarray]:
    """Held-out frame scores of every test clip from detectors trained on the `used` channels."""
    scores: list[np.ndarray] = [np.empty(0)] * len(channels)
    for fold in range(args.folds):
        held = [i for i in range(len(channels)) if i % args.folds == fold]
        rest = [i for i in range(len(channels)) if i % args.folds != fold]
        _, fold_scores = train_fold(
            args.work_dir / f"fold-{fold}",
            [x[:, used] for x in normal],
            [(channels[i][:, used], labels[i]) for i in rest],
            [(channels[i][:, used], labels[i]) for i in held],
        )
        for i, s in zip(held, fold_scores, strict=True):
            scores[i] = s
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-dir", type=Path, default=REPO_ROOT / "runs" / "bench-ped2")
    parser.add_argument(
        "--objects-model",
        default=InferenceConfig().objects_model_path,
        help="object detector ONNX; empty = no object cue",
    )
    parser.add_argument(
        "--folds", type=int, default=4, help="test video i goes to fold i %% folds (default 4)"
    )
    parser.add_argument(
        "--ship", action="store_true", help=f"also write {SHIPPED_DETECTOR} and {SHIPPED_PROFILE}"
    )
    args = parser.parse_args(argv)
    for folder in (TEST, TRAIN):
        if not folder.is_dir():
            print(f"error: {folder}: the Ped2 data folder is absent", file=sys.stderr)
            return 2
    torch.set_num_threads(2)
    started = time.perf_counter()
    names, train, test, labels, setup = extract(args.work_dir, args.objects_model)
    extracted = time.perf_counter()
    profile = SceneProfile.from_videos(setup, [v.segment_cues() for v in train], source="ucsd-ped2-train")
    test_channels = [profile.channels(v.segment_cues())[0] for v in test]
    normal = train_channels(setup, train)
    report: dict[str, object] = {
        "frames": int(sum(map(len, labels))),
        "abnormal_frames": int(sum(int(y.sum()) for y in labels)),
    }
    used = [c for c in range(len(CHANNELS)) if setup.objects_model or CHANNELS[c] != "objects"]
    for c in used:  # one cue alone: its channel as the score (training-free), and a detector on it alone
        alone = [smoothed_frame_scores(x[:, c], len(y)) for x, y in zip(test_channels, labels, strict=True)]
        report[f"cue {CHANNELS[c]}, training-free"] = metrics(alone, labels, far=False)
        report[f"cue {CHANNELS[c]}, learned detector"] = metrics(
            cross_validate(args, normal, test_channels, labels, [c]), labels
        )
    report["cues summed, training-free"] = metrics(
        [
            smoothed_frame_scores(x[:, used].sum(axis=1), len(y))
            for x, y in zip(test_channels, labels, strict=True)
        ],
        labels,
        far=False,
    )
    scores = cross_validate(args, normal, test_channels, labels, list(range(len(CHANNELS))))
    learned = metrics(scores, labels)
    report["all cues, learned detector (cross-validated)"] = learned
    report["per clip AUC"] = {
        n: roc_auc(y, s) for n, s, y in zip(names, scores, labels, strict=True) if 0 < y.sum() < y.size
    }
    report.update(
        objects_model=setup.objects_model or "none",
        extractor=setup.extractor,
        training=TRAINING,
        extract_seconds=round(extracted - started, 1),
        cv_seconds=round(time.perf_counter() - extracted, 1),
    )
    if args.ship:
        checkpoint, _ = train_fold(
            args.work_dir / "all",
            normal,
            [(x, y) for x, y in zip(test_channels, labels, strict=True)],
            [(x, y) for x, y in zip(test_channels, labels, strict=True)],
        )
        export_detector(
            load_detector(checkpoint),
            SHIPPED_DETECTOR,
            metadata={
                "segment_length": str(SEGMENT_LENGTH),
                "smoothing_window": str(TRAINING["smoothing_window"]),
                "extractor": setup.extractor,
                "inputs": "cues",
                "channels": json.dumps(list(CHANNELS)),
            },
        )
        profile.save(SHIPPED_PROFILE)
        print(f"wrote {SHIPPED_DETECTOR} and {SHIPPED_PROFILE}")
    print(json.dumps(report, indent=2))
    (args.work_dir / "metrics.json").write_text(json.dumps(report, indent=2) + "\n")
    print(
        f"ped2: micro AUC {learned['micro_auc']:.3f}, macro AUC {learned['macro_auc']:.3f}, "
        f"AP {learned['ap']:.3f}, FAR@threshold {learned['far']:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
