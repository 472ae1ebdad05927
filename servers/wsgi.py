"""Serving the app with waitress (one process, many threads: live sessions live in this process)."""

from __future__ import annotations

import logging
import signal
from typing import Any

from flask import Flask
from waitress import create_server

API_CONNECTIONS = 100  # open connections (idle keep-alive ones too) beside the streams: waitress's default


def create_wsgi_server(app: Flask, *, host: str | None = None, port: int | None = None) -> Any:
    """A waitress server for `app` on host:port (port 0 = any free port; see `.effective_port`)."""
    config = app.extensions["surveillance"].config
    return create_server(
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
