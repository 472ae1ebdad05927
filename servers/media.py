"""Transcoding uploads with PyAV (checked before by decoding, `inferences.video.open_video`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
from PIL import Image

from inferences.atomic import atomic_path
from inferences.errors import SurveillanceError
from inferences.video import VideoWriter, stream_rate


class MediaError(SurveillanceError):
    """A file is not a decodable video (or an image cannot be written)."""


class TranscodeCancelled(RuntimeError):
    """The transcode was cancelled (its video was deleted)."""


# The longest gap between two input frames that repeating the earlier one fills; a longer gap (a file that
# declares hours around a few frames) is skipped, so the output stays proportional to the real input.
MAX_GAP_SECONDS = 2.0


def check_frame_size(path: Path, max_pixels: int) -> None:
    """MediaError when a video stream declares frames of more than `max_pixels` pixels (read from the
    headers, before any frame is decoded: a small file can declare frames that take gigabytes)."""
    try:
        with av.open(str(path)) as container:
            sizes = [(stream.width, stream.height) for stream in container.streams.video]
    except (av.error.FFmpegError, ValueError, OSError):
        return  # not a readable container: the decoding check names the problem
    for width, height in sizes:
        if width * height > max_pixels:
            raise MediaError(
                f"frames of {width}x{height} pixels are larger than the server accepts ({max_pixels})"
            )


def stored_size(width: int, height: int, max_width: int, max_height: int) -> tuple[int, int]:
    """The size a `width` x `height` video is stored at: the same aspect ratio, scaled down (never up) to fit
    `max_width` x `max_height`, each side even (yuv420p) and at least 2."""
    scale = min(1.0, max_width / width, max_height / height)
    return max(2, int(width * scale) // 2 * 2), max(2, int(height * scale) // 2 * 2)


def stored_rate(rate: Fraction | None, max_fps: float) -> Fraction:
    """The frame rate a video is stored at: its own, at most `max_fps` (which an unknown rate gets)."""
    cap = Fraction(max_fps).limit_denominator(1000)
    return cap if rate is None or rate <= 0 or rate > cap else rate


def transcode(
    source: Path,
    target: Path,
    *,
    max_fps: float,
    max_width: int,
    max_height: int,
    cover: Path,
    cover_size: tuple[int, int],
    max_pixels: int,
    progress: Callable[[float], None] | None = None,
    cancel: threading.Event | None = None,
) -> int:
    """Re-encode `source` as H.264 MP4 as recorded: its size and aspect ratio within `max_width` x
    `max_height` (`stored_size`), its frame rate up to `max_fps` (`stored_rate`; frames dropped or repeated
    to keep time); writes the first frame as the cover. Returns the frame count. MediaError for bad input,
    frames of more than `max_pixels` included (the decoder refuses them before allocating them)."""
    try:
        with atomic_path(target) as partial, av.open(str(source), mode="r") as container:
            if not container.streams.video:
                raise MediaError("the file has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            stream.codec_context.options = {"max_pixels": str(max_pixels)}
            if not stream.width or not stream.height:
                raise MediaError("the video stream declares no frame size")
            out_rate = stored_rate(stream_rate(stream), max_fps)
            rate = float(stream.average_rate or 0) or float(out_rate)
            reach = min(0.5 / rate, MAX_GAP_SECONDS / 2)  # how far past its time a frame may be repeated
            expected = stream.frames or 0
            width, height = stored_size(stream.width, stream.height, max_width, max_height)
            step, next_time, start = 1.0 / float(out_rate), 0.0, None
            with VideoWriter(partial, width=width, height=height, rate=out_rate, crf=20) as writer:
                for index, frame in enumerate(container.decode(stream)):
                    if cancel is not None and cancel.is_set():
                        raise TranscodeCancelled("cancelled")
                    time = float(frame.time) if frame.time is not None else index / rate
                    start = time if start is None else start
                    time -= start
                    if index == 0:
                        frame.to_image().resize(cover_size).save(cover, "JPEG", quality=85)
                    next_time = max(next_time, time - MAX_GAP_SECONDS)
                    while next_time <= time + reach:
                        if cancel is not None and cancel.is_set():
                            raise TranscodeCancelled("cancelled")
                        writer.write(frame)
                        next_time += step
                    if progress is not None and expected and index % 10 == 9:
                        progress(min(1.0, (index + 1) / expected))
                if writer.count == 0:
                    raise MediaError("the video stream has no decodable frame")
    except (MediaError, TranscodeCancelled):
        raise
    except (av.error.FFmpegError, ValueError, OSError) as error:
        raise MediaError(f"the video cannot be decoded ({type(error).__name__}: {error})") from None
    return writer.count


def resize_jpeg(source: Path, target: Path, size: tuple[int, int]) -> None:
    """Write `source` image resized to `size` as JPEG at `target` (atomically)."""
    with atomic_path(target) as partial, Image.open(source) as image:
        image.convert("RGB").resize(size).save(partial, "JPEG", quality=85)
