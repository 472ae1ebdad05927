"""Scene profiles in the server: a camera learns its scene, alerts say why, uploads choose a profile."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.camera import FfmpegStream
from harness.server import ServerProcess, tiny_inference_config, wait_for
from tests.server.conftest import ENGINES, database_values
from tests.server.test_api import assert_error

CAUSE_CUES = {"objects", "motion", "activity", "scene"}


@pytest.fixture(scope="module", params=ENGINES)
def cue_server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """A server whose detector reads cue channels (tiny real models, threshold 0: every segment alerts)."""
    inference = tiny_inference_config(tmp_path_factory.mktemp("cue-models"), cues=True)
    process = ServerProcess(
        tmp_path_factory.mktemp("server"),
        inference_config=str(inference),
        **database_values(request.param, request),
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture
def stream(camera_clip: Path) -> Iterator[FfmpegStream]:
    feed = FfmpegStream(camera_clip)
    yield feed
    feed.stop()


def upload_and_wait(admin, clip: Path, *, profile: str) -> dict:
    """Upload `clip` to be scored with `profile`; the record once its job has finished."""
    accepted = admin.post(
        "/api/videos", files={"file": (clip.name, clip.read_bytes(), "video/mp4")}, data={"profile": profile}
    )
    assert accepted.status_code == 202, accepted.text
    record_id = accepted.json()["id"]
    wait_for(
        lambda: admin.get(f"/api/videos/{record_id}").json()["status"] in ("done", "failed"),
        120,
        message=f"the detection of an upload with profile {profile}",
    )
    return admin.get(f"/api/videos/{record_id}").json()


def test_camera_learns_its_scene_then_uploads_can_use_it(
    cue_server: ServerProcess, stream: FfmpegStream, camera_clip: Path
) -> None:
    admin = cue_server.admin()
    assert_error(
        admin.post("/api/sessions", json={"name": "c", "source": stream.url, "calibrate_minutes": 0.1}),
        400,
        "invalid-field",
    )
    created = admin.post(
        "/api/sessions", json={"name": "walkway", "source": stream.url, "calibrate_minutes": 0.25}
    )
    assert created.status_code == 201, created.text
    session = created.json()
    assert session["profile"]["state"] == "learning" and session["profile"]["segments"] == 9  # 15 s / 1.6 s
    session_id = session["id"]

    # alerts say what drove them, with the cue channels' names
    wait_for(
        lambda: admin.get(f"/api/sessions/{session_id}/alerts").json()["total"] > 0, 60, message="an alert"
    )
    alert = admin.get(f"/api/sessions/{session_id}/alerts").json()["items"][0]
    assert alert["causes"] and {cause["cue"] for cause in alert["causes"]} <= CAUSE_CUES
    assert all(isinstance(cause["z"], float) and cause["label"] for cause in alert["causes"])

    # after 9 segments (14.4 s of stream) the profile is stored with the camera
    wait_for(
        lambda: admin.get(f"/api/sessions/{session_id}").json()["profile"]["state"] == "calibrated",
        90,
        message="the camera's calibrated profile",
    )
    assert (cue_server.storage / "profiles" / f"{session_id}.npz").is_file()
    profiles = admin.get("/api/profiles").json()["items"]
    assert {"id": session_id, "name": "walkway", "kind": "camera"} in profiles
    assert {"id": "ped2", "name": "ped2", "kind": "shipped"} in profiles

    # an upload scored with the camera's profile; an unknown profile is refused before anything is stored
    clip = camera_clip  # the scene the camera learnt
    refused = admin.post(
        "/api/videos",
        files={"file": ("a.mp4", clip.read_bytes(), "video/mp4")},
        data={"profile": "no-such-profile"},
    )
    assert_error(refused, 400, "unknown-profile")
    record = upload_and_wait(admin, clip, profile=session_id)
    assert record["status"] == "done", record["error"]
    assert record["profile"] == session_id
    assert record["intervals"] and all(interval["causes"] for interval in record["intervals"])

    # the shipped Ped2 profile was made with other models: the job fails and says why
    failed = upload_and_wait(admin, clip, profile="ped2")
    assert failed["status"] == "failed" and "profile made with other models or cues" in failed["error"]

    # forgetting the profile (of the stopped camera): uncalibrated, the file gone, no longer offered
    assert admin.post(f"/api/sessions/{session_id}/stop").status_code == 200
    forgotten = admin.delete(f"/api/sessions/{session_id}/profile")
    assert forgotten.status_code == 200, forgotten.text
    assert forgotten.json()["profile"]["state"] == "uncalibrated"
    assert not (cue_server.storage / "profiles" / f"{session_id}.npz").exists()
    assert session_id not in {item["id"] for item in admin.get("/api/profiles").json()["items"]}
    assert admin.delete(f"/api/sessions/{session_id}").status_code == 204


def test_calibration_needs_an_admin_and_a_sensible_duration(cue_server: ServerProcess) -> None:
    admin = cue_server.admin()
    made = admin.post(
        "/api/users", json={"username": "profile-viewer", "password": "Watch-the-scene-42", "role": "viewer"}
    )
    assert made.status_code == 201, made.text
    viewer = cue_server.client().login("profile-viewer", "Watch-the-scene-42")
    missing = "0123456789abcdef0123456789abcdef"
    assert viewer.post(f"/api/sessions/{missing}/calibrate", json={"minutes": 1}).status_code == 403
    assert_error(admin.post(f"/api/sessions/{missing}/calibrate", json={"minutes": 1}), 404, "not-found")
    assert viewer.get("/api/profiles").status_code == 200
