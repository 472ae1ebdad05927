"""One notification channel: a bounded queue and a sender thread that delivers to one target, retrying
with a growing delay, so that a target that is down never blocks the detector that queued the event."""

from __future__ import annotations

import collections
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from servers.notify.config import NotifyConfig
from servers.redaction import redact
from servers.storage.repositories import utc_now

log = logging.getLogger("servers.notify")


class DeliveryError(Exception):
    """A target could not take an event (the message says why, without credentials)."""


@dataclass(frozen=True)
class Notification:
    """One event for the channels: `kind` (alert-start, alert-end), the camera, the JSON payload, and the
    delivery id (the same across retries, so receivers can drop duplicates)."""

    kind: str
    session_id: str
    delivery_id: str
    payload: dict[str, Any]
    created: float = field(default_factory=time.monotonic)


class Target(Protocol):
    """Where a channel delivers: an MQTT broker or a webhook URL."""

    name: str

    def deliver(self, notification: Notification, timeout: float) -> None:
        """Deliver one event or raise DeliveryError."""

    def close(self) -> None:
        """Let go of connections."""


class Channel:
    """A bounded queue of events for one target and the thread that sends them in order. When the queue
    is full the oldest waiting event is dropped; an event that cannot be delivered is retried after
    `retry-delay`, doubling up to `retry-max-delay`, until it is older than `event-max-age` (dropped)."""

    def __init__(self, target: Target, config: NotifyConfig) -> None:
        self.target = target
        self._config = config
        self._pending: collections.deque[Notification] = collections.deque()
        self._condition = threading.Condition()
        self._closing = False
        self._stopping = threading.Event()  # wakes a retry's wait at close (offers do not)
        self._counts = {"sent": 0, "failed": 0, "dropped": 0}
        self._in_flight = False
        self._last_error: str | None = None
        self._last_sent_at: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"notify {target.name}", daemon=True)
        self._thread.start()

    def offer(self, notification: Notification) -> None:
        """Queue an event without blocking."""
        with self._condition:
            if self._closing:
                self._drop(notification, "the server is stopping")
                return
            if len(self._pending) >= self._config.queue_max:
                self._drop(self._pending.popleft(), "the queue is full")
            self._pending.append(notification)
            self._condition.notify()

    def status(self) -> dict[str, Any]:
        """Counts of sent, failed attempts, dropped and pending events; the last error and success."""
        with self._condition:
            pending = len(self._pending) + int(self._in_flight)
            return {
                "target": self.target.name,
                **self._counts,
                "pending": pending,
                "last_error": self._last_error,
                "last_sent_at": self._last_sent_at,
            }

    def close(self, timeout: float) -> None:
        """Send what is queued while the target takes it (within `timeout`), drop the rest, disconnect."""
        with self._condition:
            self._closing = True
            self._condition.notify_all()
        self._stopping.set()
        self._thread.join(timeout)
        with self._condition:
            left, self._pending = len(self._pending), collections.deque()
            self._counts["dropped"] += left
        if left:
            log.warning("%s: dropped %d waiting events: the server stopped", self.target.name, left)
        self.target.close()

    def _drop(self, notification: Notification, reason: str) -> None:
        """Count and log a lost event (the caller holds the condition)."""
        self._counts["dropped"] += 1
        log.warning(
            "%s: dropped %s of camera %s: %s",
            self.target.name,
            notification.kind,
            notification.session_id,
            reason,
        )

    def _next(self) -> Notification | None:
        with self._condition:
            while not self._pending and not self._closing:
                self._condition.wait()
            if not self._pending:
                return None
            self._in_flight = True
            return self._pending.popleft()

    def _run(self) -> None:
        while (notification := self._next()) is not None:
            delivered = self._send(notification)
            with self._condition:
                self._in_flight = False
                if not delivered and self._closing:
                    return  # the target is down at shutdown: close() drops what waits, at once

    def _send(self, notification: Notification) -> bool:
        """Deliver one event, retrying with backoff; whether it was delivered (else dropped)."""
        delay = self._config.retry_delay
        while True:
            if time.monotonic() - notification.created > self._config.event_max_age:
                with self._condition:
                    self._drop(notification, f"undelivered for {self._config.event_max_age:g} s")
                return False
            try:
                self.target.deliver(notification, self._config.timeout)
            except DeliveryError as error:
                message = redact(str(error))
                with self._condition:
                    self._counts["failed"] += 1
                    self._last_error = message
                    if self._closing:
                        self._drop(notification, f"{message} (the server is stopping)")
                        return False
                log.warning("%s: %s; retrying in %g s", self.target.name, message, delay)
                self._stopping.wait(delay)
                delay = min(delay * 2, self._config.retry_max_delay)
                continue
            with self._condition:
                self._counts["sent"] += 1
                self._last_sent_at = utc_now()
            return True
