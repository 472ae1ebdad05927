"""GET /api/health: database, models and workers (no login); notification channels for admins."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from inferences.config import InferenceConfig
from servers.auth import cookie_user
from servers.services import services
from servers.storage import DatabaseUnavailable

blueprint = Blueprint("health", __name__)


def _models(inference_config: InferenceConfig) -> dict[str, Any]:
    files = {
        "extraction": inference_config.extraction_model_file,
        "detection": inference_config.detection_model_file,
    }
    missing = [f"{role}: {path}" for role, path in files.items() if not path.is_file()]
    return {
        "status": "missing" if missing else "ok",
        "missing": missing,
        "extraction": str(files["extraction"].name),
        "detection": str(files["detection"].name),
    }


@blueprint.get("/health")
def health() -> tuple[dict[str, Any], int]:
    """Status of the database, the models and the job workers (and, to an admin, the notification
    channels); 503 when the database is down."""
    svc = services()
    try:
        svc.database.ping()
        database = {"status": "ok", "engine": svc.database.engine}
    except DatabaseUnavailable as error:
        database = {"status": "unavailable", "engine": svc.database.engine, "message": str(error)}
    models = _models(svc.inference_config)
    ok = database["status"] == "ok" and models["status"] == "ok"
    body = {
        "status": "ok" if ok else "degraded",
        "database": database,
        "models": models,
        "workers": svc.jobs.status(),
    }
    if database["status"] == "ok" and (cookie_user(svc.users) or {}).get("role") == "admin":
        body["notifications"] = svc.notifier.status()
    return body, 200 if database["status"] == "ok" else 503
