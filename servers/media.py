"""Video checks and transcoding with PyAV (uploads are judged by decoding them, not by their names)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image


class MediaError(ValueError):
    """A file is not a decodable video (or an image cannot be written)."""


class TranscodeCancelled(RuntimeError):
    """The transcode was cancelled (its record was deleted)."""


@dataclass(frozen=True)
class ProbedVideo:
    """What the upload check learned from decoding."""

    width: int
    height: int
    fps: float
    frames: int
    duration: float
    codec: str


def probe_video(path: Path) -> ProbedVideo:
    """Open `path` and decode its first video frame; MediaError naming the problem otherwise."""
    try:
        with av.open(str(path), mode="r", timeout=10) as container:
            if not container.streams.video:
                raise MediaError("the file has no video stream")
            stream = container.streams.video[0]
            frame = next(container.decode(stream), None)
            if frame is None:
                raise MediaError("the video stream has no decodable frame")
            rate = float(stream.average_rate or stream.base_rate or 0) or 0.0
            duration = (
                float(stream.duration * stream.time_base)
                if stream.duration and stream.time_base
                else (container.duration / av.time_base if container.duration else 0.0)
            )
            frames = stream.frames or round(duration * rate)
            return ProbedVideo(
                width=frame.width,
                height=frame.height,
                fps=rate,
                frames=int(frames),
                duration=duration,
                codec=stream.codec_context.name,
            )
    except MediaError:
        raise
    except (av.error.FFmpegError, StopIteration, ValueError, OSError, UnicodeDecodeError) as error:
        # FFmpeg's and the OS's messages name the server's temporary file: keep only the reason
        reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
        raise MediaError(f"the file is not a decodable video ({reason})") from None


def transcode(
    source: Path,
    target: Path,
    *,
    fps: float,
    width: int,
    height: int,
    cover: Path,
    cover_size: tuple[int, int],
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Re-encode `source` as H.264 MP4 at `fps` and `width`x`height` (frames dropped or repeated to keep
    time); writes the first frame as the cover. Returns the frame count. MediaError for bad input."""
    partial = target.with_name(target.name + ".part")
    written = 0
    try:
        with (
            av.open(str(source), mode="r") as container,
            av.open(str(partial), mode="w", format="mp4") as output,
        ):
            if not container.streams.video:
                raise MediaError("the file has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            rate = float(stream.average_rate or 0) or fps
            expected = stream.frames or 0
            out_rate = Fraction(fps).limit_denominator(1000)
            encoder = output.add_stream("libx264", rate=out_rate)
            encoder.width, encoder.height, encoder.pix_fmt = width, height, "yuv420p"
            encoder.options = {"preset": "veryfast", "crf": "20"}
            step, next_time, start = 1.0 / fps, 0.0, None
            for index, frame in enumerate(container.decode(stream)):
                if cancel is not None and cancel.is_set():
                    raise TranscodeCancelled("cancelled")
                time = float(frame.time) if frame.time is not None else index / rate
                start = time if start is None else start
                time -= start
                if index == 0:
                    frame.to_image().resize(cover_size).save(cover, "JPEG", quality=85)
                while next_time <= time + 0.5 / rate:
                    image = frame.reformat(width=width, height=height, format="yuv420p")
                    image.pts = written
                    output.mux(encoder.encode(image))
                    written += 1
                    next_time += step
                if progress is not None and expected and index % 10 == 9:
                    progress(min(1.0, (index + 1) / expected))
            if written == 0:
                raise MediaError("the video stream has no decodable frame")
            output.mux(encoder.encode(None))
    except (MediaError, TranscodeCancelled):
        partial.unlink(missing_ok=True)
        raise
    except (av.error.FFmpegError, ValueError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise MediaError(f"the video cannot be decoded ({type(error).__name__}: {error})") from None
    os.replace(partial, target)
    return written


def resize_jpeg(source: Path, target: Path, size: tuple[int, int]) -> None:
    """Write `source` image resized to `size` as JPEG at `target` (atomically)."""
    partial = target.with_name(target.name + ".part")
    with Image.open(source) as image:
        image.convert("RGB").resize(size).save(partial, "JPEG", quality=85)
    os.replace(partial, target)
