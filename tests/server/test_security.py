"""The attack run's findings (issue 13), each reproduced against a real server on 127.0.0.1."""

from __future__ import annotations

import http.client
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import requests

from harness.camera import FfmpegStream, free_port, listening
from harness.server import ADMIN_PASSWORD, Client, ServerProcess, wait_for, write_toml
from harness.videos import write_video
from inferences.paths import REPO_ROOT
from servers.stack import NGINX_TEMPLATE, render_nginx_conf
from tests.server.live import sse_events
from tests.server.test_api import assert_error
from tests.server.test_videos import upload, wait_done


def saved_copy(client: Client) -> Client:
    """Another client holding a copy of `client`'s cookie and CSRF token (a stolen or saved cookie)."""
    copy = Client(client.base_url)
    copy.http.cookies = requests.utils.cookiejar_from_dict(client.http.cookies.get_dict())
    copy.http.headers["X-CSRF-Token"] = client.http.headers["X-CSRF-Token"]
    return copy


def new_user(server: ServerProcess, username: str, password: str, role: str = "viewer") -> str:
    response = server.admin().post(
        "/api/users", json={"username": username, "password": password, "role": role}
    )
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_logout_revokes_a_saved_cookie(server: ServerProcess) -> None:
    new_user(server, "leaver", "leaver-pass-1")
    client = server.client().login("leaver", "leaver-pass-1")
    saved = saved_copy(client)
    assert saved.get("/api/auth/me").status_code == 200
    assert client.post("/api/auth/logout").status_code == 204
    assert_error(saved.get("/api/auth/me"), 401, "unauthorized")
    assert_error(saved.get("/api/videos"), 401, "unauthorized")


def test_password_changes_revoke_other_sessions(server: ServerProcess) -> None:
    user_id = new_user(server, "changer", "changer-pass-1")
    first = server.client().login("changer", "changer-pass-1")
    second = server.client().login("changer", "changer-pass-1")
    path = f"/api/users/{user_id}/password"
    assert_error(first.put(path, json={"password": "changer-pass-2"}), 400, "invalid-field")
    wrong = first.put(path, json={"password": "changer-pass-2", "current_password": "not-it-at-all"})
    assert_error(wrong, 403, "invalid-credentials")
    assert second.get("/api/auth/me").status_code == 200, "a refused change revokes nothing"
    changed = first.put(path, json={"password": "changer-pass-2", "current_password": "changer-pass-1"})
    assert changed.status_code == 204, changed.text
    assert first.get("/api/auth/me").status_code == 200, "the session that changed it stays"
    assert_error(second.get("/api/auth/me"), 401)
    assert server.admin().put(path, json={"password": "changer-pass-3"}).status_code == 204  # admin reset
    assert_error(first.get("/api/auth/me"), 401)
    server.client().login("changer", "changer-pass-3")


def test_user_deletion_revokes_sessions(server: ServerProcess) -> None:
    user_id = new_user(server, "deleted", "deleted-pass-1")
    client = server.client().login("deleted", "deleted-pass-1")
    assert server.admin().delete(f"/api/users/{user_id}").status_code == 204
    assert_error(client.get("/api/sessions"), 401)
    new_user(server, "deleted", "deleted-pass-1")  # the same name again is another account
    assert_error(client.get("/api/sessions"), 401)


def test_camera_credentials_never_leave_the_server(server: ServerProcess, camera_clip: Path) -> None:
    secret = "cam-s3cret-pa55"
    feed = FfmpegStream(camera_clip)
    source = feed.url.replace("http://", f"http://cam-user:{secret}@")
    admin = server.admin()
    new_user(server, "onlooker", "onlooker-pass-1")
    viewer = server.client().login("onlooker", "onlooker-pass-1")
    refused = admin.post("/api/sessions", json={"name": "cam", "source": f"http://u:{secret}@127.0.0.1:9/x"})
    assert_error(refused, 400, "stream-unavailable")
    assert secret not in refused.text
    created = admin.post("/api/sessions", json={"name": "secret-cam", "source": source})
    assert created.status_code == 201, created.text
    session_id = created.json()["id"]
    events: list[tuple[str, dict]] = []
    try:
        wait_for(lambda: viewer.get(f"/api/sessions/{session_id}").json()["state"] == "running", 30)
        shown = [created, admin.get("/api/sessions"), viewer.get("/api/sessions")]
        shown.append(viewer.get(f"/api/sessions/{session_id}"))
        for response in shown:
            assert secret not in response.text and "cam-user" not in response.text, response.text
        assert shown[-1].json()["source"] == feed.url.replace("http://", "http://***@")
        stream = viewer.get(f"/api/sessions/{session_id}/events", stream=True, timeout=(5, 30))
        threading.Thread(target=lambda: events.extend(sse_events(stream)), daemon=True).start()
        feed.stop()  # the engine reconnects, its state messages name the source
        wait_for(
            lambda: any("cannot open" in data["message"] for name, data in events if name == "state"),
            30,
            message="a reconnecting state naming the source",
        )
    finally:
        stopped = admin.post(f"/api/sessions/{session_id}/stop")
        feed.stop()
    assert stopped.status_code == 200 and secret not in stopped.text, stopped.text
    assert all(secret not in data["message"] for _, data in events if "message" in data), events
    refusals = [data["message"] for name, data in events if "cannot open" in data.get("message", "")]
    assert all(message.count("127.0.0.1") == 1 for message in refusals), refusals  # the source said once
    assert not any("refused" in message.lower() for message in refusals), refusals  # no port state
    assert secret not in server.log() and "***@127.0.0.1" in server.log()


def time_stretched_video(path: Path, seconds: int = 14_400) -> Path:
    """A tiny MP4 of three frames at 0 s, `seconds` / 2 and `seconds`: it declares hours of video."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=1)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1)
        for index, pts in enumerate((0, seconds // 2, seconds)):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 80 * index, np.uint8), format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1)
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def test_time_stretched_upload_stays_small(server: ServerProcess, tmp_path: Path) -> None:
    clip = time_stretched_video(tmp_path / "stretched.mp4")
    assert clip.stat().st_size < 20_000
    admin = server.admin()
    response = upload(admin, clip)
    assert response.status_code == 202, response.text
    started = time.monotonic()
    record = wait_done(admin, response.json()["id"], timeout=60)
    assert record["status"] == "done", record
    assert record["frames"] < 100, "a few real frames make a few output frames, not hours of copies"
    assert time.monotonic() - started < 60


def test_nested_json_is_a_400(server: ServerProcess) -> None:
    body = "[" * 60_000  # far deeper than the JSON parser recurses, under the anonymous body limit
    response = server.client().post(
        "/api/auth/login", data=body, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "malformed-json")
    deeper = server.client().post(
        "/api/auth/login", data="[" * 100_000, headers={"Content-Type": "application/json"}
    )
    assert deeper.status_code == 413, deeper.text  # over 64 KiB without a session: refused unread


def test_several_file_parts_leave_no_temporary_file(server: ServerProcess, tmp_path: Path) -> None:
    clip = time_stretched_video(tmp_path / "clip.mp4", seconds=2)
    admin = server.admin()
    parts = [("file", (f"part-{index}.mp4", clip.read_bytes(), "video/mp4")) for index in range(3)]
    response = admin.post("/api/videos", files=parts)
    assert response.status_code == 202, response.text
    assert list((server.storage / "uploads").iterdir()) == []


def test_file_names_lose_control_and_bidi_characters(server: ServerProcess, tmp_path: Path) -> None:
    clip = time_stretched_video(tmp_path / "clip.mp4", seconds=2)
    admin = server.admin()
    name = "invoice\u202egpj.mp4\u200b\x07\u2028 e\u0301.mp4"
    response = admin.post("/api/videos", files={"file": (name, clip.read_bytes(), "video/mp4")})
    assert response.status_code == 202, response.text
    assert response.json()["name"] == "invoicegpj.mp4 \u00e9.mp4"


def test_security_headers_and_no_host_reflection(server: ServerProcess) -> None:
    response = server.client().get("/api/health")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    host, port = server.url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    connection.request("GET", "//api//health", headers={"Host": "evil.example"})
    answer = connection.getresponse()
    assert "evil.example" not in (answer.getheader("Location") or "")
    assert answer.status == 404 and json.loads(answer.read())["error"] == "not-found"
    connection.close()


def test_secure_cookie_option(tmp_path: Path, inference_config: Path) -> None:
    server = ServerProcess(tmp_path, inference_config=str(inference_config), cookie_secure=True).start()
    try:
        login = {"username": "admin", "password": ADMIN_PASSWORD}
        response = server.client().post("/api/auth/login", json=login)
        assert response.status_code == 200 and "; Secure" in response.headers["Set-Cookie"]
    finally:
        server.stop()


def test_deleted_queued_jobs_free_their_slots(tmp_path: Path, inference_config: Path) -> None:
    server = ServerProcess(tmp_path, inference_config=str(inference_config), queue_max=3).start()
    try:
        admin = server.admin()
        long_clip = write_video(tmp_path / "long.mp4", frames=3000, width=64, height=48, rate=25, noise=2)
        short_clip = time_stretched_video(tmp_path / "short.mp4", seconds=2)
        busy = upload(admin, long_clip).json()  # keeps the single worker busy
        wait_for(lambda: admin.get(f"/api/videos/{busy['id']}").json()["status"] == "processing", 30)
        queued = [upload(admin, short_clip).json() for _ in range(3)]
        full = upload(admin, short_clip)
        assert_error(full, 503, "queue-full")
        assert int(full.headers["Retry-After"]) >= 1
        assert admin.get("/api/videos").json()["total"] == 4, "the refused upload left no video"
        assert len(list((server.storage / "videos").iterdir())) == 4, "nor a folder"
        for record in queued[1:]:
            assert admin.delete(f"/api/videos/{record['id']}").status_code == 204
        assert [upload(admin, short_clip).status_code for _ in range(2)] == [202, 202]
        assert admin.get(f"/api/videos/{busy['id']}").json()["status"] == "processing", "still busy"
        assert admin.get("/api/health").json()["workers"]["queued"] == 3
    finally:
        server.stop()


WEAK_PASSWORDS = [
    ("12345678", "consecutive"),
    ("weakling", "username"),
    (" " * 8, "blank"),
    ("abc\x00defgh", "control"),
    ("aaaabbbb", "different"),
    ("Password1", "common"),
]


def test_weak_passwords_are_refused(server: ServerProcess) -> None:
    admin = server.admin()
    for password, reason in WEAK_PASSWORDS:
        response = admin.post("/api/users", json={"username": "weakling", "password": password})
        assert reason in assert_error(response, 400, "invalid-field")["message"], password
    user_id = new_user(server, "weakling", "sturdy-pass-1")
    response = admin.put(f"/api/users/{user_id}/password", json={"password": "87654321"})
    assert "consecutive" in assert_error(response, 400, "invalid-field")["message"]


def test_weak_bootstrap_admin_password_stops_the_server(tmp_path: Path) -> None:
    config = write_toml(tmp_path / "server.toml", {"storage-directory": str(tmp_path / "storage"), "port": 0})
    result = subprocess.run(
        [sys.executable, "-m", "servers", "serve", "--config", str(config)],
        cwd=REPO_ROOT,
        env=dict(os.environ, SURVEILLANCE_ADMIN_PASSWORD="12345678"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "SURVEILLANCE_ADMIN_PASSWORD" in result.stderr and "Traceback" not in result.stderr


def test_nginx_refuses_an_anonymous_upload_before_reading_it(server: ServerProcess, tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        pytest.skip("nginx is not installed")
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / name).mkdir()
    port = free_port()
    conf = tmp_path / "nginx.conf"
    api = server.url.removeprefix("http://")
    conf.write_text(
        render_nginx_conf(
            NGINX_TEMPLATE.read_text(),
            listen=f"127.0.0.1:{port}",
            api=api,
            upload_limit_mb=700,
            run_dir=tmp_path,
        )
    )
    process = subprocess.Popen(
        [nginx, "-p", str(REPO_ROOT), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: listening(port), 10, interval=0.05, message="nginx listening")
        with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
            connection.sendall(
                b"POST /api/videos HTTP/1.1\r\nHost: localhost\r\nContent-Length: 600000000\r\n"
                b"Content-Type: multipart/form-data; boundary=x\r\n\r\n" + b"x" * 65536
            )
            answer = connection.recv(65536)  # before the 600 MB are sent: nothing was read
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert b'"unauthorized"' in answer
    finally:
        process.terminate()
        process.wait(10)


def raw_post(server: ServerProcess, head: str, sent: bytes, cookie: str = "") -> bytes:
    """The answer to a POST /api/videos of which only the headers and `sent` bytes are sent."""
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=10) as connection:
        cookie_line = f"Cookie: {cookie}\r\n" if cookie else ""
        connection.sendall(
            f"POST /api/videos HTTP/1.1\r\nHost: localhost\r\n{cookie_line}{head}\r\n".encode()
        )
        connection.sendall(sent)
        return connection.recv(65536)


def test_the_server_refuses_an_anonymous_large_body_before_reading_it(server: ServerProcess) -> None:
    """Without Nginx too: waitress would spool the whole body to disk before the app's 401."""
    multipart = "Content-Type: multipart/form-data; boundary=x\r\n"
    for size in (3_000_000, 600_000_000):  # within the test server's 4 MB upload limit, and far over it
        answer = raw_post(server, f"Content-Length: {size}\r\n{multipart}", b"x" * 65536)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]  # answered before the body is sent
    chunked = raw_post(server, f"Transfer-Encoding: chunked\r\n{multipart}", b"10000\r\n" + b"x" * 65536)
    assert chunked.startswith(b"HTTP/1.1 401"), chunked[:200]
    admin = server.admin()
    cookie = "; ".join(f"{name}={value}" for name, value in admin.http.cookies.get_dict().items())
    body = b"--x\r\n" + b"y" * 100_000 + b"\r\n--x--\r\n"
    head = f"Content-Length: {len(body)}\r\n{multipart}X-CSRF-Token: {admin.http.headers['X-CSRF-Token']}\r\n"
    logged_in = raw_post(server, head, body, cookie)  # the control: a session's body is read and judged
    assert logged_in.startswith(b"HTTP/1.1 400"), logged_in[:200]
    with socket.create_connection(("127.0.0.1", int(server.url.rsplit(":", 1)[1])), timeout=10) as connection:
        connection.sendall(  # a JSON body of 64 MB, even from a session, is refused before it is read
            f"PATCH /api/events/{'0' * 32} HTTP/1.1\r\nHost: localhost\r\nCookie: {cookie}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {64 << 20}\r\n\r\n".encode()
        )
        json_answer = connection.recv(65536)
    assert json_answer.startswith(b"HTTP/1.1 413"), json_answer[:200]


@pytest.fixture(scope="module")
def login_server(tmp_path_factory: pytest.TempPathFactory, inference_config: Path) -> Iterator[ServerProcess]:
    """A server of its own: these tests exhaust login budgets."""
    process = ServerProcess(tmp_path_factory.mktemp("logins"), inference_config=str(inference_config))
    yield process.start()
    process.stop()


def login_statuses(server: ServerProcess, attempts: list[tuple[str, str, str]]) -> list[int]:
    """Status of each (username, password, client address) login, all sent at once."""

    def send(attempt: tuple[str, str, str]) -> int:
        username, password, address = attempt
        body = {"username": username, "password": password}
        return (
            server.client()
            .post("/api/auth/login", json=body, headers={"X-Forwarded-For": address})
            .status_code
        )

    with ThreadPoolExecutor(len(attempts)) as pool:
        return list(pool.map(send, attempts))


def test_parallel_guesses_are_throttled(login_server: ServerProcess) -> None:
    new_user(login_server, "guessed", "guessed-pass-1")
    statuses = login_statuses(login_server, [("guessed", f"wrong-pass-{i}", "10.0.0.1") for i in range(20)])
    assert statuses.count(401) <= 4 and statuses.count(429) >= 16, statuses  # as many as one at a time


def test_made_up_names_from_one_address_are_throttled(login_server: ServerProcess) -> None:
    statuses = [
        login_statuses(login_server, [(f"nobody{i}-{j}", "whatever-1", "10.0.0.3") for j in range(8)])
        for i in range(6)
    ]
    assert [status for batch in statuses for status in batch].count(429) >= 10, statuses


def test_the_real_user_is_not_locked_out_by_another_address(login_server: ServerProcess) -> None:
    new_user(login_server, "target", "target-pass-1")
    assert 429 in login_statuses(login_server, [("target", "wrong-pass-1", "10.0.0.4")] * 8)
    assert login_statuses(login_server, [("target", "target-pass-1", "10.0.0.5")]) == [200]


def test_oversized_frames_are_refused_before_decoding(tmp_path: Path, inference_config: Path) -> None:
    bomb = tmp_path / "bomb.avi"  # one 3000x3000 MJPEG frame: 0.15 MB on disk, 27 MB decoded
    with av.open(str(bomb), mode="w") as container:
        stream = container.add_stream("mjpeg", rate=1)
        stream.width, stream.height, stream.pix_fmt = 3000, 3000, "yuvj420p"
        container.mux(stream.encode(av.VideoFrame.from_ndarray(np.zeros((3000, 3000, 3), np.uint8), "rgb24")))
        container.mux(stream.encode(None))
    server = ServerProcess(
        tmp_path, inference_config=str(inference_config), video_max_pixels=1_000_000
    ).start()
    try:
        admin = server.admin()
        response = upload(admin, bomb)
        assert "3000x3000" in assert_error(response, 400, "frames-too-large")["message"]
        assert admin.get("/api/videos").json()["total"] == 0
    finally:
        server.stop()


@pytest.fixture(scope="module")
def strict_server(
    tmp_path_factory: pytest.TempPathFactory, inference_config: Path
) -> Iterator[ServerProcess]:
    """The shipped network rules: loopback and link-local sources denied."""
    process = ServerProcess(
        tmp_path_factory.mktemp("strict"), inference_config=str(inference_config), stream_allowed_networks=[]
    )
    yield process.start()
    process.stop()


@pytest.mark.parametrize(
    "source",
    [
        "http://127.0.0.1:{port}/live.ts",
        "http://localhost:{port}/x",
        "rtsp://[::1]:{port}/x",
        "http://169.254.169.254/x",
    ],
)
def test_internal_stream_hosts_are_refused(strict_server: ServerProcess, source: str) -> None:
    admin = strict_server.admin()
    port = strict_server.url.rsplit(":", 1)[1]
    response = admin.post("/api/sessions", json={"name": "probe", "source": source.format(port=port)})
    assert "not allowed" in assert_error(response, 400, "invalid-source")["message"]
    assert admin.get("/api/sessions").json()["total"] == 0


class _Unauthorized(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="cam"')
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_stream_errors_do_not_tell_open_from_closed_ports(server: ServerProcess) -> None:
    admin = server.admin()
    listener = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Unauthorized)
    threading.Thread(target=listener.serve_forever, daemon=True).start()
    try:
        messages = []
        for port in (listener.server_address[1], free_port()):  # an open port that says 401, a closed one
            response = admin.post(
                "/api/sessions", json={"name": "scan", "source": f"http://127.0.0.1:{port}/x"}
            )
            messages.append(assert_error(response, 400, "stream-unavailable")["message"])
        assert messages[0] == messages[1], messages
    finally:
        listener.shutdown()
