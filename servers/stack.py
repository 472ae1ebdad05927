"""`python -m servers stack`: the whole system on one machine — the API server (`python -m servers serve`)
and Nginx serving the built web client and proxying /api to it. Prints the URL and the admin login, and
stops both cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import jinja2
import jinja2.meta

from inferences.configfile import ConfigFileError
from inferences.errors import SurveillanceError
from inferences.paths import REPO_ROOT
from servers.auth import ADMIN_PASSWORD_ENV
from servers.config import load_server_config

NGINX_TEMPLATE = REPO_ROOT / "nginx" / "nginx.conf"
CLIENT_INDEX = REPO_ROOT / "clients" / "dist" / "index.html"
DEFAULT_RUN_DIR = REPO_ROOT / "runs" / "stack"
TEMP_DIRS = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
LISTENING = re.compile(r"listening on http://([\d.]+):(\d+)/api")
ADMIN_CREATED = re.compile(r"created user 'admin' with password: (\S+)")


class StackError(SurveillanceError):
    """The stack cannot start: a missing build, binary or port, or a child that failed."""


PLACEHOLDERS = ("listen", "api", "upload_limit_mb", "run_dir")


def render_nginx_conf(template: str, *, listen: str, api: str, upload_limit_mb: int, run_dir: Path) -> str:
    """nginx/nginx.conf (a Jinja2 template) with the listen address, the API address, the upload limit and
    the run folder; StackError when the template lacks a placeholder or names an unknown one."""
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False
    )
    try:
        parsed = environment.parse(template)
    except jinja2.TemplateSyntaxError as error:
        raise StackError(f"{NGINX_TEMPLATE}: line {error.lineno}: {error.message}") from None
    used = jinja2.meta.find_undeclared_variables(parsed)
    missing, unknown = sorted(set(PLACEHOLDERS) - used), sorted(used - set(PLACEHOLDERS))
    if missing or unknown:
        raise StackError(
            f"{NGINX_TEMPLATE}: placeholders missing: {missing or 'none'}, unknown: {unknown or 'none'}"
        )
    values = {"listen": listen, "api": api, "upload_limit_mb": upload_limit_mb, "run_dir": run_dir.as_posix()}
    return environment.from_string(parsed).render(values)


class Stack:
    """The server and Nginx child processes; `start()`, `wait()` until one exits or a signal, `stop()`."""

    def __init__(
        self, *, config: str | None, host: str, port: int, run_dir: Path, start_timeout: float
    ) -> None:
        self.config_path = config
        self.host = host
        self.port = port
        self.run_dir = run_dir.resolve()
        self.start_timeout = start_timeout
        self.server: subprocess.Popen | None = None
        self.nginx: subprocess.Popen | None = None
        self.api_address = ""
        self.admin_password: str | None = os.environ.get(ADMIN_PASSWORD_ENV) or None
        self.stopping = threading.Event()

    def start(self) -> str:
        """Start the server, then Nginx in front of it; returns the URL of the web client."""
        # Debian puts nginx in /usr/sbin, which is not on a normal user's PATH.
        nginx = shutil.which("nginx", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
        if nginx is None:
            raise StackError("nginx is not installed (apt-get install nginx, or run `make install`)")
        if not CLIENT_INDEX.is_file():
            raise StackError(
                f"{CLIENT_INDEX.relative_to(REPO_ROOT)} is missing: build the client first "
                "(make clients/dist/index.html)"
            )
        try:
            config = load_server_config(self.config_path)
        except ConfigFileError as error:
            raise StackError(str(error)) from error
        self._start_server()
        for name in TEMP_DIRS:
            (self.run_dir / name).mkdir(parents=True, exist_ok=True)
        conf = self.run_dir / "nginx.conf"
        conf.write_text(
            render_nginx_conf(
                NGINX_TEMPLATE.read_text(),
                listen=f"{self.host}:{self.port}",
                api=self.api_address,
                upload_limit_mb=math.ceil(config.upload_max_size) + 1,
                run_dir=self.run_dir,
            )
        )
        self.nginx = subprocess.Popen(
            [nginx, "-p", str(REPO_ROOT), "-e", str(self.run_dir / "error.log"), "-c", str(conf)],
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://{self.host}:{self.port}/"
        self._wait_healthy(url + "api/health")
        return url

    def _start_server(self) -> None:
        command = [sys.executable, "-m", "servers", "serve"]
        if self.config_path:
            command += ["--config", self.config_path]
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        # Own process groups: Ctrl-C reaches only the launcher, which stops Nginx first, then the server.
        self.server = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        ready = threading.Event()

        def relay() -> None:
            assert self.server is not None and self.server.stdout is not None
            for line in self.server.stdout:
                sys.stdout.write(f"[server] {line}")
                sys.stdout.flush()
                if match := ADMIN_CREATED.search(line):
                    self.admin_password = match.group(1)
                if not ready.is_set() and (match := LISTENING.search(line)):
                    self.api_address = f"{match.group(1)}:{match.group(2)}"
                    ready.set()
            ready.set()

        threading.Thread(target=relay, name="server-output", daemon=True).start()
        deadline = time.monotonic() + self.start_timeout
        while not ready.wait(0.5) and time.monotonic() < deadline:
            if self.stopping.is_set():
                raise StackError("interrupted while the server was starting")
        if not self.api_address:
            try:  # its output ended: it is exiting
                reason = f"exited with status {self.server.wait(timeout=5)}"
            except subprocess.TimeoutExpired:
                reason = f"not listening after {self.start_timeout:g} s"
            raise StackError(f"the server did not start ({reason}); see its output above")

    def _wait_healthy(self, health_url: str) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.nginx is not None
            if self.nginx.poll() is not None:
                raise StackError(
                    f"nginx exited with status {self.nginx.returncode}; see {self.run_dir / 'error.log'}"
                )
            try:
                with urllib.request.urlopen(health_url, timeout=5) as response:
                    if response.status == 200:
                        return
            except urllib.error.HTTPError as error:
                if error.code < 500:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise StackError(f"{health_url} did not answer within 30 s")

    def wait(self) -> int:
        """Block until a signal asks to stop (0) or a child exits on its own (1)."""
        while not self.stopping.wait(0.5):
            for name, child in (("server", self.server), ("nginx", self.nginx)):
                if child is not None and child.poll() is not None:
                    print(f"error: {name} exited with status {child.returncode}", file=sys.stderr)
                    return 1
        return 0

    def stop(self) -> None:
        """Stop Nginx (graceful quit), then the server (SIGINT: it finishes its requests and services)."""
        for child, sig, timeout in ((self.nginx, signal.SIGQUIT, 10), (self.server, signal.SIGINT, 60)):
            if child is None or child.poll() is not None:
                continue
            child.send_signal(sig)
            try:
                child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)


def main(argv: list[str] | None = None) -> int:
    """Run the stack until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="python -m servers stack", description=__doc__)
    parser.add_argument(
        "--config", help="server TOML (default: $SURVEILLANCE_SERVER_CONFIG or servers/configs/config.toml)"
    )
    parser.add_argument("--host", default="127.0.0.1", help="address Nginx listens on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8080, help="port Nginx listens on (default 8080)")
    parser.add_argument(
        "--run-dir",
        type=Path,
        default=DEFAULT_RUN_DIR,
        help="folder for Nginx's pid, logs and temporary files (default runs/stack)",
    )
    parser.add_argument(
        "--start-timeout",
        type=float,
        default=600.0,
        help="seconds to wait for the server to listen (default 600)",
    )
    options = parser.parse_args(argv)
    if not 0 < options.port < 65536:
        print(f"error: --port: {options.port} is not a TCP port", file=sys.stderr)
        return 2
    stack = Stack(
        config=options.config,
        host=options.host,
        port=options.port,
        run_dir=options.run_dir,
        start_timeout=options.start_timeout,
    )
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stack.stopping.set())
    try:
        url = stack.start()
    except StackError as error:
        stack.stop()
        print(f"error: {error}", file=sys.stderr)
        return 2
    if stack.stopping.is_set():
        stack.stop()
        return 0
    login = (
        f"admin / {stack.admin_password}"
        if stack.admin_password
        else f"admin / the password printed when the admin was first created (or set {ADMIN_PASSWORD_ENV} "
        "before the first start)"
    )
    print(f"\nSurveillance is running at {url}\n  log in as: {login}\n  Ctrl-C stops it.\n", flush=True)
    code = stack.wait()
    print("stopping Nginx and the server…", flush=True)
    stack.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
