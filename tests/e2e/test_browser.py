"""Browser end-to-end tests: `python -m servers stack` (server + Nginx, embedded database in a temporary
folder) driven by headless Chromium through `node --test clients/e2e/app.test.js` (playwright-core).

The stack runs the real models (I3D + the shipped Ped2 detector: Test001's cyclist is the abnormal
interval and the live alert) when they are prepared, otherwise tiny real ONNX models (the inference tests'
builders) with anomaly threshold 0, so every clip is abnormal and every live session alerts.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.camera import free_port
from harness.server import tiny_inference_config, write_toml
from inferences.paths import REPO_ROOT, SHARED_DATA

CLIENT = REPO_ROOT / "clients"
CHROMIUM = Path(os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium"))
ADMIN_PASSWORD = "admin-password-for-e2e"
# Every browser test file, one after the other against the same stack (app.test.js first).
E2E_FILES = sorted(
    (str(path.relative_to(CLIENT)) for path in (CLIENT / "e2e").glob("*.test.js")),
    key=lambda name: name != "e2e/app.test.js",
)
RUNNING = re.compile(r"Surveillance is running at (http://\S+?)/?$")
# The real pipeline's models (the I3D extractor and the object detector built by `make install`, the
# shipped Ped2 cue detector).
REAL_MODELS = (
    REPO_ROOT / "inferences" / "models" / "i3d-fp32.onnx",
    REPO_ROOT / "inferences" / "models" / "centernet-fp32.onnx",
    REPO_ROOT / "inferences" / "models" / "ped2-cue-detector.onnx",
)


def require_tools() -> None:
    """Skip with the reason when a tool the browser tests need is missing."""
    for tool in ("node", "nginx", "ffmpeg"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            pytest.skip(f"{tool} is not installed")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed")
    if not (CLIENT / "node_modules" / "playwright-core").is_dir():
        pytest.skip("clients/node_modules is missing: run `make clients/dist/index.html`")
    if not (CLIENT / "dist" / "index.html").is_file():
        pytest.skip("clients/dist is missing: run `make clients/dist/index.html`")


class Stack:
    """`python -m servers stack` in a subprocess; its output is kept for failure reports."""

    def __init__(self, config: Path, run_dir: Path) -> None:
        self.port = free_port()
        env = dict(
            os.environ, SURVEILLANCE_ADMIN_PASSWORD=ADMIN_PASSWORD, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1"
        )
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "servers",
                "stack",
                "--config",
                str(config),
                "--port",
                str(self.port),
                "--run-dir",
                str(run_dir),
                "--start-timeout",
                "120",
            ],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self.url = ""
        ready = threading.Event()

        def drain() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                if match := RUNNING.search(line.strip()):
                    self.url = match.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(150) or not self.url:
            self.process.kill()
            raise RuntimeError("the stack did not start:\n" + self.log())

    def log(self) -> str:
        return "".join(self.output[-60:])

    def stop(self) -> int:
        """SIGTERM, as a service manager would; returns the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(90)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
                raise
        return self.process.returncode


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole stack on free ports with the embedded database in a temporary folder. Models: the real
    ones (inferences/configs/config.toml) when `make install` has prepared them, else tiny real ONNX models;
    $E2E_INFERENCE_CONFIG = a config file or `tiny` chooses."""
    require_tools()
    folder = tmp_path_factory.mktemp("e2e")
    choice = os.environ.get("E2E_INFERENCE_CONFIG", "")
    if choice == "tiny" or (not choice and not all(path.is_file() for path in REAL_MODELS)):
        inference = tiny_inference_config(folder)
    else:
        inference = Path(choice or REPO_ROOT / "inferences" / "configs" / "config.toml").resolve()
    server = write_toml(
        folder / "server.toml",
        {
            "storage-directory": str(folder / "storage"),
            "port": 0,
            "threads": 16,
            "workers": 1,
            "frames-interval": 0.1,
            "remove-interval": 1.0,
            "upload-max-size": 16.0,
            "inference-config": str(inference),
            "stream-allowed-networks": ["127.0.0.0/8"],  # the loopback test camera
        },
    )
    running = Stack(server, folder / "run")
    yield running
    running.stop()


def test_browser_suite(stack: Stack) -> None:
    """Every browser test in clients/e2e passes against the running stack (those that need the Ped2 clip
    skip, with the reason, when ../shared/data is absent)."""
    video = SHARED_DATA / "ucsd-ped2" / "Test001.mp4"
    env = dict(
        os.environ,
        E2E_BASE_URL=stack.url,
        E2E_ADMIN_PASSWORD=ADMIN_PASSWORD,
        E2E_VIDEO=str(video),
        E2E_CHROMIUM=str(CHROMIUM),
    )
    result = subprocess.run(
        ["node", "--test", "--test-reporter=tap", "--test-concurrency=1", *E2E_FILES],
        cwd=CLIENT,
        env=env,
        capture_output=True,
        text=True,
        timeout=480,
    )
    assert result.returncode == 0, (
        f"browser tests failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
        f"\n--- stack output ---\n{stack.log()}"
    )
    assert re.search(r"^# fail 0$", result.stdout, re.MULTILINE), result.stdout[-3000:]
    if video.is_file():
        assert not re.search(r"^# skipped [1-9]", result.stdout, re.MULTILINE), result.stdout[-3000:]


def test_stack_stops_cleanly_on_sigterm(stack: Stack) -> None:
    """SIGTERM stops Nginx and the server; the launcher exits 0 and the port is free again."""
    assert stack.stop() == 0, stack.log()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", stack.port)) != 0, "Nginx still listens after the stop"
