"""Evaluation of the category classifier: accuracy, per-class one-vs-rest ROC/AUC, micro-average AUC,
confusion matrix (scikit-learn) and PNG plots."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
import torch
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix

from datasets.images import ImageDatasetError, list_classes
from inferences.atomic import atomic_write_text
from models.classifier.config import ClassifierConfig
from models.classifier.model import load_category_checkpoint
from models.classifier.training import load_image_split, make_loader, predict_logits
from models.metrics import roc_auc, roc_curve
from models.training import resolve_device


def one_vs_rest_auc(positive: np.ndarray, scores: np.ndarray) -> float | None:
    """ROC AUC of one class against the rest (`models.metrics`); None without both present."""
    positive = np.asarray(positive, dtype=bool)
    if positive.all() or not positive.any():
        return None
    return roc_auc(positive.astype(np.int64), scores)


def compute_metrics(probabilities: np.ndarray, labels: np.ndarray, classes: Sequence[str]) -> dict[str, Any]:
    """Accuracy, confusion matrix, per-class and micro-/macro-average one-vs-rest AUC.

    A class without test images (or with only its own) has AUC None, left out of the macro average.
    """
    num_classes = len(classes)
    if probabilities.ndim != 2 or probabilities.shape != (len(labels), num_classes):
        raise ValueError(
            f"probabilities: shape {probabilities.shape} does not fit {len(labels)} labels "
            f"and {num_classes} classes"
        )
    one_hot = np.eye(num_classes, dtype=bool)[labels]
    per_class = {
        name: {
            "auc": one_vs_rest_auc(one_hot[:, i], probabilities[:, i]),
            "support": int(one_hot[:, i].sum()),
        }
        for i, name in enumerate(classes)
    }
    defined = [entry["auc"] for entry in per_class.values() if entry["auc"] is not None]
    predictions = probabilities.argmax(axis=1)
    return {
        "num_images": len(labels),
        "classes": list(classes),
        "accuracy": float((predictions == labels).mean()),
        "micro_auc": one_vs_rest_auc(one_hot.ravel(), probabilities.ravel()),
        "macro_auc": float(np.mean(defined)) if defined else None,
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(labels, predictions, labels=range(num_classes)).tolist(),
    }


def plot_class_distribution(counts: dict[str, dict[str, int]], path: Path) -> None:
    """One bar chart per split (`{"Train": {class: count}, "Test": {...}}`)."""
    figure = Figure(figsize=(6 * len(counts), 4.5), layout="constrained")
    for axes, (split, split_counts) in zip(
        figure.subplots(1, len(counts), squeeze=False)[0], counts.items(), strict=True
    ):
        bars = axes.bar(list(split_counts), list(split_counts.values()), color="tab:blue")
        axes.bar_label(bars, fontsize=7)
        axes.set_title(f"{split}: {sum(split_counts.values())} images")
        axes.set_ylabel("images")
        axes.tick_params(axis="x", labelrotation=60)
    figure.savefig(path, dpi=100)


def plot_roc_curves(
    probabilities: np.ndarray, labels: np.ndarray, metrics: dict[str, Any], path: Path
) -> None:
    """Per-class one-vs-rest ROC curves and the micro-average curve, AUCs in the legend."""
    classes = metrics["classes"]
    one_hot = np.eye(len(classes), dtype=bool)[labels]
    figure = Figure(figsize=(8, 7), layout="constrained")
    axes = figure.subplots()
    colours = matplotlib.colormaps["tab20"]
    for i, name in enumerate(classes):
        auc = metrics["per_class"][name]["auc"]
        if auc is not None:
            fpr, tpr = roc_curve(one_hot[:, i].astype(np.int64), probabilities[:, i])
            axes.plot(fpr, tpr, linewidth=1, color=colours(i % 20), label=f"{name} (AUC {auc:.3f})")
    if metrics["micro_auc"] is not None:
        fpr, tpr = roc_curve(one_hot.ravel().astype(np.int64), probabilities.ravel())
        axes.plot(fpr, tpr, "k--", linewidth=2, label=f"micro-average (AUC {metrics['micro_auc']:.3f})")
    axes.plot([0, 1], [0, 1], color="grey", linewidth=0.5)
    axes.set(
        xlabel="false positive rate",
        ylabel="true positive rate",
        title="ROC curves (one vs rest)",
        xlim=(0, 1),
        ylim=(0, 1.01),
    )
    axes.legend(fontsize=7, loc="lower right")
    figure.savefig(path, dpi=100)


def plot_confusion_matrix(metrics: dict[str, Any], path: Path) -> None:
    """Confusion matrix coloured by row-normalised rate, annotated with counts."""
    classes, matrix = metrics["classes"], np.asarray(metrics["confusion_matrix"])
    rates = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    figure = Figure(figsize=(9, 8), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(rates, cmap="Blues", vmin=0, vmax=1)
    for (row, column), count in np.ndenumerate(matrix):
        axes.text(
            column,
            row,
            str(count),
            ha="center",
            va="center",
            fontsize=6,
            color="white" if rates[row, column] > 0.5 else "black",
        )
    ticks = range(len(classes))
    axes.set_xticks(ticks, classes, rotation=60, ha="right", fontsize=7)
    axes.set_yticks(ticks, classes, fontsize=7)
    axes.set(
        xlabel="predicted", ylabel="true", title=f"confusion matrix (accuracy {metrics['accuracy']:.3f})"
    )
    figure.colorbar(image, ax=axes, label="fraction of the true class")
    figure.savefig(path, dpi=100)


def evaluate_classifier(
    config: ClassifierConfig,
    *,
    checkpoint: Path | None = None,
    output_dir: Path | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate a checkpoint (default: the best) on the Test split; write metrics.json and the PNG plots."""
    model, state = load_category_checkpoint(checkpoint or config.best_checkpoint)
    output_dir = output_dir or config.eval_dir
    classes = state["classes"]
    if list_classes(config.dataset_root / "Train") != classes:
        raise ImageDatasetError(
            f"{config.dataset_root / 'Train'}: class folders differ from the checkpoint's {classes}"
        )
    train_set = load_image_split(config, "Train", classes, train=False)
    test_set = load_image_split(config, "Test", classes, train=False)
    device = resolve_device(config.device, field="training.device")
    loader = make_loader(test_set, config, shuffle=False)
    logits, labels = predict_logits(model.to(device), loader, device, desc="evaluate", progress=progress)
    probabilities = torch.softmax(logits, dim=1).numpy().astype(np.float64)
    metrics = compute_metrics(probabilities, labels.numpy(), classes)
    metrics["skipped_images"] = len(test_set) - len(labels)
    metrics["checkpoint_epoch"] = state.get("epoch")
    output_dir.mkdir(parents=True, exist_ok=True)
    plot_class_distribution(
        {"Train": train_set.class_counts(), "Test": test_set.class_counts()},
        output_dir / "class_distribution.png",
    )
    plot_roc_curves(probabilities, labels.numpy(), metrics, output_dir / "roc_curves.png")
    plot_confusion_matrix(metrics, output_dir / "confusion_matrix.png")
    atomic_write_text(output_dir / "metrics.json", json.dumps(metrics, indent=2) + "\n")
    return metrics
