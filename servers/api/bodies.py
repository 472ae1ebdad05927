"""The JSON request bodies as pydantic models: one source for their validation (`parse_body`) and for their
schemas in the OpenAPI document (`servers.api.spec`).

A field describes its valid values in `Field(description=...)`: a refused value answers ApiError 400
`invalid-field` "field '<name>' must be <description>" with `params.field`, plus the `Reason` annotated on
the field (the rule code and values a client translates the message with). A validator that needs its own
words raises `BodyProblem`. Checks against the server's state (a profile that exists, a source host that
is allowed) stay with the routes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from servers.api import json_body
from servers.auth import PASSWORD_MAX, PASSWORD_MIN, ROLES, USERNAME_PATTERN, password_problem
from servers.cameras import FIELDS, MAX_ALERT_SECONDS, MAX_COOLDOWN_SECONDS, MIN_ROI
from servers.errors import ApiError

Body = TypeVar("Body", bound="RequestBody")
MAX_NAME = 200
MAX_SOURCE_LENGTH = 2048
MAX_CALIBRATE_MINUTES = 240


@dataclass(frozen=True)
class Reason:
    """The rule code (`params.reason`) and values of a field's refusal, annotated on the field."""

    reason: str
    values: Mapping[str, Any] = field(default_factory=dict)


class BodyProblem(ValueError):
    """Raised by a body's validator: the ApiError 400 to answer (`code`, English `message`, `params`)."""

    def __init__(self, message: str, params: Mapping[str, Any], code: str = "invalid-field") -> None:
        super().__init__(message)
        self.code, self.params = code, dict(params)


class RequestBody(BaseModel):
    """Base of the request bodies: strict JSON types; unknown fields ignored unless a body forbids them."""

    model_config = ConfigDict(strict=True, frozen=True)


def _field_refusal(model: type[RequestBody], name: str) -> ApiError:
    info = model.model_fields.get(name)
    reason = next((item for item in info.metadata if isinstance(item, Reason)), None) if info else None
    params: dict[str, Any] = {"field": name}
    if reason is not None:
        params.update(reason=reason.reason, **reason.values)
    valid = (info.description if info else None) or "valid"
    return ApiError(400, "invalid-field", f"field '{name}' must be {valid}", params=params)


def refusal(model: type[RequestBody], error: ValidationError) -> ApiError:
    """The ApiError 400 of a body that `model` refused: unknown fields, else the first problem."""
    problems = error.errors()
    unknown = [
        str(item["loc"][0]) for item in problems if item["type"] == "extra_forbidden" and len(item["loc"]) < 2
    ]
    if unknown:
        known = ", ".join(model.model_fields)
        return ApiError(
            400,
            "unknown-field",
            f"unknown field(s) {', '.join(sorted(unknown))} (known: {known})",
            params={"field": ", ".join(sorted(unknown))},
        )
    first = problems[0]
    own = first.get("ctx", {}).get("error")
    if isinstance(own, BodyProblem):
        return ApiError(400, own.code, str(own), params=own.params)
    if not first["loc"]:
        return ApiError(400, "invalid-field", f"the body is not valid: {first['msg']}")
    return _field_refusal(model, str(first["loc"][0]))


def parse_body(model: type[Body], **context: Any) -> Body:
    """The request's JSON object body validated as `model` (`context` reaches its validators), or ApiError
    (415 not JSON, 400 malformed or naming the refused field)."""
    try:
        return model.model_validate(json_body(), context=context)
    except ValidationError as error:
        raise refusal(model, error) from None


_LENGTHS = {"min": PASSWORD_MIN, "max": PASSWORD_MAX}


def _acceptable(password: str, username: str) -> str:
    problem = password_problem(password, username)
    if problem is not None:
        reason, text = problem
        raise BodyProblem(f"field 'password' {text}", {"field": "password", "reason": reason, **_LENGTHS})
    return password


NewPassword = Annotated[
    str,
    Field(
        description=f"a string of {PASSWORD_MIN}-{PASSWORD_MAX} characters",
        min_length=PASSWORD_MIN,
        max_length=PASSWORD_MAX,
    ),
    Reason("password-length", _LENGTHS),
]


class Credentials(RequestBody):
    """POST /api/auth/login."""

    username: str = Field(description="a non-empty string", min_length=1, max_length=64)
    password: str = Field(description="a non-empty string", min_length=1, max_length=PASSWORD_MAX)


class NewUser(RequestBody):
    """POST /api/users (the password rules of `servers.auth.password_problem`)."""

    username: Annotated[
        str,
        Field(
            description="1-64 characters of letters, digits, '_', '.', '-'", pattern=USERNAME_PATTERN.pattern
        ),
        Reason("username-format"),
    ]
    password: NewPassword
    role: Literal[ROLES] = Field("viewer", description=f"one of {', '.join(ROLES)}")  # type: ignore[valid-type]

    @field_validator("password")
    @classmethod
    def _strong(cls, password: str, info: ValidationInfo) -> str:
        return _acceptable(password, info.data.get("username", ""))


class PasswordChange(RequestBody):
    """PUT /api/users/<id>/password; `current_password` is needed to change one's own (validated with the
    context `username`, the user whose password changes)."""

    password: NewPassword
    current_password: Annotated[
        str | None,
        Field(description="the current password (to change your own)", min_length=1, max_length=PASSWORD_MAX),
        Reason("current-password-missing"),
    ] = None

    @field_validator("password")
    @classmethod
    def _strong(cls, password: str, info: ValidationInfo) -> str:
        return _acceptable(password, (info.context or {}).get("username", ""))


class Review(RequestBody):
    """PATCH /api/events/<id>."""

    reviewed: bool = Field(description="true or false")


_FRACTION = Field(ge=0, le=1, allow_inf_nan=False, description="a fraction of the frame in 0..1")


class Region(RequestBody):
    """The region of interest (crop box), fractions of the frame; x1 < x2, y1 < y2."""

    model_config = ConfigDict(extra="forbid")
    x1: float = _FRACTION
    y1: float = _FRACTION
    x2: float = _FRACTION
    y2: float = _FRACTION

    @model_validator(mode="after")
    def _large_enough(self) -> Region:
        if self.x2 - self.x1 < MIN_ROI or self.y2 - self.y1 < MIN_ROI:
            raise BodyProblem(
                f"field 'roi' must be {_ROI}; each side at least {MIN_ROI:g} of the frame", {"field": "roi"}
            )
        return self


_ROI = "{x1, y1, x2, y2}: fractions of the frame, x1 < x2 and y1 < y2"
CameraName = Annotated[
    str,
    Field(
        description=f"a non-empty string of at most {MAX_NAME} characters", min_length=1, max_length=MAX_NAME
    ),
    Reason("session-name"),
]


def _minutes(description: str, **bound: float) -> Any:
    """A number of minutes of stream to learn the scene from, at most MAX_CALIBRATE_MINUTES."""
    limits = Field(le=MAX_CALIBRATE_MINUTES, allow_inf_nan=False, description=description, **bound)  # type: ignore[call-overload]
    return Annotated[float, limits, Reason("minutes-range", {"max": MAX_CALIBRATE_MINUTES})]


LearnMinutes = _minutes(f"a number of minutes in 0..{MAX_CALIBRATE_MINUTES}", ge=0)
CalibrateMinutes = _minutes(f"a number of minutes in 0..{MAX_CALIBRATE_MINUTES}, more than 0", gt=0)


def _seconds(high: float) -> Any:
    return Field(None, ge=0, le=high, allow_inf_nan=False, description=f"a number of seconds in 0..{high:g}")


class DetectorSettings(RequestBody):
    """A camera's detector settings (null: the engine's configuration)."""

    threshold: float | None = Field(None, ge=0, le=1, allow_inf_nan=False, description="a score in 0..1")
    roi: Region | None = Field(None, description=_ROI)
    min_alert_seconds: float | None = _seconds(MAX_ALERT_SECONDS)
    cooldown_seconds: float | None = _seconds(MAX_COOLDOWN_SECONDS)
    profile: str | None = Field(
        None, min_length=1, max_length=64, description="a profile id from GET /api/profiles"
    )

    @field_validator("name", mode="after", check_fields=False)
    @classmethod
    def _stripped(cls, name: str | None) -> str | None:
        if name is not None and not name.strip():
            raise BodyProblem(
                f"field 'name' must be a non-empty string of at most {MAX_NAME} characters",
                {"field": "name", "reason": "session-name"},
            )
        return name.strip() if name is not None else None

    def detector(self) -> dict[str, Any]:
        """The detector settings the body gives, as stored (`roi` as a dict)."""
        return self.model_dump(include=set(DetectorSettings.model_fields), exclude_unset=True)


class NewCamera(DetectorSettings):
    """POST /api/sessions."""

    name: CameraName
    source: Annotated[
        str,
        Field(
            description=f"a URL of 1-{MAX_SOURCE_LENGTH} characters",
            min_length=1,
            max_length=MAX_SOURCE_LENGTH,
        ),
        Reason("source-length", {"max": MAX_SOURCE_LENGTH}),
    ]
    calibrate_minutes: LearnMinutes = 0.0
    notify: bool = Field(True, description="true or false (whether the camera's alerts are sent out)")


def _no_default(schema: dict[str, Any]) -> None:
    """An optional field that is not nullable: left out, not null."""
    schema.pop("default", None)


class CameraChanges(DetectorSettings):
    """PATCH /api/sessions/<id>: at least one field; null puts a setting back to the engine's config."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})
    name: CameraName = Field(None, json_schema_extra=_no_default)  # type: ignore[assignment]
    enabled: bool = Field(  # type: ignore[assignment]
        None, description="true or false", json_schema_extra=_no_default
    )
    notify: bool = Field(  # type: ignore[assignment]
        None,
        description="true or false (whether the camera's alerts are sent out)",
        json_schema_extra=_no_default,
    )

    @model_validator(mode="before")
    @classmethod
    def _not_empty(cls, body: Any) -> Any:
        if isinstance(body, dict) and not body:
            raise BodyProblem(f"give at least one of {', '.join(FIELDS)}", {"field": " / ".join(FIELDS)})
        return body


class Calibration(RequestBody):
    """POST /api/sessions/<id>/calibrate."""

    minutes: CalibrateMinutes
