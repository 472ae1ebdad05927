"""Model zoo downloads against a real HTTP server on 127.0.0.1: checksums, errors, resume, checkpoints."""

import hashlib
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from datasets.download import ChecksumError, DownloadError, download
from models import zoo
from models.extractors.slowfast import create_slowfast_features, create_slowfast_r50
from models.zoo import ZOO, CheckpointFileError, ZooEntry, ZooError, load_checkpoint

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
PAYLOAD_SHA256 = hashlib.sha256(PAYLOAD).hexdigest()


class _Server(http.server.ThreadingHTTPServer):
    """Serves `files` (URL path -> bytes); records the Range headers it received."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.files: dict[str, bytes] = {}
        self.honour_range = True
        self.truncate_at: int | None = None  # announce the full length, then close after this many bytes
        self.ranges: list[str | None] = []

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:
        body = self.server.files.get(self.path)
        if body is None:
            self.send_error(404, "Not Found")
            return
        requested = self.headers.get("Range")
        self.server.ranges.append(requested)
        start = 0
        if requested and self.server.honour_range:
            start = int(requested.removeprefix("bytes=").rstrip("-"))
            if start >= len(body):
                self.send_error(416, "Requested Range Not Satisfiable")
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(len(body) - start))
        self.end_headers()
        end = len(body) if self.server.truncate_at is None else start + self.server.truncate_at
        self.wfile.write(body[start:end])
        self.close_connection = True


@pytest.fixture
def server() -> Iterator[_Server]:
    instance = _Server()
    thread = threading.Thread(target=instance.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield instance
    instance.shutdown()
    instance.server_close()
    thread.join(timeout=5)


@pytest.fixture(autouse=True)
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SURVEILLANCE_CACHE", str(folder))
    return folder


def test_cache_dir_follows_environment(cache: Path, monkeypatch: pytest.MonkeyPatch):
    assert zoo.cache_dir() == cache
    monkeypatch.delenv("SURVEILLANCE_CACHE")
    assert zoo.cache_dir() == Path.home() / ".cache" / "surveillance"


def test_zoo_lists_the_pytorchvideo_checkpoints():
    assert ZOO["slowfast_r50"].url == (
        "https://dl.fbaipublicfiles.com/pytorchvideo/model_zoo/kinetics/SLOWFAST_8x8_R50.pyth"
    )
    assert ZOO["slowfast_r50_detection"].filename == "SLOWFAST_8x8_R50_DETECTION.pyth"


def test_random_slowfast_checkpoint_downloads_verifies_and_loads_strictly(
    server: _Server, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
):
    state = {
        key: torch.rand_like(value) if value.is_floating_point() else value
        for key, value in create_slowfast_r50().state_dict().items()
    }
    source = tmp_path / "SLOWFAST_8x8_R50.pyth"
    torch.save({"model_state": state}, source)
    server.files["/kinetics/SLOWFAST_8x8_R50.pyth"] = source.read_bytes()
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    monkeypatch.setitem(
        ZOO,
        "slowfast_r50",
        ZooEntry(
            name="slowfast_r50",
            url=server.url("/kinetics/SLOWFAST_8x8_R50.pyth"),
            sha256=digest,
            description="random test checkpoint",
        ),
    )

    loaded = load_checkpoint("slowfast_r50")
    assert "SLOWFAST_8x8_R50.pyth" in capsys.readouterr().err  # the tqdm progress bar
    assert (cache / "SLOWFAST_8x8_R50.pyth").read_bytes() == source.read_bytes()
    assert not list(cache.glob("*.part"))
    extractor = create_slowfast_features("slowfast_r50", state_dict=loaded)
    key = "blocks.4.multipathway_blocks.0.res_blocks.2.branch2.conv_c.weight"
    assert torch.equal(extractor.backbone.state_dict()[key], state[key])

    load_checkpoint("slowfast_r50", progress=False)  # cached: verified, not fetched again
    assert len(server.ranges) == 1


def test_checksum_mismatch_names_expected_and_actual(server: _Server, cache: Path):
    server.files["/model.pyth"] = PAYLOAD
    wrong = "0" * 64
    with pytest.raises(ChecksumError, match=f"expected sha256 {wrong}, got {PAYLOAD_SHA256}"):
        download(server.url("/model.pyth"), cache / "model.pyth", sha256=wrong, progress=False)
    assert not (cache / "model.pyth").exists()
    assert not (cache / "model.pyth.part").exists()


def test_http_404_is_a_clear_download_error(server: _Server, cache: Path):
    expected = r"download of http://127\.0\.0\.1:\d+/missing\.pyth failed: HTTP 404"
    with pytest.raises(DownloadError, match=expected):
        download(server.url("/missing.pyth"), cache / "missing.pyth", progress=False)
    assert not list(cache.glob("*"))


def test_unreachable_server_is_a_download_error(server: _Server, cache: Path):
    url = server.url("/model.pyth")
    server.shutdown()
    server.server_close()
    with pytest.raises(DownloadError, match="failed"):
        download(url, cache / "model.pyth", progress=False, timeout=5)


def test_interrupted_download_resumes_with_a_range_request(server: _Server, cache: Path):
    server.files["/model.pyth"] = PAYLOAD
    server.truncate_at = 300_000
    with pytest.raises(DownloadError, match="incomplete: got 300000 of 1048576 bytes"):
        download(server.url("/model.pyth"), cache / "model.pyth", sha256=PAYLOAD_SHA256, progress=False)
    assert not (cache / "model.pyth").exists()
    assert (cache / "model.pyth.part").stat().st_size == 300_000

    server.truncate_at = None
    path = download(server.url("/model.pyth"), cache / "model.pyth", sha256=PAYLOAD_SHA256, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert server.ranges == [None, "bytes=300000-"]
    assert not (cache / "model.pyth.part").exists()


def test_stale_partial_file_is_replaced_when_the_server_ignores_ranges(server: _Server, cache: Path):
    server.files["/model.pyth"] = PAYLOAD
    server.honour_range = False
    cache.mkdir()
    (cache / "model.pyth.part").write_bytes(b"garbage" * 1000)
    path = download(server.url("/model.pyth"), cache / "model.pyth", sha256=PAYLOAD_SHA256, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_oversized_partial_file_restarts_after_http_416(server: _Server, cache: Path):
    server.files["/model.pyth"] = PAYLOAD
    cache.mkdir()
    (cache / "model.pyth.part").write_bytes(PAYLOAD + b"extra")
    path = download(server.url("/model.pyth"), cache / "model.pyth", sha256=PAYLOAD_SHA256, progress=False)
    assert path.read_bytes() == PAYLOAD
    assert server.ranges == [f"bytes={len(PAYLOAD) + 5}-", None]


def test_corrupt_cached_file_is_downloaded_again(server: _Server, cache: Path):
    server.files["/model.pyth"] = PAYLOAD
    cache.mkdir()
    (cache / "model.pyth").write_bytes(b"corrupt")
    path = download(server.url("/model.pyth"), cache / "model.pyth", sha256=PAYLOAD_SHA256, progress=False)
    assert path.read_bytes() == PAYLOAD


def test_files_that_are_not_checkpoints_are_rejected(tmp_path: Path):
    text = tmp_path / "notes.pyth"
    text.write_text("not a checkpoint")
    with pytest.raises(CheckpointFileError, match=r"notes\.pyth: not a checkpoint file \("):
        load_checkpoint(text)
    no_tensors = tmp_path / "config.pyth"
    torch.save({"model_state": {"epoch": 3}}, no_tensors)
    with pytest.raises(CheckpointFileError, match="no 'model_state' dict of tensors"):
        load_checkpoint(no_tensors)
    with pytest.raises(CheckpointFileError, match="checkpoint file not found"):
        load_checkpoint(tmp_path / "absent.pyth")
    with pytest.raises(ZooError, match="unknown model zoo entry 'slowfast_r101'"):
        zoo.fetch("slowfast_r101")


def test_plain_state_dict_files_load_too(tmp_path: Path):
    path = tmp_path / "plain.pt"
    torch.save({"proj.weight": torch.ones(2, 3)}, path)
    assert torch.equal(load_checkpoint(path)["proj.weight"], torch.ones(2, 3))
