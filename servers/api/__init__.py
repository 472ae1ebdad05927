"""Blueprints, one per resource, all under /api."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask import Flask, request

from servers.errors import ApiError
from servers.storage.repositories import is_valid_id

if TYPE_CHECKING:
    from servers.api.queries import Paging


def register_blueprints(app: Flask) -> None:
    """Mount every blueprint under /api."""
    from servers.api import auth, cameras, events, health, openapi, profiles, sessions, users, videos

    for module in (health, auth, videos, sessions, cameras, profiles, users, openapi, events):
        app.register_blueprint(module.blueprint, url_prefix="/api")


def json_body() -> dict[str, Any]:
    """The request's JSON object body, or ApiError 400 naming the problem."""
    if not request.is_json:
        raise ApiError(
            415, "unsupported-media-type", "the body must be JSON (Content-Type: application/json)"
        )
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        raise ApiError(400, "malformed-json", "the body is nested too deeply") from None
    if body is None:
        raise ApiError(400, "malformed-json", "the body is not valid JSON")
    if not isinstance(body, dict):
        raise ApiError(400, "malformed-json", f"the body must be a JSON object, not {type(body).__name__}")
    return body


def checked_id(value: str, what: str) -> str:
    """A well-formed id, or ApiError 400."""
    if not is_valid_id(value):
        raise ApiError(400, "invalid-id", f"'{value}' is not a valid {what} id (32 hexadecimal digits)")
    return value


def page_of(items: list[dict[str, Any]], total: int, paging: Paging) -> dict[str, Any]:
    """The list response shape."""
    return {"items": items, "total": total, "page": paging.page, "page_size": paging.page_size}
