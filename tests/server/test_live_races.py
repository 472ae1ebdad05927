"""LiveManager against its detector's threads, in this process with the real embedded database: an alert
that starts while the session stops never stays open, and events are told apart by their type.

The detector's inference thread is held (by a trace function, no change to the code under test) where it
enters the manager's alert recording, so the interleavings are the same on every run."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, fields, make_dataclass
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from harness.videos import write_video
from inferences.config import load_inference_config
from inferences.events import AlertEnd, AlertStart, ScoreEvent
from servers.files import FileStore
from servers.history import ScoreHistory
from servers.live import LiveManager
from servers.storage import LiveSessionRepository
from servers.storage.database import connect_database
from servers.storage.repositories import new_id
from servers.storage.scores import ScoreRepository


@dataclass
class Setup:
    manager: LiveManager
    sessions: LiveSessionRepository
    video: Path


@pytest.fixture
def setup(tmp_path: Path, inference_config: Path) -> Iterator[Setup]:
    """A LiveManager on the embedded database (tiny models, threshold 0: the first scored segment alerts)
    and a 16 s camera file, longer than any test here."""
    files = FileStore(tmp_path / "storage")
    database = connect_database("", name="test", storage_directory=files.root, max_connections=1)
    sessions = LiveSessionRepository(database)
    sessions.ensure_indexes()
    history = ScoreHistory(ScoreRepository(database, bucket_seconds=3600.0), interval=1.0)
    manager = LiveManager(
        sessions=sessions,
        files=files,
        inference_config=load_inference_config(inference_config),
        history=history,
    )
    video = write_video(tmp_path / "camera.mp4", frames=400, width=96, height=64)
    yield Setup(manager, sessions, video)
    manager.stop_all()
    database.close()


@dataclass
class Held:
    reached: threading.Event
    release: threading.Event
    live: list[Any]  # the manager's session object the held call was given


@contextlib.contextmanager
def held_alert_start(setup: Setup, session_id: str) -> Iterator[Held]:
    """Start the session with its detector's threads held on entering `LiveManager._alert_start` (the first
    time) until the block ends."""
    held = Held(threading.Event(), threading.Event(), [])
    target = LiveManager._alert_start.__code__

    def trace(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code is target and not held.live:
            held.live.append(frame.f_locals["live"])
            held.reached.set()
            held.release.wait(60)

    previous = threading.gettrace()
    threading.settrace(trace)  # only the threads started now: the detector's
    try:
        setup.manager.start(session_id, str(setup.video))
    finally:
        threading.settrace(previous)
    try:
        assert held.reached.wait(60), "the detector's first alert"
        yield held
    finally:
        held.release.set()


def lookalike(event: type) -> type:
    """Another class with the name and the fields of the engine's `event`, not derived from it."""
    return make_dataclass(event.__name__, [(field.name, Any) for field in fields(event)])


def open_alerts(sessions: LiveSessionRepository, session_id: str) -> list[dict[str, Any]]:
    items, _ = sessions.alerts(session_id, page=1, page_size=100)
    return [alert for alert in items if alert["end_time"] is None]


def test_an_alert_starting_while_the_session_stops_is_not_left_open(setup: Setup) -> None:
    """The detector's AlertStart is on its way when stop() runs; its join times out, the session is
    recorded stopped, and then the late AlertStart arrives: no alert without an end is left."""
    session_id = new_id()
    setup.sessions.create(session_id=session_id, name="gate", source=str(setup.video))
    with held_alert_start(setup, session_id) as held:
        setup.manager.stop(session_id, timeout=0.5)  # the inference thread is held: the join times out
        assert setup.sessions.get(session_id)["state"] == "stopped"
    detector = held.live[0].detector
    assert detector.join(30)  # the late AlertStart (and the alert's end, if one was recorded) went through
    assert open_alerts(setup.sessions, session_id) == []


def test_events_are_told_apart_by_type_not_by_name(setup: Setup) -> None:
    """Subclasses of the engine's events are those events; other classes with the same names are not."""
    session_id = new_id()
    setup.sessions.create(session_id=session_id, name="gate", source=str(setup.video))
    with held_alert_start(setup, session_id) as held:  # the detector's own events wait meanwhile
        deliver = held.live[0].detector.on_event  # the manager's callback, as the detector calls it

        class Score(ScoreEvent):
            pass

        class Opened(AlertStart):
            pass

        class Closed(AlertEnd):
            pass

        deliver(Score(time.time(), 0.625))
        assert setup.manager.current_score(session_id) == 0.625

        deliver(lookalike(AlertStart)(time.time(), 0.9, b"", None, None, None))
        assert open_alerts(setup.sessions, session_id) == []

        deliver(Opened(time.time(), 0.75, b""))
        opened = open_alerts(setup.sessions, session_id)
        assert [alert["peak_score"] for alert in opened] == [0.75]

        deliver(lookalike(AlertEnd)(time.time(), 0.8, 1.0, False))
        assert open_alerts(setup.sessions, session_id) == opened

        deliver(Closed(time.time(), 0.8, 1.0))
        assert open_alerts(setup.sessions, session_id) == []
        closed = setup.sessions.get_alert(session_id, opened[0]["id"])
        assert closed is not None and closed["end_time"] and closed["peak_score"] == 0.8
    setup.manager.stop(session_id)
    assert open_alerts(setup.sessions, session_id) == []
