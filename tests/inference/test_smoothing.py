"""Score smoothing: spikes and dips removed, causal form never looks ahead."""

from __future__ import annotations

import numpy as np
import pytest

from inferences.smoothing import smooth_scores


def test_centred_form_removes_isolated_spike_and_dip_and_keeps_stretches() -> None:
    scores = np.array([0.1, 0.1, 0.9, 0.1, 0.1, 0.8, 0.8, 0.2, 0.8, 0.8, 0.8])
    smoothed = smooth_scores(scores, 3, causal=False)
    np.testing.assert_allclose(smoothed, [0.1, 0.1, 0.1, 0.1, 0.1, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8], atol=1e-6)
    assert smoothed.dtype == np.float32


def test_causal_form_uses_only_the_past() -> None:
    rng = np.random.default_rng(0)
    scores = rng.random(40)
    smoothed = smooth_scores(scores, 5, causal=True)
    for t in (0, 3, 17, 39):
        np.testing.assert_array_equal(smooth_scores(scores[: t + 1], 5, causal=True), smoothed[: t + 1])
    assert smoothed[10] == pytest.approx(np.median(scores[6:11]))
    assert smoothed[0] == pytest.approx(scores[0])  # edge: the first score repeated


def test_window_one_and_empty_are_identity_and_bad_input_is_named() -> None:
    scores = np.array([0.3, 0.9, 0.1])
    np.testing.assert_allclose(smooth_scores(scores, 1, causal=False), scores, atol=1e-7)
    assert smooth_scores(np.array([]), 5, causal=True).size == 0
    with pytest.raises(ValueError, match="window"):
        smooth_scores(scores, 0, causal=False)
    with pytest.raises(ValueError, match="1-D"):
        smooth_scores(np.zeros((2, 3)), 3, causal=False)
