"""The review page's API (events of cameras and uploads, filters, review marks), uploads stored as recorded,
downloads named after the video, and retention (what it removes, what the records then say)."""

from __future__ import annotations

import os
import subprocess
import time
from fractions import Fraction
from pathlib import Path
from urllib.parse import quote

import av
import pytest

from harness.camera import FFMPEG, FfmpegStream
from harness.server import Client, ServerProcess, wait_for
from servers.files import FileStore
from servers.media import stored_rate, stored_size
from servers.retention import GIGABYTE, apply_retention
from servers.storage import VideoRepository, connect_database
from servers.storage.repositories import new_id
from servers.storage.reviews import AlertReviews
from tests.server.test_api import assert_error
from tests.server.test_videos import upload, wait_done


def make_clip(path: Path, size: str, rate: int, seconds: float = 2.0) -> Path:
    """A real H.264 clip of ffmpeg's test pattern."""
    pattern = f"testsrc=size={size}:rate={rate}"
    encode = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    subprocess.run(
        [
            FFMPEG,
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            pattern,
            "-t",
            str(seconds),
            *encode,
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


@pytest.fixture(scope="module")
def pal_record(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 768x576 (4:3) upload at 25 fps, done."""
    clip = make_clip(tmp_path_factory.mktemp("clips") / "pal clip.mp4", "768x576", 25)
    admin = server.admin()
    response = upload(admin, clip)
    assert response.status_code == 202, response.text
    done = wait_done(admin, response.json()["id"])
    assert done["status"] == "done", done
    return done


@pytest.fixture(scope="module")
def camera_alert(server: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A stopped camera session with at least one alert (threshold 0: every score alerts)."""
    clip = make_clip(tmp_path_factory.mktemp("camera") / "camera.mp4", "320x240", 10, seconds=4)
    stream = FfmpegStream(clip)
    admin = server.admin()
    try:
        created = admin.post("/api/sessions", json={"name": "gate", "source": stream.url})
        assert created.status_code == 201, created.text
        session_id = created.json()["id"]
        wait_for(
            lambda: admin.get(f"/api/sessions/{session_id}").json()["alerts_count"] >= 1,
            60,
            message="an alert",
        )
        admin.post(f"/api/sessions/{session_id}/stop")
    finally:
        stream.stop()
    return admin.get(f"/api/sessions/{session_id}/alerts").json()["items"][-1]


def test_stored_size_and_rate_keep_the_source() -> None:
    assert stored_size(768, 576, 1920, 1080) == (768, 576)
    assert stored_size(3840, 2160, 1920, 1080) == (1920, 1080)
    assert stored_size(1440, 1080, 1280, 1080) == (1280, 960)  # 4:3 kept, never stretched
    assert stored_size(1081, 721, 4000, 4000) == (1080, 720)  # even sides
    assert stored_rate(Fraction(30000, 1001), 30) == Fraction(30000, 1001)
    assert stored_rate(Fraction(60), 30) == 30
    assert stored_rate(None, 30) == 30


def test_upload_keeps_size_aspect_and_rate(server: ServerProcess, pal_record: dict, tmp_path: Path) -> None:
    record = pal_record
    assert (record["width"], record["height"]) == (768, 576)
    assert record["fps"] == pytest.approx(25.0)
    assert record["original"] == {"width": 768, "height": 576, "fps": 25.0}
    admin = server.admin()
    result = admin.get(f"/api/videos/{record['id']}/result")
    assert result.status_code == 200
    assert result.headers["Content-Disposition"] == 'inline; filename="pal clip-result.mp4"'
    path = tmp_path / "result.mp4"
    path.write_bytes(result.content)
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (768, 576)
        assert float(stream.average_rate) == pytest.approx(25.0)
    csv = admin.get(f"/api/videos/{record['id']}/scores.csv")
    assert csv.headers["Content-Disposition"] == 'attachment; filename="pal clip-scores.csv"'


def test_events_of_an_upload_filter_and_review(server: ServerProcess, pal_record: dict) -> None:
    admin = server.admin()
    events = admin.get("/api/events", params={"video": pal_record["id"]}).json()
    assert events["total"] == len(pal_record["intervals"]) >= 1
    event = events["items"][0]
    assert event["id"] == f"video-{pal_record['id']}-0" and event["kind"] == "upload"
    assert event["source_name"] == "pal clip.mp4" and event["time"] == pal_record["created_at"]
    start, end = pal_record["intervals"][0]["start_time"], pal_record["intervals"][0]["end_time"]
    assert event["clip_url"] == f"/api/videos/{pal_record['id']}/result#t={start:.2f},{end:.2f}"
    assert event["reviewed"] is False and event["removed"] is None

    viewer = viewer_client(server)
    marked = viewer.request("PATCH", f"/api/events/{event['id']}", json={"reviewed": True})
    assert marked.status_code == 200, marked.text
    assert marked.json()["reviewed"] is True and marked.json()["reviewed_by"] == "reviewer"
    query = {"video": pal_record["id"]}
    assert admin.get("/api/events", params={**query, "reviewed": "true"}).json()["total"] == 1
    unreviewed = admin.get("/api/events", params={**query, "reviewed": "false"}).json()
    assert event["id"] not in [item["id"] for item in unreviewed["items"]]
    assert admin.get("/api/events", params={**query, "min_score": 1.0}).json()["total"] == sum(
        interval["peak_score"] >= 1.0 for interval in pal_record["intervals"]
    )
    later = "2999-01-01T00:00:00Z"
    assert admin.get("/api/events", params={**query, "from": later}).json()["total"] == 0
    assert admin.get("/api/events", params={**query, "to": later}).json()["total"] == events["total"]
    assert admin.get("/api/events", params={**query, "kind": "camera"}).json()["total"] == 0
    unmarked = admin.request("PATCH", f"/api/events/{event['id']}", json={"reviewed": False}).json()
    assert unmarked["reviewed"] is False and unmarked["reviewed_by"] is None
    assert admin.get(f"/api/videos/{pal_record['id']}").json()["intervals"][0]["reviewed"] is False


def viewer_client(server: ServerProcess) -> Client:
    admin = server.admin()
    admin.post("/api/users", json={"username": "reviewer", "password": "review-pass-9", "role": "viewer"})
    return server.client().login("reviewer", "review-pass-9")


def test_events_of_a_camera(server: ServerProcess, camera_alert: dict) -> None:
    admin = server.admin()
    session_id = camera_alert["session_id"]
    page = admin.get("/api/events", params={"camera": session_id}).json()
    assert page["total"] >= 1 and all(item["kind"] == "camera" for item in page["items"])
    event = next(item for item in page["items"] if item["id"] == f"alert-{camera_alert['id']}")
    assert event["source_name"] == "gate" and event["time"] == camera_alert["start_time"]
    assert event["image_url"] == camera_alert["snapshot_url"]
    assert admin.get(event["image_url"]).headers["Content-Type"] == "image/jpeg"
    marked = admin.request("PATCH", f"/api/events/{event['id']}", json={"reviewed": True}).json()
    assert marked["reviewed"] and marked["reviewed_by"] == "admin"
    reviewed = admin.get("/api/events", params={"camera": session_id, "reviewed": "true"}).json()
    assert [item["id"] for item in reviewed["items"]] == [event["id"]]
    everything = admin.get("/api/events", params={"page_size": 100}).json()
    kinds = {item["kind"] for item in everything["items"]}
    assert "camera" in kinds and everything["total"] >= page["total"]
    times = [item["time"] for item in everything["items"]]
    assert times == sorted(times, reverse=True)
    uploads = admin.get("/api/events", params={"kind": "upload"}).json()
    assert all(item["kind"] == "upload" for item in uploads["items"])


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"min_score": "2"}, "min_score"),
        ({"min_score": "nan"}, "min_score"),
        ({"min_score": "high"}, "min_score"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-13-01T00:00:00Z"}, "to"),
        ({"from": "0001-01-01T00:00:00+01:00"}, "from"),
        ({"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}, "to"),
        ({"kind": "drone"}, "kind"),
        ({"reviewed": "maybe"}, "reviewed"),
        ({"reviewed": "yes"}, "reviewed"),
        ({"camera": "0" * 32, "video": "0" * 32}, "video"),
        ({"page_size": "1000"}, "page_size"),
    ],
)
def test_bad_filters_are_400_naming_the_parameter(server: ServerProcess, query: dict, parameter: str) -> None:
    body = assert_error(server.admin().get("/api/events", params=query), 400, "invalid-parameter")
    assert body["params"] == {"parameter": parameter} and f"'{parameter}'" in body["message"]


def test_only_the_documented_names_are_read(server: ServerProcess) -> None:
    """`since`/`until` are the stored names of `from`/`to`, not parameters: ignored like any unknown one."""
    query = {"since": "2027-01-01T00:00:00Z", "until": "yesterday", "reviewed": "true"}
    response = server.admin().get("/api/events", params=query)
    assert response.status_code == 200, response.text


def test_bad_marks(server: ServerProcess) -> None:
    admin = server.admin()
    assert_error(admin.get("/api/events", params={"camera": "nope"}), 400, "invalid-parameter")
    assert_error(admin.request("PATCH", f"/api/events/alert-{'0' * 32}", json={"reviewed": True}), 404)
    assert_error(admin.request("PATCH", "/api/events/" + quote("../etc"), json={"reviewed": True}), 404)
    assert_error(admin.request("PATCH", f"/api/events/video-{'0' * 32}-0", json={"reviewed": "yes"}), 400)
    assert_error(admin.request("PATCH", f"/api/events/video-{'0' * 32}-0", data="x"), 415)
    assert_error(server.client().get("/api/events"), 401)
    anonymous = server.client().request("PATCH", f"/api/events/alert-{'0' * 32}", json={"reviewed": True})
    assert_error(anonymous, 401)


def test_retention_by_age_in_the_server(
    inference_config: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A result older than retention-days goes (the removal task runs every second); its record says so,
    its result answers 410, its scores and cover stay, its events have no clip."""
    folder = tmp_path_factory.mktemp("retention")
    aged = ServerProcess(folder, inference_config=str(inference_config), retention_days=1)
    aged.start()
    try:
        admin = aged.admin()
        clip = make_clip(folder / "old.mp4", "320x240", 10)
        record = wait_done(admin, upload(admin, clip).json()["id"])
        result = aged.storage / "videos" / record["id"] / "result.mp4"
        two_days_ago = time.time() - 2 * 86400
        os.utime(result, (two_days_ago, two_days_ago))
        removed = wait_for(
            lambda: admin.get(f"/api/videos/{record['id']}").json()["removed"], 20, message="removal"
        )
        assert removed["reason"] == "age" and removed["files"] == ["result", "source"]
        body = assert_error(admin.get(f"/api/videos/{record['id']}/result"), 410, "removed")
        assert body["params"]["reason"] == "age"
        assert admin.get(f"/api/videos/{record['id']}/cover").status_code == 200
        assert len(admin.get(f"/api/videos/{record['id']}").json()["scores"]) == record["frames"]
        events = admin.get("/api/events", params={"video": record["id"]}).json()["items"]
        assert events and all(item["clip_url"] is None and item["removed"] == removed for item in events)
        assert not result.exists()
    finally:
        aged.stop()


def test_retention_by_disk_budget_removes_the_oldest_first(tmp_path: Path) -> None:
    """apply_retention on the real embedded database and real files: over the budget, the oldest media
    go first (a video's result and source, an alert's snapshot and clip), and only until it fits."""
    files = FileStore(tmp_path / "storage")
    database = connect_database("", name="test", storage_directory=files.root, max_connections=1)
    videos, alerts = VideoRepository(database), AlertReviews(database)
    now = time.time()
    video_ids = []
    for age in (3, 2, 1):  # hours
        video_id = new_id()
        videos.create(video_id=video_id, name=f"{age}h.mp4", size=1)
        for name in ("result.mp4", "source.mp4"):
            path = files.video_dir(video_id) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"v" * 1000)
            os.utime(path, (now - age * 3600, now - age * 3600))
        video_ids.append(video_id)
    session_id, alert_id = new_id(), new_id()
    with database.access("alerts") as collection:
        collection.insert_one(
            {"_id": alert_id, "session_id": session_id, "start_time": "2026-01-01T00:00:00Z"}
        )
    for suffix in (".jpg", ".mp4"):
        path = files.snapshot_path(session_id, alert_id).with_suffix(suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"s" * 500)
        os.utime(path, (now - 4 * 3600, now - 4 * 3600))
    # 7000 bytes stored; a 4500-byte budget removes the alert (1000) and the oldest video (2000): 4000 left
    assert apply_retention(files, videos, alerts, days=0, max_gigabytes=4500 / GIGABYTE) == 2
    assert alerts.get(alert_id)["removed"]["files"] == ["clip", "snapshot"]
    assert alerts.get(alert_id)["removed"]["reason"] == "disk-budget"
    assert videos.get(video_ids[0])["removed"]["reason"] == "disk-budget"
    assert [videos.get(video_id).get("removed") for video_id in video_ids[1:]] == [None, None]
    assert not files.snapshot_dir(session_id).joinpath(f"{alert_id}.jpg").exists()
    assert files.result_path(video_ids[1]).exists()
    assert apply_retention(files, videos, alerts, days=0, max_gigabytes=4500 / GIGABYTE) == 0
    assert apply_retention(files, videos, alerts, days=1 / 24 * 1.5, max_gigabytes=0) == 1  # older than 1.5 h
    assert videos.get(video_ids[1])["removed"]["reason"] == "age"
    database.close()


def test_download_names_replace_what_no_file_system_takes_as_the_client_does() -> None:
    from servers.api.videos import download_name

    assert download_name({"name": "Testvid:<>|?.mp4"}, "result.mp4") == "Testvid_-result.mp4"
    assert download_name({"name": "监控 录像.mp4"}, "scores.csv") == "监控 录像-scores.csv"


def test_a_clip_removed_after_its_snapshot_keeps_both_in_the_removal_note(tmp_path: Path) -> None:
    """The snapshot is written when the alert starts, the clip when it ends: removed one after the other,
    the alert's note lists both and its API shape offers neither."""
    from servers.live_shared import alert_to_api

    files = FileStore(tmp_path / "storage")
    database = connect_database("", name="test", storage_directory=files.root, max_connections=1)
    videos, alerts = VideoRepository(database), AlertReviews(database)
    session_id, alert_id = new_id(), new_id()
    with database.access("alerts") as collection:
        collection.insert_one(
            {"_id": alert_id, "session_id": session_id, "start_time": "2026-01-01T00:00:00Z"}
        )
    old = time.time() - 3 * 86400
    for suffix in (".jpg", ".mp4"):
        path = files.snapshot_path(session_id, alert_id).with_suffix(suffix)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"s" * 500)
        os.utime(path, (old, old))
        assert apply_retention(files, videos, alerts, days=1, max_gigabytes=0) == 1
    alert = alerts.get(alert_id)
    assert alert["removed"]["files"] == ["clip", "snapshot"]
    shown = alert_to_api({**alert, "clip": True})
    assert shown["snapshot_url"] is None and shown["clip_url"] is None
    database.close()
