"""Alert notifications from a real server's live session on a loopback camera, to a real Mosquitto and a
loopback webhook receiver: the documented payloads, per-camera off, dead targets that never hold
detection up and get the events once they are back, a clean shutdown with the broker down."""

from __future__ import annotations

import hashlib
import hmac
import threading
from pathlib import Path

from harness.camera import FfmpegStream
from harness.receivers import Mosquitto, Receiver, Subscriber
from harness.server import ServerProcess, wait_for
from tests.server.live import sse_events
from tests.server.test_api import assert_error

PUBLIC_URL = "https://cameras.example.test"
SECRET = "webhook-secret"
PAYLOAD_KEYS = {
    "version",
    "event",
    "time",
    "camera",
    "alert_id",
    "start_time",
    "end_time",
    "score",
    "category",
    "category_probability",
    "causes",
    "snapshot_url",
    "clip_url",  # every live alert records an event clip (docs/cameras.md)
}


def _server(folder: Path, inference_config: Path, broker: int, webhook: str, **mqtt) -> ServerProcess:
    return ServerProcess(
        folder,
        inference_config=str(inference_config),
        allowed_stream_schemes=["http"],
        notifications={
            "public-url": PUBLIC_URL,
            "timeout": 2,
            "retry-delay": 0.2,
            "retry-max-delay": 0.5,
            "mqtt": {"host": "127.0.0.1", "port": broker, "topic-prefix": "site/cams", **mqtt},
            "webhooks": {"urls": [webhook], "secret": SECRET},
        },
    )


def _channels(client) -> list[dict]:
    return client.get("/api/health").json()["notifications"]["channels"]


def test_alerts_reach_mqtt_and_webhook_unless_the_camera_is_off(
    tmp_path: Path, inference_config: Path, camera_clip: Path
) -> None:
    broker, receiver = Mosquitto(tmp_path).start(), Receiver().start()
    subscriber = Subscriber(broker.port, "site/cams/cameras/#")
    server = _server(tmp_path, inference_config, broker.port, receiver.url + "/hook").start()
    feed = FfmpegStream(camera_clip)
    try:
        admin = server.admin()
        assert_error(admin.post("/api/sessions", json={"name": "g", "source": feed.url, "notify": 1}), 400)
        created = admin.post("/api/sessions", json={"name": "gate", "source": feed.url})
        assert created.status_code == 201, created.text
        session = created.json()
        assert session["notify"] is True
        topic = f"site/cams/cameras/{session['id']}/alert-start"

        wait_for(lambda: receiver.posts, 60, message="the webhook's alert-start")
        wait_for(lambda: subscriber.messages, 10, message="the MQTT alert-start")
        path, headers, raw = receiver.posts[0]
        assert path == "/hook" and headers["X-Surveillance-Event"] == "alert-start"
        expected = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
        assert headers["X-Surveillance-Signature"] == expected
        [(_, body)] = receiver.events()
        [(mqtt_topic, mqtt_body, _)] = subscriber.messages
        assert mqtt_topic == topic and mqtt_body == body
        assert set(body) == PAYLOAD_KEYS and body["version"] == 1 and body["event"] == "alert-start"
        assert body["camera"] == {"id": session["id"], "name": "gate"}

        alert = admin.get(f"/api/sessions/{session['id']}/alerts").json()["items"][-1]
        assert body["alert_id"] == alert["id"] and body["time"] == body["start_time"] == alert["start_time"]
        assert body["end_time"] is None and body["score"] == alert["peak_score"]
        assert body["causes"] == alert["causes"] and body["category"] == alert["category"]
        assert body["snapshot_url"] == PUBLIC_URL + alert["snapshot_url"]
        assert body["clip_url"] == PUBLIC_URL + alert["clip_url"]
        snapshot = admin.get(body["snapshot_url"].removeprefix(PUBLIC_URL))
        assert snapshot.status_code == 200 and snapshot.content[:2] == b"\xff\xd8"

        assert "notifications" not in server.client().get("/api/health").json()  # admins only
        wait_for(lambda: {c["sent"] for c in _channels(admin)} == {1}, 10, message="acknowledged sends")
        for channel in _channels(admin):
            assert channel["dropped"] == channel["pending"] == channel["failed"] == 0

        # camera off: stopping closes the open alert, and its alert-end is not queued anywhere
        assert_error(admin.patch(f"/api/sessions/{session['id']}", json={"notify": "no"}), 400)
        assert_error(admin.patch(f"/api/sessions/{session['id']}", json={}), 400)
        changed = admin.patch(f"/api/sessions/{session['id']}", json={"notify": False})
        assert changed.status_code == 200 and changed.json()["notify"] is False
        assert admin.post(f"/api/sessions/{session['id']}/stop").json()["state"] == "stopped"
        closed = admin.get(f"/api/sessions/{session['id']}/alerts").json()["items"][-1]
        assert closed["id"] == alert["id"] and closed["end_time"] is not None
        for channel in _channels(admin):  # queued synchronously by the stop: nothing was
            assert channel["sent"] == 1 and channel["pending"] == channel["dropped"] == 0
        assert len(receiver.posts) == 1 and len(subscriber.messages) == 1
    finally:
        feed.stop()
        server.stop()
        subscriber.close()
        broker.stop()
        receiver.stop()


def test_dead_broker_and_webhook_never_hold_detection_up(
    tmp_path: Path, inference_config: Path, camera_clip: Path
) -> None:
    broker, receiver = Mosquitto(tmp_path), Receiver()  # both down at first
    server = _server(tmp_path, inference_config, broker.port, receiver.url, retain=True).start()
    feed = FfmpegStream(camera_clip)
    try:
        admin = server.admin()
        session = admin.post("/api/sessions", json={"name": "yard", "source": feed.url}).json()
        events: list[tuple[str, dict]] = []
        stream = admin.get(f"/api/sessions/{session['id']}/events", stream=True, timeout=(5, 60))
        threading.Thread(target=lambda: events.extend(sse_events(stream)), daemon=True).start()

        def scores_after_alert() -> int:
            names = [name for name, _ in list(events)]
            return "alert-start" in names and names[names.index("alert-start") :].count("score")

        wait_for(lambda: scores_after_alert() >= 5, 60, message="scores after the alert started")
        channels = _channels(admin)
        for channel in channels:  # the alert waits, retried, while detection goes on
            assert channel["sent"] == 0 and channel["pending"] == 1 and channel["failed"] >= 1
            assert channel["last_error"]
        admin.post(f"/api/sessions/{session['id']}/stop")
        assert {channel["pending"] for channel in _channels(admin)} == {2}

        broker.start()
        receiver.start()
        wait_for(lambda: len(receiver.posts) == 2, 30, message="the retried webhook deliveries")
        assert [body["event"] for _, body in receiver.events()] == ["alert-start", "alert-end"]
        start, end = (body for _, body in receiver.events())
        assert start["alert_id"] == end["alert_id"] and end["time"] == end["end_time"] is not None
        deliveries = {headers["X-Surveillance-Delivery"] for _, headers, _ in receiver.posts}
        assert len(deliveries) == 2
        wait_for(lambda: {c["sent"] for c in _channels(admin)} == {2}, 30, message="the MQTT deliveries")
        subscriber = Subscriber(broker.port, f"site/cams/cameras/{session['id']}/#")  # retained
        wait_for(lambda: len(subscriber.messages) == 2, 10, message="the retained alert events")
        assert sorted(body["event"] for _, body, _ in subscriber.messages) == ["alert-end", "alert-start"]
        subscriber.close()

        broker.stop()  # a shutdown with the broker gone is prompt and clean
        server.stop()
        assert server.process is not None and server.process.returncode == 0
        assert "webhook-secret" not in server.log()
    finally:
        feed.stop()
        server.stop(kill=True)
        broker.stop()
        receiver.stop()
