"""Training and evaluation end to end: loss goes down, checkpoints reload in eval.py, exact resume, CLIs."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

import eval as eval_cli
import train as train_cli
from inferences.configfile import ConfigFileError
from inferences.paths import REPO_ROOT
from models.config import ResearchConfig, load_research_config
from models.detector import load_detector, read_checkpoint
from models.training import train_detector


def test_training_lowers_loss_and_eval_reloads_the_checkpoint(
    write_config: Callable[..., Path], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    config = load_research_config(write_config(num_epochs=4))
    history = train_detector(config, progress=False)
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    assert history[-1]["loss"] < history[0]["loss"]
    best = read_checkpoint(config.best_checkpoint_path)
    assert best["auc"] == max(h["auc"] for h in history) == best["best_auc"]
    assert read_checkpoint(config.last_checkpoint_path)["epoch"] == 4
    assert not load_detector(config.last_checkpoint_path).training
    assert sorted(p.name for p in config.best_checkpoint_path.parent.iterdir()) == ["best.pt", "last.pt"]

    output = tmp_path / "eval"
    code = eval_cli.main(
        [
            "--config",
            str(write_config()),
            "--output",
            str(output),
            "--export",
            str(output / "detector.onnx"),
            "--extractor",
            "synthetic",
        ]
    )
    assert code == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert metrics["auc"] == pytest.approx(best["auc"], abs=1e-9)  # same checkpoint, same valid set
    assert set(metrics) == {"auc", "ap", "far", "iou", "mparams", "mflops"}
    assert list(metrics["far"]) == ["0.2", "0.3", "0.4", "0.5"] == list(metrics["iou"])
    scores = sorted(output.glob("scores/*.npy"))
    assert len(scores) == 10 and (output / "roc.png").stat().st_size > 0 and (output / "pr.png").is_file()
    valid = config.valid_dataset
    first = scores[0].stem
    assert np.load(scores[0]).shape == np.load(valid / "labels" / f"{first}.npy").shape
    assert {p.key for p in onnx.load(str(output / "detector.onnx")).metadata_props} >= {
        "feature_dim",
        "extractor",
    }
    assert "AUC" in capsys.readouterr().out


def _config_writing(write_config: Callable[..., Path], run: Path, **overrides: object) -> ResearchConfig:
    """A loaded config whose last/best checkpoints are `run.pt` and `run-best.pt`."""
    return load_research_config(
        write_config(
            last_checkpoint_path=str(run.with_suffix(".pt")),
            best_checkpoint_path=str(run.with_name(f"{run.name}-best.pt")),
            **overrides,
        )
    )


def test_resume_continues_exactly(write_config: Callable[..., Path], tmp_path: Path) -> None:
    train_detector(_config_writing(write_config, tmp_path / "a", num_epochs=2), progress=False)
    train_detector(_config_writing(write_config, tmp_path / "b", num_epochs=1), progress=False)
    torch.manual_seed(123)  # the resumed run must restore the RNG state itself
    resumed = _config_writing(
        write_config,
        tmp_path / "b",
        num_epochs=2,
        load_checkpoint=True,
        load_checkpoint_path=str(tmp_path / "b.pt"),
    )
    history = train_detector(resumed, progress=False)
    assert [h["epoch"] for h in history] == [2]
    expected, actual = read_checkpoint(tmp_path / "a.pt"), read_checkpoint(tmp_path / "b.pt")
    assert actual["epoch"] == 2
    for key, value in expected["model"].items():
        torch.testing.assert_close(actual["model"][key], value, rtol=0, atol=0)
    assert train_detector(resumed, progress=False) == []  # nothing left to do


def test_config_errors_name_the_field(write_config: Callable[..., Path], tmp_path: Path) -> None:
    with pytest.raises(ConfigFileError, match="field 'alpha' must be a number in"):
        load_research_config(write_config(alpha=2))
    with pytest.raises(ConfigFileError, match="field 'batch-size' must be an integer"):
        load_research_config(write_config(batch_size="8"))
    with pytest.raises(ConfigFileError, match="missing field 'seed'"):
        load_research_config(write_config(seed=None))
    path = write_config()
    path.write_text(path.read_text() + "colour = 1\n")
    with pytest.raises(ConfigFileError, match="unknown field 'colour'"):
        load_research_config(path)
    with pytest.raises(ConfigFileError, match="config file not found"):
        load_research_config(tmp_path / "nope.toml")


def test_feature_dim_mismatch_group_size_and_one_class_valid_set_are_reported(
    write_config: Callable[..., Path], synthetic_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    assert train_cli.main(["--quiet", "--config", str(write_config(feature_dim=32))]) == 2
    assert "feature dimension 16 disagrees with feature-dim 32" in capsys.readouterr().err
    assert train_cli.main(["--quiet", "--config", str(write_config(group_size=3))]) == 2
    assert "group-size 3 exceeds its 2 crop(s)" in capsys.readouterr().err
    normal_only = Path(shutil.copytree(synthetic_root / "valid", tmp_path / "normal-only"))
    for labels in normal_only.glob("labels/*.npy"):
        np.save(labels, np.zeros_like(np.load(labels)))
    assert train_cli.main(["--quiet", "--config", str(write_config(valid_dataset=str(normal_only)))]) == 2
    assert f"error: {tmp_path}" in (error := capsys.readouterr().err)
    assert "needs both normal and abnormal frames" in error


def test_cli_error_is_one_line_without_traceback(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "eval.py", "--config", str(tmp_path / "missing.toml"), "--output", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'missing.toml'}: config file not found"
    ]
