"""Cameras (live sessions) beyond their start and stop: settings, score history, the newest frame, event
clips."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response

from servers.api import checked_id
from servers.api.bodies import CameraChanges, parse_body
from servers.api.profiles import profile_file
from servers.api.queries import ScoreQuery, parse_query
from servers.api.sessions import find_session, session_to_api, start_camera
from servers.api.stored import send_stored
from servers.auth import require_role
from servers.cameras import DETECTOR_FIELDS
from servers.errors import ApiError
from servers.services import services

blueprint = Blueprint("cameras", __name__)


@blueprint.patch("/sessions/<session_id>")
@require_role("admin")
def update_camera(session_id: str) -> dict[str, Any]:
    """Change a camera's `name`, `enabled`, `notify`, `threshold`, `roi`, `min_alert_seconds`,
    `cooldown_seconds` or `profile` (null: back to the engine's configuration); a running camera's detector
    restarts when a detection setting changed, `enabled` false stops it, true starts it; `notify` counts
    from its next alert event."""
    item = find_session(session_id)
    changes = parse_body(CameraChanges).model_dump(exclude_unset=True)
    if changes.get("profile") is not None:
        profile_file(changes["profile"])
    svc = services()
    top = ("name", "notify")  # fields of the session itself; the others live under `settings`
    fields = {key if key in top else f"settings.{key}": value for key, value in changes.items()}
    svc.sessions.update(item["id"], **fields)
    live = svc.live.is_live(item["id"])
    if changes.get("enabled") is False:
        if live:
            svc.live.stop(item["id"])
    elif (live and any(key in changes for key in DETECTOR_FIELDS)) or (changes.get("enabled") and not live):
        start_camera(item["id"], item["source"])
    return session_to_api(find_session(session_id))


@blueprint.get("/sessions/<session_id>/scores")
def scores(session_id: str) -> dict[str, Any]:
    """The camera's score history `{points: [[epoch seconds, score or null], ...]}` between `since` and
    `until` (default: all), at most about `max_points` (default 2000: the highest score of each equal
    slot of time; null marks where the camera was offline or stopped), read from the finest stored level
    that keeps the work bounded; `total`: how many points they were drawn from."""
    query = parse_query(ScoreQuery)
    item = find_session(session_id)
    points, total = services().scores.history(item["id"], query.since, query.end, query.max_points)
    return {"points": [list(point) for point in points], "total": total}


@blueprint.get("/sessions/<session_id>/frame")
def frame(session_id: str) -> Response:
    """The newest annotated frame of a running camera as one JPEG (the grid page polls it: no stream slot
    is held)."""
    item = find_session(session_id)
    jpeg = services().live.latest_jpeg(item["id"])
    if jpeg is None:
        state = "running, no frame yet" if services().live.is_live(item["id"]) else item["state"]
        raise ApiError(409, "no-frame", f"session {session_id} has no frame ({state})")
    return Response(jpeg, mimetype="image/jpeg", headers={"Cache-Control": "no-store"})


@blueprint.get("/sessions/<session_id>/alerts/<alert_id>/clip")
def clip(session_id: str, alert_id: str) -> Response:
    """The alert's event clip (H.264 MP4 with the index in front; HTTP Range supported): from
    `clip-pre-seconds` before the alert to its end. 409 while the alert is still being recorded."""
    item = find_session(session_id)
    svc = services()
    alert = svc.sessions.get_alert(item["id"], checked_id(alert_id, "alert"))
    if alert is None or not alert.get("clip"):
        raise ApiError(404, "not-found", f"alert {alert_id} has no clip")
    path = svc.files.clip_path(item["id"], alert["id"])
    encoding = any(path.parent.glob(f".{path.stem}.*.part{path.suffix}"))  # inferences.atomic's names
    if not path.is_file() and (alert["end_time"] is None or encoding):
        raise ApiError(
            409,
            "not-ready",
            "the clip is still being recorded; it is ready once the alert ends",
            params={"reason": "clip-recording"},
        )
    return send_stored(path, "video/mp4", "clip")
