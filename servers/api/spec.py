"""The OpenAPI 3.0 document of the /api routes (a test checks it lists exactly the Flask rules)."""

from __future__ import annotations

from typing import Any

_ID = {"type": "string", "pattern": "^[0-9a-f]{32}$"}
_USERNAME = {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"}
_PASSWORD = {"type": "string", "minLength": 8, "maxLength": 256}
_TIME = {"type": "string", "format": "date-time"}
_NULL_NUMBER = {"type": "number", "nullable": True}
_SCORE = {"type": "number", "minimum": 0, "maximum": 1}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _content(mimetype: str, description: str) -> dict[str, Any]:
    return {"description": description, "content": {mimetype: {}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "invalid input",
        401: "not logged in",
        403: "wrong role or missing CSRF token",
        404: "no such resource",
        409: "conflict with the resource's state",
        410: "removed by retention",
        413: "upload too large",
        415: "wrong content type",
        429: "too many failed logins, or too many streams of this user",
        503: "database, queue or stream slots unavailable",
    }
    return {str(status): _json(_ref("Error"), text[status]) for status in statuses}


def _path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": _ID}


_PAGING = [
    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000000}},
    {"name": "page_size", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 100}},
]
_AUTH = (401,)
_WRITE = (401, 403)


def _page(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "total", "page", "page_size"],
        "properties": {
            "items": {"type": "array", "items": _ref(item)},
            "total": {"type": "integer"},
            "page": {"type": "integer"},
            "page_size": {"type": "integer"},
        },
    }


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _op(
    summary: str,
    responses: dict[str, Any],
    *errors: int,
    parameters: list | None = None,
    body: dict[str, Any] | None = None,
    public: bool = False,
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": {**responses, **_errors(*errors)}}
    if parameters:
        operation["parameters"] = parameters
    if body:
        operation["requestBody"] = body
    if public:
        operation["security"] = []
    return operation


_NO_CONTENT = {"204": {"description": "done"}}
_VIDEO = [_path_id("record_id")]
_SESSION = [_path_id("session_id")]
_USER = [_path_id("user_id")]
_CREDENTIALS = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {
        "username": {"type": "string", "minLength": 1, "maxLength": 64},
        "password": {"type": "string", "minLength": 1, "maxLength": 256},
    },
}
_LOGIN = {
    "type": "object",
    "required": ["user", "csrf_token"],
    "properties": {"user": _ref("User"), "csrf_token": {"type": "string"}},
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "stable code"},
            "message": {"type": "string", "description": "English text"},
            "params": {"type": "object", "description": "the values a client translates the code with"},
        },
    },
    "User": {
        "type": "object",
        "required": ["id", "username", "role", "created_at"],
        "properties": {
            "id": _ID,
            "username": {"type": "string"},
            "role": {"enum": ["admin", "viewer"]},
            "created_at": _TIME,
        },
    },
    "Interval": {
        "type": "object",
        "required": ["start_frame", "end_frame", "start_time", "end_time", "peak_score"],
        "properties": {
            "start_frame": {"type": "integer"},
            "end_frame": {"type": "integer"},
            "start_time": {"type": "number"},
            "end_time": {"type": "number"},
            "peak_score": {"type": "number"},
            "category": {"type": "string", "nullable": True},
            "category_probability": _NULL_NUMBER,
            "causes": {"type": "array", "items": _ref("Cause")},
        },
    },
    "Cause": {
        "type": "object",
        "required": ["cue", "label", "z"],
        "properties": {
            "cue": {"enum": ["objects", "motion", "activity", "scene"]},
            "label": {"type": "string"},
            "z": {"type": "number"},
        },
    },
    "Profile": {
        "type": "object",
        "required": ["id", "name", "kind"],
        "properties": {
            "id": {"type": "string"},
            "name": {"type": "string"},
            "kind": {"enum": ["shipped", "camera"]},
        },
    },
    "Record": {
        "type": "object",
        "required": ["id", "name", "status", "progress", "created_at", "updated_at", "intervals", "error"],
        "properties": {
            "id": _ID,
            "name": {"type": "string"},
            "size": {"type": "integer"},
            "status": {"enum": ["queued", "processing", "done", "failed"]},
            "progress": {"type": "number", "minimum": 0, "maximum": 1},
            "created_at": _TIME,
            "updated_at": _TIME,
            "fps": _NULL_NUMBER,
            "frames": {"type": "integer", "nullable": True},
            "duration": _NULL_NUMBER,
            "width": {"type": "integer", "nullable": True},
            "height": {"type": "integer", "nullable": True},
            "peak_score": _NULL_NUMBER,
            "threshold": _NULL_NUMBER,
            "intervals": {"type": "array", "items": _ref("Interval")},
            "error": {"type": "string", "nullable": True},
            "scores": {"type": "array", "items": {"type": "number"}},
            "profile": {"type": "string", "nullable": True},
            "original": {
                "type": "object",
                "nullable": True,
                "description": "the uploaded file's size and frame rate, before the server stored it",
                "properties": {
                    "width": {"type": "integer"},
                    "height": {"type": "integer"},
                    "fps": {"type": "number"},
                },
            },
            "removed": _ref("Removed"),
        },
    },
    "Session": {
        "type": "object",
        "required": ["id", "name", "source", "state", "created_at", "alerts_count"],
        "properties": {
            "id": _ID,
            "name": {"type": "string"},
            "source": {"type": "string"},
            "state": {"enum": ["starting", "running", "reconnecting", "stopped", "failed"]},
            "created_at": _TIME,
            "started_at": {**_TIME, "nullable": True},
            "stopped_at": {**_TIME, "nullable": True},
            "alerts_count": {"type": "integer"},
            "current_score": _NULL_NUMBER,
            "threshold": _NULL_NUMBER,
            "error": {"type": "string", "nullable": True},
            "notify": {"type": "boolean"},
            "profile": {
                "type": "object",
                "required": ["state"],
                "properties": {
                    "state": {"enum": ["uncalibrated", "learning", "calibrated"]},
                    "segments": {"type": "integer"},
                    "minutes": {"type": "number"},
                    "calibrated_at": _TIME,
                    "error": {"type": "string"},
                },
            },
        },
    },
    "Removed": {
        "type": "object",
        "nullable": True,
        "description": "what retention removed (null: nothing)",
        "properties": {
            "at": _TIME,
            "reason": {"enum": ["age", "disk-budget"]},
            "files": {"type": "array", "items": {"enum": ["result", "source", "snapshot", "clip"]}},
        },
    },
    "Event": {
        "type": "object",
        "required": ["id", "kind", "source_id", "time", "peak_score", "reviewed", "removed"],
        "properties": {
            "id": {"type": "string", "description": "alert-<alert id> or video-<record id>-<interval index>"},
            "kind": {"enum": ["camera", "upload"]},
            "source_id": _ID,
            "source_name": {"type": "string", "nullable": True},
            "time": _TIME,
            "end_time": {**_TIME, "nullable": True},
            "start": {**_NULL_NUMBER, "description": "an upload interval's start in the video (s)"},
            "end": {**_NULL_NUMBER, "description": "an upload interval's end in the video (s)"},
            "peak_score": _NULL_NUMBER,
            "category": {"type": "string", "nullable": True},
            "causes": {"type": "array", "items": _ref("Cause")},
            "image_url": {"type": "string", "nullable": True},
            "clip_url": {"type": "string", "nullable": True},
            "reviewed": {"type": "boolean"},
            "reviewed_at": {**_TIME, "nullable": True},
            "reviewed_by": {"type": "string", "nullable": True},
            "removed": _ref("Removed"),
        },
    },
    "Alert": {
        "type": "object",
        "required": ["id", "session_id", "start_time", "end_time", "peak_score", "snapshot_url"],
        "properties": {
            "id": _ID,
            "session_id": _ID,
            "start_time": _TIME,
            "end_time": {**_TIME, "nullable": True},
            "peak_score": {"type": "number"},
            "snapshot_url": {"type": "string"},
            "category": {"type": "string", "nullable": True},
            "category_probability": _NULL_NUMBER,
            "causes": {"type": "array", "items": _ref("Cause")},
        },
    },
}

PATHS: dict[str, Any] = {
    "/api/health": {
        "get": _op(
            "Status of the database, models and workers (no login); notifications for admins",
            {"200": _json({"type": "object"}, "healthy or degraded")},
            503,
            public=True,
        )
    },
    "/api/auth/login": {
        "post": _op(
            "Log in; sets the session cookie and returns the CSRF token",
            {"200": _json(_LOGIN, "logged in")},
            400,
            401,
            415,
            429,
            body=_body(_CREDENTIALS),
            public=True,
        )
    },
    "/api/auth/logout": {"post": _op("Log out", _NO_CONTENT, *_WRITE)},
    "/api/auth/me": {
        "get": _op("The logged-in user and CSRF token", {"200": _json(_LOGIN, "the user")}, *_AUTH)
    },
    "/api/videos": {
        "get": _op(
            "Records, newest first",
            {"200": _json(_page("Record"), "a page of records")},
            400,
            *_AUTH,
            parameters=[
                *_PAGING,
                {
                    "name": "status",
                    "in": "query",
                    "schema": {"enum": ["queued", "processing", "done", "failed"]},
                },
                {"name": "q", "in": "query", "schema": {"type": "string", "maxLength": 200}},
            ],
        ),
        "post": _op(
            "Upload a video (multipart field `file`); queued for detection",
            {"202": _json(_ref("Record"), "queued")},
            400,
            *_WRITE,
            413,
            415,
            503,
            body={
                "required": True,
                "content": {
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["file"],
                            "properties": {
                                "file": {"type": "string", "format": "binary"},
                                "profile": {"type": "string", "maxLength": 64},
                            },
                        }
                    }
                },
            },
        ),
    },
    "/api/videos/{record_id}": {
        "get": _op(
            "A record with per-frame scores",
            {"200": _json(_ref("Record"), "the record")},
            400,
            *_AUTH,
            404,
            parameters=_VIDEO,
        ),
        "delete": _op(
            "Delete a record and (later) its files", _NO_CONTENT, 400, *_WRITE, 404, parameters=_VIDEO
        ),
    },
    "/api/videos/{record_id}/result": {
        "get": _op(
            "The annotated MP4 (HTTP Range)",
            {"200": _content("video/mp4", "video"), "206": _content("video/mp4", "a byte range")},
            400,
            *_AUTH,
            404,
            409,
            410,
            parameters=_VIDEO,
        )
    },
    "/api/videos/{record_id}/cover": {
        "get": _op(
            "The cover image",
            {"200": _content("image/jpeg", "JPEG")},
            400,
            *_AUTH,
            404,
            parameters=_VIDEO,
        )
    },
    "/api/videos/{record_id}/scores.csv": {
        "get": _op(
            "Per-frame scores as CSV",
            {"200": _content("text/csv", "CSV")},
            400,
            *_AUTH,
            404,
            409,
            parameters=_VIDEO,
        )
    },
    "/api/sessions": {
        "get": _op(
            "Live sessions, newest first",
            {"200": _json(_page("Session"), "a page of sessions")},
            400,
            *_AUTH,
            parameters=_PAGING,
        ),
        "post": _op(
            "Start a live session",
            {"201": _json(_ref("Session"), "created")},
            400,
            *_WRITE,
            415,
            body=_body(
                {
                    "type": "object",
                    "required": ["name", "source"],
                    "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 200},
                        "source": {"type": "string", "minLength": 1, "maxLength": 2048},
                        "calibrate_minutes": {"type": "number", "minimum": 0, "maximum": 240},
                        "notify": {"type": "boolean"},
                    },
                }
            ),
        ),
    },
    "/api/sessions/{session_id}": {
        "get": _op(
            "A session", {"200": _json(_ref("Session"), "the session")}, 400, *_AUTH, 404, parameters=_SESSION
        ),
        "delete": _op(
            "Stop and delete a session and its alerts", _NO_CONTENT, 400, *_WRITE, 404, parameters=_SESSION
        ),
        "patch": _op(
            "Change a session's settings (whether its alerts are notified)",
            {"200": _json(_ref("Session"), "the updated session")},
            400,
            *_WRITE,
            404,
            415,
            parameters=_SESSION,
            body=_body(
                {"type": "object", "required": ["notify"], "properties": {"notify": {"type": "boolean"}}}
            ),
        ),
    },
    "/api/sessions/{session_id}/stop": {
        "post": _op(
            "Stop a session",
            {"200": _json(_ref("Session"), "stopped")},
            400,
            *_WRITE,
            404,
            parameters=_SESSION,
        )
    },
    "/api/sessions/{session_id}/calibrate": {
        "post": _op(
            "Learn the camera's scene from its next `minutes` of stream",
            {"200": _json(_ref("Session"), "learning")},
            400,
            *_WRITE,
            404,
            415,
            503,
            parameters=_SESSION,
            body=_body(
                {
                    "type": "object",
                    "required": ["minutes"],
                    "properties": {"minutes": {"type": "number", "minimum": 0.25, "maximum": 240}},
                }
            ),
        )
    },
    "/api/sessions/{session_id}/profile": {
        "delete": _op(
            "Forget the camera's scene profile (it runs uncalibrated)",
            {"200": _json(_ref("Session"), "uncalibrated")},
            400,
            *_WRITE,
            404,
            503,
            parameters=_SESSION,
        )
    },
    "/api/profiles": {
        "get": _op(
            "Scene profiles an upload can be scored with",
            {
                "200": _json(
                    {
                        "type": "object",
                        "required": ["items"],
                        "properties": {"items": {"type": "array", "items": _ref("Profile")}},
                    },
                    "profiles",
                )
            },
            *_AUTH,
        )
    },
    "/api/sessions/{session_id}/stream": {
        "get": _op(
            "MJPEG of the annotated frames",
            {"200": _content("multipart/x-mixed-replace", "multipart/x-mixed-replace")},
            400,
            *_AUTH,
            404,
            409,
            429,
            503,
            parameters=_SESSION,
        )
    },
    "/api/sessions/{session_id}/events": {
        "get": _op(
            "Server-sent events: score, alert-start, alert-end, state",
            {"200": _content("text/event-stream", "event stream")},
            400,
            *_AUTH,
            404,
            429,
            503,
            parameters=_SESSION,
        )
    },
    "/api/sessions/{session_id}/alerts": {
        "get": _op(
            "The session's alerts, newest first",
            {"200": _json(_page("Alert"), "a page of alerts")},
            400,
            *_AUTH,
            404,
            parameters=[*_SESSION, *_PAGING],
        )
    },
    "/api/sessions/{session_id}/alerts/{alert_id}/snapshot": {
        "get": _op(
            "An alert's snapshot",
            {"200": _content("image/jpeg", "JPEG")},
            400,
            *_AUTH,
            404,
            parameters=[*_SESSION, _path_id("alert_id")],
        )
    },
    "/api/users": {
        "get": _op(
            "Users (admin)",
            {"200": _json(_page("User"), "a page of users")},
            400,
            *_WRITE,
            parameters=_PAGING,
        ),
        "post": _op(
            "Create a user (admin)",
            {"201": _json(_ref("User"), "created")},
            400,
            *_WRITE,
            409,
            415,
            body=_body(
                {
                    "type": "object",
                    "required": ["username", "password"],
                    "properties": {
                        "username": _USERNAME,
                        "password": _PASSWORD,
                        "role": {"enum": ["admin", "viewer"]},
                    },
                }
            ),
        ),
    },
    "/api/users/{user_id}": {
        "delete": _op("Delete a user (admin)", _NO_CONTENT, 400, *_WRITE, 404, 409, parameters=_USER)
    },
    "/api/users/{user_id}/password": {
        "put": _op(
            "Change a password (admin, or yourself with the current one); revokes the user's sessions",
            _NO_CONTENT,
            400,
            *_WRITE,
            404,
            415,
            parameters=_USER,
            body=_body(
                {
                    "type": "object",
                    "required": ["password"],
                    "properties": {
                        "password": _PASSWORD,
                        "current_password": {"type": "string", "minLength": 1, "maxLength": 256},
                    },
                    "description": "`current_password` is required when changing your own password",
                }
            ),
        )
    },
    "/api/events": {
        "get": _op(
            "Review events (camera alerts, upload intervals), newest first",
            {"200": _json(_page("Event"), "a page of events")},
            400,
            *_AUTH,
            parameters=[
                *_PAGING,
                {"name": "kind", "in": "query", "schema": {"enum": ["camera", "upload"]}},
                {"name": "camera", "in": "query", "schema": _ID},
                {"name": "video", "in": "query", "schema": _ID},
                {"name": "from", "in": "query", "schema": _TIME},
                {"name": "to", "in": "query", "schema": _TIME},
                {"name": "min_score", "in": "query", "schema": _SCORE},
                {"name": "reviewed", "in": "query", "schema": {"enum": ["true", "false"]}},
            ],
        )
    },
    "/api/events/{event_id}": {
        "patch": _op(
            "Mark an event reviewed or not",
            {"200": _json(_ref("Event"), "the event")},
            400,
            *_WRITE,
            404,
            415,
            parameters=[{"name": "event_id", "in": "path", "required": True, "schema": {"type": "string"}}],
            body=_body(
                {"type": "object", "required": ["reviewed"], "properties": {"reviewed": {"type": "boolean"}}}
            ),
        )
    },
    "/api/openapi.json": {
        "get": _op("This document", {"200": _json({"type": "object"}, "OpenAPI 3.0")}, public=True)
    },
}

SPEC: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {
        "title": "Surveillance API",
        "version": "1.0.0",
        "description": "Cookie session auth: log in, then send `X-CSRF-Token` on state-changing requests.",
    },
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {"cookie": {"type": "apiKey", "in": "cookie", "name": "surveillance_session"}},
    },
    "security": [{"cookie": []}],
}
