"""UCSD Ped2 benchmark: real video -> I3D features -> detector -> frame-level AUC, leave-videos-out.

    python bench/ped2.py [--extractor-model inferences/models/i3d-fp32.onnx] [--ship]

1. Features of the 12 real Ped2 test videos (`../shared/data/ucsd-ped2/`) are extracted once with the
   dataset builder (`datasets/videos.py`) into `<work-dir>/features-<model stem>-<H>x<W>` (cached and
   resumable).
2. Cross-validation with fixed folds: video i (in labels.json order) belongs to fold i % folds. For each fold
   the research core's `train_detector` trains on the other videos (segment labels: any abnormal frame) for
   a fixed number of epochs with a fixed seed; the *last* checkpoint scores the held-out videos, so no video
   is ever scored by a model that saw it, and no model is selected on its test videos.
3. Pooled over all 12 videos: frame AUC and AP, FAR (share of normal frames scored >= threshold) and mean
   IoU of predicted vs true abnormal frames (per abnormal video), at thresholds 0.2..0.5; written to
   `<work-dir>/metrics.json` (the numbers of the shipped detector's model card), with the pooled AUC of a
   logistic-regression probe on the same features and folds (`probe_auc`).
`--ship` then trains on all 12 videos the same way and writes the shipped detector
`inferences/models/ped2-i3d-detector.onnx`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from datasets.features import load_split, write_split  # noqa: E402
from datasets.videos import OnnxExtractor, build_video_dataset, read_video_annotations, segment_labels  # noqa: E402
from models.config import ResearchConfig  # noqa: E402
from models.detector import load_detector  # noqa: E402
from models.evaluation import evaluate_detector  # noqa: E402
from models.export import export_detector  # noqa: E402
from models.metrics import THRESHOLDS, average_precision, mean_iou, roc_auc  # noqa: E402
from models.training import train_detector  # noqa: E402

PED2 = REPO_ROOT.parent / "shared" / "data" / "ucsd-ped2"
SHIPPED = REPO_ROOT / "inferences" / "models" / "ped2-i3d-detector.onnx"
SEGMENT_LENGTH = 16

# Detector hyperparameters for this small dataset (fixed before looking at the held-out scores).
TRAINING = {
    "seed": 0,
    "num_epochs": 100,
    "batch_size": 4,
    "group_size": 1,
    "learning_rate": 5e-4,
    "weight_decay": 1e-4,
    "alpha": 0.5,
    "attention_window": 5,
    "smoothing_window": 3,
    "model_dim": 128,
}
PROBE_C = (0.1, 1.0, 10.0)  # regularisation strengths of the logistic-regression probe


def research_config(root: Path, run: Path, feature_dim: int) -> ResearchConfig:
    """A ResearchConfig training on `root/train`, monitoring `root/valid`, checkpoints in `run`."""
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


def write_fold(root: Path, videos: list, train: list[int], held_out: list[int]) -> None:
    """Fold dataset: train/ with segment labels of the `train` videos, valid/ with the held-out frames."""
    write_split(
        root / "train",
        [
            (
                videos[i].name,
                videos[i].features[0],
                segment_labels(videos[i].labels.astype(np.uint8), SEGMENT_LENGTH),
            )
            for i in train
        ],
    )
    write_split(root / "valid", [(videos[i].name, videos[i].features[0], videos[i].labels) for i in held_out])


def train_and_score(root: Path, run: Path, feature_dim: int) -> tuple[Path, list[np.ndarray]]:
    """Train on root/train (fixed epochs); the last checkpoint and its frame scores on root/valid."""
    config = research_config(root, run, feature_dim)
    train_detector(config, progress=False)  # seeds torch with config.seed itself
    model = load_detector(config.last_checkpoint_path)
    valid = load_split(
        config.valid_dataset, feature_dim=feature_dim, per_frame_labels=True, segment_length=SEGMENT_LENGTH
    )
    evaluation = evaluate_detector(
        model,
        valid,
        smoothing_window=TRAINING["smoothing_window"],
        segment_length=SEGMENT_LENGTH,
        device=torch.device("cpu"),
    )
    return config.last_checkpoint_path, evaluation.frame_scores


def pooled_metrics(scores: list[np.ndarray], labels: list[np.ndarray]) -> dict[str, object]:
    """Frame AUC / AP pooled over videos, FAR on normal frames and mean IoU per threshold."""
    all_scores, all_labels = np.concatenate(scores), np.concatenate(labels)
    normal = all_scores[all_labels == 0]
    return {
        "auc": roc_auc(all_labels, all_scores),
        "ap": average_precision(all_labels, all_scores),
        "far": {f"{t:g}": float(np.mean(normal >= t)) for t in THRESHOLDS},
        "iou": mean_iou(scores, labels),
        "frames": int(all_labels.size),
        "abnormal_frames": int(all_labels.sum()),
    }


def probe_auc(videos: list, folds: int, c: float) -> float:
    """Pooled frame AUC of a logistic-regression probe (inverse regularisation `c`) on the raw segment
    features, with the detector's folds and segment labels: how far the features alone go."""
    from sklearn.linear_model import LogisticRegression

    scores: list[np.ndarray] = [np.empty(0)] * len(videos)
    for fold in range(folds):
        train = [v for i, v in enumerate(videos) if i % folds != fold]
        probe = LogisticRegression(C=c, max_iter=5000).fit(
            np.concatenate([v.features[0] for v in train]),
            np.concatenate([segment_labels(v.labels.astype(np.uint8), SEGMENT_LENGTH) for v in train]),
        )
        for i in range(fold, len(videos), folds):
            segment_scores = probe.predict_proba(videos[i].features[0])[:, 1]
            scores[i] = np.repeat(segment_scores, SEGMENT_LENGTH)[: videos[i].labels.size]
    return roc_auc(np.concatenate([v.labels for v in videos]), np.concatenate(scores))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extractor-model", type=Path, default=REPO_ROOT / "inferences/models/i3d-fp32.onnx")
    parser.add_argument("--work-dir", type=Path, default=REPO_ROOT / "runs" / "bench-ped2")
    parser.add_argument("--folds", type=int, default=4, help="video i goes to fold i %% folds (default 4)")
    parser.add_argument("--ship", action="store_true", help=f"also train on all videos, write {SHIPPED}")
    args = parser.parse_args(argv)
    if not PED2.is_dir():
        print(f"error: {PED2}: the Ped2 data folder is absent", file=sys.stderr)
        return 2
    torch.set_num_threads(2)
    started = time.perf_counter()
    extractor = OnnxExtractor(args.extractor_model)
    size = f"{extractor.preprocessor.height}x{extractor.preprocessor.width}"
    features_root = args.work_dir / f"features-{args.extractor_model.stem}-{size}"
    report = build_video_dataset(
        videos_dir=PED2,
        annotations_path=PED2 / "labels.json",
        output=features_root,
        extractor=extractor,
        valid_fraction=1.0,
    )
    if report.failed:
        print(f"error: could not extract {report.failed}", file=sys.stderr)
        return 2
    order = [a.name for a in read_video_annotations(PED2 / "labels.json")]
    loaded = {
        v.name: v
        for v in load_split(
            features_root / "valid",
            feature_dim=extractor.feature_dim,
            per_frame_labels=True,
            segment_length=SEGMENT_LENGTH,
        )
    }
    videos = [loaded[name] for name in order]
    extracted = time.perf_counter()

    scores: list[np.ndarray] = [np.empty(0)] * len(videos)
    for fold in range(args.folds):
        held_out = [i for i in range(len(videos)) if i % args.folds == fold]
        train = [i for i in range(len(videos)) if i % args.folds != fold]
        root = args.work_dir / f"fold-{fold}"
        write_fold(root, videos, train, held_out)
        _, fold_scores = train_and_score(root, root / "run", extractor.feature_dim)
        fold_labels = [videos[i].labels for i in held_out]
        for i, frame_scores in zip(held_out, fold_scores, strict=True):
            scores[i] = frame_scores
        print(
            f"fold {fold}: held out {[videos[i].name for i in held_out]}, "
            f"AUC {roc_auc(np.concatenate(fold_labels), np.concatenate(fold_scores)):.4f}"
        )
    metrics = pooled_metrics(scores, [v.labels for v in videos])
    metrics.update(
        probe_auc={f"C={c:g}": probe_auc(videos, args.folds, c) for c in PROBE_C},
        folds=args.folds,
        extractor_model=args.extractor_model.name,
        training=TRAINING,
        extract_seconds=round(extracted - started, 1),
        cv_seconds=round(time.perf_counter() - extracted, 1),
    )
    print(json.dumps(metrics, indent=2))

    if args.ship:
        root = args.work_dir / "all"
        everything = list(range(len(videos)))
        write_fold(root, videos, everything, everything)
        checkpoint, _ = train_and_score(root, root / "run", extractor.feature_dim)
        export_detector(
            load_detector(checkpoint),
            SHIPPED,
            metadata={
                "segment_length": str(SEGMENT_LENGTH),
                "smoothing_window": str(TRAINING["smoothing_window"]),
                "extractor": extractor.name,
            },
        )
        print(f"wrote {SHIPPED} ({SHIPPED.stat().st_size / 1e6:.2f} MB)")
    (args.work_dir / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
