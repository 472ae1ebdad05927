"""Scores on footage the shipped detector and profile never saw, uncalibrated (the video's own running
statistics), as a new user's first upload would get them.

    python bench/unseen.py

Three videos are made with ffmpeg from real clips and scored by the default `VideoDetector` with no scene
profile: 2 minutes of normal walkway (Ped2 training clips 1-8 joined), the same camera's normal clips 9-12
followed by two clips with cyclists (Test002, Test005), and 40 s of generated gradient + noise (nothing like
a camera). Prints, per video, the peak score, the share of frames at or above the threshold and the intervals
with their causes; for the second, the labelled abnormal span too.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import av
import numpy as np

from inferences.config import load_inference_config
from inferences.explain import summary
from inferences.offline import VideoDetector
from inferences.paths import SHARED_DATA

TRAIN, TEST = SHARED_DATA / "ucsd-ped2-train", SHARED_DATA / "ucsd-ped2"


def joined(paths: list[Path], output: Path) -> Path:
    """The clips one after another (ffmpeg's concat demuxer, streams copied)."""
    listing = output.with_suffix(".txt")
    listing.write_text("".join(f"file '{path}'\n" for path in paths))
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "concat",
            "-safe",
            "0",
            "-i",
            str(listing),
            "-c",
            "copy",
            str(output),
        ],
        check=True,
    )
    return output


def generated(output: Path, seconds: float, rate: int = 25) -> Path:
    """A moving gradient with noise, 640x360."""
    rng = np.random.default_rng(0)
    x = np.linspace(0, 255, 640, dtype=np.float32)[None, :, None]
    with av.open(str(output), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = 640, 360, "yuv420p"
        for i in range(round(seconds * rate)):
            image = np.clip((x + 7 * i) % 256 + rng.integers(0, 7, (360, 640, 3)), 0, 255).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    return output


def abnormal_span(offset_frames: int, fps: float) -> list[tuple[float, float]]:
    """The labelled abnormal seconds of Test002 and Test005 after `offset_frames` normal frames."""
    labels = {v["video"]: v for v in json.loads((TEST / "labels.json").read_text())["videos"]}
    spans, offset = [], offset_frames
    for name in ("Test002.mp4", "Test005.mp4"):
        for start, end in labels[name]["anomaly_intervals"]:
            spans.append(((offset + start - 1) / fps, (offset + end) / fps))
        offset += labels[name]["frames"]
    return spans


def main() -> int:
    detector = VideoDetector(load_inference_config())
    threshold = detector.config.anomaly_threshold
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        normal = [TRAIN / f"Train{i:03d}.mp4" for i in range(1, 13)]
        videos = {
            "normal walkway, 2 min": joined(normal[:8], work / "normal.mp4"),
            "normal walkway then cyclists": joined(
                [*normal[8:], TEST / "Test002.mp4", TEST / "Test005.mp4"], work / "cyclists.mp4"
            ),
            "generated gradient + noise, 40 s": generated(work / "generated.mp4", 40),
        }
        normal_frames = sum(av.open(str(p)).streams.video[0].frames for p in normal[8:])
        for name, path in videos.items():
            result = detector.detect(path, output_path=work / "out.mp4", cover_path=work / "out.jpg")
            flagged = float(np.mean(np.asarray(result.scores) >= threshold))
            print(f"{name}: peak {result.peak_score:.3f}, {100 * flagged:.1f}% of frames flagged")
            for interval in result.intervals:
                print(
                    f"  abnormal {interval.start_time:.1f}-{interval.end_time:.1f} s, peak "
                    f"{interval.peak_score:.3f}, cause: {summary(interval.causes or [])}"
                )
            if name == "normal walkway then cyclists":
                truth = ", ".join(f"{a:.1f}-{b:.1f} s" for a, b in abnormal_span(normal_frames, result.fps))
                print(f"  labelled abnormal: {truth}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
