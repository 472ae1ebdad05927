"""Notification benchmark: what queueing an alert event costs the detector thread that raises it, with the
broker and the webhook up (Debian's Mosquitto, a loopback HTTP receiver) and with both down (nothing
listening on their ports), against no channel at all; and how many events per second each channel
delivers when its target is up.

Usage: python bench/notify.py [--events 2000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from harness.camera import free_port
from harness.receivers import Mosquitto, Receiver
from servers.notify.config import MqttConfig, NotifyConfig, WebhookConfig
from servers.notify.notifier import Notifier

SESSION = "0" * 32


def _alert(number: int) -> dict:
    return {
        "id": f"{number:032x}",
        "session_id": SESSION,
        "start_time": "2026-01-01T00:00:00.000000Z",
        "end_time": None,
        "peak_score": 0.9,
        "causes": [{"cue": "motion", "label": "fast motion", "z": 4.2}],
        "snapshot_url": f"/api/sessions/{SESSION}/alerts/{number:032x}/snapshot",
    }


def _queue_cost(notifier: Notifier, events: int) -> float:
    """Mean microseconds of one `alert()` call, the detector thread's whole share of a notification."""
    camera = {"name": "bench"}
    started = time.perf_counter()
    for number in range(events):
        notifier.alert("alert-start", _alert(number), camera)
    return (time.perf_counter() - started) / events * 1e6


def _config(broker: int, webhook: str, events: int) -> NotifyConfig:
    return NotifyConfig(
        queue_max=events,
        retry_delay=0.5,
        mqtt=MqttConfig(host="127.0.0.1", port=broker),
        webhooks=WebhookConfig(urls=(webhook,), secret="bench"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000, help="alert events queued per case")
    args = parser.parse_args()
    results: dict[str, object] = {"events": args.events}
    with tempfile.TemporaryDirectory() as folder:
        none = Notifier(NotifyConfig())
        results["queue_us_no_channel"] = round(_queue_cost(none, args.events), 2)

        dead = Notifier(_config(free_port(), f"http://127.0.0.1:{free_port()}/", args.events))
        results["queue_us_targets_down"] = round(_queue_cost(dead, args.events), 2)
        dead.close(1)

        broker, receiver = Mosquitto(Path(folder)).start(), Receiver().start()
        live = Notifier(_config(broker.port, receiver.url, args.events))
        time.sleep(1.0)  # the MQTT connection
        started = time.monotonic()
        results["queue_us_targets_up"] = round(_queue_cost(live, args.events), 2)
        delivered: dict[str, float] = {}
        while len(delivered) < 2 and time.monotonic() - started < 120:
            for channel in live.status()["channels"]:
                if channel["sent"] >= args.events and channel["target"] not in delivered:
                    delivered[channel["target"]] = args.events / (time.monotonic() - started)
            time.sleep(0.01)
        live.close(2)
        broker.stop()
        receiver.stop()
    for target, rate in delivered.items():
        results[f"delivered_per_s {target.split()[0]}"] = round(rate)
    results["ratio_down_vs_no_channel"] = round(
        results["queue_us_targets_down"] / results["queue_us_no_channel"],
        1,  # type: ignore[operator]
    )
    results["ratio_down_vs_up"] = round(
        results["queue_us_targets_down"] / results["queue_us_targets_up"],
        2,  # type: ignore[operator]
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
