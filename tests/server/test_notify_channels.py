"""The notifier on its own against a real Mosquitto and a loopback HTTP receiver: queueing while the
targets are down, drops when the queue is full or an event gets too old, delivery once they are back,
signatures, credentials kept out of the log, shutdown."""

from __future__ import annotations

import hashlib
import hmac
import logging
import tomllib
from pathlib import Path

import pytest

from harness.camera import free_port
from harness.receivers import Mosquitto, Receiver, Subscriber, make_certificates
from harness.server import wait_for
from inferences.configfile import ConfigFileError
from servers.config import DEFAULT_CONFIG_PATH, REPO_ROOT, load_server_config
from servers.notify.config import MqttConfig, NotifyConfig, WebhookConfig
from servers.notify.notifier import Notifier

SESSION = "a" * 32


def _alert(number: int) -> dict:
    return {
        "id": f"{number:032x}",
        "session_id": SESSION,
        "start_time": f"2026-01-01T00:00:0{number}.000000Z",
        "end_time": None,
        "peak_score": 0.5 + number / 100,
        "category": None,
        "causes": [{"cue": "motion", "label": "fast motion", "z": 4.2}],
        "snapshot_url": f"/api/sessions/{SESSION}/alerts/{number:032x}/snapshot",
    }


def _config(mqtt_port: int, webhook: str, **values) -> NotifyConfig:
    values = {"timeout": 1.0, "retry_delay": 0.1, "retry_max_delay": 0.2, **values}
    return NotifyConfig(
        public_url="https://cameras.example.test/",
        mqtt=MqttConfig(host="127.0.0.1", port=mqtt_port, username="watcher", password="broker-secret"),
        webhooks=WebhookConfig(urls=(webhook,), secret="shared-secret"),
        **values,
    )


def test_queue_drops_oldest_and_delivers_when_targets_come_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="servers.notify")
    broker, receiver = Mosquitto(tmp_path), Receiver()  # neither runs yet
    webhook = f"http://hook:url-token@127.0.0.1:{receiver.port}/hooks/path-token"
    notifier = Notifier(_config(broker.port, webhook, queue_max=2))
    try:
        camera = {"id": SESSION, "name": "gate", "notify": True}
        notifier.alert("alert-start", _alert(0), camera)  # returns at once: nothing can be delivered
        wait_for(
            lambda: all(c["failed"] for c in notifier.status()["channels"]), 10, message="first attempts"
        )
        for number in (1, 2, 3):  # #0 is retried; #1 and #2 wait; #3 makes #1 drop
            notifier.alert("alert-start", _alert(number), camera)
        channels = wait_for(
            lambda: (s := notifier.status()["channels"]) and all(c["failed"] >= 2 for c in s) and s,
            10,
            message="failed attempts on both channels",
        )
        assert [c["target"] for c in channels] == [
            f"mqtt 127.0.0.1:{broker.port}",
            f"webhook http://127.0.0.1:{receiver.port}",
        ]
        for channel in channels:
            # one in flight, then the queue of 2: one of the 4 was dropped (the oldest waiting)
            assert channel["dropped"] == 1 and channel["pending"] == 3 and channel["sent"] == 0
            assert channel["last_error"]

        broker.start()
        subscriber = Subscriber(broker.port, "surveillance/#")
        receiver.start()
        wait_for(lambda: len(receiver.posts) >= 3, 15, message="the webhook deliveries")
        wait_for(
            lambda: sum("/alert-start" in topic for topic, _, _ in subscriber.messages) >= 3,
            15,
            message="the MQTT deliveries",
        )
        expected = [_alert(number)["id"] for number in (0, 2, 3)]  # in order, 1 dropped
        assert [body["alert_id"] for _, body in receiver.events()] == expected
        published = [(topic, body) for topic, body, _ in subscriber.messages if "/cameras/" in topic]
        assert [body["alert_id"] for _, body in published] == expected
        assert {topic for topic, _ in published} == {f"surveillance/cameras/{SESSION}/alert-start"}
        assert ("surveillance/status", "online", False) in subscriber.messages
        late = Subscriber(broker.port, "surveillance/status")  # the availability is retained
        wait_for(lambda: late.messages, 5, message="the retained status")
        assert late.messages == [("surveillance/status", "online", True)]
        late.close()

        headers, body = receiver.events()[0]
        raw = receiver.posts[0][2]
        digest = hmac.new(b"shared-secret", raw, hashlib.sha256).hexdigest()
        assert headers["X-Surveillance-Signature"] == f"sha256={digest}"
        assert headers["X-Surveillance-Event"] == "alert-start"
        assert receiver.posts[0][0] == "/hooks/path-token"
        assert headers["Authorization"].startswith("Basic ")  # user information sent as basic auth
        assert body == published[0][1]
        assert body["snapshot_url"] == (
            f"https://cameras.example.test/api/sessions/{SESSION}/alerts/{expected[0]}/snapshot"
        )
        assert body["camera"] == {"id": SESSION, "name": "gate"} and "clip_url" not in body
        assert {c["sent"] for c in notifier.status()["channels"]} == {3}
        subscriber.close()
        notifier.close(4)
        late = Subscriber(broker.port, "surveillance/status")
        wait_for(lambda: late.messages, 5, message="the retained status")
        assert late.messages == [("surveillance/status", "offline", True)]
        late.close()
    finally:
        notifier.close(4)
        broker.stop()
        receiver.stop()
    log = caplog.text
    assert "dropped alert-start" in log and "retrying in" in log
    for secret in ("broker-secret", "url-token", "path-token", "hook:"):
        assert secret not in log


def test_old_events_and_shutdown_drop_with_counts(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}/"
    notifier = Notifier(
        NotifyConfig(
            webhooks=WebhookConfig(urls=(dead,)), retry_delay=0.05, retry_max_delay=0.1, event_max_age=0.3
        )
    )
    notifier.alert("alert-start", _alert(1), {"name": "yard"})
    wait_for(lambda: notifier.status()["channels"][0]["dropped"] == 1, 5, message="the event expiring")
    notifier.alert("alert-end", {**_alert(2), "end_time": "2026-01-01T00:01:00.000000Z"}, {"name": "yard"})
    notifier.close(1)
    status = notifier.status()["channels"][0]
    assert status["dropped"] == 2 and status["pending"] == 0 and status["sent"] == 0
    notifier.alert("alert-start", _alert(3), {"name": "yard"})  # after close: dropped, never queued
    assert notifier.status()["channels"][0]["dropped"] == 3


def test_camera_off_sends_nothing_and_clip_urls_pass_through(tmp_path: Path) -> None:
    receiver = Receiver().start()
    notifier = Notifier(NotifyConfig(webhooks=WebhookConfig(urls=(receiver.url,))))
    try:
        notifier.alert("alert-start", _alert(1), {"name": "off", "notify": False})
        clip = {**_alert(2), "end_time": "2026-01-01T00:01:00.000000Z", "clip_url": "/api/clips/x.mp4"}
        notifier.alert("alert-end", clip, {"name": "on"})
        wait_for(lambda: receiver.posts, 10, message="the delivery")
        notifier.close(2)
        [(_, body)] = receiver.events()
        assert body["event"] == "alert-end" and body["clip_url"] == "/api/clips/x.mp4"
        assert body["time"] == body["end_time"] == clip["end_time"]
    finally:
        receiver.stop()


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        ('[notifications.mqtt]\nhost = "b"\nqos = 3\n', "notifications.mqtt.qos"),
        ('[notifications.mqtt]\nhost = "b"\ntopic-prefix = "a/#"\n', "notifications.mqtt.topic-prefix"),
        ('[notifications.mqtt]\nhots = "b"\n', "unknown field 'notifications.mqtt.hots'"),
        ('[notifications.webhooks]\nurls = ["ftp://x"]\n', "notifications.webhooks.urls"),
        ('[notifications]\npublic-url = "cameras"\n', "notifications.public-url"),
        ("[notifications]\ntimeout = 0\n", "notifications.timeout"),
        ("notifications = 3\n", "'notifications' must be a table"),
    ],
)
def test_bad_notification_config_names_the_field(tmp_path: Path, section: str, problem: str) -> None:
    path = tmp_path / "server.toml"
    path.write_text(section)
    with pytest.raises(ConfigFileError, match=problem):
        load_server_config(path)


def test_shipped_config_sends_nothing_and_every_field_is_documented() -> None:
    assert not load_server_config().notifications.enabled
    section = tomllib.loads(DEFAULT_CONFIG_PATH.read_text())["notifications"]
    keys = [key for key, value in section.items() if not isinstance(value, dict)]
    keys += [f"{table}.{key}" for table in ("mqtt", "webhooks") for key in section[table]]
    expected = [name for name in NotifyConfig.model_fields if name not in ("mqtt", "webhooks")]
    expected += [f"mqtt.{name}" for name in MqttConfig.model_fields]
    expected += [f"webhooks.{name}" for name in WebhookConfig.model_fields]
    assert sorted(key.replace("-", "_") for key in keys) == sorted(expected)  # the file shows every field
    docs = (REPO_ROOT / "docs" / "notifications.md").read_text()
    missing = [key for key in keys if f"`{key}`" not in docs]
    assert not missing, f"docs/notifications.md does not document {missing}"


def test_tls_and_credentials(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ca, cert, key = make_certificates(tmp_path)
    broker = Mosquitto(tmp_path, users={"watcher": "broker-secret"}, tls=(ca, cert, key)).start()
    subscriber = Subscriber(broker.port, "surveillance/cameras/#", user=("watcher", "broker-secret"), ca=ca)
    mqtt = MqttConfig(host="127.0.0.1", port=broker.port, tls=True, tls_ca_file=str(ca))
    good = Notifier(NotifyConfig(mqtt=mqtt.replace(username="watcher", password="broker-secret")))
    wrong = Notifier(NotifyConfig(mqtt=mqtt.replace(username="watcher", password="wrong-secret")))
    untrusted = Notifier(NotifyConfig(mqtt=mqtt.replace(tls_ca_file="", username="watcher")))
    try:
        for notifier in (good, wrong, untrusted):
            notifier.alert("alert-start", _alert(1), {"name": "gate"})
        wait_for(lambda: subscriber.messages, 10, message="the message over TLS")
        assert subscriber.messages[0][1]["alert_id"] == _alert(1)["id"]
        for refused in (wrong, untrusted):
            wait_for(lambda n=refused: n.status()["channels"][0]["failed"], 10, message="a refused attempt")
            assert refused.status()["channels"][0]["sent"] == 0
    finally:
        for notifier in (good, wrong, untrusted):
            notifier.close(1)
        subscriber.close()
        broker.stop()
    assert "refused the connection" in caplog.text
    assert "broker-secret" not in caplog.text and "wrong-secret" not in caplog.text


def test_a_camera_process_keeps_its_own_client_id_and_leaves_the_status_alone(tmp_path: Path) -> None:
    """A camera on a Ray node has a notifier of its own: with a configured client id, the broker would
    drop one of two connections sharing it, and its stop must not say the whole site is offline."""
    broker = Mosquitto(tmp_path)
    broker.start()
    config = NotifyConfig(
        timeout=1.0,
        retry_delay=0.1,
        retry_max_delay=0.2,
        mqtt=MqttConfig(
            host="127.0.0.1", port=broker.port, username="watcher", password="broker-secret", client_id="site"
        ),
    )
    server, camera = Notifier(config), Notifier(config, process="camera-1")
    try:
        subscriber = Subscriber(broker.port, "surveillance/#")
        online = {("surveillance/status", "online", False), ("surveillance/status", "online", True)}
        wait_for(lambda: online & set(subscriber.messages), 10, message="online")
        camera.alert("alert-start", _alert(0), {"id": SESSION, "name": "gate"})
        server.alert("alert-start", _alert(1), {"id": SESSION, "name": "gate"})
        wait_for(
            lambda: sum("/alert-start" in topic for topic, _, _ in subscriber.messages) == 2,
            10,
            message="both deliveries (both connections stay up)",
        )
        camera.close(4)
        assert all(status["sent"] == 1 for status in server.status()["channels"])
        late = Subscriber(broker.port, "surveillance/status")
        wait_for(lambda: late.messages, 5, message="the retained status")
        assert late.messages == [("surveillance/status", "online", True)]  # the camera's stop says nothing
        late.close()
        subscriber.close()
    finally:
        camera.close(4)
        server.close(4)
        broker.stop()
