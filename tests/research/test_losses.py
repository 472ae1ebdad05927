"""The training loss: BCE plus the class-present Dice loss, defined for normal videos."""

from __future__ import annotations

import torch

from models.losses import detection_loss, dice_loss


def test_dice_of_normal_video_is_defined_and_pushes_scores_down() -> None:
    mask = torch.ones(1, 4, dtype=torch.bool)
    labels = torch.zeros(1, 4)
    zero = dice_loss(torch.zeros(1, 4), labels, mask)
    assert zero.item() == 0.0  # predicting all-normal on a normal video is perfect, not 0/0
    probabilities = torch.full((1, 4), 0.5, requires_grad=True)
    loss = dice_loss(probabilities, labels, mask)
    # hand-computed: 1 - 2 * sum(1 - p) / (sum(1 - p) + T) = 1 - 2 * 2 / (2 + 4)
    assert abs(loss.item() - (1 - 4 / 6)) < 1e-6
    loss.backward()
    assert (probabilities.grad > 0).all()


def test_dice_of_mixed_video_averages_both_classes_and_ignores_padding() -> None:
    probabilities = torch.tensor([[0.8, 0.2, 0.6, 0.9]])
    labels = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
    mask = torch.tensor([[True, True, True, False]])
    abnormal = 2 * 0.8 / (0.8 + 0.2 + 0.6 + 1)
    normal = 2 * (0.8 + 0.4) / ((0.2 + 0.8 + 0.4) + 2)
    expected = 1 - (abnormal + normal) / 2
    assert abs(dice_loss(probabilities, labels, mask).item() - expected) < 1e-6


def test_detection_loss_is_bce_plus_dice() -> None:
    logits = torch.tensor([[2.0, -1.0, 0.5], [0.0, 0.0, 0.0]])
    labels = torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]])
    mask = torch.tensor([[True, True, True], [True, True, False]])
    total, bce, dice = detection_loss(logits, labels, mask)
    expected_bce = torch.nn.functional.binary_cross_entropy_with_logits(logits[mask], labels[mask])
    assert abs(bce.item() - expected_bce.item()) < 1e-6
    assert abs(dice.item() - dice_loss(torch.sigmoid(logits), labels, mask).item()) < 1e-6
    assert abs(total.item() - (bce + dice).item()) < 1e-6
    assert torch.isfinite(total)
