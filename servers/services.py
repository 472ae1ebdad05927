"""What the views share (`Services`, reached through `services()`) with its background tasks (removal and
retention, database retry), the first admin and the recovery after a restart. The blueprints import this
module; the application factory (`servers.app`) builds the Services and imports the blueprints."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
from dataclasses import dataclass, field

from flask import current_app

from inferences.config import InferenceConfig
from inferences.errors import SurveillanceError
from servers.auth import ADMIN_PASSWORD_ENV, LoginThrottle, hash_password, password_problem
from servers.config import ServerConfig
from servers.errors import ApiError
from servers.events import EventLog
from servers.execution import CameraRunner, JobRunner
from servers.files import FileStore
from servers.leases import JobLeases
from servers.live_shared import LIVE_STATES
from servers.notify.notifier import Notifier
from servers.redaction import redact
from servers.retention import apply_retention
from servers.storage import (
    Database,
    DatabaseUnavailable,
    LiveSessionRepository,
    UserRepository,
    VideoRepository,
)
from servers.storage.migrations import migrate
from servers.storage.reviews import AlertReviews
from servers.storage.scores import ScoreRepository
from servers.storage.users import DuplicateUsername
from servers.streams import StreamSlots

log = logging.getLogger("servers")
DATABASE_RETRY_SECONDS = 2.0


@dataclass
class Services:
    """Everything the views share; `app.extensions["surveillance"]`."""

    config: ServerConfig
    database: Database
    files: FileStore
    videos: VideoRepository
    sessions: LiveSessionRepository  # live sessions (cameras); the login cookie is servers.auth's
    users: UserRepository
    scores: ScoreRepository
    jobs: JobRunner
    live: CameraRunner
    notifier: Notifier
    throttle: LoginThrottle
    streams: StreamSlots
    inference_config: InferenceConfig
    alerts: AlertReviews
    events: EventLog
    leases: JobLeases
    admin_password: str | None = None
    _stop: threading.Event = field(default_factory=threading.Event)
    _remover: threading.Thread | None = None

    def prepare(self) -> None:
        """What the start needs from the database: the layout of this version (collections stored under an
        earlier name are moved), indexes and the first admin (DatabaseUnavailable)."""
        migrate(self.database)
        for repository in (self.videos, self.sessions, self.users, self.alerts, self.scores):
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
        self.leases.start(
            lambda video: resume_job(self, video), active=self.jobs.active, free=lambda: free_slots(self)
        )
        if not prepared:
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
        self.leases.stop()
        if self._remover is not None:
            self._remover.join(5)
        self.database.close()

    def _remove_loop(self) -> None:
        while not self._stop.wait(self.config.remove_interval):
            try:
                apply_retention(
                    self.files,
                    self.videos,
                    self.alerts,
                    days=self.config.retention_days,
                    max_gigabytes=self.config.retention_max_size,
                    scores=self.scores,
                )
                removed = self.files.remove_expired(self.config.remove_interval)
                if removed:
                    log.info("removal task deleted %d entries", removed)
            except (OSError, DatabaseUnavailable):
                log.exception("removal task failed")


def services() -> Services:
    """The Services of the current app."""
    return current_app.extensions["surveillance"]


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


def free_slots(svc: Services) -> int:
    """How many more videos this server's job queue takes now."""
    return max(0, svc.config.queue_max - svc.jobs.status()["queued"])


def resume_job(svc: Services, video: dict) -> None:
    """Queue again the job of an unfinished video this server has claimed (its server restarted or
    stopped, or its job was lost); fail it with the reason when its files are gone. When the queue is full
    on MongoDB it is left queued: its lease lapses and a heartbeat (here or elsewhere) takes it again."""
    video_id = video["id"]
    if not (svc.files.has(svc.files.upload_path(video_id)) or svc.files.has(svc.files.source_path(video_id))):
        svc.videos.update(
            video_id, status="failed", error="the server restarted and the uploaded file is gone"
        )
        return
    svc.videos.update(video_id, status="queued", progress=0.0)
    try:
        svc.jobs.submit(video_id)
    except ApiError as error:
        if not svc.database.embedded:
            log.info("job %s: not resumed yet (%s)", video_id, error.message)
            return
        svc.videos.update(video_id, status="failed", error=f"not resumed after restart: {error.message}")


def recover(svc: Services) -> None:
    """After a restart: requeue jobs left queued or processing whose server's lease has ended (failed with
    the reason when their files are gone), restart live sessions that were running (stopped when that
    fails)."""
    for video in svc.leases.take_expired(at_start=True, limit=free_slots(svc)):
        resume_job(svc, video)
    for item in svc.sessions.with_states(list(LIVE_STATES)):
        if svc.live.is_live(item["id"]):  # started after the database came back, before this recovery
            continue
        try:
            profile = item.get("profile") or {}
            minutes = float(profile.get("minutes", 0.0)) if profile.get("state") == "learning" else 0.0
            svc.live.start(
                item["id"], item["source"], calibrate_minutes=minutes, retry=True
            )  # learning starts over
        except Exception as error:  # StreamError, missing engine or models: the session cannot run now
            log.warning("session %s not restarted: %s", item["id"], error)
            reason = redact(f"not restarted after the server restarted: {error}")
            svc.sessions.update(item["id"], state="stopped", error=reason)
