"""The engine's state from several threads: a change is checked and set as one step, reported in the order
it was made, and a final state (stopped, failed) stays final."""

from __future__ import annotations

import threading
from pathlib import Path

from harness.videos import write_video
from inferences.config import InferenceConfig
from inferences.stream import StreamDetector


def test_a_stop_during_start_is_final_and_reported_in_order(config: InferenceConfig, tmp_path: Path) -> None:
    """stop() from another thread while start() reports `connecting`: the stop's change waits for that
    report (reports come in the order the changes were made), and the stream ends stopped."""
    video = write_video(tmp_path / "camera.mp4", frames=50, width=96, height=64)
    reported: list[str] = []  # in the order the reports finish (as a store of the state would see them)
    connecting, stopping, stopped_reported = threading.Event(), threading.Event(), threading.Event()

    def on_state(state: str, message: str) -> None:
        if state == "connecting" and not connecting.is_set():
            connecting.set()
            stopping.wait(10)  # (an assertion here would only be logged by the engine)
            # Unordered reports would let the stop's own report finish first; ordered ones make it wait here.
            stopped_reported.wait(1.0)
        if state == "stopped":
            stopped_reported.set()
        reported.append(state)

    detector = StreamDetector(config, str(video), on_state=on_state)
    starter = threading.Thread(target=detector.start, name="starter")
    starter.start()
    assert connecting.wait(10)

    def stop() -> None:
        stopping.set()
        detector.stop()

    stopper = threading.Thread(target=stop, name="stopper")
    stopper.start()
    for thread in (starter, stopper):
        thread.join(30)
        assert not thread.is_alive()
    assert detector.join(30)
    # the start may open the source before the stop takes effect (`running`), but never after it
    assert reported[0] == "connecting" and reported[-1] == "stopped" and reported.count("stopped") == 1
    assert detector.state == "stopped"


def test_a_start_after_stop_stays_stopped(config: InferenceConfig, tmp_path: Path) -> None:
    """The server stops a session between creating its detector and starting it: the start that follows
    (the source opens) changes nothing, and nothing is read."""
    video = write_video(tmp_path / "camera.mp4", frames=50, width=96, height=64)
    reported: list[str] = []
    detector = StreamDetector(config, str(video), on_state=lambda state, message: reported.append(state))
    detector.stop()
    detector.start()
    assert detector.join(30)
    assert reported == ["stopped"] and detector.state == "stopped" and detector.stats()["frames_in"] == 0
