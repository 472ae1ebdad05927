"""A live session on an ffmpeg-served loopback stream: MJPEG frames, server-sent events, persisted alerts."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pytest
from PIL import Image

from harness.camera import FfmpegStream
from harness.server import ServerProcess, wait_for
from tests.server.live import mjpeg_frames, sse_events
from tests.server.test_api import assert_error


@pytest.fixture
def stream(camera_clip: Path):
    """A fresh loopback camera per test (ffmpeg serves a single client: one per server variant)."""
    feed = FfmpegStream(camera_clip)
    yield feed
    feed.stop()


def test_live_session_frames_events_alerts(server: ServerProcess, stream: FfmpegStream) -> None:
    admin = server.admin()
    created = admin.post("/api/sessions", json={"name": "walkway", "source": stream.url})
    assert created.status_code == 201, created.text
    session = created.json()
    assert session["name"] == "walkway" and session["source"] == stream.url
    assert session["state"] in ("starting", "running")
    session_id = session["id"]

    events: list[tuple[str, dict]] = []
    events_response = admin.get(f"/api/sessions/{session_id}/events", stream=True, timeout=(5, 30))
    assert events_response.headers["Content-Type"].startswith("text/event-stream")

    def read_events() -> None:
        for event in sse_events(events_response):
            events.append(event)

    reader = threading.Thread(target=read_events, daemon=True)
    reader.start()

    viewer_frames = admin.get(f"/api/sessions/{session_id}/stream", stream=True, timeout=(5, 30))
    assert viewer_frames.headers["Content-Type"].startswith("multipart/x-mixed-replace")
    frames = mjpeg_frames(viewer_frames, 3)
    viewer_frames.close()
    assert len(frames) == 3
    assert Image.open(io.BytesIO(frames[-1])).size == (360, 240)

    wait_for(lambda: any(name == "alert-start" for name, _ in events), 60, message="an alert-start event")
    wait_for(lambda: any(name == "score" for name, _ in events), 30, message="a score event")
    score = next(data for name, data in events if name == "score")
    assert set(score) == {"time", "score"} and score["time"] > 1e9 and 0 <= score["score"] <= 1
    started = next(data for name, data in events if name == "alert-start")
    assert started["session_id"] == session_id and started["end_time"] is None

    alerts = admin.get(f"/api/sessions/{session_id}/alerts").json()
    assert alerts["total"] >= 1
    alert = alerts["items"][-1]
    assert alert["id"] == started["id"] and alert["snapshot_url"].endswith(f"/alerts/{alert['id']}/snapshot")
    snapshot = admin.get(alert["snapshot_url"])
    assert snapshot.status_code == 200 and snapshot.headers["Content-Type"] == "image/jpeg"
    Image.open(io.BytesIO(snapshot.content)).verify()

    detail = admin.get(f"/api/sessions/{session_id}").json()
    assert detail["state"] == "running" and detail["alerts_count"] >= 1
    assert detail["current_score"] is not None and detail["started_at"]

    stopped = admin.post(f"/api/sessions/{session_id}/stop")
    assert stopped.status_code == 200 and stopped.json()["state"] == "stopped"
    reader.join(15)
    assert not reader.is_alive(), "the event stream ends when the session stops"
    names = [name for name, _ in events]
    assert names[0] == "state" and "alert-end" in names
    closed = admin.get(f"/api/sessions/{session_id}/alerts").json()["items"][-1]
    assert closed["end_time"] is not None, "stopping closes the open alert"
    assert_error(admin.get(f"/api/sessions/{session_id}/stream"), 409, "not-running")

    assert admin.delete(f"/api/sessions/{session_id}").status_code == 204
    assert_error(admin.get(f"/api/sessions/{session_id}/alerts"), 404)
    assert_error(admin.get(alert["snapshot_url"]), 404)


def test_session_survives_a_stream_drop(server: ServerProcess, camera_clip: Path) -> None:
    clip = camera_clip
    feed = FfmpegStream(clip)
    admin = server.admin()
    session = admin.post("/api/sessions", json={"name": "flaky", "source": feed.url}).json()

    def state() -> str:
        return admin.get(f"/api/sessions/{session['id']}").json()["state"]

    try:
        wait_for(lambda: state() == "running", 30, message="session running")
        feed.stop()  # the camera goes away
        wait_for(lambda: state() == "reconnecting", 30, message="session reconnecting")
        feed = FfmpegStream(clip, port=feed.port)  # and comes back
        wait_for(lambda: state() == "running", 60, message="session running again")
        frames = admin.get(f"/api/sessions/{session['id']}/stream", stream=True, timeout=(5, 30))
        assert len(mjpeg_frames(frames, 2)) == 2
        frames.close()
    finally:
        admin.post(f"/api/sessions/{session['id']}/stop")
        feed.stop()
