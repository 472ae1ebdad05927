"""UCSD Ped2 from its public archive (`UCSD_Anomaly_Dataset.tar.gz`) into the layout the tests, the
benchmarks and `python -m datasets from-videos` read:

    <output>/ucsd-ped2/Test001.mp4 ... + labels.json         (test split, frame labels from UCSDped2.m)
    <output>/ucsd-ped2-train/Train001.mp4 ... + labels.json  (training split, every frame normal)

The archive holds each clip as a folder of greyscale TIF frames (`UCSDped2/Test/Test001/001.tif`, pixel
masks in `Test001_gt/`, which are skipped) and the frame-level ground truth as a MATLAB script
(`TestDataset.gt{1} = [61:180];`, 1-based inclusive ranges). Clips are encoded as H.264 MP4 at 10 fps.
"""

from __future__ import annotations

import json
import re
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from datasets.features import DatasetError
from inferences.atomic import atomic_path, atomic_write_text
from inferences.video import VideoWriter

PED2 = "UCSDped2"
FPS = 10
_ENTRY = re.compile(r"TestDataset\.gt\{(\d+)\}\s*=\s*\[([^\]]*)\]")
_RANGE = re.compile(r"(\d+)\s*:\s*(\d+)")


def parse_ground_truth(text: str) -> dict[int, list[tuple[int, int]]]:
    """`TestDataset.gt{N} = [a:b, c:d];` lines -> {N: [(a, b), (c, d)]} (1-based inclusive frames)."""
    truth = {
        int(number): [(int(a), int(b)) for a, b in _RANGE.findall(ranges)]
        for number, ranges in _ENTRY.findall(text)
    }
    if not truth:
        raise DatasetError("the Ped2 ground truth file has no TestDataset.gt{N} entry")
    return truth


def _clips(split: Path) -> list[Path]:
    clips = sorted(p for p in split.iterdir() if p.is_dir() and not p.name.endswith("_gt"))
    if not clips:
        raise DatasetError(f"{split}: no clip folders")
    return clips


def _encode(frames: list[Path], path: Path) -> int:
    """The TIF frames as an H.264 MP4 at FPS (atomic); the frame count."""
    with Image.open(frames[0]) as first:
        width, height = first.size
    with (
        atomic_path(path) as temporary,
        VideoWriter(temporary, width=width, height=height, rate=FPS, crf=12) as writer,
    ):
        for frame in frames:
            with Image.open(frame) as image:
                writer.write(np.asarray(image.convert("RGB")))
    return len(frames)


def _write_split(
    clips: list[Path],
    folder: Path,
    truth: dict[int, list[tuple[int, int]]] | None,
    title: str,
    progress: bool,
) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    videos = []
    for number, clip in enumerate(tqdm(clips, desc=folder.name, unit="clip", disable=not progress), start=1):
        frames = sorted(clip.glob("*.tif"))
        if not frames:
            raise DatasetError(f"{clip}: no .tif frames")
        count = _encode(frames, folder / f"{clip.name}.mp4")
        intervals = [] if truth is None else truth.get(number)
        if intervals is None:
            raise DatasetError(f"{clip.name}: no ground truth entry TestDataset.gt{{{number}}}")
        labels = np.zeros(count, dtype=int)
        for start, end in intervals:
            if not 1 <= start <= end <= count:
                raise DatasetError(f"{clip.name}: ground truth {start}:{end} outside frames 1..{count}")
            labels[start - 1 : end] = 1
        entry = {
            "video": f"{clip.name}.mp4",
            "frames": count,
            "anomaly_intervals": [list(i) for i in intervals],
            "frame_labels": labels.tolist(),
        }
        videos.append(entry if truth is not None else {**entry, "split": "train"})
    atomic_write_text(
        folder / "labels.json", json.dumps({"dataset": title, "fps": FPS, "videos": videos}) + "\n"
    )
    return folder


def unpack_ped2(archive: Path, output: Path, *, progress: bool = True) -> list[Path]:
    """Unpack the Ped2 part of the UCSD archive into `output` (see the module doc); the two folders."""
    output.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=output, prefix=".unpack-") as tmp:
        try:
            with tarfile.open(archive) as tar:
                members = [m for m in tar.getmembers() if f"/{PED2}/" in f"/{m.name}/"]
                if not members:
                    raise DatasetError(f"{archive}: no {PED2} folder in the archive")
                tar.extractall(tmp, members=members, filter="data")
        except (tarfile.TarError, EOFError, OSError) as error:
            raise DatasetError(f"{archive}: not a readable tar archive ({error})") from None
        root = next(Path(tmp).rglob(PED2))
        ground_truth = sorted((root / "Test").glob("*.m"))
        if not ground_truth:
            raise DatasetError(f"{archive}: no ground truth file {PED2}/Test/{PED2}.m")
        truth = parse_ground_truth(ground_truth[0].read_text(errors="replace"))
        return [
            _write_split(
                _clips(root / "Test"),
                output / "ucsd-ped2",
                truth,
                "UCSD Anomaly Detection Dataset, Ped2, test split",
                progress,
            ),
            _write_split(
                _clips(root / "Train"),
                output / "ucsd-ped2-train",
                None,
                "UCSD Anomaly Detection Dataset, Ped2, training split (normal only)",
                progress,
            ),
        ]
