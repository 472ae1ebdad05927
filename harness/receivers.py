"""What the notification tests listen with: Debian's Mosquitto broker on a loopback port (with a paho
subscriber) and a loopback HTTP server that records the webhook POSTs it gets."""

from __future__ import annotations

import getpass
import json
import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from harness.camera import free_port, listening

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
MOSQUITTO_PASSWD = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate it signed for 127.0.0.1 (openssl): (ca, certificate, key)."""
    ca, ca_key = folder / "ca.crt", folder / "ca.key"
    csr, cert, key = folder / "server.csr", folder / "server.crt", folder / "server.key"
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    run("req", "-x509", *ec, "-keyout", str(ca_key), "-out", str(ca), "-days", "1", "-subj", "/CN=test CA")
    run("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    (folder / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
        "-out", str(cert), "-days", "1", "-extfile", str(folder / "san.ext"))  # fmt: skip
    return ca, cert, key


class Mosquitto:
    """`mosquitto -c <folder>/mosquitto.conf` listening on 127.0.0.1:`port`, nothing persisted: anonymous
    clients allowed, or with `users` ({name: password}) only those; with `tls` (ca, certificate, key)
    over TLS. Start it again on the same port to bring the broker back."""

    def __init__(
        self,
        folder: Path,
        port: int | None = None,
        *,
        users: dict[str, str] | None = None,
        tls: tuple[Path, Path, Path] | None = None,
    ) -> None:
        self.port = port or free_port()
        self.folder = folder
        self.users = users
        self.tls = tls
        self.process: subprocess.Popen | None = None

    def start(self) -> Mosquitto:
        if not Path(MOSQUITTO).exists():
            raise FileNotFoundError(f"{MOSQUITTO} is not installed (apt-get install mosquitto)")
        lines = [f"listener {self.port} 127.0.0.1", "persistence false", f"user {getpass.getuser()}"]
        if self.users:
            passwords = self.folder / "passwords"
            passwords.write_text("")
            for name, password in self.users.items():
                subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwords), name, password], check=True)
            lines += ["allow_anonymous false", f"password_file {passwords}"]
        else:
            lines.append("allow_anonymous true")
        if self.tls:
            lines += [
                f"{name} {path}"
                for name, path in zip(("cafile", "certfile", "keyfile"), self.tls, strict=True)
            ]
        config = self.folder / "mosquitto.conf"
        config.write_text("\n".join(lines) + "\n")
        self.process = subprocess.Popen(
            [MOSQUITTO, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not listening(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"mosquitto did not start listening on port {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        """Kill the broker (a broker that goes away)."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


class Subscriber:
    """A paho client subscribed to `topic` on the broker (as `user`, over TLS checked against `ca`);
    `messages` holds (topic, JSON or text, retain)."""

    def __init__(
        self, port: int, topic: str, *, user: tuple[str, str] | None = None, ca: Path | None = None
    ) -> None:
        self.messages: list[tuple[str, Any, bool]] = []
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)
        if user:
            self._client.username_pw_set(*user)
        if ca:
            self._client.tls_set(ca_certs=str(ca))
        subscribed = threading.Event()
        self._client.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
        self._client.on_subscribe = lambda *_: subscribed.set()
        self._client.on_message = self._message
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        if not subscribed.wait(10):
            raise RuntimeError(f"could not subscribe to {topic}")

    def _message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        text = message.payload.decode()
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = text
        self.messages.append((message.topic, body, bool(message.retain)))

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class Receiver:
    """A loopback HTTP server recording each POST as (path, headers, raw body); it answers `status`."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.status = 204
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.posts.append((self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def events(self) -> list[tuple[dict[str, str], dict]]:
        """(headers, JSON body) of every POST received."""
        return [(headers, json.loads(body)) for _, headers, body in self.posts]

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
