"""What the detector must NOT learn: a segment's index, the length of what came before, a constant input.

Checked on the architecture (any weights) and on the shipped default detector (ONNX Runtime).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from datasets.features import Video
from inferences.config import InferenceConfig
from inferences.profile import CHANNELS
from inferences.runtime import AnomalyDetectorModel
from models.detector import create_detector
from models.training import GroupedCrops

TOLERANCE = 0.02


@pytest.fixture(scope="module")
def shipped() -> AnomalyDetectorModel:
    config = InferenceConfig(providers=("CPUExecutionProvider",), threads=1)
    return AnomalyDetectorModel(config, 0)


def _torch_scores(model, sequence: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        x = torch.from_numpy(sequence.astype(np.float32))[None]
        return model(x, torch.ones(1, len(sequence), dtype=torch.bool))[0].numpy()


@pytest.mark.parametrize("seed", [0, 1])
def test_constant_input_gives_a_constant_score_at_any_length_untrained(seed: int) -> None:
    torch.manual_seed(seed)
    model = create_detector(feature_dim=8, model_dim=16, dropout=0.0).eval()
    vector = np.random.default_rng(seed).normal(size=8)
    for length in (1, 2, 3, 7, 38, 39, 100, 200):
        scores = _torch_scores(model, np.tile(vector, (length, 1)))
        assert scores.max() - scores.min() <= 1e-5, length


def test_shipped_detector_constant_sequences(shipped: AnomalyDetectorModel) -> None:
    """All zeros, one random cue vector repeated, at every length 1..200: max - min <= 0.02."""
    rng = np.random.default_rng(0)
    inputs = [np.zeros(len(CHANNELS))] + [rng.normal(scale=1.5, size=len(CHANNELS)) for _ in range(3)]
    for vector in inputs:
        reference = shipped(np.tile(vector, (200, 1)).astype(np.float32))
        assert reference.max() - reference.min() <= TOLERANCE
        for length in range(1, 201):
            scores = shipped(np.tile(vector, (length, 1)).astype(np.float32))
            assert scores.max() - scores.min() <= TOLERANCE, (vector, length)
            assert abs(scores[0] - reference[0]) <= TOLERANCE


def _normal(rng: np.random.Generator, length: int) -> np.ndarray:
    return rng.normal(scale=0.3, size=(length, len(CHANNELS))).astype(np.float32)


def test_shipped_detector_prepending_normal_segments(shipped: AnomalyDetectorModel) -> None:
    """Prepending normal segments beyond the detector's context leaves the original scores unchanged."""
    rng = np.random.default_rng(1)
    sequence = _normal(rng, 60)
    sequence[20:30, 0] = 2.5  # an unusual object
    sequence[20:30, 1] = 2.0  # fast motion
    alone = shipped(sequence)
    context = shipped.context_length
    assert 1 < context < 60
    results = []
    for prepended in (context, context + 1, context + 17, 3 * context, 150):
        scores = shipped(np.concatenate([_normal(rng, prepended), sequence]))[prepended:]
        results.append(scores)
        # segments whose whole context lies in the original sequence see exactly the same inputs
        np.testing.assert_allclose(scores[context - 1 :], alone[context - 1 :], atol=1e-5)
    for scores in results[1:]:
        assert np.abs(scores - results[0]).max() <= TOLERANCE


def test_shipped_detector_scores_an_abnormal_start_abnormal(shipped: AnomalyDetectorModel) -> None:
    rng = np.random.default_rng(2)
    sequence = _normal(rng, 40)
    sequence[:6, 0], sequence[:6, 1] = 2.5, 2.0
    scores = shipped(sequence)
    assert (scores[:6] >= 0.5).all(), scores[:6]
    assert (scores[12:] < 0.5).all(), scores[12:]


class ZeroPaddedCausalConv(torch.nn.Module):
    """The old design's classifier in plain PyTorch (a causal convolution padded with zeros on the left),
    as a counter-example: the constant-input check must catch the ramp it makes."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(8, 1, kernel_size=3, dilation=2)

    def forward(self, features: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(torch.nn.functional.pad(features.transpose(1, 2), (4, 0)))[:, 0])


def test_the_constant_input_check_catches_zero_padding() -> None:
    scores = _torch_scores(ZeroPaddedCausalConv().eval(), np.tile(np.full(8, 3.0), (10, 1)))
    assert scores.max() - scores.min() > TOLERANCE


def test_temporal_crops_start_anywhere() -> None:
    """Training windows start at every offset, also inside an anomaly."""
    labels = np.r_[np.zeros(20), np.ones(20)].astype(np.float32)
    video = Video(
        name="v", input_path=None, features=np.arange(40, dtype=np.float32).reshape(1, 40, 1), labels=labels
    )
    dataset = GroupedCrops([video], group_size=1, seed=0, temporal_crop=8)
    starts = set()
    for epoch in range(60):
        dataset.epoch = epoch
        features, window = dataset[0]
        assert features.shape == (1, 8, 1) and window.shape == (8,)
        starts.add(int(features[0, 0, 0]))
    assert min(starts) <= 2 and max(starts) >= 30
    assert any(s >= 20 for s in starts)  # windows that start abnormal
