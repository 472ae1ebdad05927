"""Flask application factory: configuration, persistence, background services, blueprints, security."""

from __future__ import annotations

import logging
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from flask import Flask, Request, g, request

from inferences.config import InferenceConfig, load_inference_config
from servers.api import register_blueprints
from servers.auth import CSRF_HEADER, LoginThrottle, cookie_user, csrf_valid, load_secret_key
from servers.config import ServerConfig, check_with_engine, load_server_config
from servers.errors import ApiError, register_error_handlers
from servers.events import EventLog
from servers.execution import create_runners, shared_files
from servers.history import camera_history
from servers.notify.notifier import Notifier
from servers.redaction import redact_logs
from servers.services import Services, services
from servers.storage import (
    DatabaseUnavailable,
    LiveSessionRepository,
    UserRepository,
    VideoRepository,
    connect_database,
)
from servers.storage.reviews import AlertReviews
from servers.streams import StreamSlots

log = logging.getLogger("servers")
PUBLIC_ENDPOINTS = {"health.health", "auth.login", "openapi.openapi"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# On every API response: nothing of it runs as a page, is framed, or leaks the URL to another site.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


class StreamingRequest(Request):
    """Multipart file parts stream straight into the storage's uploads folder (never whole in memory)."""

    def _get_file_stream(
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        directory = services().files.uploads_dir()
        return tempfile.NamedTemporaryFile(
            "w+b", dir=directory, prefix="upload-", suffix=".part", delete=False
        )


def load_inference(config: ServerConfig) -> InferenceConfig:
    """The inference engine's configuration named by the server config, checked against it
    (`check_with_engine`: ConfigFileError naming the fields of both)."""
    engine = load_inference_config(config.inference_config or None)
    check_with_engine(config, engine)
    return engine


def create_app(config: ServerConfig | str | Path | None = None, *, start_services: bool = True) -> Flask:
    """Build the Flask app. `config`: a ServerConfig, a TOML path, or None (env var or default file)."""
    if not isinstance(config, ServerConfig):
        config = load_server_config(config)
    inference_config = load_inference(config)  # both configs, and their agreement, before anything starts
    redact_logs()
    config.storage_directory.mkdir(parents=True, exist_ok=True)
    app = Flask("servers")
    app.request_class = StreamingRequest
    app.url_map.merge_slashes = False  # its redirect would name the client's Host header: 404 instead
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.config.update(
        SECRET_KEY=load_secret_key(config.storage_directory),
        SESSION_COOKIE_NAME="surveillance_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.cookie_secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=config.upload_max_bytes,
        MAX_FORM_MEMORY_SIZE=1 << 20,
    )
    database = connect_database(
        config.db_connection_uri,
        name=config.db_name,
        storage_directory=config.storage_directory,
        max_connections=config.db_connection_max,
    )
    files = shared_files(config, database)
    videos, sessions, users = (
        VideoRepository(database),
        LiveSessionRepository(database),
        UserRepository(database),
    )
    alerts = AlertReviews(database)
    history = camera_history(config, database)
    notifier = Notifier(config.notifications)
    jobs, live = create_runners(
        config,
        videos=videos,
        sessions=sessions,
        files=files,
        inference_config=inference_config,
        notifier=notifier,
        history=history,
    )
    svc = Services(
        config=config,
        database=database,
        files=files,
        videos=videos,
        sessions=sessions,
        users=users,
        scores=history.scores,
        jobs=jobs,
        live=live,
        notifier=notifier,
        throttle=LoginThrottle(
            free_attempts=config.login_free_attempts,
            max_delay=config.login_max_delay,
            concurrency=config.login_concurrency,
        ),
        streams=StreamSlots(total=config.stream_max, per_user=config.stream_max_per_user),
        inference_config=inference_config,
        alerts=alerts,
        events=EventLog(alerts, videos),
    )
    app.extensions["surveillance"] = svc
    try:
        svc.prepare()
        prepared = True
    except DatabaseUnavailable as error:
        log.error("database unavailable at start (%s); the API answers 503 until it is back", error)
        prepared = False
    if start_services:
        svc.start(prepared=prepared)

    register_error_handlers(app)
    _register_security(app)
    register_blueprints(app)
    return app


def _register_security(app: Flask) -> None:
    @app.before_request
    def _authenticate() -> None:
        if request.routing_exception is not None or request.endpoint in PUBLIC_ENDPOINTS:
            return None
        user = cookie_user(services().users)
        if user is None:
            raise ApiError(401, "unauthorized", "log in first")
        if request.method not in SAFE_METHODS and not csrf_valid(request.headers.get(CSRF_HEADER)):
            raise ApiError(403, "csrf", f"missing or wrong {CSRF_HEADER} header")
        g.user = user
        return None

    @app.after_request
    def _headers(response: Any) -> Any:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response
