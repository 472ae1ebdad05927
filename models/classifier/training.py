"""Training of the category classifier as in the baseline: augmented 64x64 frames, SGD, cross-entropy,
validation on the Test split after every epoch, atomic best/last checkpoints, ONNX export of the best."""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from datasets.images import (
    Augmentation,
    ImageDatasetError,
    ImageFolderDataset,
    collate_skipping_corrupt,
    list_classes,
)
from models.checkpoints import save_checkpoint
from models.classifier.config import ClassifierConfig
from models.classifier.export import export_category_onnx
from models.classifier.model import create_category_classifier, load_category_checkpoint
from models.training import resolve_device

logger = logging.getLogger(__name__)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def load_image_split(
    config: ClassifierConfig, split: str, classes: list[str], *, train: bool
) -> ImageFolderDataset:
    """The `Train` or `Test` split of the configured dataset (augmented when `train`)."""
    augmentation = (
        Augmentation(config.horizontal_flip, config.width_shift, config.height_shift) if train else None
    )
    return ImageFolderDataset(
        config.dataset_root / split,
        classes=classes,
        image_size=config.image_size,
        mean=config.normalization_mean,
        std=config.normalization_std,
        augmentation=augmentation,
    )


def make_loader(dataset: ImageFolderDataset, config: ClassifierConfig, *, shuffle: bool) -> DataLoader:
    """A DataLoader with the config's batch size and workers that drops corrupt images; shuffling and
    worker seeds derive from the config's seed."""
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        shuffle=shuffle,
        num_workers=config.num_workers,
        collate_fn=collate_skipping_corrupt,
        generator=torch.Generator().manual_seed(config.seed),
        persistent_workers=config.num_workers > 0,
    )


def predict_logits(
    model: nn.Module, loader: DataLoader, device: torch.device, *, desc: str, progress: bool = True
) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval-mode logits `(N, C)` and labels `(N,)` of every readable image of `loader`."""
    model.eval()
    logits, labels = [], []
    with torch.no_grad():
        for batch in tqdm(loader, desc=desc, leave=False, disable=not progress):
            if batch is None:
                continue
            images, targets = batch
            logits.append(model(images.to(device)).float().cpu())
            labels.append(targets)
    if not logits:
        raise ImageDatasetError(f"{desc}: every image of the split is unreadable")
    return torch.cat(logits), torch.cat(labels)


@dataclass
class TrainResult:
    """Per-epoch history (train/test loss and accuracy, `skipped` images), the best epoch, the ONNX."""

    history: list[dict[str, float]] = field(default_factory=list)
    best_accuracy: float = -1.0
    best_epoch: int = 0
    onnx_path: Path | None = None


def train_classifier(config: ClassifierConfig, *, progress: bool = True, export: bool = True) -> TrainResult:
    """Train per `config`, writing `best.pt`/`last.pt` to the checkpoint dir and the best model's ONNX."""
    seed_everything(config.seed)
    device = resolve_device(config.device, field="training.device")
    classes = list_classes(config.dataset_root / "Train")
    train_set = load_image_split(config, "Train", classes, train=True)
    test_set = load_image_split(config, "Test", classes, train=False)
    train_loader = make_loader(train_set, config, shuffle=True)
    test_loader = make_loader(test_set, config, shuffle=False)
    model = create_category_classifier(
        backbone=config.backbone, pretrained_path=config.pretrained_path, num_classes=len(classes)
    ).to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=config.learning_rate, momentum=config.momentum)
    logger.info(
        "training %s on %d images (%d classes), testing on %d",
        config.backbone,
        len(train_set),
        len(classes),
        len(test_set),
    )
    result = TrainResult()
    for epoch in range(1, config.epochs + 1):
        model.train()
        total_loss, correct, seen = 0.0, 0, 0
        bar = tqdm(train_loader, desc=f"epoch {epoch}/{config.epochs}", disable=not progress)
        for batch in bar:
            if batch is None:
                continue
            images, labels = batch[0].to(device), batch[1].to(device)
            logits = model(images)
            loss = F.cross_entropy(logits, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(labels)
            correct += int((logits.argmax(1) == labels).sum())
            seen += len(labels)
            bar.set_postfix(loss=f"{total_loss / seen:.4f}")
        if seen == 0:
            raise ImageDatasetError(f"{train_set.root}: every training image is unreadable")
        test_logits, test_labels = predict_logits(model, test_loader, device, desc="test", progress=progress)
        record = {
            "epoch": epoch,
            "train_loss": total_loss / seen,
            "train_accuracy": correct / seen,
            "test_loss": float(F.cross_entropy(test_logits, test_labels)),
            "test_accuracy": float((test_logits.argmax(1) == test_labels).float().mean()),
            "skipped": len(train_set) - seen,
        }
        result.history.append(record)
        logger.info("epoch %d: %s", epoch, {k: round(v, 4) for k, v in record.items()})
        state = {
            "model": model.state_dict(),
            "model_config": {"backbone": config.backbone, "num_classes": len(classes)},
            "classes": classes,
            "image_size": config.image_size,
            "normalization_mean": list(config.normalization_mean),
            "normalization_std": list(config.normalization_std),
            "epoch": epoch,
            "optimizer": optimizer.state_dict(),
            "history": result.history,
        }
        if record["test_accuracy"] > result.best_accuracy:
            result.best_accuracy, result.best_epoch = record["test_accuracy"], epoch
            save_checkpoint(config.best_checkpoint, {**state, "best_accuracy": result.best_accuracy})
        save_checkpoint(config.last_checkpoint, {**state, "best_accuracy": result.best_accuracy})
    if export:
        best, checkpoint = load_category_checkpoint(config.best_checkpoint)
        result.onnx_path = export_category_onnx(
            best,
            config.onnx_path,
            classes=checkpoint["classes"],
            image_size=checkpoint["image_size"],
            mean=checkpoint["normalization_mean"],
            std=checkpoint["normalization_std"],
        )
    return result
