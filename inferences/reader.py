"""The live reader thread's job: open a source, decode it, reconnect, and cut it into segments.

A file is paced to its timestamps; a lost network source reconnects with exponential backoff (state
`reconnecting`). Sampled frames go into segments by the engine's one segmenting path
(`inferences.segments`: a frame every `prepare-interval`, by presentation time for a file as offline
detection does, by the clock for a live source; a segment never spans a reconnection). With a category
model, the raw frames at `category_positions` of each segment travel with it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import av
import numpy as np

from inferences.config import InferenceConfig
from inferences.sampling import FrameSampler
from inferences.segments import Segment, Segmenter, frame_time
from inferences.sources import NetworkPolicy, Source, StreamError, open_arguments
from inferences.video import stream_rate


def open_stream(
    source: Source, policy: NetworkPolicy, config: InferenceConfig
) -> av.container.InputContainer:
    """Open `source` (its network policy checked on every connection); StreamError when it cannot be
    opened, has no video or announces frames over `max-frame-pixels`."""
    url, options = open_arguments(source, policy)
    timeout = config.open_timeout
    try:
        container = av.open(url, format=source.format, options=options, timeout=(timeout, timeout))
    except (av.FFmpegError, OSError) as error:
        reason = getattr(error, "strerror", None) or str(error)  # the text without the URL again
        raise StreamError(f"stream source {source.url!r}: cannot open ({reason})") from None
    if not container.streams.video:
        container.close()
        raise StreamError(f"stream source {source.url!r}: no video stream")
    stream = container.streams.video[0]
    if stream.width * stream.height > config.max_frame_pixels:  # from the headers, before decoding
        container.close()
        raise StreamError(
            f"stream source {source.url!r}: frames of {stream.width}x{stream.height} exceed "
            f"max-frame-pixels ({config.max_frame_pixels})"
        )
    stream.thread_type = "AUTO"
    return container


class StreamReader:
    """Reads one source until `stop` is set (or a file ends); reports through the callbacks: `set_state`,
    `on_frame(frame, arrival)` for every decoded frame, `on_segment(segment, samples)` for every full
    segment, `on_object_frame(frame)` for an object frame of a segment still filling, `on_offline()` when
    the source went away."""

    def __init__(
        self,
        config: InferenceConfig,
        source: Source,
        network_policy: NetworkPolicy,
        segmenter: Segmenter,
        category_positions: frozenset[int],
        stop: threading.Event,
        *,
        set_state: Callable[[str, str], None],
        on_frame: Callable[[av.VideoFrame, float], None],
        on_segment: Callable[[Segment, list[np.ndarray]], None],
        on_object_frame: Callable[[np.ndarray], None],
        on_offline: Callable[[], None],
    ) -> None:
        self.config = config
        self.source = source
        self.network_policy = network_policy
        self.segmenter = segmenter
        self.category_positions = category_positions
        self.stop = stop
        self.set_state = set_state
        self.on_frame = on_frame
        self.on_segment = on_segment
        self.on_object_frame = on_object_frame
        self.on_offline = on_offline
        self.delivered = 0  # frames decoded from the current connection

    def open(self) -> av.container.InputContainer:
        """Open the source (StreamError when it cannot be opened)."""
        return open_stream(self.source, self.network_policy, self.config)

    def run(self, container: av.container.InputContainer | None, reason: str = "") -> None:
        """Read, and reconnect with exponential backoff; only a connection that delivered frames resets the
        backoff (a source that accepts and then drops is retried ever more slowly, up to the maximum).
        Without a `container` (the first open failed for `reason`), it starts by reconnecting."""
        delay = self.config.reconnect_delay
        while not self.stop.is_set():
            if container is not None:
                self.delivered = 0
                try:
                    self._read(container)
                    reason = "stream ended"
                except (av.FFmpegError, OSError) as error:
                    reason = f"stream lost ({error})"
                finally:
                    container.close()
                if self.delivered:
                    delay = self.config.reconnect_delay
                if self.stop.is_set():
                    break
                if self.source.kind == "file":
                    self.set_state("stopped", f"end of file {self.source.url}")
                    self.stop.set()
                    return
                self.on_offline()
            container = None
            while True:
                self.set_state("reconnecting", f"{reason}; retrying in {delay:g}s")
                if self._wait(delay):
                    break
                try:
                    container = self.open()
                except StreamError as error:
                    reason = str(error)
                    delay = min(delay * 2, self.config.reconnect_max_delay)
                    continue
                delay = min(delay * 2, self.config.reconnect_max_delay)  # unless this one delivers frames
                self.set_state("running", f"reconnected to {self.source.url}")
                break
        self.set_state("stopped", "stopped")

    def _wait(self, seconds: float) -> bool:
        """Sleep unless stopped; True when stopped."""
        return self.stop.wait(max(0.0, seconds))

    def _read(self, container: av.container.InputContainer) -> None:
        """Decode, hand on every frame, and cut sampled frames into segments (the one segmenting path: a
        file is sampled by presentation time like offline detection, a live source by the clock)."""
        paced = self.source.kind == "file"
        start_wall = start_pts = None
        rate = stream_rate(container.streams.video[0]) if paced else None
        fps = float(rate) if rate else None
        sampler = FrameSampler(self.config.prepare_interval, fps=fps)
        segmenter = self.segmenter
        segmenter.reset()
        samples: list[np.ndarray] = []  # raw frames of the current segment for the category classifier
        for index, frame in enumerate(container.decode(video=0)):
            if self.stop.is_set():
                return
            if paced and frame.time is not None:
                if start_wall is None:
                    start_wall, start_pts = time.monotonic(), frame.time
                if self._wait(start_wall + (frame.time - start_pts) - time.monotonic()):
                    return
            self.delivered += 1
            arrival = time.time()
            clock = frame_time(frame, index, fps or 25.0) if paced else time.monotonic()
            if sampler.take(clock):  # before publishing: PyAV frames must not be converted in two threads
                if segmenter.position in self.category_positions:
                    samples.append(frame.to_ndarray(format="rgb24"))
                pending = len(segmenter.pending_objects)
                segment = segmenter.add(frame, index, arrival)
                if segment is not None:
                    self.on_segment(segment, samples)
                    samples = []
                elif len(segmenter.pending_objects) > pending:  # scored ahead by the inference thread
                    self.on_object_frame(segmenter.pending_objects[-1])
            self.on_frame(frame, arrival)
        if paced:  # the end of a file: its last, partial segment is scored as offline detection scores it
            segment = segmenter.flush()
            if segment is not None:
                self.on_segment(segment, samples)
