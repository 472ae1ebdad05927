"""Frame sampling at the training frame rate (`prepare-interval`), shared by the live and offline paths."""

from __future__ import annotations

TOLERANCE = 1e-3  # of an interval: float round-off in timestamps never skips a frame that is on time


class FrameSampler:
    """Decides which frames join the segment buffer: one every `interval` seconds.

    `take(time)` is true when `time` (seconds, increasing: a frame's presentation time, or the clock) has
    reached the next sample time; the next sample time is then one interval later, or half an interval
    before `time` when sampling fell behind (after a gap in the frames), so it never tries to make up for
    the gap. The first frame is always taken. With `fps` at or below 1 / `interval` every frame is taken
    (a 10 fps video is used as is, whatever its timestamps' jitter).
    """

    def __init__(self, interval: float, *, fps: float | None = None) -> None:
        self.interval = interval
        self.every_frame = interval <= 0 or (fps is not None and fps * interval <= 1 + TOLERANCE)
        self.next: float | None = None

    def take(self, time: float) -> bool:
        if self.every_frame:
            return True
        if self.next is not None and time < self.next - TOLERANCE * self.interval:
            return False
        previous = time if self.next is None else self.next
        self.next = max(previous + self.interval, time - self.interval / 2)
        return True
