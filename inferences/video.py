"""Video files with PyAV (FFmpeg): probing, streaming frame iteration, H.264 MP4 writing and copying."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from inferences.errors import SurveillanceError


class VideoError(SurveillanceError):
    """A video file is missing, empty, not a video, or cannot be decoded; the message names the file."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file holds; `frames` is the container's count (or duration x fps when it has none)."""

    path: Path
    fps: float
    frames: int
    width: int
    height: int
    duration: float
    codec: str
    rate: Fraction
    pixel_format: str = ""
    container: str = ""
    start: float = 0.0  # the first frame's time, seconds
    constant_rate: bool = False  # the container counts as many frames as duration x rate

    @property
    def copyable(self) -> bool:
        """Whether its video stream goes into an H.264 MP4 as it is, without re-encoding (`copy_video`), and
        plays frame i at i / rate as an encoded result does: H.264, 8-bit 4:2:0, even size, from an MP4/MOV
        file, starting at 0, at a constant rate."""
        return (
            self.codec == "h264"
            and self.pixel_format == "yuv420p"
            and (self.width, self.height) == even_size(self.width, self.height)
            and "mp4" in self.container.split(",")
            and self.start == 0.0
            and self.constant_rate
        )


def _error(path: Path, error: Exception) -> VideoError:
    message = getattr(error, "strerror", None) or str(error)
    return VideoError(f"{path}: not a readable video ({message})")


def _open(path: Path) -> av.container.InputContainer:
    if not path.exists():
        raise VideoError(f"{path}: file not found")
    if not path.is_file():
        raise VideoError(f"{path}: not a file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: empty file (0 bytes)")
    try:
        container = av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, UnicodeDecodeError) as error:
        raise _error(path, error) from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{path}: no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return container


def stream_rate(stream: av.video.stream.VideoStream) -> Fraction | None:
    """The frame rate a stream declares (average, guessed or base rate), or None."""
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and 0 < rate < 1000:
            return Fraction(rate)
    return None


def open_video(path: str | Path) -> VideoInfo:
    """Probe a video and decode its first frame; VideoError when it is not a decodable video."""
    path = Path(path)
    container = _open(path)
    with container:
        stream = container.streams.video[0]
        rate = stream_rate(stream)
        if rate is None:
            raise VideoError(f"{path}: the video stream has no frame rate")
        first = next(_decode(container, path), None)
        if first is None:
            raise VideoError(f"{path}: no decodable video frames (truncated or corrupt file?)")
        if stream.duration and stream.time_base:
            duration = float(stream.duration * stream.time_base)
        elif container.duration:
            duration = container.duration / av.time_base
        else:
            duration = 0.0
        frames = stream.frames or max(1, round(duration * rate))
        return VideoInfo(
            path=path,
            fps=float(rate),
            frames=frames,
            width=first.width,
            height=first.height,
            duration=duration or frames / float(rate),
            codec=stream.codec_context.name,
            rate=rate,
            pixel_format=first.format.name,
            container=container.format.name,
            start=float(first.time or 0.0),
            constant_rate=bool(stream.frames) and abs(stream.frames - duration * rate) <= 1,
        )


def _decode(container: av.container.InputContainer, path: Path) -> Iterator[av.VideoFrame]:
    count = 0
    try:
        for frame in container.decode(video=0):
            count += 1
            yield frame
    except (av.FFmpegError, OSError) as error:
        if count == 0:
            raise _error(path, error) from None
        raise VideoError(f"{path}: decoding failed after frame {count} ({error})") from None


def iter_video_frames(path: str | Path) -> Iterator[av.VideoFrame]:
    """Decoded PyAV frames of the first video stream, one at a time (memory stays flat)."""
    path = Path(path)
    with _open(path) as container:
        yield from _decode(container, path)


def iter_frames(path: str | Path) -> Iterator[np.ndarray]:
    """RGB uint8 frames (H, W, 3) of a video file, one at a time."""
    for frame in iter_video_frames(path):
        yield frame.to_ndarray(format="rgb24")


def even_size(width: int, height: int) -> tuple[int, int]:
    """The encoded size of a `width` x `height` video: each rounded up to even (yuv420p needs it)."""
    return width + width % 2, height + height % 2


def copy_video(source: str | Path, output: str | Path) -> None:
    """Write the first video stream of `source` into an MP4 at `output` as it is (packets copied, index at
    the front); for a `VideoInfo.copyable` source."""
    source = Path(source)
    with (
        _open(source) as container,
        av.open(str(output), mode="w", format="mp4", options={"movflags": "+faststart"}) as target,
    ):
        stream = container.streams.video[0]
        copy = target.add_stream_from_template(stream)
        for packet in container.demux(stream):
            if packet.dts is None:  # the demuxer's flush packet
                continue
            packet.stream = copy
            target.mux(packet)


class VideoWriter:
    """H.264 (yuv420p) MP4 writer with the index at the front (`movflags=+faststart`); `crf` and `preset`
    are x264's (a faster preset costs less CPU for a larger file at the same quality).

    Frames are numbered in order at a constant `rate`; odd sizes are scaled to the next even size
    (yuv420p needs even dimensions).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        width: int,
        height: int,
        rate: Fraction | float,
        time_base: Fraction | None = None,
        crf: int = 23,
        preset: str = "veryfast",
    ) -> None:
        self.path = Path(path)
        self.container = av.open(str(self.path), mode="w", format="mp4", options={"movflags": "+faststart"})
        rate = Fraction(rate).limit_denominator(100_000)
        self.stream = self.container.add_stream("libx264", rate=rate)
        self.stream.width, self.stream.height = even_size(width, height)
        self.stream.pix_fmt = "yuv420p"
        self.stream.options = {"preset": preset, "crf": str(crf)}
        self.stream.codec_context.time_base = time_base or 1 / rate
        self.time_base = self.stream.codec_context.time_base
        self.count = 0

    def write(self, frame: av.VideoFrame | np.ndarray, pts: int | None = None) -> None:
        """Encode one frame (PyAV frame or RGB uint8 array); `pts` in `time_base` units, default its index."""
        if isinstance(frame, np.ndarray):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
        if (frame.width, frame.height, frame.format.name) != (
            self.stream.width,
            self.stream.height,
            "yuv420p",
        ):
            frame = frame.reformat(width=self.stream.width, height=self.stream.height, format="yuv420p")
        frame.pts = self.count if pts is None else pts
        frame.time_base = self.time_base
        self.container.mux(self.stream.encode(frame))
        self.count += 1

    def close(self) -> None:
        """Flush the encoder and finish the file."""
        try:
            self.container.mux(self.stream.encode(None))
        finally:
            self.container.close()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
