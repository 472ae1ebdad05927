"""Training on the generated dataset: the loss falls, checkpoints and ONNX are written, evaluation runs,
the ONNX export agrees with PyTorch; the CLIs report bad input as `error: ...` with exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import eval_classifier
import train_classifier
from models.classifier.config import ClassifierConfig
from models.classifier.efficientnet_lite import shipped_weights_path
from models.classifier.evaluation import evaluate_classifier
from models.classifier.export import export_category_onnx
from models.classifier.model import UCF_CRIME_CLASSES, create_category_classifier, load_category_checkpoint
from models.classifier.training import TrainResult, load_image_split
from tests.classifier.conftest import TEST_PER_CLASS


def test_training_lowers_the_loss_and_writes_checkpoints(
    trained: tuple[ClassifierConfig, TrainResult],
) -> None:
    config, result = trained
    history = result.history
    assert len(history) == config.epochs
    assert history[-1]["train_loss"] < history[0]["train_loss"] - 0.2
    assert history[-1]["test_loss"] < history[0]["test_loss"]
    assert result.best_accuracy > 3 / 14  # chance is 1/14
    assert all(record["skipped"] == 1 for record in history)  # the corrupt PNG
    _, checkpoint = load_category_checkpoint(config.best_checkpoint)
    assert checkpoint["epoch"] == result.best_epoch and checkpoint["classes"] == list(UCF_CRIME_CLASSES)
    assert load_category_checkpoint(config.last_checkpoint)[1]["epoch"] == config.epochs
    assert not list(config.checkpoint_dir.glob(".*tmp"))


def test_onnx_export_matches_pytorch(trained: tuple[ClassifierConfig, TrainResult]) -> None:
    config, result = trained
    model, checkpoint = load_category_checkpoint(config.best_checkpoint)
    graph = onnx.load(str(result.onnx_path))
    meta = {p.key: p.value for p in graph.metadata_props}
    assert json.loads(meta["classes"]) == list(UCF_CRIME_CLASSES)
    assert meta["input_size"] == "64" and meta["backbone"] == "densenet121"
    assert json.loads(meta["normalization_std"]) == [0.229, 0.224, 0.225]
    session = ort.InferenceSession(str(result.onnx_path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"]
    assert [o.name for o in session.get_outputs()] == ["probabilities"]
    images = torch.stack(
        [load_image_split(config, "Test", checkpoint["classes"], train=False)[i][0] for i in (0, 7, 20)]
    )
    model.eval()
    with torch.no_grad():
        expected = torch.softmax(model(images), dim=1).numpy()
    for batch in (images[:1], images):  # dynamic batch size
        got = session.run(["probabilities"], {"image": batch.numpy()})[0]
        np.testing.assert_allclose(got, expected[: len(batch)], atol=1e-5)
    np.testing.assert_allclose(got.sum(axis=1), 1.0, atol=1e-5)


def test_efficientnet_lite0_trains_a_step_and_exports(tmp_path: Path) -> None:
    torch.manual_seed(12)
    model = create_category_classifier(backbone="efficientnet_lite0", pretrained_path=shipped_weights_path())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images, labels = torch.randn(8, 3, 64, 64), torch.arange(8)
    losses = []
    for _ in range(3):
        model.train()
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.isfinite(losses).all()
    path = export_category_onnx(
        model,
        tmp_path / "lite0.onnx",
        classes=UCF_CRIME_CLASSES,
        image_size=64,
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
    )
    model.eval()
    with torch.no_grad():
        expected = torch.softmax(model(images[:3]), dim=1).numpy()
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(None, {"image": images[:3].numpy()})[0], expected, atol=1e-5)


def test_evaluation_writes_metrics_and_plots(
    trained: tuple[ClassifierConfig, TrainResult], tmp_path: Path
) -> None:
    config, result = trained
    metrics = evaluate_classifier(config, output_dir=tmp_path, progress=False)
    assert metrics["accuracy"] == pytest.approx(result.best_accuracy)
    assert metrics["num_images"] == 14 * TEST_PER_CLASS and metrics["skipped_images"] == 0
    assert metrics["micro_auc"] > 0.6
    assert np.asarray(metrics["confusion_matrix"]).sum() == 14 * TEST_PER_CLASS
    assert json.loads((tmp_path / "metrics.json").read_text()) == json.loads(json.dumps(metrics))
    for name in ("class_distribution.png", "roc_curves.png", "confusion_matrix.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name


def test_clis_report_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert train_classifier.main(["--config", str(tmp_path / "absent.toml")]) == 2
    assert "error: " in capsys.readouterr().err
    config = tmp_path / "c.toml"
    config.write_text(
        '[model]\nbackbone = "densenet121"\n[data]\nroot = "'
        + str(tmp_path / "nodata")
        + '"\nimage-size = 64\n'
        "[augmentation]\nhorizontal-flip = true\nwidth-shift = 0.1\nheight-shift = 0.05\n"
        "[training]\nepochs = 1\nbatch-size = 4\nlearning-rate = 3e-5\nmomentum = 0.0\nseed = 12\n"
        'device = "cpu"\nnum-workers = 0\n'
        f'[output]\ncheckpoint-dir = "{tmp_path}/ck"\nonnx-path = "{tmp_path}/c.onnx"\n'
        f'eval-dir = "{tmp_path}/ev"\n'
    )
    assert train_classifier.main(["--config", str(config)]) == 2
    assert "nodata/Train: dataset folder does not exist" in capsys.readouterr().err
    assert eval_classifier.main(["--config", str(config)]) == 2
    assert "best.pt: checkpoint does not exist" in capsys.readouterr().err
