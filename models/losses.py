"""Training loss: binary cross-entropy plus a Dice loss corrected for normal videos.

Plain Dice on the abnormal class, 1 - 2·Σpy / (Σp + Σy), is constant (1) with zero gradient for a normal
video (y = 0 everywhere) and 0/0 when the detector also predicts 0. We use a class-present Dice: for each
sequence, the soft Dice of every class that occurs in its labels (abnormal: p vs y; normal: 1 - p vs
1 - y), averaged. A normal video therefore gets 1 - 2·Σ(1-p) / (Σ(1-p) + T), which is bounded, defined and
pushes its scores down smoothly; an abnormal video gets both terms. Denominators include at least one
present label, so they are never 0. Only real (unpadded) segments count.
"""

from __future__ import annotations

import torch
from torch.nn import functional


def dice_loss(probabilities: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Class-present soft Dice loss, averaged over sequences. Inputs (B, T); mask bool (B, T)."""
    weight = mask.to(probabilities.dtype)
    terms, present = [], []
    for p, y in ((probabilities, labels), (1.0 - probabilities, 1.0 - labels)):
        p, y = p * weight, y * weight
        dice = 2.0 * (p * y).sum(1) / (p.sum(1) + y.sum(1)).clamp_min(1e-6)
        terms.append(dice)
        present.append((y.sum(1) > 0).to(dice.dtype))
    counts = (present[0] + present[1]).clamp_min(1.0)
    per_sequence = 1.0 - (terms[0] * present[0] + terms[1] * present[1]) / counts
    return per_sequence.mean()


def detection_loss(
    logits: torch.Tensor, labels: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, bce, dice): BCE over real segments plus the class-present Dice loss."""
    weight = mask.to(logits.dtype)
    bce = (functional.binary_cross_entropy_with_logits(logits, labels, reduction="none") * weight).sum()
    bce = bce / weight.sum().clamp_min(1.0)
    dice = dice_loss(torch.sigmoid(logits), labels, mask)
    return bce + dice, bce, dice
