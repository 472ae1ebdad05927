"""Flask application factory: configuration, persistence, background services, blueprints, security."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO, Any

from flask import Flask, Request, current_app, g, request

from inferences.config import InferenceConfig, load_inference_config
from inferences.errors import SurveillanceError
from servers.auth import (
    ADMIN_PASSWORD_ENV,
    CSRF_HEADER,
    LoginThrottle,
    csrf_valid,
    hash_password,
    load_secret_key,
    password_problem,
    session_user,
)
from servers.config import ServerConfig, load_server_config
from servers.errors import ApiError, register_error_handlers
from servers.events import EventLog
from servers.files import FileStore
from servers.jobs import JobManager
from servers.live import LIVE_STATES, LiveManager
from servers.notify.notifier import Notifier
from servers.redaction import redact, redact_logs
from servers.retention import apply_retention
from servers.storage import (
    Database,
    DatabaseUnavailable,
    RecordRepository,
    SessionRepository,
    UserRepository,
    connect_database,
)
from servers.storage.reviews import AlertReviews
from servers.storage.users import DuplicateUsername
from servers.streams import StreamSlots

log = logging.getLogger("servers")
PUBLIC_ENDPOINTS = {"health.health", "auth.login", "openapi.openapi"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
DATABASE_RETRY_SECONDS = 2.0
# On every API response: nothing of it runs as a page, is framed, or leaks the URL to another site.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@dataclass
class Services:
    """Everything the views share; `app.extensions["surveillance"]`."""

    config: ServerConfig
    database: Database
    files: FileStore
    records: RecordRepository
    sessions: SessionRepository
    users: UserRepository
    jobs: JobManager
    live: LiveManager
    notifier: Notifier
    throttle: LoginThrottle
    streams: StreamSlots
    inference_config: InferenceConfig
    alerts: AlertReviews
    events: EventLog
    admin_password: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _remover: threading.Thread | None = None

    def prepare(self) -> None:
        """What the start needs from the database: indexes and the first admin (DatabaseUnavailable)."""
        for repository in (self.records, self.sessions, self.users, self.alerts):
            repository.ensure_indexes()
        self.admin_password = ensure_admin(self.users)
        if self.admin_password:
            print(
                f"Surveillance: created user 'admin' with password: {self.admin_password}",
                file=sys.stdout,
                flush=True,
            )

    def start(self, *, prepared: bool = True) -> None:
        """Start the workers, the removal task and the restart recovery; when the database was unavailable
        (`prepared` False), a thread retries the preparation and the recovery until it is back."""
        self.jobs.start()
        self._remover = threading.Thread(target=self._remove_loop, name="removal-task", daemon=True)
        self._remover.start()
        if prepared:
            recover(self)
        else:
            threading.Thread(target=self._prepare_loop, name="database-retry", daemon=True).start()

    def _prepare_loop(self) -> None:
        while not self._stop.wait(DATABASE_RETRY_SECONDS):
            try:
                self.prepare()
                recover(self)
            except DatabaseUnavailable as error:
                log.warning("database unavailable (%s); retrying in %g s", error, DATABASE_RETRY_SECONDS)
                continue
            log.info("database available: indexes, admin and restart recovery done")
            return

    def shutdown(self) -> None:
        """Stop live sessions, workers, notifications and the removal task; close the database."""
        self._stop.set()
        self.live.stop_all()
        self.notifier.close()
        self.jobs.stop()
        if self._remover is not None:
            self._remover.join(5)
        self.database.close()

    def _remove_loop(self) -> None:
        while not self._stop.wait(self.config.remove_interval):
            try:
                apply_retention(
                    self.files,
                    self.records,
                    self.alerts,
                    days=self.config.retention_days,
                    max_gigabytes=self.config.retention_max_size,
                )
                removed = self.files.remove_expired(self.config.remove_interval)
                if removed:
                    log.info("removal task deleted %d entries", removed)
            except (OSError, DatabaseUnavailable):
                log.exception("removal task failed")


def services() -> Services:
    """The Services of the current app."""
    return current_app.extensions["surveillance"]


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
    """The inference engine's configuration named by the server config."""
    return load_inference_config(config.inference_config or None)


def ensure_admin(users: UserRepository) -> str | None:
    """Create the admin on first start; returns the generated password when none was given. ValueError
    naming the variable when the password from the environment is not acceptable."""
    if users.count() > 0:
        return None
    password = os.environ.get(ADMIN_PASSWORD_ENV) or None
    if password is not None and (problem := password_problem(password, "admin")):
        raise SurveillanceError(f"{ADMIN_PASSWORD_ENV}: the password {problem[1]}")
    generated = password is None
    password = password or secrets.token_urlsafe(12)
    try:
        users.create(username="admin", password_hash=hash_password(password), role="admin")
    except DuplicateUsername:
        return None
    return password if generated else None


def recover(svc: Services) -> None:
    """After a restart: requeue jobs left queued or processing (failed with the reason when their files
    are gone), restart live sessions that were running (stopped when that fails)."""
    for record in svc.records.with_status(["queued", "processing"]):
        record_id = record["id"]
        if svc.files.upload_path(record_id).exists() or svc.files.source_path(record_id).exists():
            svc.records.update(record_id, status="queued", progress=0.0)
            try:
                svc.jobs.submit(record_id)
            except ApiError as error:
                svc.records.update(
                    record_id, status="failed", error=f"not resumed after restart: {error.message}"
                )
        else:
            svc.records.update(
                record_id, status="failed", error="the server restarted and the uploaded file is gone"
            )
    for item in svc.sessions.with_states(list(LIVE_STATES)):
        if svc.live.is_live(item["id"]):  # started after the database came back, before this recovery
            continue
        try:
            profile = item.get("profile") or {}
            minutes = float(profile.get("minutes", 0.0)) if profile.get("state") == "learning" else 0.0
            svc.live.start(item["id"], item["source"], calibrate_minutes=minutes)  # learning starts over
        except Exception as error:  # StreamError, missing engine or models: the session cannot run now
            log.warning("session %s not restarted: %s", item["id"], error)
            reason = redact(f"not restarted after the server restarted: {error}")
            svc.sessions.update(item["id"], state="stopped", error=reason)


def create_app(config: ServerConfig | str | Path | None = None, *, start_services: bool = True) -> Flask:
    """Build the Flask app. `config`: a ServerConfig, a TOML path, or None (env var or default file)."""
    if not isinstance(config, ServerConfig):
        config = load_server_config(config)
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
    files = FileStore(config.storage_directory)
    database = connect_database(
        config.db_connection_uri,
        name=config.db_name,
        storage_directory=config.storage_directory,
        max_connections=config.db_connection_max,
    )
    records, sessions, users = (
        RecordRepository(database),
        SessionRepository(database),
        UserRepository(database),
    )
    inference_config = load_inference(config)
    alerts = AlertReviews(database)
    notifier = Notifier(config.notifications)
    svc = Services(
        config=config,
        database=database,
        files=files,
        records=records,
        sessions=sessions,
        users=users,
        jobs=JobManager(config=config, records=records, files=files, inference_config=inference_config),
        live=LiveManager(
            sessions=sessions,
            files=files,
            inference_config=inference_config,
            network_policy=config.network_policy(),
            notifier=notifier,
        ),
        notifier=notifier,
        throttle=LoginThrottle(
            free_attempts=config.login_free_attempts,
            max_delay=config.login_max_delay,
            concurrency=config.login_concurrency,
        ),
        streams=StreamSlots(total=config.stream_max, per_user=config.stream_max_per_user),
        inference_config=inference_config,
        alerts=alerts,
        events=EventLog(alerts, records),
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
    from servers.api import register_blueprints

    register_blueprints(app)
    return app


def _register_security(app: Flask) -> None:
    @app.before_request
    def _authenticate() -> None:
        if request.routing_exception is not None or request.endpoint in PUBLIC_ENDPOINTS:
            return None
        user = session_user(services().users)
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
