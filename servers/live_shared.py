"""What the live cameras' runners (in-process `servers.live`, Ray `servers.execution.ray_cameras`) and the
API share: session states, the API shape of an alert, messages fit to show, subscriber queues."""

from __future__ import annotations

import queue
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

LIVE_STATES = ("starting", "running", "reconnecting")
ENGINE_STATES = {
    "connecting": "starting",
    "running": "running",
    "reconnecting": "reconnecting",
    "stopped": "stopped",
    "failed": "failed",
}
SUBSCRIBER_BACKLOG = 256


def epoch_to_iso(value: float) -> str:
    """Epoch seconds as an ISO 8601 UTC string."""
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def engine_source(source: str) -> str:
    """What the stream engine opens: URLs as they are, `file://` URLs as plain paths."""
    parts = urlsplit(source)
    return unquote(parts.path) if parts.scheme.lower() == "file" else source


def alert_to_api(alert: dict[str, Any]) -> dict[str, Any]:
    """The API shape of an alert (with its snapshot URL, and its clip URL when it has an event clip; none
    for what retention removed)."""
    base = f"/api/sessions/{alert['session_id']}/alerts/{alert['id']}"
    removed = set((alert.get("removed") or {}).get("files", []))
    urls = {
        "snapshot_url": None if "snapshot" in removed else f"{base}/snapshot",
        "clip_url": f"{base}/clip" if alert.get("clip") and "clip" not in removed else None,
    }
    return {**alert, **urls}


# What the network said when a source failed ("(Connection refused)", "(... 401 Unauthorized)"): shown to
# nobody, so stored errors and state events cannot tell an open port from a closed one.
SOURCE_DETAIL = re.compile(r"(?<=cannot open|stream lost) \([^)]*\)")


def offer(subscriber: queue.Queue, item: Any) -> None:
    """Queue `item` without blocking: a slow reader's full queue loses its oldest event instead."""
    try:
        subscriber.put_nowait(item)
    except queue.Full:
        try:
            subscriber.get_nowait()
            subscriber.put_nowait(item)
        except (queue.Empty, queue.Full):
            pass


def min_calibrate_minutes(inference_config: Any) -> float:
    """The shortest calibration: the minimum normal segments of a profile at the configured rate."""
    from inferences.profile import MIN_SEGMENTS

    return MIN_SEGMENTS * inference_config.segment_length * inference_config.prepare_interval / 60
