"""Serving the app with waitress (one process, many threads: live sessions live in this process).

Waitress reads a whole request body before the app sees the request; so that an anonymous client cannot
make it spool large bodies to disk, a body over PREAUTH_BODY_BYTES (or chunked) is read only when the
request's cookie names a logged-in user, checked right after the headers (Nginx checks the same before
proxying an upload). Bodies of other requests (JSON) are refused over MAX_JSON_BODY_BYTES, read or not."""

from __future__ import annotations

import logging
import signal
from typing import Any

from flask import Flask
from waitress import create_server
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.utilities import BadRequest

from servers.auth import cookie_user

API_CONNECTIONS = 100  # open connections (idle keep-alive ones too) beside the streams: waitress's default
PREAUTH_BODY_BYTES = 64 * 1024  # larger bodies (uploads) are read only with a login cookie


class Unauthorized(BadRequest):
    """Waitress's answer to a large body without a login cookie (the body is not read)."""

    code = 401
    reason = "Unauthorized"


class AnonymousBodyTooLarge(BadRequest):
    """A public endpoint's (login's) body over PREAUTH_BODY_BYTES: nothing it takes is that large."""

    code = 413
    reason = "Request Entity Too Large"


PUBLIC_BODY_PATHS = {"/api/auth/login"}
UPLOAD_PATHS = {"/api/videos"}  # the only bodies over MAX_JSON_BODY_BYTES (multipart video uploads)
MAX_JSON_BODY_BYTES = 1 << 20


class BodyTooLarge(BadRequest):
    """A body over MAX_JSON_BODY_BYTES anywhere but an upload: no JSON request is that large."""

    code = 413
    reason = "Request Entity Too Large"


def body_admitted(app: Flask, cookie: str) -> bool:
    """Whether a request with this Cookie header carries an unrevoked login cookie."""
    with app.test_request_context(headers={"Cookie": cookie} if cookie else None):
        return cookie_user(app.extensions["surveillance"].users) is not None


def authenticated_body_channel(app: Flask) -> type[HTTPChannel]:
    """A waitress channel whose parser refuses a large or chunked body of an anonymous request as soon as
    its headers are in."""

    class Parser(HTTPRequestParser):
        def parse_header(self, header_plus: bytes) -> None:
            super().parse_header(header_plus)
            large = self.chunked or self.content_length > PREAUTH_BODY_BYTES
            path = self.path.rstrip("/")
            if path not in UPLOAD_PATHS and (self.chunked or self.content_length > MAX_JSON_BODY_BYTES):
                self.error = BodyTooLarge(f"only uploads may be chunked or over {MAX_JSON_BODY_BYTES} bytes")
                self.completed = True
                self.content_length = 0
            elif large and not body_admitted(app, self.headers.get("COOKIE", "")):
                public = path in PUBLIC_BODY_PATHS
                self.error = (
                    AnonymousBodyTooLarge(f"bodies over {PREAUTH_BODY_BYTES} bytes need a login cookie")
                    if public
                    else Unauthorized("log in first")
                )
                self.completed = True
                self.content_length = 0  # who asks comes before how much: no 413 over the 401

    class Channel(HTTPChannel):
        parser_class = Parser

    return Channel


def create_wsgi_server(app: Flask, *, host: str | None = None, port: int | None = None) -> Any:
    """A waitress server for `app` on host:port (port 0 = any free port; see `.effective_port`)."""
    config = app.extensions["surveillance"].config
    server = create_server(
        app,
        host=host or config.host,
        port=config.port if port is None else port,
        threads=config.threads + config.stream_max,  # open streams never take the API's threads
        channel_request_lookahead=1,  # keeps reading: a stream notices its client left without writing
        connection_limit=API_CONNECTIONS + config.stream_max,
        # Bodies up to twice the limit reach Flask, which answers 413 as JSON; larger ones waitress refuses.
        max_request_body_size=2 * config.upload_max_bytes + (1 << 20),
        channel_timeout=120,
        ident="surveillance",
        clear_untrusted_proxy_headers=True,
        # The client address (login throttling) from the X-Forwarded-For that the trusted proxy adds.
        **(
            {
                "trusted_proxy": config.trusted_proxy,
                "trusted_proxy_headers": {"x-forwarded-for"},
                "trusted_proxy_count": 1,
            }
            if config.trusted_proxy
            else {}
        ),
    )
    server.channel_class = authenticated_body_channel(app)
    return server


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(app: Flask) -> None:
    """Serve until interrupted, then stop the background services."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGTERM, _interrupt)  # stop cleanly on SIGTERM as on Ctrl-C
    server = create_wsgi_server(app)
    print(
        f"Surveillance API listening on http://{server.effective_host}:{server.effective_port}/api",
        flush=True,
    )
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        app.extensions["surveillance"].shutdown()
