"""Live alert rules (minimum duration, cooldown), event clips with a pre-roll, and a source that goes away
during an alert (the alert is interrupted, the frozen frame loses its border)."""

from __future__ import annotations

import io
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from harness.camera import FFMPEG, FfmpegStream
from harness.videos import write_video
from inferences.alerting import AlertGate
from inferences.clips import ClipRecorder
from inferences.configfile import ConfigFileError
from inferences.events import AlertEnd, AlertStart
from inferences.stream import StreamDetector
from tests.inference.conftest import make_config
from tests.inference.test_offline import red_border
from tests.inference.test_stream import wait_for


def run(gate: AlertGate, series: list[tuple[float, float]]) -> list[tuple[float, str]]:
    return [(t, change) for t, score in series if (change := gate.update(t, score))]


def test_alert_opens_after_the_minimum_duration_and_not_during_the_cooldown() -> None:
    high, low = 0.9, 0.1
    gate = AlertGate(0.5, min_duration=3.0, cooldown=10.0)
    series = [(0, high), (2, high), (3, high), (4, high), (5, low)]  # opens at 3 (3 s above), ends at 5
    series += [(6, high), (9, high), (12, low)]  # above for 3 s, but within the 10 s cooldown: no alert
    series += [(16, high), (19, high)]  # after the cooldown, 3 s above: opens again
    assert run(gate, series) == [(3, "start"), (5, "end"), (19, "start")]
    assert gate.peak == high and gate.open
    assert gate.interrupt() and not gate.open and gate.update(20, high) is None  # 3 s above again first
    assert run(AlertGate(0.5), [(0, high), (1, low), (2, high)]) == [(0, "start"), (1, "end"), (2, "start")]
    brief = AlertGate(0.5, min_duration=3.0)
    assert run(brief, [(0, high), (2, low), (3, high), (5, high)]) == []  # a dip restarts the count


@pytest.mark.parametrize(
    ("field", "value"), [("alert_min_duration", -1.0), ("alert_cooldown", 1e9), ("clip_fps", 0.0)]
)
def test_alert_and_clip_fields_are_checked(model_dir: Path, field: str, value: float) -> None:
    with pytest.raises(ConfigFileError, match=field.replace("_", "-")):
        make_config(model_dir, **{field: value})


def decode(path: Path) -> tuple[list[np.ndarray], float, str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec = stream.codec_context.name
        frames = [(f.time, f.to_ndarray(format="rgb24")) for f in container.decode(stream)]
    return [f for _, f in frames], frames[-1][0] - frames[0][0], codec


def test_clip_starts_with_the_pre_roll_and_is_fast_start_h264(tmp_path: Path) -> None:
    written: list[tuple[Path, int]] = []  # what a shared store (GridFS) is handed: complete files only
    recorder = ClipRecorder(
        pre_seconds=2.0,
        fps=10.0,
        max_seconds=60.0,
        on_written=lambda path: written.append((path, path.stat().st_size)),
    )
    start = 1_700_000_000.0

    def frame(level: int) -> np.ndarray:
        return np.full((48, 64, 3), level, np.uint8)

    for i in range(50):  # 5 s at 10 fps (one frame every 0.05 s is offered; half are kept)
        recorder.offer(start + i * 0.05, frame(i))
    recorder.begin(tmp_path / "clip.mp4")
    for i in range(50, 70):  # 1 s more during the alert
        recorder.offer(start + i * 0.05, frame(i))
    recorder.join(30)
    data = (tmp_path / "clip.mp4").read_bytes()
    assert written == [(tmp_path / "clip.mp4", len(data))]
    assert data.index(b"moov") < data.index(b"mdat"), "the index is at the front (fast start)"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["clip.mp4"]  # no temporary file left
    frames, duration, codec = decode(tmp_path / "clip.mp4")
    assert codec == "h264" and (len(frames), frames[0].shape) == (31, (48, 64, 3))  # 2 s pre-roll + 1 s
    assert duration == pytest.approx(3.0, abs=0.05)
    assert abs(int(frames[0].mean()) - 10) <= 3 and abs(int(frames[-1].mean()) - 68) <= 3


@pytest.mark.skipif(not Path(FFMPEG).exists(), reason=f"{FFMPEG} is not installed (apt-get install ffmpeg)")
def test_a_source_lost_during_an_alert_interrupts_it(model_dir: Path, tmp_path: Path) -> None:
    source = write_video(tmp_path / "camera.mp4", frames=100, width=96, height=64, rate=25)
    feed = FfmpegStream(source)
    config = make_config(
        model_dir, anomaly_threshold=0.0, reconnect_delay=0.5, open_timeout=3.0, clip_pre_seconds=1.0
    )
    events: list = []
    detector = StreamDetector(config, feed.url, on_event=events.append, clips=True)
    clip = tmp_path / "alert.mp4"
    try:
        detector.start()
        wait_for(lambda: any(isinstance(e, AlertStart) for e in events), 60, "an alert")
        detector.begin_clip(clip)
        time.sleep(1.0)
        assert red_border(np.asarray(Image.open(io.BytesIO(detector.latest_jpeg()))))
        feed.stop()
        wait_for(lambda: any(isinstance(e, AlertEnd) for e in events), 30, "the alert's end")
        detector.end_clip()
        end = next(e for e in events if isinstance(e, AlertEnd))
        seen = detector.last_seen()
        assert end.interrupted and seen is not None and end.time == pytest.approx(seen, abs=1.0)
        assert detector.state == "reconnecting"
        frozen = np.asarray(Image.open(io.BytesIO(detector.latest_jpeg())))
        assert not red_border(frozen), "the frozen last frame is not shown as abnormal"
    finally:
        detector.stop()
        assert detector.join(30)
        feed.stop()
    frames, duration, _ = decode(clip)
    marked = [red_border(frame) for frame in frames]
    assert duration >= 1.5 and not marked[0] and sum(marked) >= 5  # 1 s of pre-roll, then the alert
