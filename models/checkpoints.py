"""Atomic checkpoint writing, shared by the detector and the category classifier trainers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from inferences.atomic import atomic_path


def save_checkpoint(path: str | Path, checkpoint: dict[str, Any]) -> None:
    """Write a checkpoint dict atomically (`inferences.atomic`: a reader never sees a half-written
    checkpoint)."""
    with atomic_path(path) as temporary:
        torch.save(checkpoint, temporary)
