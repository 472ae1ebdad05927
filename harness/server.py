"""A real server in a subprocess (`python -m servers serve`) on 127.0.0.1 and an HTTP client for it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from inferences.paths import REPO_ROOT

ADMIN_PASSWORD = "admin-password-for-tests"


def toml_value(value: Any) -> str:
    """A Python value as TOML."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, dict):  # an inline table
        return "{" + ", ".join(f"{key} = {toml_value(item)}" for key, item in value.items()) + "}"
    return repr(value)


def write_toml(path: Path, values: dict[str, Any]) -> Path:
    """Write a flat TOML file."""
    path.write_text("".join(f"{key} = {toml_value(value)}\n" for key, value in values.items()))
    return path


def tiny_inference_config(folder: Path, *, size: int = 64, cues: bool = False) -> Path:
    """An inference config TOML of tiny real ONNX models (the inference tests' builders) with anomaly
    threshold 0, so every clip is abnormal and every live session alerts (deterministic). With `cues`, the
    detector reads the scene profile's cue channels (as the shipped one does) instead of the features; no
    object model either way (the object cue is tested with the real one in tests/inference)."""
    import torch

    from harness import tiny_models

    torch.set_num_threads(1)
    tiny_models.build_extractor(folder / "tiny-fp32.onnx", size=size)
    if cues:
        tiny_models.build_cue_detector(folder / "detector.onnx")
    else:
        tiny_models.build_random_detector(folder / "detector.onnx", smoothing_window=1)
    return write_toml(
        folder / "inference.toml",
        {
            "providers": ["CPUExecutionProvider"],
            "threads": 1,
            "extraction-model-path": str(folder / "tiny-{precision}.onnx"),
            "detection-model-path": str(folder / "detector.onnx"),
            "segment-width": size,
            "segment-height": size,
            "history-length": 16,
            "anomaly-threshold": 0.0,
            "predict-interval": 0.2,
            "open-timeout": 5.0,
            "objects-model-path": "",
        },
    )


class Client:
    """requests.Session against the server; `login` remembers the CSRF token for later writes."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.http.request(method, self.base_url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PUT", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def login(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> Client:
        response = self.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        self.http.headers["X-CSRF-Token"] = response.json()["csrf_token"]
        return self


class ServerProcess:
    """`python -m servers serve --config FILE` with the embedded database under `storage`."""

    def __init__(self, folder: Path, **config: Any) -> None:
        self.folder = folder
        self.storage = folder / "storage"
        values = {
            "storage-directory": str(self.storage),
            "port": 0,
            "threads": 16,
            "remove-interval": 1.0,
            "frames-interval": 0.1,
            "workers": 1,
            "stream-allowed-networks": ["127.0.0.0/8"],  # the loopback test cameras
        }
        values.update({key.replace("_", "-"): value for key, value in config.items()})
        self.config_path = write_toml(folder / "server.toml", values)
        self.engine = "mongodb" if values.get("db-connection-uri") else "montydb"
        self.output: list[str] = []
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self, timeout: float = 90.0) -> ServerProcess:
        env = dict(
            os.environ, SURVEILLANCE_ADMIN_PASSWORD=ADMIN_PASSWORD, OMP_NUM_THREADS="1", PYTHONUNBUFFERED="1"
        )
        self.output = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "servers", "serve", "--config", str(self.config_path)],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        ready = threading.Event()

        def drain() -> None:
            assert self.process is not None and self.process.stdout is not None
            for line in self.process.stdout:
                self.output.append(line)
                match = re.search(r"listening on (http://[\d.]+:\d+)/api", line)
                if match:
                    self.url = match.group(1)
                    ready.set()
            ready.set()

        threading.Thread(target=drain, daemon=True).start()
        if not ready.wait(timeout) or not self.url:
            self.stop(kill=True)
            raise RuntimeError("server did not start:\n" + "".join(self.output[-40:]))
        return self

    def client(self) -> Client:
        return Client(self.url)

    def admin(self) -> Client:
        return self.client().login()

    def stop(self, *, kill: bool = False, timeout: float = 30.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)

    def log(self) -> str:
        return "".join(self.output)


def wait_for(predicate, timeout: float, interval: float = 0.2, message: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy; AssertionError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")
