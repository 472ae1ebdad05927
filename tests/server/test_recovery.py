"""Restart recovery: a killed server leaves nothing stuck after it starts again."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.camera import FfmpegStream
from harness.server import ADMIN_PASSWORD, ServerProcess, wait_for
from servers.config import ServerConfig
from servers.storage import LiveSessionRepository, VideoRepository, connect_database
from servers.storage.repositories import new_id
from tests.server.conftest import ENGINES, database_values
from tests.server.test_videos import upload, wait_done

ADMIN = {"username": "admin", "password": ADMIN_PASSWORD}


def test_killed_server_resumes_jobs_and_sessions(
    tmp_path: Path, inference_config: Path, camera_clip: Path
) -> None:
    clip = camera_clip
    server = ServerProcess(tmp_path, inference_config=str(inference_config)).start()
    first = FfmpegStream(clip)
    gone = FfmpegStream(clip)
    try:
        admin = server.admin()
        resumed = admin.post("/api/sessions", json={"name": "resumed", "source": first.url}).json()
        lost = admin.post("/api/sessions", json={"name": "lost", "source": gone.url}).json()
        for session in (resumed, lost):
            wait_for(
                lambda s=session: admin.get(f"/api/sessions/{s['id']}").json()["state"] == "running",
                30,
                message="session running",
            )
        records = [upload(admin, clip, f"before-crash-{index}.mp4").json() for index in range(2)]
        server.stop(kill=True)  # SIGKILL: no chance to clean up
        first.stop()
        gone.stop()

        database = connect_database(
            "", name=ServerConfig().db_name, storage_directory=server.storage, max_connections=1
        )
        orphan = new_id()  # a job whose upload vanished while the server was down
        VideoRepository(database).create(video_id=orphan, name="orphan.mp4", size=1)
        VideoRepository(database).update(orphan, status="processing", progress=0.5)
        states = {s["id"]: s["state"] for s in LiveSessionRepository(database).with_states(["running"])}
        assert states.keys() == {resumed["id"], lost["id"]}
        statuses = {VideoRepository(database).get(r["id"])["status"] for r in records}
        assert statuses <= {"queued", "processing"}
        database.close()

        first = FfmpegStream(clip, port=first.port)  # the camera of `resumed` is back, `lost`'s is not
        server.start()
        admin = server.admin()
        for record in records:
            assert wait_done(admin, record["id"], timeout=120)["status"] == "done"
        failed = admin.get(f"/api/videos/{orphan}").json()
        assert failed["status"] == "failed" and "restarted" in failed["error"]
        again = wait_for(
            lambda: (s := admin.get(f"/api/sessions/{resumed['id']}").json())["state"] == "running" and s,
            30,
            message="session restarted",
        )
        assert again["started_at"] > resumed["created_at"]
        # the camera of `lost` is down: it waits for its source (an outage, not a stop) until stopped
        wait_for(
            lambda: admin.get(f"/api/sessions/{lost['id']}").json()["state"] == "reconnecting",
            30,
            message="the lost camera waiting for its source",
        )
        time.sleep(2.0)  # retries fail meanwhile: still waiting
        assert admin.get(f"/api/sessions/{lost['id']}").json()["state"] == "reconnecting"
        assert admin.post(f"/api/sessions/{lost['id']}/stop").json()["state"] == "stopped"
        assert admin.post(f"/api/sessions/{resumed['id']}/stop").json()["state"] == "stopped"
    finally:
        server.stop()
        first.stop()
        gone.stop()


def test_database_unreachable_is_503(tmp_path: Path) -> None:
    from servers.app import create_app

    config = ServerConfig(
        storage_directory=tmp_path, db_connection_uri="mongodb://127.0.0.1:9/?serverSelectionTimeoutMS=300"
    )
    app = create_app(config, start_services=False)
    client = app.test_client()
    response = client.get("/api/health")
    assert response.status_code == 503 and response.json["database"]["status"] == "unavailable"
    login = client.post("/api/auth/login", json={"username": "admin", "password": "whatever1"})
    assert login.status_code == 503 and login.json["error"] == "database-unavailable"
    assert "Traceback" not in login.get_data(as_text=True)


def test_database_down_at_start_then_back(tmp_path: Path, inference_config: Path, camera_clip: Path) -> None:
    from secantus import SecantusDBServer

    from harness.camera import free_port

    port = free_port()
    uri = f"mongodb://127.0.0.1:{port}/?serverSelectionTimeoutMS=500"
    server = ServerProcess(tmp_path, inference_config=str(inference_config), db_connection_uri=uri).start()
    database = SecantusDBServer(port=port, storage_path=str(tmp_path / "secantus"))
    try:
        client = server.client()
        assert client.get("/api/health").status_code == 503
        database.start()  # the database comes back after the server started
        wait_for(lambda: client.get("/api/health").status_code == 200, 30, message="health 200")
        wait_for(lambda: client.post("/api/auth/login", json=ADMIN).ok, 30, message="the admin created")
        admin = server.admin()
        record = upload(admin, camera_clip).json()
        assert wait_done(admin, record["id"], timeout=120)["status"] == "done"
    finally:
        server.stop()
        database.stop()


@pytest.mark.parametrize("engine", ENGINES)
def test_server_started_on_an_old_database_keeps_its_videos(
    engine: str, request: pytest.FixtureRequest, tmp_path: Path, inference_config: Path
) -> None:
    """Earlier versions stored the uploaded videos in the collection `records`: the server moves them to
    `videos` when it starts, and lists them as before."""
    values = database_values(engine, request)
    server = ServerProcess(tmp_path, inference_config=str(inference_config), **values)
    database = connect_database(
        values.get("db_connection_uri", ""),
        name=values.get("db_name", ServerConfig().db_name),
        storage_directory=server.storage,
        max_connections=1,
    )
    old = VideoRepository.new_document(video_id=new_id(), name="before-the-rename.mp4", size=1)
    old.update(
        status="done",
        progress=1.0,
        intervals=[{"start_frame": 0, "end_frame": 9, "start_time": 0.0, "end_time": 0.9, "peak_score": 0.9}],
    )
    with database.access("records") as records:
        records.insert_one(dict(old))
    database.close()
    server.start()
    try:
        admin = server.admin()
        page = admin.get("/api/videos").json()
        assert [item["id"] for item in page["items"]] == [old["_id"]] and page["total"] == 1
        assert admin.get(f"/api/videos/{old['_id']}").json()["name"] == "before-the-rename.mp4"
        events = admin.get("/api/events", params={"video": old["_id"]}).json()["items"]
        assert [event["id"] for event in events] == [f"video-{old['_id']}-0"]
    finally:
        server.stop()
