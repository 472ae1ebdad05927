"""Evaluating a detector on a validation split: frame scores, metrics, metrics.json, score files, plots."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from datasets.features import Video
from inferences.smoothing import smooth_scores
from models.detector import AnomalyDetector
from models.metrics import (
    MetricError,
    average_precision,
    count_flops,
    count_parameters,
    false_alarm_rates,
    mean_iou,
    precision_recall_curve,
    roc_auc,
    roc_curve,
    segment_to_frame_scores,
)


@dataclass
class Evaluation:
    """Frame scores and labels per video (in split order) and the metrics dict of metrics.json."""

    names: list[str]
    frame_scores: list[np.ndarray]
    frame_labels: list[np.ndarray]
    metrics: dict[str, object]


def require_both_classes(videos: list[Video]) -> None:
    """Frame AUC and AP need normal and abnormal frames: a `MetricError` naming the split otherwise."""
    abnormal = sum(int(video.labels.sum()) for video in videos)
    if not 0 < abnormal < sum(video.labels.size for video in videos):
        raise MetricError(
            f"{videos[0].input_path.parent.parent}: the valid set needs both normal and abnormal "
            "frames for AUC and AP"
        )


@torch.no_grad()
def predict_segments(model: AnomalyDetector, features: np.ndarray, device: torch.device) -> np.ndarray:
    """Segment scores (T,) of one video given as (crops, T, D): the crops' scores averaged."""
    batch = torch.from_numpy(np.array(features, dtype=np.float32)).to(device)
    mask = torch.ones(batch.shape[:2], dtype=torch.bool, device=device)
    return model(batch, mask).mean(0).cpu().numpy()


def evaluate_detector(
    model: AnomalyDetector,
    videos: list[Video],
    *,
    smoothing_window: int,
    segment_length: int,
    device: torch.device,
    progress: bool = False,
) -> Evaluation:
    """Score every video (eval mode, centred smoothing) and compute frame-level metrics."""
    require_both_classes(videos)
    was_training = model.training
    model.eval()
    scores, labels = [], []
    try:
        for video in tqdm(videos, desc="evaluate", unit="video", disable=not progress, leave=False):
            segment_scores = smooth_scores(
                predict_segments(model, video.features, device), smoothing_window, causal=False
            )
            scores.append(segment_to_frame_scores(segment_scores, video.labels.size, segment_length))
            labels.append(video.labels)
    finally:
        model.train(was_training)
    all_scores, all_labels = np.concatenate(scores), np.concatenate(labels)
    metrics = {
        "auc": roc_auc(all_labels, all_scores),
        "ap": average_precision(all_labels, all_scores),
        "far": false_alarm_rates(scores, labels),
        "iou": mean_iou(scores, labels),
    }
    return Evaluation([v.name for v in videos], scores, labels, metrics)


def model_size(model: AnomalyDetector) -> dict[str, float]:
    """Millions of parameters and of FLOPs for 16 segments (`mparams`, `mflops`), for eval's report."""
    return {
        "mparams": count_parameters(model) / 1e6,
        "mflops": count_flops(model, feature_dim=model.feature_dim) / 1e6,
    }


def format_metrics(metrics: dict[str, object]) -> str:
    """A plain-text table of the metrics."""

    def show(value: object) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    far, iou = metrics["far"], metrics["iou"]
    rows = [
        f"{'metric':<10}{'value':>10}",
        f"{'AUC':<10}{show(metrics['auc']):>10}",
        f"{'AP':<10}{show(metrics['ap']):>10}",
    ]
    rows += [f"{'FAR@' + key:<10}{show(value):>10}" for key, value in far.items()]
    rows += [f"{'IoU@' + key:<10}{show(value):>10}" for key, value in iou.items()]
    rows += [f"{'params M':<10}{metrics['mparams']:>10.3f}", f"{'FLOPs M':<10}{metrics['mflops']:>10.2f}"]
    return "\n".join(rows)


def write_evaluation(evaluation: Evaluation, output_dir: str | Path) -> Path:
    """Write metrics.json, scores/<name>.npy (frame scores), roc.png and pr.png into `output_dir`."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    output_dir = Path(output_dir)
    (output_dir / "scores").mkdir(parents=True, exist_ok=True)
    (output_dir / "metrics.json").write_text(json.dumps(evaluation.metrics, indent=2) + "\n")
    for name, scores in zip(evaluation.names, evaluation.frame_scores, strict=True):
        np.save(output_dir / "scores" / f"{name}.npy", scores.astype(np.float32))
    labels, scores = np.concatenate(evaluation.frame_labels), np.concatenate(evaluation.frame_scores)
    fpr, tpr = roc_curve(labels, scores)
    precision, recall = precision_recall_curve(labels, scores)
    for filename, x, y, xlabel, ylabel, title in (
        (
            "roc.png",
            fpr,
            tpr,
            "false positive rate",
            "true positive rate",
            f"ROC (AUC {evaluation.metrics['auc']:.4f})",
        ),
        (
            "pr.png",
            recall,
            precision,
            "recall",
            "precision",
            f"precision-recall (AP {evaluation.metrics['ap']:.4f})",
        ),
    ):
        figure, axes = pyplot.subplots(figsize=(5, 5))
        axes.plot(x, y)
        axes.set(xlabel=xlabel, ylabel=ylabel, title=title, xlim=(0, 1), ylim=(0, 1.02))
        axes.grid(alpha=0.3)
        figure.savefig(output_dir / filename, dpi=100, bbox_inches="tight")
        pyplot.close(figure)
    return output_dir
