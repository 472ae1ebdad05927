"""Cameras that remember, on real loopback cameras and the real embedded database: per-camera settings
(checked, applied by restarting the detector), the persisted score history, the offline state while the
source is down, and event clips served with HTTP Range."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from harness.camera import CameraServer
from harness.server import REPO_ROOT, Client, ServerProcess, wait_for
from servers.storage.scores import downsample
from tests.inference.test_offline import red_border
from tests.server.test_api import assert_error


@pytest.fixture(scope="module")
def cameras(tmp_path_factory: pytest.TempPathFactory, inference_config: Path) -> Iterator[ServerProcess]:
    """A server on the embedded database storing a history point every 0.5 s and 1 s clip pre-rolls."""
    folder = tmp_path_factory.mktemp("cameras")
    engine = folder / "inference.toml"
    engine.write_text(inference_config.read_text() + "clip-pre-seconds = 1.0\nreconnect-delay = 0.3\n")
    process = ServerProcess(
        folder, inference_config=str(engine), score_history_interval=0.5, score_history_bucket=60.0
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture
def clip(camera_clip: Path) -> Path:
    return camera_clip


def session(admin: Client, session_id: str) -> dict:
    return admin.get(f"/api/sessions/{session_id}").json()


def test_history_downsampling_keeps_peaks_and_gaps() -> None:
    points = [(float(t), (t % 10) / 10) for t in range(1000)]
    points[500] = (500.0, None)
    kept = downsample(points, 50)
    assert 50 <= len(kept) <= 101 and (500.0, None) in kept
    assert max(score for _, score in kept if score is not None) == 0.9
    assert [t for t, _ in kept] == sorted(t for t, _ in kept)
    assert downsample(points[:10], 50) == points[:10]


def test_settings_are_checked_and_applied(cameras: ServerProcess, clip: Path) -> None:
    feed = CameraServer(clip)
    admin = cameras.admin()
    created = admin.post("/api/sessions", json={"name": "gate", "source": feed.url, "min_alert_seconds": 2})
    assert created.status_code == 201, created.text
    camera = created.json()
    base = f"/api/sessions/{camera['id']}"
    assert camera["settings"] == {
        "threshold": 0.0,
        "roi": {"x1": 0.0, "y1": 0.0, "x2": 1.0, "y2": 1.0},
        "min_alert_seconds": 2.0,
        "cooldown_seconds": 0.0,
        "profile": None,
        "enabled": True,
    }
    try:
        for body, field in [
            ({"threshold": 1.5}, "threshold"),
            ({"threshold": "high"}, "threshold"),
            ({"roi": {"x1": 0.5, "y1": 0, "x2": 0.4, "y2": 1}}, "roi"),
            ({"roi": [0, 0, 1, 1]}, "roi"),
            ({"min_alert_seconds": -1}, "min_alert_seconds"),
            ({"cooldown_seconds": True}, "cooldown_seconds"),
            ({"enabled": "yes"}, "enabled"),
            ({"name": ""}, "name"),
            ({"colour": 1}, "colour"),
            ({}, "threshold"),
        ]:
            error = assert_error(admin.request("PATCH", base, json=body), 400)
            assert field in error["message"] and field in error["params"]["field"], (body, error)
        assert_error(admin.request("PATCH", base, json={"profile": "nowhere"}), 400, "unknown-profile")
        assert_error(admin.request("PATCH", base, data="x", headers={"Content-Type": "text/plain"}), 415)
        viewer_state = session(admin, camera["id"])["state"]
        assert viewer_state in ("starting", "running")

        opened = wait_for(  # threshold 0: the first alert stays open
            lambda: (items := admin.get(f"{base}/alerts").json()["items"]) and items[-1],
            60,
            message="a first alert",
        )
        assert opened["end_time"] is None and not opened["interrupted"]
        roi = {"x1": 0.1, "y1": 0.2, "x2": 0.9, "y2": 0.8}
        changed = admin.request(
            "PATCH", base, json={"threshold": 1.0, "roi": roi, "cooldown_seconds": 30, "name": " gate 2 "}
        )
        assert changed.status_code == 200, changed.text
        ended = next(
            item for item in admin.get(f"{base}/alerts").json()["items"] if item["id"] == opened["id"]
        )
        assert ended["end_time"] and ended["interrupted"] is True, "the restart interrupted the open alert"
        assert ended["peak_score"] >= opened["peak_score"]
        settings = changed.json()["settings"]
        assert settings["threshold"] == 1.0 and settings["roi"] == roi and settings["cooldown_seconds"] == 30
        assert changed.json()["name"] == "gate 2" and changed.json()["threshold"] == 1.0
        wait_for(lambda: session(admin, camera["id"])["state"] == "running", 30, message="restarted")
        # the restarted detector applies threshold 1: its scores run, no new alert opens
        alerts = session(admin, camera["id"])["alerts_count"]
        wait_for(lambda: session(admin, camera["id"])["current_score"] is not None, 30, message="a score")
        assert session(admin, camera["id"])["alerts_count"] == alerts

        stopped = admin.request("PATCH", base, json={"enabled": False}).json()
        assert stopped["state"] == "stopped" and stopped["settings"]["enabled"] is False
        calibrating = admin.post(f"{base}/calibrate", json={"minutes": 1})  # a stopped camera runs again
        assert calibrating.status_code == 200, calibrating.text
        assert calibrating.json()["settings"]["enabled"] is True
        assert calibrating.json()["state"] in ("starting", "running")
        reset = admin.request("PATCH", base, json={"enabled": True, "threshold": None}).json()
        assert reset["settings"]["threshold"] == 0.0 and reset["settings"]["enabled"] is True
        assert reset["state"] in ("starting", "running")
        # a shipped profile made for other models is set aside with the reason, and stays shipped
        shipped = admin.request("PATCH", base, json={"profile": "ped2"}).json()
        assert shipped["settings"]["profile"] == "ped2" and shipped["state"] in ("starting", "running")
        assert shipped["profile"]["state"] == "uncalibrated" and shipped["profile"]["error"]
        assert (REPO_ROOT / "inferences" / "models" / "ped2-profile.npz").is_file()
    finally:
        admin.post(f"{base}/stop")
        feed.stop()
    assert session(admin, camera["id"])["settings"]["enabled"] is False
    viewer = admin.post(
        "/api/users", json={"username": "cam-viewer", "password": "viewer-password-1", "role": "viewer"}
    )
    assert viewer.status_code == 201, viewer.text
    looker = cameras.client().login("cam-viewer", "viewer-password-1")
    assert_error(looker.request("PATCH", base, json={"threshold": 0.5}), 403)


def test_history_offline_state_and_clip(cameras: ServerProcess, clip: Path) -> None:
    feed = CameraServer(clip)
    admin = cameras.admin()
    camera = admin.post("/api/sessions", json={"name": "yard", "source": feed.url}).json()
    base = f"/api/sessions/{camera['id']}"
    try:
        wait_for(lambda: session(admin, camera["id"])["alerts_count"] >= 1, 60, message="an alert")
        frame = admin.get(f"{base}/frame")
        assert frame.status_code == 200 and frame.headers["Content-Type"] == "image/jpeg"
        wait_for(  # threshold 0: abnormal (the frame published after the first score has the border)
            lambda: red_border(np.asarray(Image.open(io.BytesIO(admin.get(f"{base}/frame").content)))),
            10,
            message="a red-bordered frame",
        )
        wait_for(lambda: len(admin.get(f"{base}/scores").json()["points"]) >= 3, 30, message="history")
        feed.stop()  # the camera goes away during its alert
        offline = wait_for(
            lambda: (s := session(admin, camera["id"]))["state"] == "reconnecting" and s,
            30,
            message="offline",
        )
        assert offline["current_score"] is None and offline["last_seen"] and offline["dropped_segments"] >= 0
        frozen = np.asarray(Image.open(io.BytesIO(admin.get(f"{base}/frame").content)))
        assert not red_border(frozen), "the frozen last frame is not shown as abnormal"
        alert = wait_for(
            lambda: (
                admin.get(f"{base}/alerts").json()["items"][0]["interrupted"]
                and admin.get(f"{base}/alerts").json()["items"][0]
            ),
            30,
            message="the alert marked interrupted",
        )
        assert alert["end_time"] and alert["end_time"][:19] <= offline["last_seen"][:19]
        assert alert["clip_url"] == f"{base}/alerts/{alert['id']}/clip"
        response = wait_for(
            lambda: (r := admin.get(alert["clip_url"])).status_code == 200 and r, 30, message="the clip"
        )
        assert response.headers["Content-Type"] == "video/mp4" and response.content.index(b"moov") < 200
        with av.open(io.BytesIO(response.content)) as container:
            stream = container.streams.video[0]
            times = [frame.time for frame in container.decode(stream)]
            assert stream.codec_context.name == "h264" and times[-1] - times[0] > 1.0  # the pre-roll and more
        part = admin.get(alert["clip_url"], headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and len(part.content) == 100
        assert part.headers["Content-Range"].startswith("bytes 0-99/")

        changed = admin.request("PATCH", base, json={"threshold": 0.0})  # a restart during the outage
        assert changed.status_code == 200 and changed.json()["state"] == "reconnecting", changed.text
        feed = CameraServer(clip, port=feed.port)  # the camera comes back
        wait_for(lambda: session(admin, camera["id"])["current_score"] is not None, 60, message="recovered")
    finally:
        admin.post(f"{base}/stop")
        feed.stop()
    stopped = session(admin, camera["id"])
    history = admin.get(f"{base}/scores").json()
    points = history["points"]
    assert history["total"] == len(points) and points == sorted(points, key=lambda p: p[0])
    assert any(score is None for _, score in points), "the offline gap is kept"
    assert all(score is None or 0 <= score <= 1 for _, score in points)
    assert points[-1][1] is None, "stopping ends the history with a gap"
    assert camera["created_at"][:19] <= _iso(points[0][0]) and _iso(points[-1][0]) <= stopped["stopped_at"]
    assert len(admin.get(f"{base}/scores", params={"max_points": 2}).json()["points"]) <= 5
    until = admin.get(f"{base}/scores", params={"until": points[1][0]}).json()["points"]
    assert until == points[:2]
    assert_error(admin.get(f"{base}/scores", params={"max_points": 1}), 400, "invalid-parameter")
    assert_error(admin.get(f"{base}/scores", params={"since": "yesterday"}), 400, "invalid-parameter")
    future = assert_error(admin.get(f"{base}/scores", params={"since": 4e9}), 400, "invalid-parameter")
    assert future["message"].endswith("no later than now") and future["params"]["parameter"] == "since"
    assert_error(admin.get(f"{base}/frame"), 409, "no-frame")

    assert admin.delete(base).status_code == 204
    assert_error(admin.get(alert["clip_url"]), 404)
    assert not cameras.storage.joinpath("snapshots", camera["id"]).exists()


def _iso(epoch: float) -> str:
    from servers.live_shared import epoch_to_iso

    return epoch_to_iso(epoch)
