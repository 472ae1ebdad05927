"""GET /api/events (the review page: camera alerts and upload intervals, filtered and paged) and
PATCH /api/events/<id> (mark reviewed or not)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, request

from servers.api import checked_id, page_of, paging
from servers.api.bodies import Review, parse_body
from servers.auth import current_user
from servers.errors import ApiError
from servers.services import services
from servers.storage.reviews import EventFilter

blueprint = Blueprint("events", __name__)
KINDS = ("camera", "upload")


def _invalid(name: str, rule: str) -> ApiError:
    return ApiError(
        400,
        "invalid-parameter",
        f"query parameter '{name}' must be {rule}",
        params={"parameter": name},
    )


def _time(name: str) -> str | None:
    """An ISO 8601 date-time (a time zone or UTC) as the stored UTC string, or None when absent."""
    raw = request.args.get(name) or None
    if raw is None:
        return None
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00")) if len(raw) <= 40 else None
        if value is not None:
            value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved across midnight UTC
        value = None
    if value is None:
        raise _invalid(name, "an ISO 8601 date-time such as 2026-01-31T08:00:00Z")
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _score() -> float | None:
    raw = request.args.get("min_score") or None
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not 0.0 <= value <= 1.0:  # also refuses NaN
        raise _invalid("min_score", "a number in 0..1")
    return value


def _reviewed() -> bool | None:
    raw = request.args.get("reviewed") or None
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise _invalid("reviewed", "true or false")
    return raw == "true"


def event_filter() -> EventFilter:
    """The filter of the query string, or ApiError 400 naming the bad parameter."""
    kind = request.args.get("kind") or None
    if kind is not None and kind not in KINDS:
        raise _invalid("kind", "camera or upload")
    camera = request.args.get("camera") or None
    video = request.args.get("video") or None
    if camera and video:
        raise _invalid("video", "left out when 'camera' is given (one source at a time)")
    selection = EventFilter(
        kind=kind,
        camera=checked_id(camera, "session") if camera else None,
        video=checked_id(video, "video") if video else None,
        since=_time("from"),
        until=_time("to"),
        min_score=_score(),
        reviewed=_reviewed(),
    )
    if selection.since and selection.until and selection.since >= selection.until:
        raise _invalid("to", "later than 'from'")
    return selection


@blueprint.get("/events")
def list_events() -> dict[str, Any]:
    """A page of review events, newest first: `kind`, `camera` or `video`, `from`, `to` (ISO 8601),
    `min_score`, `reviewed` filters."""
    selection = event_filter()
    page, page_size = paging()
    items, total = services().events.page(selection, page, page_size)
    return page_of(items, total, page, page_size)


@blueprint.patch("/events/<event_id>")
def review_event(event_id: str) -> dict[str, Any]:
    """Mark an event reviewed or not `{reviewed: bool}` (any logged-in user: reviewing is the viewers' work
    too); the updated event."""
    reviewed = parse_body(Review).reviewed
    event = services().events.mark(event_id, reviewed=reviewed, by=current_user()["username"])
    if event is None:
        raise ApiError(404, "not-found", f"event {event_id[:80]} does not exist")
    return event
