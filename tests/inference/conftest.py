"""Fixtures of the inference tests: tiny real ONNX models, configs using them, generated videos."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from harness import tiny_models
from inferences.config import InferenceConfig
from inferences.preprocess import Preprocessor

SIZE = 64  # extractor input of the tiny models (segment-width = segment-height)
PED2_CLIP = "Test002.mp4"  # frames 95..180 (1-based) abnormal: a normal part, then a cyclist


@pytest.fixture(scope="session", autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tiny extractor `tiny-fp32.onnx` (64x64 input) and an untrained detector `random-detector.onnx`."""
    folder = tmp_path_factory.mktemp("models")
    tiny_models.build_extractor(folder / "tiny-fp32.onnx", size=SIZE)
    tiny_models.build_random_detector(folder / "random-detector.onnx", smoothing_window=3)
    return folder


def make_config(model_dir: Path, detector: str = "random-detector.onnx", **overrides) -> InferenceConfig:
    """A config of the tiny models (CPU, one thread) with field overrides (validated: ConfigFileError)."""
    values = dict(
        providers=("CPUExecutionProvider",),
        threads=1,
        extraction_model_path=str(model_dir / "tiny-{precision}.onnx"),
        detection_model_path=str(model_dir / detector),
        segment_width=SIZE,
        segment_height=SIZE,
        history_length=16,
        objects_model_path="",
    )
    values.update(overrides)
    return InferenceConfig().replace(**values)


@pytest.fixture(scope="session")
def colour_models(model_dir: Path) -> Path:
    """`colour-detector.onnx` (flags segments that are not green) and the red/green/blue category model
    `colour-category.onnx`, next to the tiny extractor; returns the category model's path."""
    tiny_models.build_colour_detector(model_dir / "colour-detector.onnx", size=SIZE)
    return tiny_models.build_colour_category(model_dir / "colour-category.onnx")


@pytest.fixture(scope="session")
def config(model_dir: Path) -> InferenceConfig:
    return make_config(model_dir)


@pytest.fixture(scope="session")
def ped2_clip(shared_data: Path) -> tuple[Path, np.ndarray]:
    """The Ped2 clip with a normal and an abnormal part, and its frame labels (0/1)."""
    labels = json.loads((shared_data / "ucsd-ped2" / "labels.json").read_text())
    entry = next(v for v in labels["videos"] if v["video"] == PED2_CLIP)
    return shared_data / "ucsd-ped2" / PED2_CLIP, np.asarray(entry["frame_labels"], dtype=np.float32)


@pytest.fixture(scope="session")
def trained_detector(model_dir: Path, ped2_clip: tuple[Path, np.ndarray]) -> Path:
    """A detector trained (a few seconds) on the tiny features of the looping Ped2 clip at 4 segment phases.

    It scores the cyclist part high and the normal part low, so an alert on the stream is meaningful:
    it has to come from the abnormal frames, not from a threshold picked to fire anywhere.
    """
    path, frame_labels = ped2_clip
    extractor = tiny_models.create_tiny_extractor()  # the same weights as tiny-fp32.onnx
    prep = Preprocessor(width=SIZE, height=SIZE, segment_length=16)
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            frames.append(prep.frame(frame.to_ndarray(format="rgb24")))
    looped = frames + frames
    looped_labels = np.concatenate([frame_labels, frame_labels])
    sequences, labels = [], []
    for phase in (0, 4, 8, 12):
        starts = range(phase, len(looped) - 15, 16)
        clips = np.concatenate([prep.pack(looped[s : s + 16]) for s in starts])
        with torch.no_grad():
            sequences.append(extractor(torch.from_numpy(clips)).numpy())
        labels.append(np.array([float(looped_labels[s : s + 16].mean() >= 0.5) for s in starts], np.float32))
    return tiny_models.build_trained_detector(model_dir / "trained-detector.onnx", sequences, labels)


def write_colour_video(
    path: Path,
    colours: list[str],
    *,
    frames_per_colour: int = 16,
    width: int = 64,
    height: int = 48,
    seed: int = 0,
    rate: int = 25,
) -> Path:
    """A generated video (`rate` fps) of solid `tiny_models.COLOURS` (plus a little noise),
    `frames_per_colour` frames of each name in `colours`, in order."""
    rng = np.random.default_rng(seed)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for name in colours:
            for _ in range(frames_per_colour):
                image = np.asarray(tiny_models.COLOURS[name]) + rng.integers(-10, 11, (height, width, 3))
                frame = av.VideoFrame.from_ndarray(np.clip(image, 0, 255).astype(np.uint8), format="rgb24")
                container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path
