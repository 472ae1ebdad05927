"""Evaluation metrics against scikit-learn, and the plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn import metrics as skm

from models.classifier.evaluation import (
    compute_metrics,
    plot_class_distribution,
    plot_confusion_matrix,
    plot_roc_curves,
)

CLASSES = [f"c{i}" for i in range(5)]


def _predictions(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, 200)
    logits = rng.normal(size=(200, 5)) + 1.5 * np.eye(5)[labels]
    logits = np.round(logits, 1)  # ties in the scores
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    return probabilities, labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_scikit_learn(seed: int) -> None:
    probabilities, labels = _predictions(seed)
    result = compute_metrics(probabilities, labels, CLASSES)
    one_hot = np.eye(5)[labels]
    assert result["accuracy"] == pytest.approx(skm.accuracy_score(labels, probabilities.argmax(1)))
    assert result["confusion_matrix"] == skm.confusion_matrix(labels, probabilities.argmax(1)).tolist()
    assert result["micro_auc"] == pytest.approx(skm.roc_auc_score(one_hot, probabilities, average="micro"))
    assert result["macro_auc"] == pytest.approx(skm.roc_auc_score(one_hot, probabilities, average="macro"))
    for i, name in enumerate(CLASSES):
        assert result["per_class"][name]["auc"] == pytest.approx(
            skm.roc_auc_score(one_hot[:, i], probabilities[:, i])
        )
        assert result["per_class"][name]["support"] == int(one_hot[:, i].sum())


def test_class_absent_from_test_has_no_auc() -> None:
    probabilities, labels = _predictions(3)
    labels = np.where(labels == 4, 0, labels)
    result = compute_metrics(probabilities, labels, CLASSES)
    assert result["per_class"]["c4"] == {"auc": None, "support": 0}
    defined = [skm.roc_auc_score(labels == i, probabilities[:, i]) for i in range(4)]
    assert result["macro_auc"] == pytest.approx(np.mean(defined))
    with pytest.raises(ValueError, match="probabilities: shape"):
        compute_metrics(probabilities[:, :4], labels, CLASSES)


def test_plots_are_written(tmp_path: Path) -> None:
    probabilities, labels = _predictions(4)
    result = compute_metrics(probabilities, labels, CLASSES)
    plot_roc_curves(probabilities, labels, result, tmp_path / "roc.png")
    plot_confusion_matrix(result, tmp_path / "cm.png")
    plot_class_distribution(
        {"Train": dict.fromkeys(CLASSES, 7), "Test": dict.fromkeys(CLASSES, 3)}, tmp_path / "dist.png"
    )
    for name in ("roc.png", "cm.png", "dist.png"):
        with Image.open(tmp_path / name) as image:
            assert image.format == "PNG" and image.width > 300 and image.height > 300
