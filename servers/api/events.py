"""GET /api/events (the review page: camera alerts and upload intervals, filtered and paged) and
PATCH /api/events/<id> (mark reviewed or not)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from servers.api import page_of
from servers.api.bodies import Review, parse_body
from servers.api.queries import EventQuery, Paging, parse_query
from servers.auth import current_user
from servers.errors import ApiError
from servers.services import services
from servers.storage.reviews import EventFilter

blueprint = Blueprint("events", __name__)


@blueprint.get("/events")
def list_events() -> dict[str, Any]:
    """A page of review events, newest first: `kind`, `camera` or `video`, `from`, `to` (ISO 8601),
    `min_score`, `reviewed` filters."""
    query = parse_query(EventQuery)
    selection = EventFilter(**query.model_dump(exclude=set(Paging.model_fields)))
    items, total = services().events.page(selection, query.page, query.page_size)
    return page_of(items, total, query)


@blueprint.patch("/events/<event_id>")
def review_event(event_id: str) -> dict[str, Any]:
    """Mark an event reviewed or not `{reviewed: bool}` (any logged-in user: reviewing is the viewers' work
    too); the updated event."""
    reviewed = parse_body(Review).reviewed
    event = services().events.mark(event_id, reviewed=reviewed, by=current_user()["username"])
    if event is None:
        raise ApiError(404, "not-found", f"event {event_id[:80]} does not exist")
    return event
