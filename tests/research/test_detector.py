"""The detector: shapes and padding masks, causality, checkpoints, parameter and FLOP counts."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from models.checkpoints import save_checkpoint
from models.detector import DetectorCheckpointError, create_detector, load_detector
from models.metrics import count_flops, count_parameters


def _model(feature_dim: int = 12, **kwargs: object) -> torch.nn.Module:
    torch.manual_seed(0)
    return create_detector(feature_dim=feature_dim, model_dim=16, **kwargs).eval()


def test_padded_batch_matches_unpadded_sequences() -> None:
    model = _model()
    long, short = torch.randn(1, 11, 12), torch.randn(1, 5, 12)
    batch = torch.zeros(2, 11, 12)
    batch[0], batch[1, :5] = long[0], short[0]
    batch[1, 5:] = 100.0  # garbage in the padding must not matter
    mask = torch.zeros(2, 11, dtype=torch.bool)
    mask[0], mask[1, :5] = True, True
    scores = model(batch, mask)
    assert scores.shape == (2, 11)
    assert ((scores[mask] > 0) & (scores[mask] < 1)).all()
    assert (scores[1, 5:] == 0).all()
    torch.testing.assert_close(scores[0], model(long, torch.ones(1, 11, dtype=torch.bool))[0])
    torch.testing.assert_close(scores[1, :5], model(short, torch.ones(1, 5, dtype=torch.bool))[0])


@pytest.mark.parametrize("window", [1, 3, 50])
def test_changing_future_segments_never_changes_past_scores(window: int) -> None:
    model = _model(attention_window=window, attention_context=max(32, window), num_layers=2)
    features = torch.randn(2, 30, 12)
    mask = torch.ones(2, 30, dtype=torch.bool)
    scores = model(features, mask)
    for cut in (1, 10, 29):
        changed = features.clone()
        changed[:, cut:] = torch.randn(2, 30 - cut, 12) * 5
        torch.testing.assert_close(model(changed, mask)[:, :cut], scores[:, :cut], rtol=0, atol=1e-6)
        # the prefix alone scores the same as inside the long sequence (live scoring is exact)
        prefix = model(features[:, :cut], mask[:, :cut])
        torch.testing.assert_close(prefix, scores[:, :cut], rtol=0, atol=1e-6)
    changed = features.clone()
    changed[:, 5] += 3.0
    assert not torch.allclose(model(changed, mask)[:, 5:], scores[:, 5:])  # the past does matter


def test_invalid_builder_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="alpha"):
        create_detector(feature_dim=8, alpha=1.5)
    with pytest.raises(ValueError, match="attention_window"):
        create_detector(feature_dim=8, attention_window=0)


def test_checkpoint_roundtrip_and_errors(tmp_path: Path) -> None:
    model = _model()
    config = {"feature_dim": 12, "model_dim": 16}
    path = tmp_path / "sub" / "detector.pt"
    save_checkpoint(path, {"model": model.state_dict(), "model_config": config, "epoch": 1})
    assert [p.name for p in path.parent.iterdir()] == ["detector.pt"]  # no temporary file left behind
    loaded = load_detector(path)
    features, mask = torch.randn(1, 7, 12), torch.ones(1, 7, dtype=torch.bool)
    torch.testing.assert_close(loaded(features, mask), model(features, mask))
    with pytest.raises(DetectorCheckpointError, match="not found"):
        load_detector(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(DetectorCheckpointError, match=r"junk\.pt"):
        load_detector(tmp_path / "junk.pt")
    save_checkpoint(
        tmp_path / "other.pt",
        {"model": model.state_dict(), "model_config": {"feature_dim": 13, "model_dim": 16}},
    )
    with pytest.raises(DetectorCheckpointError, match="does not match"):
        load_detector(tmp_path / "other.pt")


def test_parameter_and_flop_counts() -> None:
    """docs/research.md size table: 0.459 M parameters, 28.75 M FLOPs on 16 segments at D = 2304 (with the
    37 replicated context segments the attention and convolutions see before the first one)."""
    model = create_detector(feature_dim=2304)
    parameters = count_parameters(model)
    assert parameters == 458_629
    flops = count_flops(model, feature_dim=2304)
    assert flops == 28_747_840
    # the reduction layer alone: 2 FLOPs per multiply-add, 16 segments x 2304 x 128; the rest of the
    # model also sees the 37 replicated context segments
    assert 2 * 16 * 2304 * 128 < flops < 2 * (16 + model.context_length - 1) * parameters
