"""Per-camera settings: checked from a PATCH body, stored with the session (only what differs from the
engine's configuration), applied as overrides of the inference config when the detector starts."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from inferences.config import InferenceConfig
from servers.errors import ApiError

# The detector's settings (a change restarts a running camera); `name`, `enabled` and `notify` (whether its
# alerts are sent out, see docs/notifications.md) are not among them.
DETECTOR_FIELDS = ("threshold", "roi", "min_alert_seconds", "cooldown_seconds", "profile")
FIELDS = ("name", "enabled", "notify", *DETECTOR_FIELDS)
MAX_ALERT_SECONDS = 3600.0
MAX_COOLDOWN_SECONDS = 86400.0
ROI_KEYS = ("x1", "y1", "x2", "y2")
MIN_ROI = 0.05  # the smallest side of the region of interest, as a fraction of the frame


def _number(body: dict[str, Any], field: str, high: float, what: str) -> float:
    value = body[field]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ApiError(
            400, "invalid-field", f"field '{field}' must be {what} in 0..{high:g}", params={"field": field}
        )
    if not 0 <= value <= high:
        raise ApiError(
            400,
            "invalid-field",
            f"field '{field}' must be {what} in 0..{high:g}, got {value:g}",
            params={"field": field},
        )
    return float(value)


def _roi(value: Any) -> dict[str, float]:
    problem = "field 'roi' must be {x1, y1, x2, y2}: fractions of the frame, x1 < x2 and y1 < y2"
    if not isinstance(value, dict) or set(value) != set(ROI_KEYS):
        raise ApiError(400, "invalid-field", problem, params={"field": "roi"})
    box = {key: _number(value, key, 1.0, "a fraction") for key in ROI_KEYS}
    if box["x2"] - box["x1"] < MIN_ROI or box["y2"] - box["y1"] < MIN_ROI:
        raise ApiError(
            400,
            "invalid-field",
            f"{problem}; each side at least {MIN_ROI:g} of the frame",
            params={"field": "roi"},
        )
    return box


def check_settings(body: dict[str, Any], check_profile: Callable[[Any], object]) -> dict[str, Any]:
    """The settings a PATCH body sets (None: back to the engine's configuration), or ApiError 400 naming
    the field; `check_profile` raises ApiError for an unknown profile id."""
    unknown = sorted(set(body) - set(FIELDS))
    if unknown:
        raise ApiError(
            400,
            "unknown-field",
            f"unknown field(s) {', '.join(unknown)} (known: {', '.join(FIELDS)})",
            params={"field": ", ".join(unknown)},
        )
    if not body:
        raise ApiError(
            400,
            "invalid-field",
            f"give at least one of {', '.join(FIELDS)}",
            params={"field": " / ".join(FIELDS)},
        )
    changes: dict[str, Any] = {}
    for field, value in body.items():
        if field == "name":
            if not isinstance(value, str) or not value.strip() or len(value) > 200:
                raise ApiError(
                    400,
                    "invalid-field",
                    "field 'name' must be a non-empty string of at most 200 characters",
                    params={"field": "name"},
                )
            changes[field] = value.strip()
        elif field in ("enabled", "notify"):
            if not isinstance(value, bool):
                raise ApiError(
                    400, "invalid-field", f"field '{field}' must be true or false", params={"field": field}
                )
            changes[field] = value
        elif value is None:
            changes[field] = None
        elif field == "threshold":
            changes[field] = _number(body, field, 1.0, "a score")
        elif field == "min_alert_seconds":
            changes[field] = _number(body, field, MAX_ALERT_SECONDS, "a number of seconds")
        elif field == "cooldown_seconds":
            changes[field] = _number(body, field, MAX_COOLDOWN_SECONDS, "a number of seconds")
        elif field == "roi":
            changes[field] = _roi(value)
        else:  # profile
            check_profile(value)
            changes[field] = value
    return changes


def effective_settings(config: InferenceConfig, stored: dict[str, Any] | None) -> dict[str, Any]:
    """A camera's settings as the detector applies them: its own where set, else the engine's."""
    stored = stored or {}
    defaults = {
        "threshold": config.anomaly_threshold,
        "roi": {"x1": config.crop_x1, "y1": config.crop_y1, "x2": config.crop_x2, "y2": config.crop_y2},
        "min_alert_seconds": config.alert_min_duration,
        "cooldown_seconds": config.alert_cooldown,
        "profile": None,
    }
    settings = {key: value if stored.get(key) is None else stored[key] for key, value in defaults.items()}
    settings["enabled"] = stored.get("enabled", True)
    return settings


def camera_config(config: InferenceConfig, stored: dict[str, Any] | None) -> InferenceConfig:
    """The inference config of one camera: the engine's with the camera's settings in place."""
    settings = effective_settings(config, stored)
    roi = settings["roi"]
    return dataclasses.replace(
        config,
        anomaly_threshold=settings["threshold"],
        crop_x1=roi["x1"],
        crop_y1=roi["y1"],
        crop_x2=roi["x2"],
        crop_y2=roi["y2"],
        alert_min_duration=settings["min_alert_seconds"],
        alert_cooldown=settings["cooldown_seconds"],
    )
