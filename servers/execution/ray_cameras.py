"""Live cameras as Ray actors: one named, detached actor per live session, holding its resources (CPUs, a
GPU fraction), spread over the nodes and restarted on another node when its node is lost. The actor runs
`servers.live.LiveManager`, the same camera code as in-process; every API server relays the actor's
events and frames to its own viewers by actor calls."""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from typing import Any

from servers.config import ServerConfig
from servers.errors import ApiError
from servers.execution.cluster import NAMESPACE, NodeContext, node_name, remote_options
from servers.execution.publishing import PublishingLiveSessions
from servers.history import camera_history
from servers.live import LiveManager
from servers.live_shared import SUBSCRIBER_BACKLOG, min_calibrate_minutes, offer
from servers.notify.notifier import Notifier
from servers.redaction import redact
from servers.storage import LiveSessionRepository
from servers.storage.repositories import new_id, utc_now

log = logging.getLogger("servers.execution")
CAMERA_RESTARTS = 10  # node losses (or crashes) a camera survives
CAMERA_CALLS = 32  # actor calls served at once (event waits of every API server, frames, scores)
EVENT_BUFFER = 256
EVENTS_WAIT = 1.0  # seconds an events call waits for a new event
CALL_SECONDS = 5.0
START_SECONDS = 90.0  # a new camera: a node with room, its process, the stream opened
LOST_ALERTS = 10  # the newest alerts of a restarted camera checked for one its lost node left open
LOST_MESSAGE = "the camera's node was lost; it restarts on another node"


def actor_name(session_id: str) -> str:
    """The Ray actor name of a session's camera."""
    return f"camera-{session_id}"


class CameraActor:
    """One live session on a Ray node. Its events are numbered in a buffer that API servers read with
    `events`; `incarnation` changes when Ray restarts the actor (then the constructor runs again on the new
    node and the camera resumes there)."""

    def __init__(
        self,
        config: ServerConfig,
        inference_config: Any,
        session_id: str,
        source: str,
        calibrate_minutes: float,
        retry: bool = False,
    ) -> None:
        import ray

        self._session_id = session_id
        self._node = NodeContext.open(config)
        files = self._node.files
        files.fetch(files.profile_path(session_id))  # its calibration, learned on whichever node
        sessions = PublishingLiveSessions(self._node.sessions, files)
        self._notifier = Notifier(config.notifications, process=f"camera-{session_id[:12]}")
        self._live = LiveManager(
            sessions=sessions,  # type: ignore[arg-type]
            files=files,
            inference_config=inference_config,
            network_policy=config.network_policy(),
            notifier=self._notifier,
            history=camera_history(config, self._node.database),
        )
        self._incarnation = new_id()
        self._events: deque[tuple[int, str, Any]] = deque(maxlen=EVENT_BUFFER)
        self._seq = 0
        self._ended = False
        self._changed = threading.Condition()
        self._error: Exception | None = None
        restarted = ray.get_runtime_context().was_current_actor_reconstructed
        if restarted:
            self._close_lost_alerts()
        try:
            # a camera whose node was lost waits for its source: the source may be down with the node
            self._live.start(
                session_id, source, calibrate_minutes=calibrate_minutes, retry=retry or restarted
            )
        except Exception as error:  # StreamError, ModelError: ready() raises it to the starting server
            self._error = error
            if restarted:
                reason = redact(f"not restarted after its node was lost: {error}")
                self._node.sessions.update(session_id, state="failed", error=reason, stopped_at=utc_now())
            return
        self._node.sessions.update(session_id, node=node_name())
        subscriber = self._live.subscribe(session_id)
        state = (self._node.sessions.get(session_id) or {}).get("state", "starting")
        self._add(("state", {"state": state, "message": ""}))
        threading.Thread(target=self._relay, args=(subscriber,), name="camera-relay", daemon=True).start()

    def _close_lost_alerts(self) -> None:
        """Close the alert the lost node left open, as interrupted (it ends when the node was lost, as far
        as is known)."""
        sessions = self._node.sessions
        recent, _ = sessions.alerts(self._session_id, page=1, page_size=LOST_ALERTS)
        for alert in recent:
            if alert["end_time"] is None:
                sessions.close_alert(
                    alert["id"], end_time=utc_now(), peak_score=alert["peak_score"], interrupted=True
                )

    def _add(self, item: tuple[str, Any] | None) -> None:
        with self._changed:
            if item is None:
                self._ended = True
            else:
                self._seq += 1
                self._events.append((self._seq, *item))
            self._changed.notify_all()

    def _relay(self, subscriber: queue.Queue | None) -> None:
        if subscriber is None:
            self._add(None)
            return
        while True:
            item = subscriber.get()
            self._add(item)
            if item is None:
                return

    def ready(self) -> str:
        """The node running the camera; raises what stopped it from starting."""
        if self._error is not None:
            raise self._error
        return node_name()

    def events(self, incarnation: str, after: int, wait: float) -> dict[str, Any]:
        """Events numbered after `after` (all of this incarnation when `incarnation` is another one, none
        of the past when it is empty), waiting up to `wait` seconds for one."""
        with self._changed:
            if incarnation != self._incarnation:
                after = 0 if incarnation else self._seq
            self._changed.wait_for(lambda: self._seq > after or self._ended, timeout=wait)
            items = [(name, data) for seq, name, data in self._events if seq > after]
            return {"incarnation": self._incarnation, "seq": self._seq, "items": items, "ended": self._ended}

    def current_score(self) -> float | None:
        """The newest score."""
        return self._live.current_score(self._session_id)

    def observed(self) -> dict[str, Any]:
        """The camera's `last_seen` and `dropped_segments`."""
        return self._live.observed(self._session_id)

    def latest_jpeg(self) -> bytes | None:
        """The newest annotated frame."""
        return self._live.latest_jpeg(self._session_id)

    def stop(self, state: str, interrupted: bool = False) -> None:
        """Stop the detector and record the final state (`interrupted`: see LiveManager.stop)."""
        self._live.stop(self._session_id, state=state, interrupted=interrupted)
        self._node.sessions.update(self._session_id, node=None)
        self._notifier.close()
        self._node.close()


class _Relay:
    """This server's subscribers of one camera and the thread that reads the actor's events for them."""

    def __init__(self) -> None:
        self.subscribers: set[queue.Queue] = set()
        self.thread: threading.Thread | None = None


class RayCameras:
    """The CameraRunner on Ray. Any API server finds a camera by its actor name, so API servers keep no
    camera state; cameras outlive the server that started them."""

    def __init__(
        self, *, config: ServerConfig, sessions: LiveSessionRepository, inference_config: Any
    ) -> None:
        import ray

        self._ray = ray
        self._config = config
        self._sessions = sessions
        self._inference_config = inference_config
        self._actor = ray.remote(CameraActor)
        self._relays: dict[str, _Relay] = {}
        self._frames: dict[
            str, bytes
        ] = {}  # the last frame per camera, so an unchanged one stays the same object
        self._gates: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()

    @property
    def min_calibrate_minutes(self) -> float:
        """The shortest calibration (as in-process)."""
        return min_calibrate_minutes(self._inference_config)

    def _handle(self, session_id: str) -> Any:
        try:
            return self._ray.get_actor(actor_name(session_id), namespace=NAMESPACE)
        except ValueError:
            return None

    def _call(self, session_id: str, method: str, *args: Any, timeout: float = CALL_SECONDS) -> Any:
        """A camera's method result; None when it is not running or does not answer now."""
        handle = self._handle(session_id)
        if handle is None:
            return None
        try:
            return self._ray.get(getattr(handle, method).remote(*args), timeout=timeout)
        except (self._ray.exceptions.RayActorError, self._ray.exceptions.GetTimeoutError):
            return None

    def start(
        self, session_id: str, source: str, *, calibrate_minutes: float = 0.0, retry: bool = False
    ) -> None:
        """Start the session's camera actor where Ray has room (a running one is stopped first); raises
        what kept it from starting (StreamError unless `retry`: then it waits for its source, ...),
        ApiError 503 when no node takes it in time."""
        ray = self._ray
        with self._lock:
            gate = self._gates.setdefault(session_id, threading.Lock())
        with gate:
            self.stop(session_id, interrupted=True)
            options = remote_options(
                cpus=self._config.ray_camera_cpus,
                gpus=self._config.ray_camera_gpus,
                name=actor_name(session_id),
                namespace=NAMESPACE,
                lifetime="detached",
                max_restarts=CAMERA_RESTARTS,
                max_concurrency=CAMERA_CALLS,
            )
            handle = self._actor.options(**options).remote(
                self._config, self._inference_config, session_id, source, calibrate_minutes, retry
            )
            try:
                ray.get(handle.ready.remote(), timeout=START_SECONDS)
            except ray.exceptions.GetTimeoutError:
                ray.kill(handle, no_restart=True)
                raise ApiError(
                    503, "no-capacity", "no node of the cluster took the camera in time; try again later"
                ) from None
            except BaseException:
                ray.kill(handle, no_restart=True)
                raise

    def stop(
        self, session_id: str, *, state: str = "stopped", timeout: float = 10.0, interrupted: bool = False
    ) -> None:
        """Stop the camera (its final state recorded by the actor, or here when it does not answer;
        `interrupted`: see LiveManager.stop)."""
        handle = self._handle(session_id)
        if handle is None:
            return
        try:
            self._ray.get(handle.stop.remote(state, interrupted), timeout=timeout + CALL_SECONDS)
        except (self._ray.exceptions.RayActorError, self._ray.exceptions.GetTimeoutError):
            self._sessions.update(
                session_id, state=state, stopped_at=utc_now(), current_score=None, node=None
            )
        self._ray.kill(handle, no_restart=True)
        self._end(session_id)

    def stop_all(self) -> None:
        """End this server's relays; the cameras go on running on the cluster."""
        self._closed.set()
        with self._lock:
            session_ids = list(self._relays)
        for session_id in session_ids:
            self._end(session_id)

    def is_live(self, session_id: str) -> bool:
        """Whether the session's camera actor exists (running, or restarting after a node loss)."""
        return self._handle(session_id) is not None

    def current_score(self, session_id: str) -> float | None:
        """The camera's newest score (None while it does not answer)."""
        return self._call(session_id, "current_score")

    def observed(self, session_id: str) -> dict[str, Any]:
        """The camera's `last_seen` and `dropped_segments` (empty while it does not answer)."""
        return self._call(session_id, "observed") or {}

    def latest_jpeg(self, session_id: str) -> bytes | None:
        """The camera's newest frame (the same object while it is unchanged)."""
        jpeg = self._call(session_id, "latest_jpeg")
        with self._lock:
            if jpeg is None or jpeg == self._frames.get(session_id):
                return self._frames.get(session_id) if jpeg is not None else None
            self._frames[session_id] = jpeg
            return jpeg

    def subscribe(self, session_id: str) -> queue.Queue | None:
        """A queue of the camera's events (None when it does not run); a None item ends it."""
        if not self.is_live(session_id):
            return None
        subscriber: queue.Queue = queue.Queue(maxsize=SUBSCRIBER_BACKLOG)
        with self._lock:
            relay = self._relays.setdefault(session_id, _Relay())
            relay.subscribers.add(subscriber)
            if relay.thread is None:
                relay.thread = threading.Thread(
                    target=self._pump, args=(session_id, relay), name="camera-events", daemon=True
                )
                relay.thread.start()
        return subscriber

    def unsubscribe(self, session_id: str, subscriber: queue.Queue) -> None:
        """Forget a subscriber (the relay thread ends with its last one)."""
        with self._lock:
            relay = self._relays.get(session_id)
            if relay is not None:
                relay.subscribers.discard(subscriber)

    def _send(self, relay: _Relay, item: tuple[str, Any] | None) -> None:
        with self._lock:
            subscribers = list(relay.subscribers)
        for subscriber in subscribers:
            offer(subscriber, item)

    def _end(self, session_id: str) -> None:
        with self._lock:
            relay = self._relays.pop(session_id, None)
            self._frames.pop(session_id, None)
        if relay is not None:
            self._send(relay, None)

    def _pump(self, session_id: str, relay: _Relay) -> None:
        """Relay the actor's events to this server's subscribers until the camera stops or nobody listens;
        while its node is lost, subscribers get one `reconnecting` state."""
        incarnation, after, lost = "", 0, False
        while not self._closed.is_set():
            with self._lock:
                if not relay.subscribers or self._relays.get(session_id) is not relay:
                    if self._relays.get(session_id) is relay:
                        del self._relays[session_id]
                    return
            handle = self._handle(session_id)
            if handle is None:
                self._end(session_id)
                return
            try:
                answer = self._ray.get(
                    handle.events.remote(incarnation, after, EVENTS_WAIT), timeout=EVENTS_WAIT + CALL_SECONDS
                )
            except (self._ray.exceptions.RayActorError, self._ray.exceptions.GetTimeoutError):
                if not lost:
                    lost = True
                    self._send(relay, ("state", {"state": "reconnecting", "message": LOST_MESSAGE}))
                self._closed.wait(0.5)
                continue
            lost = False
            incarnation, after = answer["incarnation"], answer["seq"]
            for item in answer["items"]:
                self._send(relay, item)
            if answer["ended"]:
                self._end(session_id)
                return
