"""Metrics against hand-computed cases and scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from models.metrics import (
    MetricError,
    average_precision,
    false_alarm_rates,
    mean_iou,
    roc_auc,
    segment_to_frame_scores,
)


def test_auc_and_ap_hand_computed() -> None:
    labels = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    assert roc_auc(labels, scores) == pytest.approx(0.75)  # 3 of 4 (pos, neg) pairs ordered right
    # ranked: 0.8(+) 0.4(-) 0.35(+) 0.1(-): AP = 0.5 * 1 + 0.5 * 2/3
    assert average_precision(labels, scores) == pytest.approx(0.5 + 1 / 3)
    assert roc_auc(labels, np.array([0.5, 0.5, 0.5, 0.5])) == pytest.approx(0.5)  # ties count half


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_auc_and_ap_match_scikit_learn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, 500)
    scores = np.round(rng.random(500) * 0.6 + labels * 0.3, 1)  # many ties
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    assert average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )


def test_auc_needs_both_classes_and_equal_lengths() -> None:
    with pytest.raises(MetricError, match="both normal and abnormal"):
        roc_auc(np.zeros(5), np.random.default_rng(0).random(5))
    with pytest.raises(MetricError, match="differ in length"):
        average_precision(np.array([0, 1]), np.array([0.1, 0.2, 0.3]))


def test_segment_scores_expand_to_frames_with_partial_last_segment() -> None:
    frames = segment_to_frame_scores(np.array([0.1, 0.5, 0.9]), 35, 16)
    assert frames.shape == (35,)
    assert (frames[:16] == np.float32(0.1)).all() and (frames[16:32] == np.float32(0.5)).all()
    assert (frames[32:] == np.float32(0.9)).all()
    with pytest.raises(MetricError, match="need 2 segments"):
        segment_to_frame_scores(np.array([0.1, 0.5, 0.9]), 32, 16)


def test_false_alarm_rate_and_iou_hand_computed() -> None:
    scores = [np.array([0.1, 0.25, 0.45, 0.6]), np.array([0.3, 0.3]), np.array([0.9, 0.35, 0.1, 0.5])]
    labels = [np.zeros(4), np.zeros(2), np.array([1, 1, 0, 0])]
    far = false_alarm_rates(scores, labels)
    # normal frames: 0.1 0.25 0.45 0.6 0.3 0.3 -> >=0.2: 5/6, >=0.3: 4/6, >=0.4: 2/6, >=0.5: 1/6
    assert far == pytest.approx({"0.2": 5 / 6, "0.3": 4 / 6, "0.4": 2 / 6, "0.5": 1 / 6})
    iou = mean_iou(scores, labels)
    # abnormal video: predicted >=0.2 {0,1,3} vs true {0,1}: 2/3; >=0.4 {0,3}: 1/3; >=0.5 {0,3}: 1/3
    assert iou == pytest.approx({"0.2": 2 / 3, "0.3": 2 / 3, "0.4": 1 / 3, "0.5": 1 / 3})
    assert mean_iou(scores[:2], labels[:2]) == {"0.2": None, "0.3": None, "0.4": None, "0.5": None}
