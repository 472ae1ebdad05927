"""Live sessions: create, list, detail, stop, delete, MJPEG stream, server-sent events, alerts."""

from __future__ import annotations

import json
import logging
import queue
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, Response, request

from inferences.sources import HostNotAllowed, StreamError
from servers.api import checked_id, page_of
from servers.api.bodies import Calibration, NewCamera, parse_body
from servers.api.profiles import profile_file
from servers.api.queries import Paging, parse_query
from servers.api.stored import send_stored
from servers.auth import current_user, require_role
from servers.cameras import effective_settings
from servers.config import ServerConfig
from servers.errors import ApiError
from servers.live_shared import LIVE_STATES, alert_to_api, engine_source
from servers.redaction import redact
from servers.services import services
from servers.storage.repositories import new_id
from servers.streams import connection_open

log = logging.getLogger("servers")
blueprint = Blueprint("sessions", __name__)
KEEPALIVE_SECONDS = 15.0
MIN_CALIBRATE_MINUTES = 0.25  # 15 s (the profile's minimum of 8 segments takes 12.8 s at 10 fps)
POLL_SECONDS = 1.0
RESEND_SECONDS = 1.0  # how often an idle event stream checks its client is still there


def check_source(source: str, allowed: tuple[str, ...]) -> str:
    """A stream URL (a string the body model let through) with an allowed scheme (and a host, or an existing
    file for file://), or ApiError 400."""
    if any(ord(char) < 33 or ord(char) == 127 for char in source):
        raise ApiError(
            400,
            "invalid-source",
            "field 'source' must not contain spaces or control characters",
            params={"reason": "source-characters"},
        )
    try:
        parts = urlsplit(source)
        parts.port  # noqa: B018 - raises ValueError for an invalid port
    except ValueError as error:
        raise ApiError(
            400,
            "invalid-source",
            f"field 'source' is not a valid URL ({error})",
            params={"reason": "source-url"},
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in allowed:
        raise ApiError(
            400,
            "invalid-source",
            f"stream scheme '{scheme or '(none)'}' is not allowed (allowed: {', '.join(allowed)})",
            params={"reason": "source-scheme", "scheme": scheme, "allowed": ", ".join(allowed)},
        )
    if scheme == "file":
        if parts.netloc or not Path(engine_source(source)).is_file():
            raise ApiError(
                400,
                "invalid-source",
                f"file source '{parts.path}' does not exist on the server",
                params={"reason": "source-file"},
            )
    elif not parts.hostname:
        raise ApiError(
            400,
            "invalid-source",
            "field 'source' must name a host (scheme://host/...)",
            params={"reason": "source-host"},
        )
    return source


def check_source_address(source: str, config: ServerConfig) -> None:
    """ApiError 400 when the source's host resolves into a denied network that is not allowed (file:// has
    no host); the message does not tell which address or why, only that the host is not allowed. The
    engine checks again on every connection (`inferences.sources.NetworkPolicy`)."""
    host = urlsplit(source).hostname
    if not host:
        return
    try:
        config.network_policy().checked_addresses(host)
    except HostNotAllowed:
        raise ApiError(
            400,
            "invalid-source",
            f"stream host '{host}' is not allowed on this server",
            params={"reason": "source-denied", "host": host},
        ) from None
    except StreamError:
        raise ApiError(400, "stream-unavailable", "cannot open the stream source") from None


def find_session(session_id: str) -> dict[str, Any]:
    item = services().sessions.get(checked_id(session_id, "session"))
    if item is None:
        raise ApiError(404, "not-found", f"session {session_id} does not exist")
    return item


def session_to_api(item: dict[str, Any]) -> dict[str, Any]:
    """The API shape of a session: credentials out of its source and error, its live score (None while
    offline), when its newest frame arrived, its dropped segments, and the settings the detector applies
    (`threshold` among them, also at the top level)."""
    item["source"] = redact(item["source"])
    if item.get("error"):
        item["error"] = redact(item["error"])
    svc = services()
    live = svc.live.is_live(item["id"])
    item["current_score"] = svc.live.current_score(item["id"]) if live else None
    item.setdefault("last_seen", None)
    item.setdefault("dropped_segments", 0)
    item.update(svc.live.observed(item["id"]))
    item["settings"] = effective_settings(svc.inference_config, item.get("settings"))
    item["threshold"] = float(item["settings"]["threshold"])
    item.setdefault("notify", True)  # sessions made before the field existed
    return item


def _check_minimum(minutes: float, field: str) -> float:
    """`minutes` of stream to learn the scene from when enough to calibrate (or 0: none), or ApiError 400."""
    minimum = max(MIN_CALIBRATE_MINUTES, services().live.min_calibrate_minutes)
    if 0 < minutes < minimum:
        raise ApiError(
            400,
            "invalid-field",
            f"field '{field}': at least {minimum:g} minutes of normal footage "
            "are needed to calibrate a scene",
            params={"field": field, "reason": "minutes-minimum", "minimum": minimum},
        )
    return minutes


def start_camera(
    session_id: str, source: str, *, calibrate_minutes: float = 0.0, created: bool = False
) -> None:
    """Start a session's detector; a new session is deleted again when its source cannot be opened, an
    existing one waits for its source (`reconnecting`) while it is down."""
    svc = services()
    try:
        svc.live.start(session_id, source, calibrate_minutes=calibrate_minutes, retry=not created)
    except (ValueError, ImportError) as error:  # StreamError, ModelError, a missing engine
        if created:
            svc.sessions.delete(session_id)
        if isinstance(error, StreamError):  # the reason (refused, 401, ...) only in the log: no port scanning
            log.warning("session %s: cannot open the source: %s", session_id, error)
            raise ApiError(400, "stream-unavailable", "cannot open the stream source") from None
        raise ApiError(503, "models-unavailable", f"the detection models cannot be loaded: {error}") from None


@blueprint.post("/sessions")
@require_role("admin")
def start_live_session() -> tuple[dict[str, Any], int]:
    """Start a live session `{name, source, calibrate_minutes?, notify?}`; 201 with the session."""
    body = parse_body(NewCamera)
    svc = services()
    source = check_source(body.source, svc.config.allowed_stream_schemes)
    check_source_address(source, svc.config)
    minutes = _check_minimum(body.calibrate_minutes, "calibrate_minutes")
    settings = body.detector()
    if settings.get("profile") is not None:
        profile_file(settings["profile"])
    session_id = new_id()
    svc.sessions.create(session_id=session_id, name=body.name, source=source, notify=body.notify)
    if settings:
        svc.sessions.update(session_id, settings=settings)
    start_camera(session_id, source, calibrate_minutes=minutes, created=True)
    return session_to_api(find_session(session_id)), 201


@blueprint.post("/sessions/<session_id>/calibrate")
@require_role("admin")
def calibrate(session_id: str) -> dict[str, Any]:
    """Learn the camera's scene from its next `{minutes}` of stream (restarts its detector)."""
    item = find_session(session_id)
    minutes = _check_minimum(parse_body(Calibration).minutes, "minutes")
    if (item.get("settings") or {}).get("profile"):  # it learns its own profile, and then uses it
        services().sessions.update(item["id"], **{"settings.profile": None})
    services().sessions.update(item["id"], **{"settings.enabled": True})  # calibrating runs the camera
    start_camera(item["id"], item["source"], calibrate_minutes=minutes)  # stops the running detector first
    return session_to_api(find_session(session_id))


@blueprint.delete("/sessions/<session_id>/profile")
@require_role("admin")
def forget_profile(session_id: str) -> dict[str, Any]:
    """Forget the camera's scene profile: it runs uncalibrated (its detector restarts when running)."""
    item = find_session(session_id)
    svc = services()
    running = svc.live.is_live(item["id"])
    svc.live.stop(item["id"])  # first: a camera still learning cannot save its profile afterwards
    svc.files.discard(svc.files.profile_path(item["id"]))
    if running:
        start_camera(item["id"], item["source"])
    else:
        svc.sessions.update(item["id"], profile={"state": "uncalibrated"})
    return session_to_api(find_session(session_id))


@blueprint.get("/sessions")
def list_sessions() -> dict[str, Any]:
    """A page of sessions, newest first."""
    paging = parse_query(Paging)
    items, total = services().sessions.list(page=paging.page, page_size=paging.page_size)
    return page_of([session_to_api(item) for item in items], total, paging)


@blueprint.get("/sessions/<session_id>")
def get_session(session_id: str) -> dict[str, Any]:
    """One session."""
    return session_to_api(find_session(session_id))


@blueprint.post("/sessions/<session_id>/stop")
@require_role("admin")
def stop_session(session_id: str) -> dict[str, Any]:
    """Stop a session (its history stays)."""
    item = find_session(session_id)
    svc = services()
    if svc.live.is_live(item["id"]):
        svc.live.stop(item["id"])
    elif item["state"] in LIVE_STATES:
        svc.sessions.update(item["id"], state="stopped")
    svc.sessions.update(item["id"], **{"settings.enabled": False})
    return session_to_api(find_session(session_id))


@blueprint.delete("/sessions/<session_id>")
@require_role("admin")
def delete_session(session_id: str) -> tuple[str, int]:
    """Stop and delete a session with its alerts; snapshots go through the delayed removal task."""
    item = find_session(session_id)
    svc = services()
    svc.live.stop(item["id"])
    svc.sessions.delete(item["id"])
    svc.scores.delete(item["id"])
    svc.files.discard(svc.files.snapshot_dir(item["id"]))
    svc.files.discard(svc.files.profile_path(item["id"]))
    return "", 204


def _long_lived(body: Callable[[Callable[[], bool]], Iterator[Any]], mimetype: str) -> Response:
    """A streamed response holding one of the stream slots (released when it closes); `body` gets the
    predicate that says whether the client is still there and the maximum duration not reached."""
    svc = services()
    release = svc.streams.acquire(current_user()["id"])
    try:
        alive = connection_open(request.environ, svc.config.stream_max_duration)
        response = Response(
            body(alive),
            mimetype=mimetype,
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )
    except BaseException:
        release()
        raise
    response.call_on_close(release)
    return response


@blueprint.get("/sessions/<session_id>/stream")
def stream(session_id: str) -> Response:
    """MJPEG (multipart/x-mixed-replace) of the annotated frames: each new frame, at most one every
    `frames-interval`."""
    item = find_session(session_id)
    svc = services()
    if not svc.live.is_live(item["id"]):
        raise ApiError(409, "not-running", f"session {session_id} is {item['state']}")
    live, interval = svc.live, svc.config.frames_interval

    def frames(alive: Callable[[], bool]) -> Iterator[bytes]:
        sent, sent_at = None, 0.0
        while alive() and live.is_live(item["id"]):
            jpeg = live.latest_jpeg(item["id"])
            # each new frame (the engine caches one JPEG object per frame), and the last one again every
            # second: browsers show a part once the next one begins (an offline camera's frozen frame too)
            if jpeg and (jpeg is not sent or time.monotonic() - sent_at >= RESEND_SECONDS):
                sent, sent_at = jpeg, time.monotonic()
                yield (
                    b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: "
                    + str(len(jpeg)).encode()
                    + b"\r\n\r\n"
                    + jpeg
                    + b"\r\n"
                )
            time.sleep(interval)

    return _long_lived(frames, "multipart/x-mixed-replace; boundary=frame")


@blueprint.get("/sessions/<session_id>/events")
def events(session_id: str) -> Response:
    """Server-sent events: `score`, `alert-start`, `alert-end`, `state`."""
    item = find_session(session_id)
    live = services().live

    def messages(alive: Callable[[], bool]) -> Iterator[str]:
        yield "retry: 2000\n\n"
        initial = {"state": item["state"], "message": redact(item.get("error") or "")}
        yield f"event: state\ndata: {json.dumps(initial)}\n\n"
        subscriber = live.subscribe(item["id"])
        if subscriber is None:
            return
        try:
            quiet_since = time.monotonic()
            while alive():
                try:
                    message = subscriber.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    if time.monotonic() - quiet_since >= KEEPALIVE_SECONDS:
                        quiet_since = time.monotonic()
                        yield ": keep-alive\n\n"
                    continue
                if message is None:
                    return
                name, data = message
                quiet_since = time.monotonic()
                yield f"event: {name}\ndata: {json.dumps(data)}\n\n"
        finally:
            live.unsubscribe(item["id"], subscriber)

    return _long_lived(messages, "text/event-stream")


@blueprint.get("/sessions/<session_id>/alerts")
def alerts(session_id: str) -> dict[str, Any]:
    """A page of the session's alerts, newest first."""
    paging = parse_query(Paging)
    item = find_session(session_id)
    items, total = services().sessions.alerts(item["id"], page=paging.page, page_size=paging.page_size)
    return page_of([alert_to_api(alert) for alert in items], total, paging)


@blueprint.get("/sessions/<session_id>/alerts/<alert_id>/snapshot")
def snapshot(session_id: str, alert_id: str) -> Response:
    """The JPEG snapshot taken when the alert started."""
    item = find_session(session_id)
    alert = services().sessions.get_alert(item["id"], checked_id(alert_id, "alert"))
    if alert is None:
        raise ApiError(404, "not-found", f"alert {alert_id} does not exist")
    return send_stored(services().files.snapshot_path(item["id"], alert["id"]), "image/jpeg", "snapshot file")
