"""Scene profiles an upload can be scored with: the shipped ones and every calibrated camera's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint

from servers.errors import ApiError
from servers.services import services
from servers.storage.repositories import is_valid_id

blueprint = Blueprint("profiles", __name__)


def profile_file(profile_id: Any) -> Path:
    """The file of a profile id (a shipped name or a calibrated camera's id), or ApiError 400."""
    if not isinstance(profile_id, str) or not profile_id or len(profile_id) > 64:
        raise ApiError(
            400,
            "invalid-field",
            "field 'profile' must be a profile id from GET /api/profiles",
            params={"field": "profile"},
        )
    path = services().files.scene_profile(profile_id)
    if path is None:
        raise ApiError(
            400,
            "unknown-profile",
            f"no scene profile '{profile_id}' (see GET /api/profiles)",
            params={"profile": profile_id},
        )
    return path


@blueprint.get("/profiles")
def list_profiles() -> dict[str, Any]:
    """Every profile: `{id, name, kind}` with kind `shipped` or `camera`."""
    svc = services()
    items = [{"id": name, "name": name, "kind": "shipped"} for name in svc.files.shipped_profiles()]
    for path in sorted(svc.files.profiles_dir().glob("*.npz")):
        session = svc.sessions.get(path.stem) if is_valid_id(path.stem) else None
        if session is not None:
            items.append({"id": session["id"], "name": session["name"], "kind": "camera"})
    return {"items": items}
