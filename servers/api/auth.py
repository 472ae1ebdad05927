"""POST /api/auth/login, POST /api/auth/logout, GET /api/auth/me."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from servers.api.bodies import Credentials, parse_body
from servers.auth import csrf_token, current_user, end_login, public_user, start_login, verify_password
from servers.errors import ApiError
from servers.services import services

blueprint = Blueprint("auth", __name__)


@blueprint.post("/auth/login")
def login() -> dict[str, Any]:
    """Check the credentials (with per username+address backoff) and log the cookie in."""
    body = parse_body(Credentials)
    username, password = body.username, body.password
    svc = services()
    address = request.remote_addr or "-"  # the client's, from X-Forwarded-For when sent by `trusted-proxy`
    svc.throttle.attempt(username, address)
    user = svc.users.by_username(username)
    with svc.throttle.checking():
        valid = verify_password(user["password_hash"] if user else None, password)
    if not valid:
        raise ApiError(401, "invalid-credentials", "wrong username or password")
    svc.throttle.succeeded(username, address)
    assert user is not None
    return {"user": public_user(user), "csrf_token": start_login(user)}


@blueprint.post("/auth/logout")
def logout() -> tuple[str, int]:
    """Log the cookie out and revoke every login of the user (a saved copy of the cookie, other browsers):
    the server keeps one login version per user, not a list of logins."""
    services().users.revoke_logins(current_user()["id"])
    end_login()
    return "", 204


@blueprint.get("/auth/me")
def me() -> dict[str, Any]:
    """The logged-in user and the login cookie's CSRF token."""
    return {"user": public_user(current_user()), "csrf_token": csrf_token()}
