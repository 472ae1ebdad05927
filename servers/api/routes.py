"""The /api routes as one table for the OpenAPI document: method, path, who may call it, what it answers,
its query string and body (a test checks it lists exactly the Flask rules). Bodies and responses are the
pydantic models of `servers.api.bodies` and `servers.api.resources`, query strings those of
`servers.api.queries`; a string is a media type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from servers.api import bodies as b
from servers.api import resources as r
from servers.api.queries import EventQuery, Paging, QueryString, ScoreQuery, VideoQuery
from servers.storage.repositories import ID_PATTERN

ANYONE, USER, ADMIN = "anyone", "user", "admin"
ID = {"type": "string", "pattern": ID_PATTERN.pattern}
PATH_PARAMETERS = {"event_id": {"type": "string"}}  # the others are ids (`ID`)
UPLOAD = {  # multipart/form-data
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "profile": {"type": "string", "maxLength": 64},
    },
}


@dataclass(frozen=True)
class Route:
    """One operation: `answers` maps a success status to a model, a media type, a schema or None (no
    content); `errors` are the statuses besides the ones its role brings (401, 403)."""

    method: str
    path: str
    role: str
    summary: str
    answers: dict[int, Any]
    errors: tuple[int, ...] = ()
    query: type[QueryString] | None = None
    body: type[BaseModel] | dict[str, Any] | None = None


S, A = "/api/sessions/{session_id}", "/api/sessions/{session_id}/alerts/{alert_id}"
V = "/api/videos/{video_id}"
ROUTES: tuple[Route, ...] = (
    Route("get", "/api/health", ANYONE, "Database, models and workers; notifications for admins",
          {200: r.Health}, (503,)),
    Route("post", "/api/auth/login", ANYONE, "Log in; sets the login cookie and returns the CSRF token",
          {200: r.Login}, (400, 401, 415, 429), body=b.Credentials),
    Route("post", "/api/auth/logout", USER, "Log out (every login of the user)", {204: None}),
    Route("get", "/api/auth/me", USER, "The logged-in user and CSRF token", {200: r.Login}),
    Route("get", "/api/videos", USER, "Videos, newest first", {200: r.Page[r.Video]}, (400,),
          VideoQuery),
    Route("post", "/api/videos", ADMIN, "Upload a video (multipart field `file`); queued for detection",
          {202: r.Video}, (400, 413, 415, 503), body=UPLOAD),
    Route("get", V, USER, "A video with per-frame scores", {200: r.Video}, (400, 404)),
    Route("delete", V, ADMIN, "Delete a video and (later) its files", {204: None}, (400, 404)),
    Route("get", f"{V}/result", USER, "The annotated MP4 (HTTP Range)",
          {200: "video/mp4", 206: "video/mp4"}, (400, 404, 409, 410)),
    Route("get", f"{V}/cover", USER, "The cover image", {200: "image/jpeg"}, (400, 404)),
    Route("get", f"{V}/scores.csv", USER, "Per-frame scores as CSV", {200: "text/csv"}, (400, 404, 409)),
    Route("get", "/api/sessions", USER, "Cameras (live sessions), newest first", {200: r.Page[r.Session]},
          (400,), Paging),
    Route("post", "/api/sessions", ADMIN, "Start a camera", {201: r.Session}, (400, 415, 503),
          body=b.NewCamera),
    Route("get", S, USER, "A camera", {200: r.Session}, (400, 404)),
    Route("patch", S, ADMIN, "Change a camera's name, settings or enabled state (its detector restarts when "
          "needed)", {200: r.Session}, (400, 404, 415, 503), body=b.CameraChanges),
    Route("delete", S, ADMIN, "Stop and delete a camera and its alerts", {204: None}, (400, 404)),
    Route("post", f"{S}/stop", ADMIN, "Stop a camera", {200: r.Session}, (400, 404)),
    Route("post", f"{S}/calibrate", ADMIN, "Learn the camera's scene from its next `minutes` of stream",
          {200: r.Session}, (400, 404, 415, 503), body=b.Calibration),
    Route("delete", f"{S}/profile", ADMIN, "Forget the camera's scene profile (it runs uncalibrated)",
          {200: r.Session}, (400, 404, 503)),
    Route("get", f"{S}/stream", USER, "MJPEG of the annotated frames",
          {200: "multipart/x-mixed-replace"}, (400, 404, 409, 429, 503)),
    Route("get", f"{S}/events", USER, "Server-sent events: score, alert-start, alert-end, state",
          {200: "text/event-stream"}, (400, 404, 429, 503)),
    Route("get", f"{S}/alerts", USER, "The camera's alerts, newest first", {200: r.Page[r.Alert]},
          (400, 404), Paging),
    Route("get", f"{A}/snapshot", USER, "An alert's snapshot", {200: "image/jpeg"}, (400, 404)),
    Route("get", f"{A}/clip", USER, "An alert's event clip (MP4, HTTP Range); 409 while it is recorded",
          {200: "video/mp4", 206: "video/mp4"}, (400, 404, 409)),
    Route("get", f"{S}/scores", USER, "The camera's score history: [epoch seconds, score or null]",
          {200: r.Points}, (400, 404), ScoreQuery),
    Route("get", f"{S}/frame", USER, "The newest annotated frame of a running camera",
          {200: "image/jpeg"}, (400, 404, 409)),
    Route("get", "/api/profiles", USER, "Scene profiles an upload can be scored with", {200: r.Profiles}),
    Route("get", "/api/users", ADMIN, "Users", {200: r.Page[r.User]}, (400,), Paging),
    Route("post", "/api/users", ADMIN, "Create a user", {201: r.User}, (400, 409, 415), body=b.NewUser),
    Route("delete", "/api/users/{user_id}", ADMIN, "Delete a user", {204: None}, (400, 404, 409)),
    Route("put", "/api/users/{user_id}/password", USER, "Change a password (admin, or yourself with the "
          "current one); revokes the user's logins", {204: None}, (400, 404, 415), body=b.PasswordChange),
    Route("get", "/api/events", USER, "Review events (camera alerts, upload intervals), newest first",
          {200: r.Page[r.Event]}, (400,),
          EventQuery),
    Route("patch", "/api/events/{event_id}", USER, "Mark an event reviewed or not", {200: r.Event},
          (400, 404, 415), body=b.Review),
    Route("get", "/api/openapi.json", ANYONE, "This document", {200: {"type": "object"}}),
)  # fmt: skip
