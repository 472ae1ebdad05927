"""Where the repository and the data beside it are: computed once, imported everywhere else."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"  # the labelled datasets beside a checkout (optional)
MODELS_DIR = REPO_ROOT / "inferences" / "models"  # the engine's ONNX files
