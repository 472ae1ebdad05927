"""Responses for stored files (results, covers, snapshots): from this server's disk or the shared store,
streamed, with HTTP Range and conditional requests."""

from __future__ import annotations

from pathlib import Path

from flask import Response, request, send_file

from servers.errors import ApiError
from servers.services import services


def send_stored(path: Path, mimetype: str, what: str, name: str | None = None) -> Response:
    """The file at `path` (a storage path) as a response, inline as `name` when given; ApiError 404
    naming `what` when it is not stored."""
    try:  # send_file opens the path once; a later removal does not disturb the open handle
        return send_file(path, mimetype=mimetype, conditional=True, etag=True, max_age=0, download_name=name)
    except FileNotFoundError:
        pass
    stream = services().files.open_stored(path)
    if stream is None:
        raise ApiError(404, "not-found", f"the {what} does not exist (yet)")
    length = stream.length  # type: ignore[attr-defined]
    response = send_file(stream, mimetype=mimetype, download_name=name, etag=False, max_age=0)
    response.content_length = length
    response.set_etag(f"{getattr(stream, '_id', '')}-{length}")
    return response.make_conditional(request, accept_ranges=True, complete_length=length)
