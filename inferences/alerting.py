"""When a live score series opens and closes alerts: threshold, minimum duration, cooldown."""

from __future__ import annotations


class AlertGate:
    """An alert opens once the score has stayed at or above `threshold` for `min_duration` seconds (0: at
    the first such score), closes at the first score below it, and none opens within `cooldown` seconds of
    the previous one's end. Times are the scores' own (epoch seconds)."""

    def __init__(self, threshold: float, *, min_duration: float = 0.0, cooldown: float = 0.0) -> None:
        self.threshold = threshold
        self.min_duration = min_duration
        self.cooldown = cooldown
        self.above_since: float | None = None
        self.opened: float | None = None  # the open alert's start
        self.peak = 0.0
        self.ended: float | None = None

    @property
    def open(self) -> bool:
        """Whether an alert is open."""
        return self.opened is not None

    def update(self, time: float, score: float) -> str | None:
        """Take the next score: "start" when it opens an alert, "end" when it closes one, else None."""
        if score < self.threshold:
            self.above_since = None
            if self.opened is None:
                return None
            self.opened, self.ended = None, time
            return "end"
        if self.opened is not None:
            self.peak = max(self.peak, score)
            return None
        if self.above_since is None:
            self.above_since = time
        cooling = self.ended is not None and time - self.ended < self.cooldown
        if time - self.above_since < self.min_duration or cooling:
            return None
        self.opened, self.peak = time, score
        return "start"

    def interrupt(self) -> bool:
        """The source went away: forget the scores so far; whether an alert was open (it is closed, and
        no cooldown follows: an anomaly still there when the source is back alerts again)."""
        was_open = self.opened is not None
        self.opened = self.above_since = None
        return was_open
