"""One segmenting path: dataset building, offline and live detection cut a 25 fps video the same way and
get the same cues; offline scoring of a long video sees the same context as live scoring."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from datasets.videos import extract_video_cues
from inferences.events import ScoreEvent
from inferences.offline import VideoDetector
from inferences.paths import REPO_ROOT
from inferences.pipeline import CueModels, SegmentScorer
from inferences.profile import RunningProfile, SegmentCues
from inferences.runtime import load_models
from inferences.stream import StreamDetector
from inferences.video import open_video
from tests.inference.conftest import make_config

OBJECTS = REPO_ROOT / "inferences" / "models" / "centernet-fp32.onnx"


def write_moving_square(
    path: Path, *, frames: int = 120, rate: int = 25, size: tuple[int, int] = (96, 64)
) -> Path:
    """A `rate` fps video of a bright square crossing a noisy dark background (so the flow is not zero)."""
    width, height = size
    rng = np.random.default_rng(0)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            image = rng.integers(0, 40, (height, width, 3)).astype(np.uint8)
            x = (index * 3) % (width - 16)
            image[20:36, x : x + 16] = (230, 200, 40)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module")
def video_25fps(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_moving_square(tmp_path_factory.mktemp("video") / "square-25fps.mp4")


def test_dataset_offline_and_live_cut_a_25fps_video_the_same_way(model_dir: Path, video_25fps: Path) -> None:
    config = make_config(model_dir, objects_model_path=str(OBJECTS), objects_every=8)
    models = CueModels(config, load_models(config).extractor)
    dataset = extract_video_cues(video_25fps, models)
    # 120 frames at 25 fps = 4.8 s; a frame every 0.1 s -> 48 sampled frames -> 3 segments of 16
    assert dataset.frames == 120 and len(dataset.features) == 3
    assert list(dataset.indices[:6]) == [0, 3, 5, 8, 10, 13]  # 1.6 s of video per segment, not 0.64 s

    offline, starts, frames = VideoDetector(config).extract_cues(open_video(video_25fps))
    assert frames == 120 and starts == [int(dataset.indices[i]) for i in (0, 16, 32)]

    events: list[ScoreEvent] = []
    live = StreamDetector(
        config, str(video_25fps), on_event=lambda e: events.append(e) if isinstance(e, ScoreEvent) else None
    )
    live.start()
    assert live.join(30)
    assert [e.start for e in events] == starts and live.stats()["dropped_segments"] == 0

    for i in range(3):
        for name in ("feature", "objects", "motion"):
            reference = {
                "feature": dataset.features[i],
                "objects": dataset.objects[i],
                "motion": dataset.motion[i],
            }[name]
            np.testing.assert_allclose(getattr(offline[i], name), reference, rtol=1e-4, atol=1e-5)
            np.testing.assert_allclose(getattr(events[i].cues, name), reference, rtol=1e-4, atol=1e-5)
    assert dataset.motion[:, 0].max() > 0.5  # the square moves 3 px per frame: the flow sees it
    assert dataset.objects.shape == (3, 80)


def test_offline_chunks_see_the_live_context(model_dir: Path) -> None:
    """A long video scored at once (in chunks of 1024 segments) equals scoring one segment at a time over a
    `history-length` deque, as the live path does, for a feature detector and a cue detector."""
    config = make_config(model_dir)
    detector = load_models(config).detector
    assert config.history_length >= detector.context_length > 1
    rng = np.random.default_rng(0)
    sequence = [
        SegmentCues(rng.normal(size=32).astype(np.float32), np.zeros(0), np.zeros(2)) for _ in range(2100)
    ]
    at_once = SegmentScorer(config, detector, RunningProfile()).score(sequence).scores
    live = SegmentScorer(config, detector, RunningProfile())
    one_by_one = np.concatenate([live.score([cue]).scores for cue in sequence])
    np.testing.assert_allclose(at_once, one_by_one, atol=1e-5)


def test_offline_and_live_scores_agree_on_a_real_clip(model_dir: Path, camera_clip: Path) -> None:
    config = make_config(model_dir)
    path = camera_clip
    detector = VideoDetector(config)
    cues, _, _ = detector.extract_cues(open_video(path))
    offline = SegmentScorer(config, detector.models.detector, RunningProfile()).score(cues).scores
    events: list[ScoreEvent] = []
    live = StreamDetector(
        config, str(path), on_event=lambda e: events.append(e) if isinstance(e, ScoreEvent) else None
    )
    live.start()
    assert live.join(60)
    assert live.stats()["dropped_segments"] == 0
    np.testing.assert_allclose([e.raw_score for e in events], offline, atol=1e-4)


def test_object_scores_ahead_are_found_by_frame_identity() -> None:
    from inferences.pipeline import ObjectScores

    ahead = ObjectScores(limit=2)
    frames = [np.zeros((4, 4, 3), np.uint8) for _ in range(3)]
    for index, frame in enumerate(frames):
        ahead.add(frame, np.full(2, index, np.float32))
    assert len(ahead) == 2
    assert ahead.pop(frames[0]) is None  # evicted: its segment was dropped
    assert ahead.pop(frames[1].copy()) is None  # an equal frame is not the same frame
    assert ahead.pop(frames[2]).tolist() == [2, 2] and ahead.pop(frames[2]) is None
