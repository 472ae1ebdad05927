"""Long-lived streams (issue 13, finding 1): bounded in total and per user, ended by a disconnect (even
when nothing is written) and by their maximum duration; the API stays responsive while they are open."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from harness.camera import FfmpegStream
from harness.server import Client, ServerProcess, wait_for
from tests.server.test_api import assert_error
from tests.server.test_security import new_user

STREAM_MAX, PER_USER, MAX_SECONDS = 3, 2, 8


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory, inference_config: Path) -> Iterator[ServerProcess]:
    process = ServerProcess(
        tmp_path_factory.mktemp("streams"),
        inference_config=str(inference_config),
        threads=2,
        stream_max=STREAM_MAX,
        stream_max_per_user=PER_USER,
        stream_max_duration=MAX_SECONDS,
    )
    yield process.start()
    process.stop()


def open_stream(client: Client, session_id: str, kind: str = "stream") -> requests.Response:
    return client.get(f"/api/sessions/{session_id}/{kind}", stream=True, timeout=(5, 30))


def fast_health(client: Client, tries: int = 10) -> float:
    """The slowest of `tries` /health answers, in seconds."""
    slowest = 0.0
    for _ in range(tries):
        started = time.monotonic()
        assert client.get("/api/health", timeout=5).status_code == 200
        slowest = max(slowest, time.monotonic() - started)
    return slowest


def test_streams_are_bounded_and_freed(small_server: ServerProcess, camera_clip: Path) -> None:
    feed = FfmpegStream(camera_clip)
    admin = small_server.admin()
    new_user(small_server, "watcher", "watcher-pass-1")
    new_user(small_server, "latecomer", "latecomer-pass-1")
    watcher = small_server.client().login("watcher", "watcher-pass-1")
    latecomer = small_server.client().login("latecomer", "latecomer-pass-1")
    session_id = admin.post("/api/sessions", json={"name": "cam", "source": feed.url}).json()["id"]
    held: list[requests.Response] = []
    try:
        wait_for(lambda: admin.get(f"/api/sessions/{session_id}").json()["state"] == "running", 30)
        held += [open_stream(watcher, session_id), open_stream(watcher, session_id, "events")]
        assert [response.status_code for response in held] == [200, 200]
        refused = open_stream(watcher, session_id)
        assert_error(refused, 429, "too-many-streams")
        assert int(refused.headers["Retry-After"]) >= 1
        held.append(open_stream(admin, session_id))
        assert held[-1].status_code == 200
        full = open_stream(latecomer, session_id)
        assert_error(full, 503, "too-many-streams")
        assert int(full.headers["Retry-After"]) >= 1
        assert fast_health(latecomer) < 1.0, "the API answers while every stream slot is taken"
        assert latecomer.get("/api/videos", timeout=5).status_code == 200

        started = time.monotonic()  # a stream ends by itself after stream-max-duration
        for _ in held[-1].iter_content(chunk_size=65536):
            pass
        assert MAX_SECONDS - 1 <= time.monotonic() - started < MAX_SECONDS + 10

        for response in held:
            response.close()

        feed.stop()  # no new frames: a stream opened now writes one frame, then nothing
        wait_for(lambda: admin.get(f"/api/sessions/{session_id}").json()["state"] == "reconnecting", 30)

        def reopened() -> requests.Response | None:
            response = open_stream(watcher, session_id)
            if response.ok:
                return response
            response.close()
            return None

        held = [wait_for(reopened, 10, message="the slots of closed streams to be free again")]
        opened = time.monotonic()
        held.append(open_stream(watcher, session_id))
        assert held[-1].status_code == 200
        for response in held:
            response.close()  # the client goes away without a word, the server writes nothing more
        held = [wait_for(reopened, 10, message="the slots of silent streams to be free again")]
        assert time.monotonic() - opened < MAX_SECONDS - 1, "freed by the disconnect, not by the duration"
    finally:
        for response in held:
            response.close()
        admin.post(f"/api/sessions/{session_id}/stop")
        feed.stop()
