"""Network sources under a policy: FFmpeg must not be led to denied addresses by redirects, playlists or a
second DNS lookup (real FFmpeg through PyAV, real loopback HTTP servers)."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import av
import pytest

from inferences.sources import HostNotAllowed, NetworkPolicy, StreamError, open_arguments, parse_source
from inferences.stream import StreamDetector
from tests.inference.conftest import make_config, write_colour_video

# 127.0.0.1 is the camera's (allowed) address; the rest of 127/8, e.g. 127.0.0.2, stands for internal hosts.
POLICY = NetworkPolicy.from_strings(["127.0.0.0/8", "::1/128"], ["127.0.0.1/32"])


def serve(handler: type[http.server.BaseHTTPRequestHandler], address: str = "127.0.0.1") -> Iterator[str]:
    server = http.server.ThreadingHTTPServer((address, 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://{address}:{server.server_address[1]}"
    finally:
        server.shutdown()


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with a real video `clip.mp4`."""
    folder = tmp_path_factory.mktemp("media")
    write_colour_video(folder / "clip.mp4", ["red", "blue"], frames_per_colour=8)
    return folder


@pytest.fixture
def internal(media: Path) -> Iterator[str]:
    """An 'internal' server (127.0.0.2) serving the clip: reaching it is what the policy forbids."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(media))
    yield from serve(handler, "127.0.0.2")


def redirecting_to(target: str) -> type[http.server.BaseHTTPRequestHandler]:
    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(302)
            self.send_header("Location", target)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Redirect


def opens(url: str, options: dict[str, str]) -> bool:
    try:
        with av.open(url, options=options, timeout=(3, 3)) as container:
            return bool(container.streams.video)
    except (av.FFmpegError, OSError):
        return False


def test_the_internal_server_serves_a_video_when_nothing_guards_it(internal: str) -> None:
    assert opens(f"{internal}/clip.mp4", {})  # the control: the attacks below would work without the policy


def test_a_denied_host_is_refused_before_connecting(internal: str) -> None:
    with pytest.raises(HostNotAllowed, match="not allowed"):
        open_arguments(parse_source(f"{internal}/clip.mp4"), POLICY)


def test_a_redirect_to_a_denied_address_is_not_followed(internal: str) -> None:
    for camera in serve(redirecting_to(f"{internal}/clip.mp4")):
        assert opens(f"{camera}/live", {})  # FFmpeg alone follows the redirect
        url, options = open_arguments(parse_source(f"{camera}/live"), POLICY)
        assert not opens(url, options)


def test_a_playlist_that_points_at_a_denied_address_is_not_read(internal: str, tmp_path: Path) -> None:
    (tmp_path / "list.m3u8").write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\n{internal}/clip.mp4\n#EXT-X-ENDLIST\n"
    )
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    for camera in serve(handler):
        assert opens(f"{camera}/list.m3u8", {})  # FFmpeg alone reads the playlist and its internal segment
        url, options = open_arguments(parse_source(f"{camera}/list.m3u8"), POLICY)
        assert not opens(url, options)


def test_a_plain_source_opens_at_the_checked_address_with_its_own_host_name(media: Path) -> None:
    """No second lookup for DNS rebinding to change: the URL carries the checked address, the request
    still names the host."""
    hosts: list[str] = []

    class Recording(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(media), **kwargs)  # type: ignore[arg-type]

        def do_GET(self) -> None:
            hosts.append(self.headers.get("Host", ""))
            super().do_GET()

    for camera in serve(Recording):
        port = camera.rsplit(":", 1)[1]
        url, options = open_arguments(parse_source(f"http://localhost:{port}/clip.mp4"), POLICY)
        assert url == f"http://127.0.0.1:{port}/clip.mp4"
        assert opens(url, options)
        assert hosts and set(hosts) == {f"localhost:{port}"}


def test_the_detector_checks_the_policy_on_connecting(model_dir: Path, internal: str) -> None:
    detector = StreamDetector(
        make_config(model_dir, open_timeout=3.0), f"{internal}/clip.mp4", network_policy=POLICY
    )
    with pytest.raises(StreamError, match="not allowed"):
        detector.start()
    allowed = NetworkPolicy.from_strings(["127.0.0.0/8"], ["127.0.0.0/8"])
    detector = StreamDetector(
        make_config(model_dir, open_timeout=3.0), f"{internal}/clip.mp4", network_policy=allowed
    )
    detector.start()
    detector.stop()
