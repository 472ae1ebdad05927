"""The query strings of the /api routes as pydantic models: one source for their validation (`parse_query`)
and for their parameters in the OpenAPI document (`query_parameters`), as `servers.api.bodies` is for the
bodies.

A parameter describes its valid values in `Field(description=...)`: a refused value answers ApiError 400
`invalid-parameter` "query parameter '<name>' must be <description>" with `params.parameter`. A check
across parameters raises `QueryProblem` naming the parameter it blames. An empty value counts as absent;
unknown parameters are ignored.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from flask import request
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from servers.errors import ApiError
from servers.storage.repositories import ID_PATTERN, STATUSES
from servers.storage.reviews import KINDS

Query = TypeVar("Query", bound="QueryString")
MAX_PAGE = 1_000_000
MAX_PAGE_SIZE = 100
MAX_SEARCH = 200  # characters of a name search
MAX_POINTS = 10_000
DEFAULT_POINTS = 2_000
MAX_EPOCH = 1e11
MAX_DATE_TIME = 40  # characters of an ISO 8601 date-time


def _refusal(name: str, rule: str) -> ApiError:
    """ApiError 400 `invalid-parameter`: "query parameter '<name>' must be <rule>"."""
    return ApiError(
        400, "invalid-parameter", f"query parameter '{name}' must be {rule}", params={"parameter": name}
    )


class QueryProblem(ValueError):
    """Raised by a query's validator: the parameter it blames and the rule it must follow."""

    def __init__(self, name: str, rule: str) -> None:
        super().__init__(rule)
        self.name = name


class QueryString(BaseModel):
    """Base of the query strings: text values converted to the fields' types, finite numbers only."""

    model_config = ConfigDict(frozen=True, allow_inf_nan=False)


def parse_query(model: type[Query]) -> Query:
    """The request's query string (the first value of each parameter) validated as `model`, or ApiError
    400 naming the refused parameter."""
    values = {name: value for name, value in request.args.items() if value != ""}
    try:
        return model.model_validate(values)
    except ValidationError as error:
        first = error.errors()[0]
        own = first.get("ctx", {}).get("error")
        if isinstance(own, QueryProblem):
            raise _refusal(own.name, str(own)) from None
        name = str(first["loc"][0]) if first["loc"] else "query"
        field = next((info for key, info in model.model_fields.items() if name in (key, info.alias)), None)
        raise _refusal(name, (field and field.description) or "valid") from None


def query_parameters(model: type[QueryString]) -> list[dict[str, Any]]:
    """The OpenAPI parameter objects of `model` (optional, named as in the query string)."""
    parameters = []
    for name, schema in model.model_json_schema(by_alias=True)["properties"].items():
        schema.pop("title", None)
        if schema.get("default", 0) is None:
            del schema["default"]
        choices = schema.pop("anyOf", None)
        if choices:  # `X | None`: the parameter is absent, never null
            schema |= next(choice for choice in choices if choice != {"type": "null"})
        description = schema.pop("description")
        parameters.append({"name": name, "in": "query", "description": description, "schema": schema})
    return parameters


def _utc(value: str) -> str:
    """An ISO 8601 date-time (a time zone, or UTC) as the stored UTC string."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00")) if len(value) <= MAX_DATE_TIME else None
        if moment is not None:
            moment = moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved across midnight UTC
        moment = None
    if moment is None:
        raise ValueError("not an ISO 8601 date-time")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


DateTime = Annotated[str, AfterValidator(_utc), Field(json_schema_extra={"format": "date-time"})]
DATE_TIME = "an ISO 8601 date-time such as 2026-01-31T08:00:00Z"


def _id_of(what: str) -> Any:
    return Field(None, pattern=ID_PATTERN.pattern, description=f"a {what} id (32 hexadecimal digits)")


class Paging(QueryString):
    """`page` and `page_size` of a list."""

    page: int = Field(1, ge=1, le=MAX_PAGE, description=f"an integer in 1..{MAX_PAGE}")
    page_size: int = Field(20, ge=1, le=MAX_PAGE_SIZE, description=f"an integer in 1..{MAX_PAGE_SIZE}")


class VideoQuery(Paging):
    """GET /api/videos: a status filter and a name search."""

    status: Literal[STATUSES] | None = Field(None, description=f"one of {', '.join(STATUSES)}")
    q: str | None = Field(None, max_length=MAX_SEARCH, description=f"at most {MAX_SEARCH} characters")


class EventQuery(Paging):
    """GET /api/events: the review filters (`from` and `to` are stored as `since` and `until`)."""

    kind: Literal[KINDS] | None = Field(None, description=" or ".join(KINDS))
    camera: str | None = _id_of("session")
    video: str | None = _id_of("video")
    since: DateTime | None = Field(None, alias="from", description=DATE_TIME)
    until: DateTime | None = Field(None, alias="to", description=DATE_TIME)
    min_score: float | None = Field(None, ge=0.0, le=1.0, description="a number in 0..1")
    reviewed: bool | None = Field(None, description="true or false")

    @field_validator("reviewed", mode="before")
    @classmethod
    def _true_or_false(cls, value: object) -> object:
        if value not in ("true", "false"):  # not the other spellings pydantic reads as booleans
            raise ValueError("not true or false")
        return value == "true"

    @model_validator(mode="after")
    def _consistent(self) -> EventQuery:
        if self.camera and self.video:
            raise QueryProblem("video", "left out when 'camera' is given (one source at a time)")
        if self.since and self.until and self.since >= self.until:
            raise QueryProblem("to", "later than 'from'")
        return self


class ScoreQuery(QueryString):
    """GET /api/sessions/<id>/scores: a time range (epoch seconds; `until` defaults to now) and a point
    budget."""

    since: float = Field(0.0, ge=0.0, le=MAX_EPOCH, description=f"epoch seconds in 0..{MAX_EPOCH:g}")
    until: float | None = Field(None, ge=0.0, le=MAX_EPOCH, description=f"epoch seconds in 0..{MAX_EPOCH:g}")
    max_points: int = Field(DEFAULT_POINTS, ge=2, le=MAX_POINTS, description=f"an integer in 2..{MAX_POINTS}")

    @model_validator(mode="after")
    def _ordered(self) -> ScoreQuery:
        if self.since > self.end:
            raise QueryProblem("since", f"no later than {'now' if self.until is None else repr('until')}")
        return self

    @property
    def end(self) -> float:
        """`until`, or a minute from now (scores written while the answer is read are included)."""
        return time.time() + 60 if self.until is None else self.until
