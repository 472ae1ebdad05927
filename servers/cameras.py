"""Per-camera settings (checked by `servers.api.bodies`): stored with the session (only what differs from the
engine's configuration), applied as overrides of the inference config when the detector starts."""

from __future__ import annotations

from typing import Any

from inferences.config import InferenceConfig

# The detector's settings (a change restarts a running camera); `name`, `enabled` and `notify` (whether its
# alerts are sent out, see docs/notifications.md) are not among them.
DETECTOR_FIELDS = ("threshold", "roi", "min_alert_seconds", "cooldown_seconds", "profile")
FIELDS = ("name", "enabled", "notify", *DETECTOR_FIELDS)
MAX_ALERT_SECONDS = 3600.0
MAX_COOLDOWN_SECONDS = 86400.0
MIN_ROI = 0.05  # the smallest side of the region of interest, as a fraction of the frame


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
    return config.replace(
        anomaly_threshold=settings["threshold"],
        crop_x1=roi["x1"],
        crop_y1=roi["y1"],
        crop_x2=roi["x2"],
        crop_y2=roi["y2"],
        alert_min_duration=settings["min_alert_seconds"],
        alert_cooldown=settings["cooldown_seconds"],
    )
