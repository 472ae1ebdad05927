"""Event clips of a live stream: a pre-roll buffer of the newest published frames (JPEG, bounded) and the
MP4 writer that turns timestamped frames into an H.264 fast-start file (also the stream recorder's)."""

from __future__ import annotations

import collections
import io
import logging
import queue
import threading
import time
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from inferences.atomic import atomic_path
from inferences.video import VideoWriter

log = logging.getLogger("inferences")
CLIP_QUEUE = 256  # frames waiting for a clip's encoder; more are dropped (logged), never a backlog


def encode_jpeg(rgb: np.ndarray, quality: int = 80) -> bytes:
    """JPEG bytes of an RGB uint8 frame."""
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


class TimedVideo:
    """An MP4 (H.264, fast-start) of frames stamped in seconds: opened at the first frame (its size), each
    frame shown from its stamp (millisecond time base; a stamp not after the last one is nudged 1 ms)."""

    def __init__(self, path: Path, rate: float) -> None:
        self.path = path
        self.rate = rate
        self.writer: VideoWriter | None = None
        self._start = 0.0
        self._last: int | None = None

    def write(self, stamp: float, rgb: np.ndarray) -> None:
        """Encode one RGB frame shown at `stamp`."""
        if self.writer is None:
            height, width = rgb.shape[:2]
            self.writer = VideoWriter(
                self.path, width=width, height=height, rate=self.rate, time_base=Fraction(1, 1000)
            )
            self._start = stamp
        pts = round((stamp - self._start) * 1000)
        if self._last is not None and pts <= self._last:
            pts = self._last + 1
        self.writer.write(rgb, pts=pts)
        self._last = pts

    def close(self) -> int:
        """Finish the file; how many frames it holds (0: nothing was written, no file)."""
        if self.writer is None:
            return 0
        self.writer.close()
        return self.writer.count


class ClipRecorder:
    """Keeps the last `pre_seconds` of frames offered to it (at most `fps` a second, as JPEG: memory stays
    small for large frames) and records one clip at a time: `begin(path)` starts from that pre-roll, every
    later frame follows until `end()` or `max_seconds` after the clip's first frame. A background thread
    encodes each clip beside `path` and puts it there when complete (`inferences.atomic`), then calls
    `on_written(path)`."""

    def __init__(
        self,
        *,
        pre_seconds: float,
        fps: float,
        max_seconds: float,
        on_written: Callable[[Path], None] | None = None,
    ) -> None:
        self.pre_seconds = pre_seconds
        self.interval = 1.0 / fps
        self.fps = fps
        self.max_seconds = max_seconds
        self.on_written = on_written
        self._ring: collections.deque[tuple[float, bytes]] = collections.deque()
        self._lock = threading.Lock()
        self._clip: queue.Queue | None = None
        self._clip_start = 0.0
        self._last_offer = -float("inf")
        self._threads: list[threading.Thread] = []

    def offer(self, stamp: float, rgb: np.ndarray) -> None:
        """A published frame at epoch `stamp`; kept when at least 1/fps after the previous one kept."""
        if stamp - self._last_offer < self.interval * 0.95:
            return
        self._last_offer = stamp
        item = (stamp, encode_jpeg(rgb, quality=85))
        with self._lock:
            self._ring.append(item)
            while self._ring and self._ring[0][0] < stamp - self.pre_seconds:
                self._ring.popleft()
            clip = self._clip
            if clip is not None and stamp - self._clip_start > self.max_seconds:
                self._clip = None
                clip.put(None)
                return
        if clip is not None:
            try:
                clip.put_nowait(item)
            except queue.Full:
                log.warning("clip %s: the encoder is behind; frame dropped", clip)

    def pre_roll_bytes(self) -> int:
        """The memory the pre-roll's JPEG frames take now."""
        with self._lock:
            return sum(len(jpeg) for _, jpeg in self._ring)

    def begin(self, path: Path) -> None:
        """Start a clip at `path` with the pre-roll; an unfinished clip is ended first."""
        self.end()
        with self._lock:
            pre_roll = list(self._ring)
            clip: queue.Queue = queue.Queue(len(pre_roll) + CLIP_QUEUE)
            for item in pre_roll:
                clip.put_nowait(item)
            self._clip_start = pre_roll[0][0] if pre_roll else time.time()
            self._clip = clip
        thread = threading.Thread(target=self._encode, args=(path, clip), name="stream-clip", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def end(self) -> None:
        """End the clip being recorded (its file is finished in the background)."""
        with self._lock:
            clip, self._clip = self._clip, None
        if clip is not None:
            clip.put(None)

    def join(self, timeout: float | None = None) -> None:
        """End the clip and wait for the encoders to finish their files."""
        self.end()
        for thread in self._threads:
            thread.join(timeout)

    def _encode(self, path: Path, clip: queue.Queue) -> None:
        try:
            with atomic_path(path) as partial:
                video = TimedVideo(partial, self.fps)
                while (item := clip.get()) is not None:
                    with Image.open(io.BytesIO(item[1])) as image:
                        video.write(item[0], np.asarray(image.convert("RGB")))
                if not video.close():
                    raise _NoFrames
            if self.on_written is not None:
                self.on_written(path)
        except _NoFrames:
            log.info("clip %s: no frame arrived; no file", path)
        except Exception:
            log.exception("clip %s: cannot be written", path)


class _NoFrames(Exception):
    """A clip ended before its first frame (nothing to write)."""
