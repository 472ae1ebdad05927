"""The OpenAPI parts of the camera routes (`servers.api.cameras`) and camera fields, merged into
`servers.api.spec`."""

from __future__ import annotations

from typing import Any

_FRACTION = {"type": "number", "minimum": 0, "maximum": 1}
_ROI = {
    "type": "object",
    "required": ["x1", "y1", "x2", "y2"],
    "properties": {key: _FRACTION for key in ("x1", "y1", "x2", "y2")},
    "description": "the region of interest (crop box), fractions of the frame; x1 < x2, y1 < y2",
}
SETTINGS = {
    "type": "object",
    "properties": {
        "threshold": _FRACTION,
        "roi": _ROI,
        "min_alert_seconds": {"type": "number", "minimum": 0, "maximum": 3600},
        "cooldown_seconds": {"type": "number", "minimum": 0, "maximum": 86400},
        "profile": {"type": "string", "nullable": True, "description": "a profile id from GET /api/profiles"},
        "enabled": {"type": "boolean"},
    },
}
SESSION_FIELDS = {
    "settings": SETTINGS,
    "last_seen": {"type": "string", "format": "date-time", "nullable": True},
    "dropped_segments": {"type": "integer"},
}
ALERT_FIELDS = {
    "clip_url": {"type": "string", "nullable": True},
    "clip": {"type": "boolean"},
    "interrupted": {"type": "boolean"},
}
PATCH_BODY = {
    "type": "object",
    "minProperties": 1,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 200},
        "notify": {"type": "boolean", "description": "whether the camera's alerts are sent out"},
        **{key: {**value, "nullable": key != "enabled"} for key, value in SETTINGS["properties"].items()},
    },
    "description": "null puts a setting back to the engine's configuration",
}
POINTS = {
    "type": "object",
    "required": ["points", "total"],
    "properties": {
        "points": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "number", "nullable": True}},
        },
        "total": {"type": "integer"},
    },
}
_EPOCH = {"type": "number", "minimum": 0, "maximum": 99999999999}


def camera_paths(op, json, content, ref, session: list, alert: dict) -> dict[str, Any]:
    """The camera paths, built with the spec's helpers (`op`, `json`, `content`, `ref`) and its path
    parameters."""
    return {
        "/api/sessions/{session_id}/scores": {
            "get": op(
                "The camera's score history: [epoch seconds, score or null (offline, stopped)]",
                {"200": json(POINTS, "points")},
                400,
                401,
                404,
                parameters=[
                    *session,
                    {"name": "since", "in": "query", "schema": _EPOCH},
                    {"name": "until", "in": "query", "schema": _EPOCH},
                    {
                        "name": "max_points",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 2, "maximum": 10000},
                    },
                ],
            )
        },
        "/api/sessions/{session_id}/frame": {
            "get": op(
                "The newest annotated frame of a running camera (JPEG)",
                {"200": content("image/jpeg", "JPEG")},
                400,
                401,
                404,
                409,
                parameters=session,
            )
        },
        "/api/sessions/{session_id}/alerts/{alert_id}/clip": {
            "get": op(
                "An alert's event clip (MP4, HTTP Range supported); 409 while it is recorded",
                {"200": content("video/mp4", "MP4"), "206": content("video/mp4", "part of the MP4")},
                400,
                401,
                404,
                409,
                parameters=[*session, alert],
            )
        },
    }
