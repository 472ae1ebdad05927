"""Where the repository and the data beside it are: computed once, imported everywhere else."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# the labelled datasets beside a checkout (optional); $SURVEILLANCE_SHARED_DATA points elsewhere
SHARED_DATA = Path(os.environ.get("SURVEILLANCE_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data")
MODELS_DIR = REPO_ROOT / "inferences" / "models"  # the engine's ONNX files
