"""The repositories on the embedded engine (montydb on disk) and on MongoDB over the wire (SecantusDB, or
$MONGODB_URI when set); the file store's discard under concurrency."""

from __future__ import annotations

import threading
from pathlib import Path

from servers.files import FileStore
from servers.storage import Database, LiveSessionRepository, UserRepository, VideoRepository, connect_database
from servers.storage.migrations import migrate, rename_collection
from servers.storage.repositories import new_id
from servers.storage.users import DuplicateUsername


def repositories(database: Database) -> tuple[VideoRepository, LiveSessionRepository, UserRepository]:
    repos = VideoRepository(database), LiveSessionRepository(database), UserRepository(database)
    for repo in repos:
        repo.ensure_indexes()
    return repos


def test_videos_paging_filter_search_update(database: Database) -> None:
    videos, _, _ = repositories(database)
    ids = []
    for index in range(25):
        video_id = new_id()
        videos.create(video_id=video_id, name=f"Camera {index:02d}.mp4", size=index)
        ids.append(video_id)
    videos.update(ids[3], status="done", progress=1.0, intervals=[{"start_frame": 0}])
    videos.update(ids[4], status="done")
    page, total = videos.list(status=None, query=None, page=1, page_size=10)
    assert total == 25 and [item["id"] for item in page] == ids[::-1][:10]
    last, _ = videos.list(status=None, query=None, page=3, page_size=10)
    assert [item["id"] for item in last] == ids[::-1][20:]
    done, total = videos.list(status="done", query=None, page=1, page_size=10)
    assert total == 2 and {item["id"] for item in done} == {ids[3], ids[4]}
    found, total = videos.list(status=None, query="camera 1", page=1, page_size=50)
    assert total == 10 and all("Camera 1" in item["name"] for item in found)
    special, total = videos.list(status=None, query=".*", page=1, page_size=50)
    assert total == 0 and special == []  # the search text is literal, not a pattern
    got = videos.get(ids[3])
    assert got["status"] == "done" and got["intervals"] == [{"start_frame": 0}] and got["id"] == ids[3]
    assert videos.update(new_id(), status="done") is None
    claimed = videos.claim("server", 2.0, expired_before=1.0)  # no lease yet: the oldest unfinished
    assert claimed["id"] == ids[0] and claimed["owner"] == "server"
    assert videos.delete(ids[0]) and not videos.delete(ids[0])
    assert videos.get(ids[0]) is None


def test_pages_of_videos_and_sessions_created_at_one_time_hold_each_once(database: Database) -> None:
    videos, sessions, _ = repositories(database)
    video_ids, session_ids = [new_id() for _ in range(7)], [new_id() for _ in range(7)]
    for video_id, session_id in zip(video_ids, session_ids, strict=True):
        videos.create(video_id=video_id, name="same.mp4", size=1)
        sessions.create(session_id=session_id, name="same", source="rtsp://127.0.0.1/x")
        videos.update(video_id, created_at="2026-01-01T00:00:00.000000Z")
        sessions.update(session_id, created_at="2026-01-01T00:00:00.000000Z")
    for page_size in (1, 2, 3):
        pages = range(1, 8 // page_size + 2)
        listed = [
            v["id"]
            for p in pages
            for v in videos.list(status=None, query=None, page=p, page_size=page_size)[0]
        ]
        assert listed == sorted(video_ids), page_size  # ties by id: every video once, in one order
        listed = [s["id"] for p in pages for s in sessions.list(page=p, page_size=page_size)[0]]
        assert listed == sorted(session_ids), page_size


def test_sessions_and_alerts(database: Database) -> None:
    _, sessions, _ = repositories(database)
    session_id = new_id()
    sessions.create(session_id=session_id, name="door", source="rtsp://cam/1")
    alert_ids = []
    for second in range(3):
        alert_id = new_id()
        sessions.add_alert(
            alert_id=alert_id,
            session_id=session_id,
            start_time=f"2026-01-01T00:00:0{second}Z",
            peak_score=0.9,
            category=None,
        )
        alert_ids.append(alert_id)
    assert sessions.get(session_id)["alerts_count"] == 3
    closed = sessions.close_alert(alert_ids[0], end_time="2026-01-01T00:00:05Z", peak_score=0.95)
    assert closed["end_time"] and closed["peak_score"] == 0.95
    items, total = sessions.alerts(session_id, page=1, page_size=2)
    assert total == 3 and [item["id"] for item in items] == alert_ids[::-1][:2]
    assert sessions.get_alert(new_id(), alert_ids[0]) is None
    assert [item["id"] for item in sessions.with_states(["starting"])] == [session_id]
    assert sessions.delete(session_id)
    assert sessions.alerts(session_id, page=1, page_size=10) == ([], 0)


def test_users_unique_under_concurrency(database: Database) -> None:
    _, _, users = repositories(database)
    outcomes: list[str] = []

    def create() -> None:
        try:
            users.create(username="same", password_hash="h", role="viewer")
            outcomes.append("created")
        except DuplicateUsername:
            outcomes.append("duplicate")

    threads = [threading.Thread(target=create) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["duplicate"] * 5
    user = users.by_username("same")
    assert users.count() == 1 and users.count(role="admin") == 0
    assert users.set_password(user["id"], "h2") and users.get(user["id"])["password_hash"] == "h2"
    assert not users.set_password(new_id(), "x")
    assert users.list(page=1, page_size=10)[1] == 1
    assert users.delete(user["id"]) and users.by_username("same") is None


def test_embedded_data_survives_reopening(tmp_path: Path) -> None:
    first = connect_database("", name="surveillance", storage_directory=tmp_path, max_connections=1)
    video_id = new_id()
    VideoRepository(first).create(video_id=video_id, name="kept.mp4", size=1)
    first.close()
    second = connect_database("", name="surveillance", storage_directory=tmp_path, max_connections=1)
    assert VideoRepository(second).get(video_id)["name"] == "kept.mp4"
    assert (tmp_path / "database").is_dir()
    second.close()


def old_videos(database: Database, count: int) -> list[dict]:
    """Uploaded videos stored the way earlier versions did: in `records`, without job leases."""
    documents = [
        VideoRepository.new_document(video_id=new_id(), name=f"old-{i}.mp4", size=i) for i in range(count)
    ]
    for document in documents:
        del document["owner"], document["lease_until"]
    with database.access("records") as records:
        records.insert_many([dict(document) for document in documents])
    return documents


def collection_names(database: Database) -> list[str]:
    with database.access("videos") as videos:
        return videos.database.list_collection_names()


def test_old_records_collection_becomes_videos(database: Database) -> None:
    """A database of an earlier version keeps every uploaded video: `records` is moved to `videos` once."""
    documents = old_videos(database, 3)
    migrate(database)
    videos, _, _ = repositories(database)
    page, total = videos.list(status=None, query=None, page=1, page_size=10)
    assert total == 3 and sorted(item["id"] for item in page) == sorted(d["_id"] for d in documents)
    assert "records" not in collection_names(database) and "videos" in collection_names(database)
    migrate(database)  # once done, a no-op
    assert rename_collection(database, "records", "videos") == 0
    assert videos.list(status=None, query=None, page=1, page_size=10)[1] == 3
    claimed = videos.claim("server", 2.0, expired_before=1.0)  # an old unfinished video has no lease
    assert claimed["id"] == documents[0]["_id"] and claimed["owner"] == "server"


def test_interrupted_move_is_finished_without_losing_a_document(database: Database) -> None:
    """A move interrupted after copying part of `records` (both collections exist): the rest is copied,
    what `videos` holds already is kept as it is, and only then is `records` dropped."""
    documents = old_videos(database, 4)
    with database.access("videos") as videos:
        videos.insert_many([{**documents[0], "status": "done"}, dict(documents[1])])
    assert rename_collection(database, "records", "videos") == 4
    videos = VideoRepository(database)
    assert [videos.get(document["_id"])["name"] for document in documents] == [d["name"] for d in documents]
    assert videos.get(documents[0]["_id"])["status"] == "done"
    assert videos.list(status=None, query=None, page=1, page_size=10)[1] == 4
    assert "records" not in collection_names(database)


def test_embedded_move_survives_reopening(tmp_path: Path) -> None:
    """On disk: after the move and a reopen, the videos are there and `records` is gone for good."""
    first = connect_database("", name="surveillance", storage_directory=tmp_path, max_connections=1)
    documents = old_videos(first, 2)
    migrate(first)
    first.close()
    second = connect_database("", name="surveillance", storage_directory=tmp_path, max_connections=1)
    migrate(second)
    assert collection_names(second) == ["videos"]
    assert {VideoRepository(second).get(d["_id"])["name"] for d in documents} == {"old-0.mp4", "old-1.mp4"}
    second.close()


def test_concurrent_discards_of_one_folder(tmp_path: Path) -> None:
    """A delete and its cancelled job discard the same folder at once: one moves it, neither fails."""
    files = FileStore(tmp_path / "storage")
    errors: list[BaseException] = []
    for _ in range(300):
        folder = files.video_dir(new_id())
        folder.mkdir(parents=True)
        (folder / "result.mp4").write_bytes(b"x")
        start = threading.Barrier(2)

        def discard(folder: Path = folder, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                files.discard(folder)
            except BaseException as error:  # collected, reported below
                errors.append(error)

        threads = [threading.Thread(target=discard) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not folder.exists()
    assert errors == []
    assert len(list((tmp_path / "storage" / "trash").iterdir())) == 300
