"""GET /api/openapi.json (no login)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from servers.api.spec import SPEC

blueprint = Blueprint("openapi", __name__)


@blueprint.get("/openapi.json")
def openapi() -> dict[str, Any]:
    """The OpenAPI document of the API."""
    return SPEC
