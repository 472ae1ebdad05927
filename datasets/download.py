"""Downloads: the project's one downloader (model checkpoints and datasets) and the public datasets.

`download(url, destination, sha256=...)` streams into `<file>.part` (resumed with an HTTP Range request
when a partial file is left from an interrupted run) with a progress bar, checks the sha256 when one is
known, and only then renames the file into place, so a cache never holds a truncated or corrupt file under
its final name. Files are cached in `$SURVEILLANCE_CACHE` (default `~/.cache/surveillance`).

`python -m datasets download ped2 --output DIR` fetches a dataset of `DATASETS` this way and unpacks it
into the layout the tests and benchmarks read (`datasets/ucsd.py` for UCSD Ped2).
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from inferences.errors import SurveillanceError

CHUNK_SIZE = 1 << 20


class DownloadError(SurveillanceError):
    """The server could not be reached, answered with an HTTP error, or closed the connection early."""


class ChecksumError(SurveillanceError):
    """A downloaded file's sha256 differs from the expected one."""


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
            tqdm(
                total=total,
                initial=offset,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=destination.name,
                disable=not progress,
            ) as bar,
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


@dataclass(frozen=True)
class DatasetSource:
    """A public dataset archive: where it is, its sha256 (pinned: a mirror serving another file is refused
    unless its own checksum is given), and the function that unpacks it into the repository's layout under
    an output folder."""

    name: str
    url: str
    sha256: str
    description: str
    unpack: Callable[[Path, Path], list[Path]]

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def _unpack_ucsd(archive: Path, output: Path) -> list[Path]:
    from datasets.ucsd import unpack_ped2

    return unpack_ped2(archive, output)


DATASETS: dict[str, DatasetSource] = {
    "ped2": DatasetSource(
        name="ped2",
        url="http://www.svcl.ucsd.edu/projects/anomaly/UCSD_Anomaly_Dataset.tar.gz",
        # the archive's sha256 as the anomalib project publishes it (SVCL publishes none)
        sha256="2329af326951f5097fdd114c50e853957d3e569493a49d22fc082a9fd791915b",
        description="UCSD Anomaly Detection Dataset (SVCL, research use): Ped2 test and train splits",
        unpack=_unpack_ucsd,
    ),
}


class UnknownDatasetError(SurveillanceError):
    """A dataset name that `DATASETS` does not list."""


def download_dataset(
    name: str, output: str | Path, *, url: str | None = None, sha256: str | None = None, progress: bool = True
) -> list[Path]:
    """Download dataset `name` (from `url`, a mirror, else its public URL) into the cache, verified
    against `sha256` (else the registry's checksum), and unpack it under `output`; the folders written."""
    if name not in DATASETS:
        raise UnknownDatasetError(f"unknown dataset {name!r}; known: {sorted(DATASETS)}")
    source = DATASETS[name]
    archive = download(
        url or source.url,
        cache_dir() / "datasets" / source.filename,
        sha256=sha256 or source.sha256,
        progress=progress,
    )
    return source.unpack(archive, Path(output))
