"""Event-clip benchmark: what the pre-roll buffer costs a live camera. For frames of 360x240 and 1920x1080,
measured in one run: the time to keep one frame in the pre-roll (JPEG encoding) against the pump's own work
per frame (RGB conversion and annotation), the memory of the pre-roll against keeping raw frames, and the
time to encode a clip against its length.

Usage: python bench/clips.py [--frames 50]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import av

from harness.videos import write_video
from inferences.annotate import Annotator
from inferences.clips import ClipRecorder


def frames(path: Path, count: int) -> list[av.VideoFrame]:
    with av.open(str(path)) as container:
        return [frame for _, frame in zip(range(count), container.decode(video=0), strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=50, help="frames per size (5 s at clip-fps 10)")
    args = parser.parse_args()
    annotate = Annotator(border=8, prompt="ABNORMAL")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        print("size       keep/pump-work  pre-roll/raw-memory  encode-time/clip-length")
        for width, height in ((360, 240), (1920, 1080)):
            path = work / f"{width}.mp4"
            decoded = frames(
                write_video(path, frames=args.frames, width=width, height=height, noise=6), args.frames
            )
            started = time.perf_counter()
            rgbs = [annotate(frame.to_ndarray(format="rgb24")) for frame in decoded]
            pump = time.perf_counter() - started
            recorder = ClipRecorder(pre_seconds=args.frames, fps=10.0, max_seconds=3600)
            started = time.perf_counter()
            for index, rgb in enumerate(rgbs):
                recorder.offer(index / 10, rgb)
            keep = time.perf_counter() - started
            kept = recorder.pre_roll_bytes()
            raw = sum(rgb.nbytes for rgb in rgbs)
            started = time.perf_counter()
            recorder.begin(work / f"clip-{width}.mp4")
            recorder.join()
            encode = time.perf_counter() - started
            seconds = args.frames / 10
            print(f"{width}x{height:<5}  {keep / pump:14.2f}  {kept / raw:19.3f}  {encode / seconds:23.2f}")


if __name__ == "__main__":
    main()
