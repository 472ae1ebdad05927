"""The shapes of the API's JSON responses as pydantic models: the source of their schemas in the OpenAPI
document (`servers.api.spec`). The routes build plain dicts; these models describe them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from servers.api.bodies import Region
from servers.storage.repositories import STATUSES
from servers.storage.reviews import KINDS

Item = TypeVar("Item")
Id = Field(pattern=r"^[0-9a-f]{32}$")
CueName = Literal["objects", "motion", "activity", "scene"]


class Resource(BaseModel):
    """Base of the response models (more fields may come: clients ignore what they do not know)."""


class Error(Resource):
    error: str = Field(description="stable code")
    message: str = Field(description="English text")
    params: dict[str, Any] = Field(
        default_factory=dict, description="the values a client translates the code with"
    )


class Page(Resource, Generic[Item]):
    items: list[Item]
    total: int
    page: int
    page_size: int


class User(Resource):
    id: str = Id
    username: str
    role: Literal["admin", "viewer"]
    created_at: datetime


class Login(Resource):
    user: User
    csrf_token: str


class Cause(Resource):
    cue: CueName
    label: str
    z: float


class Interval(Resource):
    """Frames at or above the threshold (`inferences.intervals.Interval`)."""

    start_frame: int = Field(description="the first frame")
    end_frame: int = Field(description="the last frame (inclusive)")
    start_time: float = Field(description="seconds")
    end_time: float = Field(description="seconds: the end of the last frame")
    peak_score: float
    category: str | None = None
    category_probability: float | None = None
    causes: list[Cause] = []


class Profile(Resource):
    id: str
    name: str
    kind: Literal["shipped", "camera"]


class Profiles(Resource):
    items: list[Profile]


class Removed(Resource):
    """What retention removed."""

    at: datetime
    reason: Literal["age", "disk-budget"]
    files: list[Literal["result", "source", "snapshot", "clip"]]


class Original(Resource):
    """The uploaded file's size and frame rate, before the server stored it."""

    width: int
    height: int
    fps: float


class Video(Resource):
    id: str = Id
    name: str
    size: int | None = None
    status: Literal[STATUSES]
    progress: float = Field(ge=0, le=1)
    created_at: datetime
    updated_at: datetime
    fps: float | None = None
    frames: int | None = None
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    peak_score: float | None = None
    threshold: float | None = None
    intervals: list[Interval]
    error: str | None
    scores: list[float] = Field([], description="per-frame scores (the detail only)")
    profile: str | None = None
    node: str | None = Field(None, description="the Ray node of the job")
    original: Original | None = None
    removed: Removed | None = Field(None, description="what retention removed (null: nothing)")


class SceneProfile(Resource):
    state: Literal["uncalibrated", "learning", "calibrated"]
    segments: int | None = None
    minutes: float | None = None
    calibrated_at: datetime | None = None
    error: str | None = None


class Settings(Resource):
    """The settings the camera's detector applies (its own where set, else the engine's)."""

    threshold: float = Field(ge=0, le=1)
    roi: Region
    min_alert_seconds: float
    cooldown_seconds: float
    profile: str | None = Field(description="a profile id from GET /api/profiles")
    enabled: bool


class Session(Resource):
    id: str = Id
    name: str
    source: str = Field(description="the stream URL without its credentials")
    state: Literal["starting", "running", "reconnecting", "stopped", "failed"]
    created_at: datetime
    started_at: datetime | None = None
    stopped_at: datetime | None = None
    alerts_count: int
    current_score: float | None = None
    threshold: float | None = None
    error: str | None = None
    node: str | None = Field(None, description="the Ray node of the camera")
    notify: bool = True
    profile: SceneProfile | None = None
    settings: Settings | None = None
    last_seen: datetime | None = None
    dropped_segments: int = 0


class Alert(Resource):
    id: str = Id
    session_id: str = Id
    start_time: datetime
    end_time: datetime | None
    peak_score: float
    snapshot_url: str
    category: str | None = None
    category_probability: float | None = None
    causes: list[Cause] = []
    clip_url: str | None = None
    clip: bool = False
    interrupted: bool = False


class Event(Resource):
    id: str = Field(description="alert-<alert id> or video-<video id>-<interval index>")
    kind: Literal[KINDS]
    source_id: str = Id
    source_name: str | None = None
    time: datetime
    end_time: datetime | None = None
    start: float | None = Field(None, description="an upload interval's start in the video (s)")
    end: float | None = Field(None, description="an upload interval's end in the video (s)")
    peak_score: float | None
    category: str | None = None
    causes: list[Cause] = []
    image_url: str | None = None
    clip_url: str | None = None
    reviewed: bool
    reviewed_at: datetime | None = None
    reviewed_by: str | None = None
    removed: Removed | None = Field(description="what retention removed (null: nothing)")


class Points(Resource):
    points: list[list[float | None]] = Field(description="[epoch seconds, score or null (offline, stopped)]")
    total: int


class Health(Resource):
    status: Literal["ok", "degraded"]
    database: dict[str, Any]
    models: dict[str, Any]
    workers: dict[str, Any]
    notifications: dict[str, Any] | None = Field(None, description="the notification channels (admins)")
