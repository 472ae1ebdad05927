"""`python -m datasets download ped2` against a real HTTP server on 127.0.0.1 serving a small archive in
the layout of the public UCSD one: progress, checksum, the clips encoded and labelled like ../shared/data."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from datasets.__main__ import main as datasets_main
from datasets.download import DATASETS
from datasets.ucsd import parse_ground_truth
from inferences.video import iter_video_frames

ROOT = "UCSD_Anomaly_Dataset.v1p2"
GROUND_TRUTH = "TestDataset = {};\nTestDataset.gt{1} = [3:6];\nTestDataset.gt{2} = [1:2, 4:5];\n"


def _tif(value: int) -> bytes:
    """A 48x32 greyscale TIF frame (8-bit, like the dataset's)."""
    pixels = (np.arange(48, dtype=np.uint8)[None, :].repeat(32, 0) * 4 + value).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="TIFF")
    return buffer.getvalue()


def _archive(folder: Path) -> Path:
    """Test001 (6 frames, with a pixel-mask folder), Test002 (5), Train001 (4), a Ped1 folder to skip."""
    files = {f"{ROOT}/UCSDped2/Test/UCSDped2.m": GROUND_TRUTH.encode()}
    for split, clip, frames in (("Test", "Test001", 6), ("Test", "Test002", 5), ("Train", "Train001", 4)):
        for index in range(1, frames + 1):
            files[f"{ROOT}/UCSDped2/{split}/{clip}/{index:03d}.tif"] = _tif(20 * index)
    files[f"{ROOT}/UCSDped2/Test/Test001_gt/001.bmp"] = b"mask"
    files[f"{ROOT}/UCSDped1/Test/Test001/001.tif"] = _tif(0)
    path = folder / "UCSD_Anomaly_Dataset.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.fixture
def mirror(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, str]]:
    """(URL of the archive on a loopback HTTP server, its sha256); the download cache in tmp_path."""
    monkeypatch.setenv("SURVEILLANCE_CACHE", str(tmp_path / "cache"))
    served = tmp_path / "served"
    served.mkdir()
    archive = _archive(served)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield (
        f"http://127.0.0.1:{server.server_address[1]}/{archive.name}",
        hashlib.sha256(archive.read_bytes()).hexdigest(),
    )
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_download_checks_and_unpacks_ped2(mirror: tuple[str, str], tmp_path: Path, capsys) -> None:
    url, sha256 = mirror
    output = tmp_path / "data"
    assert datasets_main(["download", "ped2", "--output", str(output), "--url", url, "--sha256", sha256]) == 0
    assert f"wrote {output / 'ucsd-ped2'}" in capsys.readouterr().out
    assert sorted(p.name for p in (output / "ucsd-ped2").iterdir()) == [
        "Test001.mp4",
        "Test002.mp4",
        "labels.json",
    ]
    labels = json.loads((output / "ucsd-ped2" / "labels.json").read_text())
    first, second = labels["videos"]
    assert labels["fps"] == 10 and first["frames"] == 6 and first["anomaly_intervals"] == [[3, 6]]
    assert first["frame_labels"] == [0, 0, 1, 1, 1, 1] and second["frame_labels"] == [1, 1, 0, 1, 1]
    frames = list(iter_video_frames(output / "ucsd-ped2" / "Test001.mp4"))
    assert len(frames) == 6 and (frames[0].width, frames[0].height) == (48, 32)
    grey = frames[2].to_ndarray(format="gray")
    assert abs(int(grey[:, 0].mean()) - 60) <= 3  # the third frame's first column: value 20 * 3
    train = json.loads((output / "ucsd-ped2-train" / "labels.json").read_text())
    assert train["videos"] == [
        {
            "video": "Train001.mp4",
            "frames": 4,
            "anomaly_intervals": [],
            "frame_labels": [0] * 4,
            "split": "train",
        }
    ]
    assert not list(output.glob(".unpack-*"))  # the extracted frames are gone


def test_a_wrong_checksum_or_an_unreachable_mirror_is_refused(
    mirror: tuple[str, str], tmp_path: Path, capsys
) -> None:
    url, sha256 = mirror
    output = tmp_path / "data"
    wrong = "0" * 64
    assert datasets_main(["download", "ped2", "--output", str(output), "--url", url, "--sha256", wrong]) == 2
    error = capsys.readouterr().err
    assert f"expected sha256 {wrong}, got {sha256}" in error and not output.exists()
    assert not (tmp_path / "cache" / "datasets" / "UCSD_Anomaly_Dataset.tar.gz").exists()
    pinned = DATASETS["ped2"].sha256  # a mirror serving another archive, without its own checksum
    assert datasets_main(["download", "ped2", "--output", str(output), "--url", url]) == 2
    assert f"expected sha256 {pinned}, got {sha256}" in capsys.readouterr().err and not output.exists()
    missing = url.replace("UCSD_Anomaly", "Missing")
    assert datasets_main(["download", "ped2", "--output", str(output), "--url", missing]) == 2
    assert "HTTP 404" in capsys.readouterr().err


def test_ground_truth_ranges_are_read_from_the_matlab_file() -> None:
    assert parse_ground_truth(GROUND_TRUTH) == {1: [(3, 6)], 2: [(1, 2), (4, 5)]}
