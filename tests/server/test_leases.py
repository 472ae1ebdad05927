"""Job leases: with several API servers on one MongoDB, a job runs on one server at a time, and the job of
a server that died is resumed by another one once its lease has ended."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pymongo
import pytest

from harness.server import ServerProcess, wait_for
from harness.videos import write_video
from servers.leases import JobLeases
from servers.storage import Database, VideoRepository
from servers.storage.repositories import new_id
from tests.server.test_videos import upload, wait_done


def test_claims_take_only_ended_leases_once(database: Database) -> None:
    videos = VideoRepository(database)
    videos.ensure_indexes()
    now = time.time()
    leased = videos.create(video_id=new_id(), name="a.mp4", size=1, owner="a", lease_until=now + 60)
    ended = videos.create(video_id=new_id(), name="b.mp4", size=1, owner="a", lease_until=now - 1)
    legacy = videos.create(video_id=new_id(), name="c.mp4", size=1)  # written before leases existed
    done = videos.create(video_id=new_id(), name="d.mp4", size=1, owner="a", lease_until=now - 1)
    videos.update(done["id"], status="done")

    taken = []
    while claimed := videos.claim("b", now + 30, expired_before=now):
        taken.append(claimed)
    assert {video["id"] for video in taken} == {ended["id"], legacy["id"]}
    assert all(video["owner"] == "b" and video["lease_until"] == now + 30 for video in taken)
    assert videos.get(leased["id"])["owner"] == "a"
    assert videos.get(done["id"])["owner"] == "a"

    assert videos.renew("a", now + 90, {leased["id"], done["id"], ended["id"]}) == 1  # a's unfinished
    assert videos.get(leased["id"])["lease_until"] == now + 90
    assert videos.get(done["id"])["lease_until"] == now - 1
    assert videos.claim("c", now + 30, expired_before=now + 29) is None  # b's end at now + 30, a's at + 90
    later = []
    while claimed := videos.claim("c", now + 30, expired_before=now + 91):
        later.append(claimed["id"])
    assert later == [leased["id"], ended["id"], legacy["id"]]  # oldest first


def test_a_lost_job_lapses_and_is_taken_again_by_its_own_server(database: Database) -> None:
    """Only the jobs the runner holds are renewed; a video whose job was lost (its status left
    `processing` by a database outage) lapses and its own server claims it back, the running one not."""
    videos = VideoRepository(database)
    now = time.time()
    running = videos.create(video_id=new_id(), name="a.mp4", size=1, owner="a", lease_until=now + 1)
    lost = videos.create(video_id=new_id(), name="b.mp4", size=1, owner="a", lease_until=now + 1)
    videos.update(lost["id"], status="processing")
    assert videos.renew("a", now + 60, {running["id"]}) == 1
    assert videos.get(lost["id"])["lease_until"] == now + 1  # not renewed
    claimed = videos.claim("a", now + 90, expired_before=now + 2, running={running["id"]})
    assert claimed["id"] == lost["id"] and claimed["lease_until"] == now + 90
    assert videos.claim("a", now + 90, expired_before=now + 61, running={running["id"]}) is None


def test_heartbeat_claims_only_free_slots_and_outlives_errors(database: Database) -> None:
    """The heartbeat takes no more expired videos than the queue has room for, keeps beating after an
    error that is not the database's, and a stop gives up only the leases of jobs no longer running."""
    videos = VideoRepository(database)
    leases = JobLeases(videos, seconds=0.3, embedded=False)
    expired = [
        videos.create(video_id=new_id(), name=f"{index}.mp4", size=1, owner="gone", lease_until=1.0)["id"]
        for index in range(3)
    ]
    assert [video["id"] for video in leases.take_expired(limit=1)] == expired[:1]
    assert videos.get(expired[1])["owner"] == "gone"  # left for the next beat or another server
    active = {expired[0]}
    resumed: list[str] = []

    def resume(video: dict) -> None:
        if not resumed:
            resumed.append("error")
            raise OSError("the file store is not reachable")
        active.add(video["id"])
        resumed.append(video["id"])

    leases.start(resume, active=lambda: set(active), free=lambda: 1)
    try:
        # the failed resume leaves expired[1] claimed but not running: it lapses and is taken again
        wait_for(lambda: len(active) == 3, 10, interval=0.05, message="every video resumed")
        assert resumed[0] == "error" and sorted(resumed[1:]) == sorted(expired[1:])
        assert all(videos.get(video_id)["lease_until"] > time.time() for video_id in expired)
    finally:
        active.discard(expired[2])  # its job stopped; the others still run
        leases.stop()
    assert videos.get(expired[2])["lease_until"] == 0.0
    assert all(videos.get(video_id)["lease_until"] > 1.0 for video_id in expired[:2])


def test_concurrent_claims_take_each_video_once(mongodb_uri: str, tmp_path: Path) -> None:
    from servers.storage import connect_database

    database = connect_database(
        mongodb_uri, name=f"test_{new_id()[:12]}", storage_directory=tmp_path, max_connections=8
    )
    videos = VideoRepository(database)
    videos.ensure_indexes()
    ids = {videos.create(video_id=new_id(), name=f"{index}.mp4", size=1)["id"] for index in range(30)}
    taken: dict[str, list[str]] = {owner: [] for owner in ("a", "b", "c")}

    def claim_all(owner: str) -> None:
        while claimed := videos.claim(owner, time.time() + 60, expired_before=time.time()):
            taken[owner].append(claimed["id"])

    threads = [threading.Thread(target=claim_all, args=(owner,)) for owner in taken]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    everything = [video_id for claimed in taken.values() for video_id in claimed]
    assert sorted(everything) == sorted(ids)  # each video once
    database.drop()
    database.close()


@pytest.mark.timeout(120)
def _two_servers(
    tmp_path: Path, inference_config: Path, mongodb_uri: str, leases: tuple[float, float] = (60.0, 60.0)
) -> tuple[ServerProcess, ServerProcess, pymongo.database.Database]:
    """Servers A and B (not started) on one new MongoDB database with GridFS files, their `job-lease`s, and
    that database."""
    db_name = f"test_{new_id()[:12]}"
    shared = {
        "inference_config": str(inference_config),
        "upload_max_size": 8.0,
        "db_connection_uri": mongodb_uri,
        "db_name": db_name,
        "file_store": "gridfs",
    }
    servers = []
    for name, lease in zip("ab", leases, strict=True):
        (tmp_path / name).mkdir()
        servers.append(ServerProcess(tmp_path / name, job_lease=lease, **shared))
    return servers[0], servers[1], pymongo.MongoClient(mongodb_uri)[db_name]


def test_second_server_resumes_a_job_only_after_its_server_died(
    tmp_path: Path, inference_config: Path, mongodb_uri: str
) -> None:
    # A's lease outlasts B's start by far; B's is short, so its heartbeat looks for ended leases often
    first, second, stored = _two_servers(tmp_path, inference_config, mongodb_uri, leases=(20.0, 1.5))
    clip = write_video(tmp_path / "long.mp4", frames=300, width=160, height=120, rate=10, noise=8)
    try:
        first.start()
        admin = first.admin()
        video_id = upload(admin, clip).json()["id"]
        owner = stored.videos.find_one({"_id": video_id})["owner"]  # server A's instance
        wait_for(
            lambda: admin.get(f"/api/videos/{video_id}").json()["status"] == "processing",
            60,
            interval=0.02,
            message="the job running on server A",
        )
        os.kill(first.process.pid, signal.SIGSTOP)  # A holds its job mid-run, lease unexpired
        frozen = time.time()
        second.start()
        time.sleep(1.5)  # B's start recovery and its heartbeats (every 0.5 s) pass over the job
        video = stored.videos.find_one({"_id": video_id})
        assert time.time() < video["lease_until"], "B took longer to start than A's lease: raise it"
        assert video["status"] == "processing" and video["owner"] == owner
        assert f"job {video_id}: taken over" not in second.log()
        assert second.admin().get("/api/health").json()["workers"]["busy"] == 0

        first.stop(kill=True)  # SIGKILL: A never gives its lease up
        client = second.admin()
        final = wait_done(client, video_id, timeout=90)
        assert final["status"] == "done", final
        lease_left = 20.0 - 20.0 / 3  # at least, when A stopped (it renews every third of its lease)
        assert time.time() - frozen >= lease_left  # B waited for A's lease to end
        assert second.log().count(f"job {video_id}: taken over") == 1
        assert stored.videos.find_one({"_id": video_id})["owner"] not in (owner, None)
        assert final["frames"] == 300
        names = sorted(file["filename"] for file in stored["files.files"].find())
        assert names == [
            f"videos/{video_id}/{name}"
            for name in sorted(("source.mp4", "result.mp4", "cover.jpg", "scores.json"))
        ]  # one file each, the upload gone
        assert (
            client.get(f"/api/videos/{video_id}/result", headers={"Range": "bytes=0-99"}).status_code == 206
        )
    finally:
        if first.process is not None and first.process.poll() is None:
            first.stop(kill=True)
        second.stop()
        stored.client.drop_database(stored.name)


def test_a_video_deleted_on_another_server_stops_its_job(
    tmp_path: Path, inference_config: Path, mongodb_uri: str
) -> None:
    """Server B deletes a video whose job runs on server A: A's job stops at its next progress write and
    leaves no file behind, here or in GridFS."""
    first, second, stored = _two_servers(tmp_path, inference_config, mongodb_uri)
    clip = write_video(tmp_path / "long.mp4", frames=1200, width=160, height=120, rate=10, noise=8)
    try:
        first.start()
        second.start()
        admin = first.admin()
        video_id = upload(admin, clip).json()["id"]
        wait_for(
            lambda: admin.get(f"/api/videos/{video_id}").json()["status"] == "processing",
            60,
            interval=0.02,
            message="the job running on server A",
        )
        assert second.admin().delete(f"/api/videos/{video_id}").status_code == 204
        wait_for(lambda: f"job {video_id} cancelled" in first.log(), 30, message="A's job cancelled")
        wait_for(lambda: admin.get("/api/health").json()["workers"]["busy"] == 0, 30, message="A idle")
        assert not (first.storage / "videos" / video_id).exists()
        assert stored["files.files"].count_documents({"filename": {"$regex": f"^videos/{video_id}/"}}) == 0
        assert stored.videos.find_one({"_id": video_id}) is None
    finally:
        first.stop()
        second.stop()
        stored.client.drop_database(stored.name)
