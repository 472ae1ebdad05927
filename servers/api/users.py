"""Users (admin only): list, create, delete, change password (users may change their own)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from servers.api import checked_id, json_body, page_of
from servers.api.bodies import NewUser, PasswordChange, parse_body
from servers.api.queries import Paging, parse_query
from servers.auth import (
    current_user,
    hash_password,
    keep_login,
    public_user,
    require_role,
    verify_password,
)
from servers.errors import ApiError
from servers.services import services
from servers.storage.users import DuplicateUsername

blueprint = Blueprint("users", __name__)


@blueprint.get("/users")
@require_role("admin")
def list_users() -> dict[str, Any]:
    """A page of users."""
    paging = parse_query(Paging)
    items, total = services().users.list(page=paging.page, page_size=paging.page_size)
    return page_of([public_user(user) for user in items], total, paging)


@blueprint.post("/users")
@require_role("admin")
def create_user() -> tuple[dict[str, Any], int]:
    """Create a user `{username, password, role}`."""
    body = parse_body(NewUser)
    try:
        user = services().users.create(
            username=body.username, password_hash=hash_password(body.password), role=body.role
        )
    except DuplicateUsername as error:
        raise ApiError(
            409, "conflict", str(error), params={"reason": "user-exists", "username": body.username}
        ) from None
    return public_user(user), 201


@blueprint.delete("/users/<user_id>")
@require_role("admin")
def delete_user(user_id: str) -> tuple[str, int]:
    """Delete a user (not yourself)."""
    checked_id(user_id, "user")
    if user_id == current_user()["id"]:
        raise ApiError(
            409, "conflict", "you cannot delete your own account", params={"reason": "delete-self"}
        )
    if not services().users.delete(user_id):
        raise ApiError(404, "not-found", f"user {user_id} does not exist")
    return "", 204


@blueprint.put("/users/<user_id>/password")
def change_password(user_id: str) -> tuple[str, int]:
    """Set a user's password `{password, current_password}`: admins for anyone, others for themselves; one's
    own needs `current_password`. Revokes the user's logins (this one stays logged in)."""
    checked_id(user_id, "user")
    user = current_user()
    own = user["id"] == user_id
    if user["role"] != "admin" and not own:
        raise ApiError(403, "forbidden", "only admins change other users' passwords")
    json_body()  # 415 or 400 before 404, as on every route
    target = user if own else services().users.get(user_id)
    if target is None:
        raise ApiError(404, "not-found", f"user {user_id} does not exist")
    body = parse_body(PasswordChange, username=target["username"])
    password, current = body.password, body.current_password
    if own:
        if current is None:
            raise ApiError(
                400,
                "invalid-field",
                "field 'current_password' is needed to change your own password",
                params={"field": "current_password", "reason": "current-password-missing"},
            )
        if not verify_password(user["password_hash"], current):
            raise ApiError(
                403,
                "invalid-credentials",
                "field 'current_password' is wrong",
                params={"field": "current_password", "reason": "current-password"},
            )
    updated = services().users.set_password(user_id, hash_password(password))
    if updated is None:
        raise ApiError(404, "not-found", f"user {user_id} does not exist")
    if own:
        keep_login(updated)
    return "", 204
