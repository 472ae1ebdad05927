"""Offline videos end to end: upload a generated camera clip, follow the job to done, play and seek it."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import av
import pytest

from harness.server import Client, ServerProcess, wait_for
from harness.videos import write_video
from tests.server.test_api import assert_error

NAME = "Camera01.mp4"  # the upload's name (the search below ignores case)
FRAMES = 120  # camera_clip: 12 s at 10 fps, 360x240


def upload(client: Client, path: Path, name: str | None = None):
    with path.open("rb") as file:
        return client.post(
            "/api/videos", files={"file": (name or path.name, file, "application/octet-stream")}
        )


def wait_done(client: Client, record_id: str, timeout: float = 120.0) -> dict:
    def finished():
        record = client.get(f"/api/videos/{record_id}").json()
        return record if record["status"] in ("done", "failed") else None

    return wait_for(finished, timeout, message=f"video {record_id} to finish")


@pytest.fixture(scope="module")
def done_record(server: ServerProcess, camera_clip: Path) -> dict:
    admin = server.admin()
    response = upload(admin, camera_clip, NAME)
    assert response.status_code == 202, response.text
    record = response.json()
    assert record["status"] == "queued" and record["name"] == NAME and record["progress"] == 0
    progress = []
    final = wait_for(
        lambda: (
            (progress.append(r := admin.get(f"/api/videos/{record['id']}").json()["progress"]) or r >= 1.0)
            and r
        ),
        120,
        message="progress",
    )
    assert final == 1.0
    done = wait_done(admin, record["id"])
    assert done["status"] == "done", done
    done["progress_seen"] = progress
    return done


def test_upload_follows_to_done(done_record: dict) -> None:
    record = done_record
    assert record["error"] is None
    assert record["fps"] == pytest.approx(10.0) and record["frames"] == FRAMES
    assert record["duration"] == pytest.approx(12.0)
    assert (record["width"], record["height"]) == (360, 240)
    assert len(record["scores"]) == record["frames"]
    assert all(0.0 <= score <= 1.0 for score in record["scores"])
    assert record["peak_score"] == pytest.approx(max(record["scores"]), abs=1e-5)
    assert record["threshold"] == 0.0
    assert record["intervals"], "threshold 0 makes the whole clip one abnormal interval"
    interval = record["intervals"][0]
    assert interval["start_frame"] == 0 and interval["end_frame"] >= FRAMES - 10
    assert interval["end_time"] > interval["start_time"]
    assert sorted(record["progress_seen"]) == record["progress_seen"]


def test_list_filter_and_search(server: ServerProcess, done_record: dict) -> None:
    viewer_like = server.admin()
    page = viewer_like.get("/api/videos", params={"status": "done", "q": "camera01"}).json()
    assert done_record["id"] in [item["id"] for item in page["items"]]
    assert all("scores" not in item for item in page["items"])
    assert viewer_like.get("/api/videos", params={"q": "no-such-name"}).json()["total"] == 0
    assert viewer_like.get("/api/videos", params={"status": "failed", "q": "camera01"}).json()["total"] == 0


def test_result_plays_and_seeks_with_range(server: ServerProcess, done_record: dict, tmp_path: Path) -> None:
    admin = server.admin()
    full = admin.get(f"/api/videos/{done_record['id']}/result")
    assert full.status_code == 200 and full.headers["Content-Type"] == "video/mp4"
    assert full.headers.get("Accept-Ranges") == "bytes"
    data = full.content
    path = tmp_path / "result.mp4"
    path.write_bytes(data)
    with av.open(str(path)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames == done_record["frames"]
    part = admin.get(f"/api/videos/{done_record['id']}/result", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 100-199/{len(data)}"
    assert part.content == data[100:200]
    tail = admin.get(f"/api/videos/{done_record['id']}/result", headers={"Range": f"bytes={len(data) - 10}-"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    unsatisfiable = admin.get(
        f"/api/videos/{done_record['id']}/result", headers={"Range": f"bytes={len(data)}-"}
    )
    assert unsatisfiable.status_code == 416


def test_cover_and_scores_csv(server: ServerProcess, done_record: dict) -> None:
    admin = server.admin()
    cover = admin.get(f"/api/videos/{done_record['id']}/cover")
    assert cover.status_code == 200 and cover.headers["Content-Type"] == "image/jpeg"
    from PIL import Image

    assert Image.open(io.BytesIO(cover.content)).size == (320, 180)
    csv = admin.get(f"/api/videos/{done_record['id']}/scores.csv")
    lines = csv.text.strip().splitlines()
    assert lines[0] == "frame,time,score" and len(lines) == FRAMES + 1
    assert float(lines[1].split(",")[2]) == pytest.approx(done_record["scores"][0], abs=1e-5)


def test_bad_uploads_are_4xx_and_change_nothing(
    server: ServerProcess, camera_clip: Path, tmp_path: Path
) -> None:
    admin = server.admin()
    before = admin.get("/api/videos", params={"page_size": 100}).json()
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video, whatever its name says\n" * 100)
    body = assert_error(upload(admin, text), 400, "not-a-video")
    assert "notes.mp4" in body["message"] and ".part" not in body["message"]  # no server-side path
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert_error(upload(admin, empty), 400, "empty-file")
    truncated = tmp_path / "truncated.mp4"
    video = camera_clip.read_bytes()
    truncated.write_bytes(video[: len(video) // 2])
    assert_error(upload(admin, truncated), 400, "not-a-video")
    oversized = tmp_path / "big.mp4"
    oversized.write_bytes(video * (4 * 2**20 // len(video) + 1))  # > upload-max-size = 4 MB
    assert_error(upload(admin, oversized), 413, "too-large")
    assert_error(admin.post("/api/videos", files={"other": ("x.mp4", b"123")}), 400, "missing-file")
    assert_error(admin.post("/api/videos", json={"file": "x"}), 415)
    assert admin.get("/api/videos", params={"page_size": 100}).json() == before
    uploads = server.storage / "uploads"
    assert list(uploads.iterdir()) == [], "no partial upload is left behind"


def test_concurrent_uploads(server: ServerProcess, tmp_path: Path) -> None:
    admin = server.admin()
    lengths = [32, 40, 48]  # three different short clips
    clips = [
        write_video(tmp_path / f"clip{i}.mp4", frames=frames, width=360, height=240, rate=10, seed=i)
        for i, frames in enumerate(lengths)
    ]
    responses: list = [None] * len(clips)

    def send(index: int) -> None:
        responses[index] = upload(server.admin(), clips[index])

    threads = [threading.Thread(target=send, args=(index,)) for index in range(len(clips))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [response.status_code for response in responses] == [202] * len(clips)
    ids = {response.json()["id"] for response in responses}
    assert len(ids) == len(clips)
    for record_id, clip, frames in zip([r.json()["id"] for r in responses], clips, lengths, strict=True):
        record = wait_done(admin, record_id, timeout=180)
        assert record["status"] == "done", record
        assert record["name"] == clip.name
        assert len(record["scores"]) == record["frames"] == frames
    names = {item["name"] for item in admin.get("/api/videos", params={"q": "clip"}).json()["items"]}
    assert names == {clip.name for clip in clips}


def test_delete_goes_through_the_removal_task(server: ServerProcess, camera_clip: Path) -> None:
    admin = server.admin()
    record = upload(admin, camera_clip, "to-delete.mp4").json()
    wait_done(admin, record["id"])
    folder = server.storage / "videos" / record["id"]
    assert folder.is_dir()
    reader = admin.get(f"/api/videos/{record['id']}/result", stream=True)  # a reader holding the file
    assert admin.delete(f"/api/videos/{record['id']}").status_code == 204
    assert not folder.exists()
    assert len(reader.content) > 0 and reader.status_code == 200
    assert_error(admin.get(f"/api/videos/{record['id']}"), 404)
    assert_error(admin.delete(f"/api/videos/{record['id']}"), 404)
    wait_for(lambda: not any((server.storage / "trash").iterdir()), 10, message="removal task")


def test_delete_while_queued_or_processing_cancels(server: ServerProcess, camera_clip: Path) -> None:
    admin = server.admin()
    record = upload(admin, camera_clip, "cancel-me.mp4").json()
    assert admin.delete(f"/api/videos/{record['id']}").status_code == 204
    other = upload(admin, camera_clip, "after-cancel.mp4").json()
    assert wait_done(admin, other["id"])["status"] == "done"
    assert_error(admin.get(f"/api/videos/{record['id']}"), 404)
    assert not (server.storage / "videos" / record["id"]).exists()
    assert admin.get("/api/videos", params={"q": "cancel-me"}).json()["total"] == 0
