"""Evaluation metrics: frame-level ROC AUC and AP, false alarm rate, IoU; model parameters and FLOPs.

ROC, AUC and AP come from scikit-learn, behind checks that name the problem (MetricError).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sklearn import metrics as sk
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from inferences.errors import SurveillanceError

THRESHOLDS = (0.2, 0.3, 0.4, 0.5)


class MetricError(SurveillanceError):
    """Inputs a metric cannot be computed from."""


def segment_to_frame_scores(segment_scores: np.ndarray, num_frames: int, segment_length: int) -> np.ndarray:
    """Expand (T,) segment scores to (num_frames,) frame scores: frame f gets segment f // segment_length.

    The last segment may be partial; `num_frames` must need exactly T segments.
    """
    segment_scores = np.asarray(segment_scores, dtype=np.float32)
    needed = math.ceil(num_frames / segment_length)
    if segment_scores.ndim != 1 or needed != segment_scores.shape[0]:
        raise MetricError(
            f"{num_frames} frames need {needed} segments of {segment_length}, got scores of shape "
            f"{segment_scores.shape}"
        )
    return np.repeat(segment_scores, segment_length)[:num_frames]


def _check_binary(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    labels = np.asarray(labels).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if labels.shape != scores.shape:
        raise MetricError(f"labels ({labels.size}) and scores ({scores.size}) differ in length")
    if not np.isin(labels, (0, 1)).all():
        raise MetricError("labels must be 0 or 1")
    if not np.isfinite(scores).all():
        raise MetricError("scores contain NaN or infinity")
    positives = int(labels.sum())
    if positives == 0 or positives == labels.size:
        raise MetricError("AUC and AP need both normal and abnormal frames")
    return labels.astype(np.int64), scores


def roc_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """False positive rates and true positive rates, one point per distinct score, starting at (0, 0)."""
    fpr, tpr, _ = sk.roc_curve(*_check_binary(labels, scores), drop_intermediate=False)
    return fpr, tpr


def roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (ties count half)."""
    return float(sk.roc_auc_score(*_check_binary(labels, scores)))


def precision_recall_curve(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall at each distinct threshold, highest threshold first."""
    precision, recall, _ = sk.precision_recall_curve(*_check_binary(labels, scores))
    return precision[-2::-1], recall[-2::-1]  # without scikit-learn's closing (recall 0, precision 1)


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """AP = sum over thresholds of (recall increase) x precision (no interpolation)."""
    return float(sk.average_precision_score(*_check_binary(labels, scores)))


def false_alarm_rates(
    scores: list[np.ndarray], labels: list[np.ndarray], thresholds: tuple[float, ...] = THRESHOLDS
) -> dict[str, float | None]:
    """Per threshold: the fraction of frames of normal videos (no abnormal frame) scored >= threshold.

    None where there is no normal video.
    """
    normal = [np.asarray(s) for s, y in zip(scores, labels, strict=True) if not np.any(y)]
    frames = np.concatenate(normal) if normal else np.empty(0)
    return {f"{t:g}": (float(np.mean(frames >= t)) if frames.size else None) for t in thresholds}


def mean_iou(
    scores: list[np.ndarray], labels: list[np.ndarray], thresholds: tuple[float, ...] = THRESHOLDS
) -> dict[str, float | None]:
    """Per threshold: IoU of predicted (score >= threshold) and true abnormal frames, averaged over the
    abnormal videos. None where there is no abnormal video."""
    abnormal = [(np.asarray(s), np.asarray(y) > 0) for s, y in zip(scores, labels, strict=True) if np.any(y)]
    result: dict[str, float | None] = {}
    for t in thresholds:
        ious = [np.sum((s >= t) & y) / np.sum((s >= t) | y) for s, y in abnormal]
        result[f"{t:g}"] = float(np.mean(ious)) if ious else None
    return result


def count_parameters(model: nn.Module) -> int:
    """Number of parameters."""
    return sum(parameter.numel() for parameter in model.parameters())


def count_flops(model: nn.Module, *, feature_dim: int, segments: int = 16) -> int:
    """FLOPs of one forward pass on a (1, segments, feature_dim) sequence, counted by PyTorch's
    FlopCounterMode (matrix products: 2 FLOPs per multiply-add; element-wise ops not counted)."""
    device = next(model.parameters()).device
    features = torch.zeros(1, segments, feature_dim, device=device)
    mask = torch.ones(1, segments, dtype=torch.bool, device=device)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(features, mask)
    finally:
        model.train(was_training)
    return int(counter.get_total_flops())
