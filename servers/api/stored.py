"""Responses for stored files (results, covers, snapshots): from this server's disk or the shared store,
streamed, with HTTP Range and conditional requests."""

from __future__ import annotations

from pathlib import Path

from flask import Response, request, send_file
from werkzeug.wsgi import wrap_file

from servers.app import services
from servers.errors import ApiError


def send_stored(path: Path, mimetype: str, what: str) -> Response:
    """The file at `path` (a storage path) as a response; ApiError 404 naming `what` when it is not stored."""
    try:  # send_file opens the path once; a later removal does not disturb the open handle
        return send_file(path, mimetype=mimetype, conditional=True, etag=True, max_age=0)
    except FileNotFoundError:
        pass
    stream = services().files.open_stored(path)
    if stream is None:
        raise ApiError(404, "not-found", f"the {what} does not exist (yet)")
    response = Response(wrap_file(request.environ, stream), mimetype=mimetype, direct_passthrough=True)
    response.content_length = stream.length  # type: ignore[attr-defined]
    response.cache_control.max_age = 0
    response.set_etag(f"{getattr(stream, '_id', '')}-{stream.length}")  # type: ignore[attr-defined]
    return response.make_conditional(request, accept_ranges=True, complete_length=stream.length)  # type: ignore[attr-defined]
