"""Live detection: a real HTTP stream served by Debian's ffmpeg, a file source, the watch CLI, bad sources."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from harness.camera import FFMPEG, FfmpegStream, free_port
from harness.videos import write_video
from inferences.events import AlertEnd, AlertStart, ScoreEvent
from inferences.paths import REPO_ROOT
from inferences.preprocess import Preprocessor
from inferences.sources import StreamError
from inferences.stream import StreamDetector
from tests.inference.conftest import make_config, write_colour_video
from tests.inference.test_offline import red_border


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def nearest_frame(image: np.ndarray, clip: Path) -> int:
    """Index of the clip frame closest to `image` (compared at 64x64 away from the annotation)."""
    prep = Preprocessor(width=64, height=64, segment_length=16, crop=(0.2, 0.2, 0.95, 0.95))
    target = prep.frame(image).astype(np.float32)
    with av.open(str(clip)) as container:
        distances = [
            np.square(prep.frame(f.to_ndarray(format="rgb24")) - target).mean()
            for f in container.decode(video=0)
        ]
    return int(np.argmin(distances))


@pytest.mark.skipif(not Path(FFMPEG).exists(), reason=f"{FFMPEG} is not installed (apt-get install ffmpeg)")
def test_live_stream_alerts_on_the_abnormal_part_and_recovers(
    model_dir, trained_detector, event_clip
) -> None:
    """The trained tiny detector scores the event clip's walking box high and its normal part low: the
    stream starts at frame 0, so scores stay below the threshold for the first ~9 s, then the alert's snapshot
    must show a frame of the labelled abnormal part (found by nearest-frame matching against the clip)."""
    clip, labels = event_clip
    feed = FfmpegStream(clip)
    events: list = []
    states: list[str] = []
    config = make_config(
        model_dir, trained_detector.name, reconnect_delay=0.2, reconnect_max_delay=1.0, open_timeout=5.0
    )
    detector = StreamDetector(
        config,
        feed.url,
        on_event=events.append,
        on_state=lambda state, message: states.append(state),
    )
    try:
        detector.start()
        assert detector.state == "running"
        wait_for(lambda: any(isinstance(e, AlertStart) for e in events), 30, "an alert")
        alert = next(e for e in events if isinstance(e, AlertStart))
        before = [e.score for e in events[: events.index(alert)] if isinstance(e, ScoreEvent)]
        assert before and min(before) < config.anomaly_threshold  # normal part scored below the threshold
        assert alert.score >= config.anomaly_threshold
        snapshot = np.asarray(Image.open(io.BytesIO(alert.snapshot_jpeg)).convert("RGB"))
        assert red_border(snapshot)
        assert labels[nearest_frame(snapshot, clip)] == 1  # the alert fired on the walking box part
        assert red_border(np.asarray(Image.open(io.BytesIO(detector.latest_jpeg())).convert("RGB"))) == (
            detector.current_score >= config.anomaly_threshold
        )
        # kill the stream server: the detector reconnects with backoff until it is back
        feed.stop()
        wait_for(lambda: detector.state == "reconnecting", 15, "state reconnecting")
        time.sleep(1.0)
        feed = FfmpegStream(clip, port=feed.port)
        wait_for(lambda: detector.state == "running", 15, "state running again")
        scored = len([e for e in events if isinstance(e, ScoreEvent)])
        wait_for(lambda: len([e for e in events if isinstance(e, ScoreEvent)]) > scored, 15, "new scores")
        assert (
            states[:2] == ["connecting", "running"] and "reconnecting" in states and states[-1] == "running"
        )
    finally:
        detector.stop()
        feed.stop()
    assert detector.join(10)
    assert detector.state == "stopped"


def test_file_source_plays_at_its_rate_records_and_stops(model_dir, tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.mp4", frames=40, width=96, height=64, rate=25)
    config = make_config(model_dir, anomaly_threshold=0.0, prepare_interval=0.04)
    events: list = []
    detector = StreamDetector(config, str(source), on_event=events.append, record_path=tmp_path / "rec.mp4")
    started = time.monotonic()
    detector.start()
    assert detector.join(10)
    elapsed = time.monotonic() - started
    assert detector.state == "stopped" and elapsed >= 1.4  # 40 frames at 25 fps take 1.6 s
    kinds = [type(e) for e in events]
    assert ScoreEvent in kinds and kinds.index(AlertStart) < kinds.index(AlertEnd)  # closed at the end
    alert = next(e for e in events if isinstance(e, AlertStart))
    assert alert.category is None and set(alert.to_dict()) == {"time", "score"}  # no category model
    with av.open(str(tmp_path / "rec.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    assert 10 <= len(frames) <= 41 and red_border(frames[-1]) and not red_border(frames[0])
    assert detector.stats()["segments"] >= 1


def test_alert_carries_the_category_of_its_segment(model_dir, colour_models, tmp_path: Path) -> None:
    source = write_colour_video(tmp_path / "green.mp4", ["green"], frames_per_colour=40)
    config = make_config(
        model_dir, anomaly_threshold=0.0, prepare_interval=0.04, category_model_path=str(colour_models)
    )
    events: list = []
    detector = StreamDetector(config, str(source), on_event=events.append)
    detector.start()
    assert detector.join(10)
    alert = next(e for e in events if isinstance(e, AlertStart))
    assert alert.category == "green" and 0.5 < alert.category_probability <= 1
    assert alert.to_dict() == {
        "time": alert.time,
        "score": alert.score,
        "category": "green",
        "category_probability": alert.category_probability,
    }


def test_watch_cli_prints_alerts(model_dir, tmp_path: Path) -> None:
    source = write_video(tmp_path / "clip.mp4", frames=40, width=96, height=64, rate=25)
    toml = tmp_path / "config.toml"
    toml.write_text(
        'providers = ["CPUExecutionProvider"]\nsegment-width = 64\nsegment-height = 64\n'
        "prepare-interval = 0.04\n"
        f'extraction-model-path = "{model_dir}/tiny-{{precision}}.onnx"\n'
        f'detection-model-path = "{model_dir}/random-detector.onnx"\nanomaly-threshold = 0.0\n'
    )
    run = [sys.executable, "-m", "inferences", "watch", "--config", str(toml), "--duration", "10"]
    done = subprocess.run([*run, str(source)], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "ALERT start" in done.stdout and "ALERT end" in done.stdout
    bad = subprocess.run(
        [*run, "rtsp://127.0.0.1:1/none"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "cannot open" in bad.stderr


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("", "empty"),
        ("ftp://127.0.0.1/video", "unsupported scheme"),
        ("http:///nohost", "no host"),
        ("/no/such/file.mp4", "file not found"),
        ("/dev/video99", "no such camera"),
    ],
)
def test_bad_sources(config, source: str, message: str) -> None:
    with pytest.raises(StreamError, match=message):
        StreamDetector(config, source)


def test_refused_connection_fails_on_start(config) -> None:
    states: list[str] = []
    url = f"http://127.0.0.1:{free_port()}/live"
    detector = StreamDetector(config, url, on_state=lambda s, m: states.append(s))
    with pytest.raises(StreamError, match="cannot open"):
        detector.start()
    assert (
        detector.state == "failed" and states == ["connecting", "failed"] and "cannot open" in detector.error
    )
    assert detector.error.count(url) == 1, detector.error  # the URL said once, the reason without it


def test_a_start_that_waits_for_its_source_reconnects_until_it_opens(model_dir, camera_clip) -> None:
    """`start(wait_for_source=True)`: a network source down at the start is retried with the reconnect
    backoff (state `reconnecting`, no `failed`) and runs once it is served."""
    states: list[str] = []
    port = free_port()
    config = make_config(model_dir, reconnect_delay=0.2, reconnect_max_delay=0.5, open_timeout=3.0)
    detector = StreamDetector(
        config, f"http://127.0.0.1:{port}/live.ts", on_state=lambda state, message: states.append(state)
    )
    detector.start(wait_for_source=True)
    feed = None
    try:
        wait_for(lambda: detector.state == "reconnecting", 10, "reconnecting")
        feed = FfmpegStream(camera_clip, port=port)
        wait_for(lambda: detector.state == "running" and detector.latest_jpeg(), 30, "frames")
    finally:
        detector.stop()
        detector.join(10)
        if feed is not None:
            feed.stop()
    assert "failed" not in states and states[:2] == ["connecting", "reconnecting"], states


class DroppingSource:
    """An HTTP server on loopback that answers every connection with the first packets of an MPEG-TS
    stream (enough to open it as video) and then hangs up: a source that accepts and delivers nothing."""

    def __init__(self, clip: Path, folder: Path) -> None:
        import socket
        import threading

        stream = folder / "dropping.ts"
        subprocess.run(
            [FFMPEG, "-loglevel", "error", "-y", "-i", str(clip), "-c", "copy", "-f", "mpegts", str(stream)],
            check=True,
            timeout=60,
        )
        self.head = stream.read_bytes()[: 188 * 20]
        self.connections = 0
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/live.ts"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            with connection:
                try:
                    connection.recv(4096)
                    connection.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: video/mp2t\r\n\r\n" + self.head)
                except OSError:
                    pass

    def close(self) -> None:
        self.server.close()


def test_a_source_that_drops_every_connection_backs_off(model_dir, camera_clip: Path, tmp_path: Path) -> None:
    """Backoff grows on connections that deliver no frame (it used to reset on every successful open:
    ~1.8 retries a second forever): 0.5 + 1 + 2 + 4 s of waiting allow at most 5 connections in 9 s."""
    source = DroppingSource(camera_clip, tmp_path)
    detector = StreamDetector(
        make_config(model_dir, reconnect_delay=0.5, reconnect_max_delay=8.0), source.url
    )
    try:
        detector.start()
        time.sleep(9)
        assert detector.state == "reconnecting"
        assert 2 <= source.connections <= 5, source.connections
    finally:
        detector.stop()
        detector.join(10)
        source.close()


def test_frames_over_the_pixel_limit_are_refused_before_decoding(model_dir, tmp_path: Path) -> None:
    video = write_video(tmp_path / "big.mp4", frames=4, width=320, height=240)
    config = make_config(model_dir, max_frame_pixels=320 * 240 - 1)
    with pytest.raises(StreamError, match=r"frames of 320x240 exceed max-frame-pixels \(76799\)"):
        StreamDetector(config, str(video)).start()
    detector = StreamDetector(make_config(model_dir, max_frame_pixels=320 * 240), str(video))
    detector.start()
    assert detector.join(20) and detector.state == "stopped"
