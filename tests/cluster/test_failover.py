"""Cameras and upload jobs on a 3-node Ray cluster on loopback: every Ray port listens on 127.0.0.1 only,
cameras spread over the nodes and score, a killed node's cameras resume on another node, uploads spread
over the nodes, an upload job whose node is killed finishes once."""

from __future__ import annotations

import ipaddress
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pymongo
import pytest

from harness.camera import FfmpegStream
from harness.cluster import LocalCluster, descendants, listening_addresses
from harness.events import sse_events
from harness.server import ServerProcess, wait_for
from tests.cluster.conftest import JOB_FRAMES, ray_server
from tests.server.test_videos import upload, wait_done

CAMERAS = 6  # the 3 nodes, 6 cameras; each holds a quarter CPU, so one worker carries all


@pytest.fixture(scope="module")
def api(
    tmp_path_factory: pytest.TempPathFactory,
    ray_cluster: LocalCluster,
    mongodb_uri: str,
    inference_config: Path,
) -> Iterator[ServerProcess]:
    process = ray_server(
        tmp_path_factory.mktemp("ray-api"), ray_cluster, mongodb_uri, inference_config, ray_camera_cpus=0.25
    )
    process.start(timeout=120)
    yield process
    process.stop()


def test_every_ray_port_listens_on_loopback_only(ray_cluster: LocalCluster, api: ServerProcess) -> None:
    assert api.admin().get("/api/health").json()["workers"]["workers"] >= 2
    addresses = listening_addresses(descendants(os.getpid()) | descendants(api.process.pid))
    assert len(addresses) >= 6, addresses  # GCS, raylets, object managers, workers, the API
    assert all(address == ipaddress.ip_address("127.0.0.1") for address, _ in addresses), addresses


def _scores(admin, session_id: str, events: list, stop: threading.Event) -> None:
    with admin.get(f"/api/sessions/{session_id}/events", stream=True, timeout=(5, 120)) as response:
        for event in sse_events(response):
            events.append((time.monotonic(), *event))
            if stop.is_set():
                return


def test_cameras_score_and_move_off_a_killed_node(
    ray_cluster: LocalCluster, api: ServerProcess, camera_clip: Path
) -> None:
    admin = api.admin()
    clip = camera_clip
    feeds = [FfmpegStream(clip) for _ in range(CAMERAS)]
    try:
        ids = []
        for index, feed in enumerate(feeds):
            created = admin.post("/api/sessions", json={"name": f"camera {index}", "source": feed.url})
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])

        def placed() -> dict | None:
            sessions = {item["id"]: item for item in admin.get("/api/sessions").json()["items"]}
            ready = all(sessions[i].get("node") and sessions[i].get("current_score") is not None for i in ids)
            return sessions if ready else None

        sessions = wait_for(placed, 150, message="every camera placed and scoring")
        nodes = {sessions[i]["node"] for i in ids}
        assert len(nodes) == 2, f"SPREAD puts the cameras on both workers: {nodes}"
        assert all(admin.get(f"/api/sessions/{i}/alerts").json()["total"] >= 1 for i in ids)

        victim = sessions[ids[0]]["node"]
        moved = [i for i in ids if sessions[i]["node"] == victim]
        events: list = []
        stop = threading.Event()
        reader = threading.Thread(target=_scores, args=(admin, moved[0], events, stop), daemon=True)
        reader.start()
        wait_for(lambda: any(name == "score" for _, name, _ in events), 30, message="a score before the kill")
        killed_at = time.monotonic()
        ray_cluster.kill(victim)
        open_at_kill = [  # left open by the dead node (read before its cameras restart elsewhere)
            alert["id"]
            for i in moved
            for alert in admin.get(f"/api/sessions/{i}/alerts").json()["items"]
            if alert["end_time"] is None
        ]
        for index in [ids.index(i) for i in moved]:  # ffmpeg serves one client, then exits
            feeds[index].process.wait(10)

        def moved_in(state: str) -> bool:
            items = {item["id"]: item for item in admin.get("/api/sessions").json()["items"]}
            return all(
                items[i].get("node") not in (None, victim) and items[i]["state"] == state for i in moved
            )

        # the source went down with the node: the restarted camera waits for it instead of failing
        wait_for(
            lambda: moved_in("reconnecting"), 90, message="the killed node's cameras waiting on other nodes"
        )
        for index in [ids.index(i) for i in moved]:
            feeds[index] = FfmpegStream(clip, port=feeds[index].port)
        wait_for(lambda: moved_in("running"), 60, message="the moved cameras running again")
        wait_for(
            lambda: any(
                name == "score" and at > killed_at for at, name, _ in events[1:] if at > killed_at + 0.5
            ),
            60,
            message="a score after the move",
        )
        names = [name for at, name, _ in events if at > killed_at]
        assert "state" in names, "viewers are told of the gap"
        for session_id in moved:
            alerts = admin.get(f"/api/sessions/{session_id}/alerts").json()["items"]
            assert sum(alert["end_time"] is None for alert in alerts) <= 1, (
                "the lost node's open alert is closed"
            )
            for alert in alerts:
                if alert["id"] in open_at_kill:
                    assert alert["end_time"] is not None and alert["interrupted"], alert
        stop.set()
        for session_id in ids:
            assert admin.post(f"/api/sessions/{session_id}/stop").json()["state"] == "stopped"
    finally:
        for feed in feeds:
            feed.stop()


def test_uploads_spread_over_the_nodes(ray_cluster: LocalCluster, api: ServerProcess, job_clip: Path) -> None:
    admin = api.admin()
    ids = []
    for _ in range(2):
        response = upload(admin, job_clip)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    done = [wait_done(admin, video_id, timeout=180) for video_id in ids]
    assert all(video["status"] == "done" and video["frames"] == JOB_FRAMES for video in done), done
    assert len({video["node"] for video in done}) == 2, "SPREAD runs two jobs on both workers"


def test_upload_job_survives_a_node_kill_and_finishes_once(
    ray_cluster: LocalCluster, api: ServerProcess, job_clip: Path, mongodb_uri: str
) -> None:
    admin = api.admin()
    response = upload(admin, job_clip)
    assert response.status_code == 202, response.text
    record_id = response.json()["id"]
    running = wait_for(
        lambda: (
            (r := admin.get(f"/api/videos/{record_id}").json())["status"] == "processing"
            and r.get("node")
            and r
        ),
        60,
        interval=0.1,
        message="the job running on a node",
    )
    ray_cluster.kill(running["node"])
    done = wait_done(admin, record_id, timeout=180)
    assert done["status"] == "done", done
    assert done["node"] != running["node"] and done["frames"] == JOB_FRAMES
    assert len(done["scores"]) == JOB_FRAMES
    database = pymongo.MongoClient(mongodb_uri)[api_db_name(api)]
    for name in ("result.mp4", "source.mp4", "cover.jpg", "scores.json"):
        assert database["files.files"].count_documents({"filename": f"videos/{record_id}/{name}"}) == 1, name
    assert database["files.files"].count_documents({"filename": f"videos/{record_id}/upload"}) == 0
    assert not (api.storage / "videos" / record_id / "result.mp4").exists(), (
        "no file on the API server's disk"
    )
    part = admin.get(f"/api/videos/{record_id}/result", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100 and part.content[4:8] == b"ftyp"


def api_db_name(server: ServerProcess) -> str:
    """The database name in a server's config file."""
    import tomllib

    return tomllib.loads(server.config_path.read_text())["db-name"]
