"""JSON errors `{"error": code, "message": text, "params": {...}}` for every failure; never a stack trace to
the client. `error` is a stable code and `params` the values a client needs to say the message in its own
language (the English `message` stays for API users)."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, request
from werkzeug.exceptions import HTTPException

from servers.storage.database import DatabaseUnavailable

log = logging.getLogger("servers")

# The code answered for an HTTP error that Flask or werkzeug raise (no route, wrong method, body too large);
# clients translate these like the codes of ApiError.
HTTP_ERROR_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    411: "length-required",
    413: "too-large",
    415: "unsupported-media-type",
    416: "range-not-satisfiable",
    429: "too-many-attempts",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answered as JSON with an HTTP status and a short machine-readable code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.params = params or {}


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
) -> Response:
    """The JSON error response."""
    response = jsonify({"error": code, "message": message, "params": params or {}})
    response.status_code = status
    response.headers.update(headers or {})
    return response


def register_error_handlers(app: Flask) -> None:
    """Answer ApiError, HTTP errors, database outages and unexpected exceptions as JSON."""

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> Response:
        return error_response(error.status, error.code, error.message, error.headers, error.params)

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Response:
        status = error.code or 500
        message = error.description or error.name
        if status == 404:
            message = f"no such route: {request.method} {request.path}"
        elif status == 405:
            message = f"method {request.method} is not allowed on {request.path}"
        elif status == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body larger than the upload limit of {limit} bytes"
        params: dict[str, Any] = {}
        if status == 413:
            params = {"limit_mb": round((app.config.get("MAX_CONTENT_LENGTH") or 0) / 1024 / 1024, 1)}
        response = error_response(status, HTTP_ERROR_CODES.get(status, "error"), message, params=params)
        valid_methods = getattr(error, "valid_methods", None)
        if status == 405 and valid_methods:
            response.headers["Allow"] = ", ".join(valid_methods)
        return response

    @app.errorhandler(DatabaseUnavailable)
    def _database_down(error: DatabaseUnavailable) -> Response:
        log.warning("database unavailable: %s", error)
        return error_response(503, "database-unavailable", "the database cannot be reached; try again later")

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        log.exception("unexpected error")
        return error_response(500, "internal", "internal server error")
