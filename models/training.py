"""Training the detector from a `ResearchConfig`: grouped crops, BCE + Dice, validation every epoch,
atomic best/last checkpoints, exact resume (epoch count, optimizer and RNG state)."""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from datasets.features import DatasetError, Video, load_feature_split
from inferences.configfile import ConfigFileError
from models.checkpoints import save_checkpoint
from models.config import ResearchConfig
from models.detector import AnomalyDetector, create_detector, read_checkpoint
from models.evaluation import evaluate_detector, require_both_classes
from models.losses import detection_loss


def resolve_device(name: str, *, field: str = "device") -> torch.device:
    """ "auto" -> CUDA when available, else CPU; "cuda[:N]" without a GPU is an error naming `field`."""
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigFileError(f"field '{field}' is \"{name}\" but no CUDA device is available")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def load_config_split(config: ResearchConfig, *, valid: bool) -> list[Video]:
    """The config's valid split (per-frame labels) or train split (per-segment labels), validated."""
    return load_feature_split(
        config.valid_dataset if valid else config.train_dataset,
        feature_dim=config.feature_dim,
        per_frame_labels=valid,
        segment_length=config.segment_length,
    )


class GroupedCrops(Dataset):
    """One item per video: `group_size` of its crops (all when it has exactly that many; a seeded
    per-epoch choice when it has more), trained together in one batch.

    With `temporal_crop` > 0, a video longer than that is cut to a window of `temporal_crop` segments
    that starts anywhere (seeded per epoch), also in the middle of an anomaly: sequences then start
    normal or abnormal alike, so the detector cannot learn "the start is normal" from datasets whose
    videos all begin normal. With `splice` > 0, that share of the items is a window of the video followed
    by a window of another video (each of a random length up to `temporal_crop`): anomalies then also end
    and begin at any point, so the detector cannot learn "once abnormal, abnormal to the end" from datasets
    whose anomalies last until the end of the video; its score has to follow what it sees.
    """

    def __init__(
        self, videos: list[Video], *, group_size: int, seed: int, temporal_crop: int = 0, splice: float = 0.0
    ) -> None:
        for video in videos:
            crops = video.features.shape[0]
            if crops < group_size:
                raise DatasetError(f"{video.input_path}: group-size {group_size} exceeds its {crops} crop(s)")
        self.videos, self.group_size, self.seed, self.epoch = videos, group_size, seed, 0
        self.temporal_crop, self.splice = temporal_crop, splice

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng((self.seed, self.epoch, index))
        if self.temporal_crop and len(self.videos) > 1 and rng.random() < self.splice:
            other = (index + 1 + int(rng.integers(len(self.videos) - 1))) % len(self.videos)
            parts = [
                self._window(i, rng, int(rng.integers(1, self.temporal_crop + 1))) for i in (index, other)
            ]
            features = np.concatenate([part[0] for part in parts], axis=1)
            labels = np.concatenate([part[1] for part in parts])
        else:
            features, labels = self._window(index, rng, self.temporal_crop)
        return torch.from_numpy(np.ascontiguousarray(features)), torch.from_numpy(
            np.ascontiguousarray(labels)
        )

    def _window(self, index: int, rng: np.random.Generator, length: int) -> tuple[np.ndarray, np.ndarray]:
        """`group_size` crops of a video, cut to `length` segments starting anywhere (0: the whole video)."""
        video = self.videos[index]
        crops = np.arange(video.features.shape[0])
        if crops.size > self.group_size:
            crops = np.sort(rng.choice(crops, self.group_size, replace=False))
        features, labels = video.features[crops], video.labels
        if 0 < length < labels.shape[0]:
            start = int(rng.integers(0, labels.shape[0] - length + 1))
            features, labels = features[:, start : start + length], labels[start : start + length]
        return features, labels


def collate_groups(items: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, ...]:
    """Pad groups to the longest video: features (N, T, D), mask (N, T) bool, labels (N, T)."""
    count = sum(features.shape[0] for features, _ in items)
    length = max(features.shape[1] for features, _ in items)
    dim = items[0][0].shape[2]
    features = torch.zeros(count, length, dim)
    mask = torch.zeros(count, length, dtype=torch.bool)
    labels = torch.zeros(count, length)
    row = 0
    for group, group_labels in items:
        crops, segments = group.shape[:2]
        features[row : row + crops, :segments] = group
        mask[row : row + crops, :segments] = True
        labels[row : row + crops, :segments] = group_labels
        row += crops
    return features, mask, labels


def _rng_state() -> dict[str, object]:
    state: dict[str, object] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, object]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _checkpoint(
    model: AnomalyDetector,
    optimizer: torch.optim.Optimizer,
    config: ResearchConfig,
    *,
    epoch: int,
    auc: float,
    best_auc: float,
) -> dict[str, object]:
    return {
        "model": {key: value.cpu() for key, value in model.state_dict().items()},
        "model_config": config.detector_options(),
        "epoch": epoch,
        "optimizer": optimizer.state_dict(),
        "auc": auc,
        "best_auc": best_auc,
        "rng": _rng_state(),
        "config": config.model_dump(mode="json"),  # paths as strings
        "segment_length": config.segment_length,
        "smoothing_window": config.smoothing_window,
    }


def train_detector(config: ResearchConfig, *, progress: bool = True) -> list[dict[str, float]]:
    """Train per `config`; returns one dict per epoch run (epoch, loss, bce, dice, auc)."""
    device = resolve_device(config.device)
    torch.manual_seed(config.seed)
    train_videos = load_config_split(config, valid=False)
    valid_videos = load_config_split(config, valid=True)
    require_both_classes(valid_videos)
    dataset = GroupedCrops(
        train_videos,
        group_size=config.group_size,
        seed=config.seed,
        temporal_crop=config.temporal_crop,
        splice=config.splice,
    )
    model = create_detector(**config.detector_options()).to(device)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    start_epoch, best_auc = 0, -math.inf
    if config.load_checkpoint:
        checkpoint = read_checkpoint(config.load_checkpoint_path)
        if checkpoint["model_config"] != config.detector_options():
            raise ConfigFileError(
                f"{config.load_checkpoint_path}: checkpoint model {checkpoint['model_config']} "
                f"differs from the config's {config.detector_options()}"
            )
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        start_epoch, best_auc = int(checkpoint["epoch"]), float(checkpoint["best_auc"])
        _set_rng_state(checkpoint["rng"])
    history = []
    for epoch in range(start_epoch, config.num_epochs):
        dataset.epoch = epoch
        loader = DataLoader(
            dataset,
            batch_size=config.batch_size,
            shuffle=True,
            collate_fn=collate_groups,
            num_workers=config.num_workers,
            generator=torch.Generator().manual_seed(config.seed + epoch),
        )
        model.train()
        totals = np.zeros(3)
        bar = tqdm(loader, desc=f"epoch {epoch + 1}/{config.num_epochs}", unit="batch", disable=not progress)
        for step, (features, mask, labels) in enumerate(bar, start=1):
            features, mask, labels = features.to(device), mask.to(device), labels.to(device)
            loss, bce, dice = detection_loss(model.logits(features, mask), labels, mask)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            totals += (loss.item(), bce.item(), dice.item())
            if step % config.log_interval == 0:
                bar.set_postfix(loss=f"{totals[0] / step:.4f}")
        totals /= max(len(loader), 1)
        evaluation = evaluate_detector(
            model,
            valid_videos,
            smoothing_window=config.smoothing_window,
            segment_length=config.segment_length,
            device=device,
        )
        auc = float(evaluation.metrics["auc"])
        improved = auc > best_auc
        best_auc = max(best_auc, auc)
        checkpoint = _checkpoint(model, optimizer, config, epoch=epoch + 1, auc=auc, best_auc=best_auc)
        save_checkpoint(config.last_checkpoint_path, checkpoint)
        if improved:
            save_checkpoint(config.best_checkpoint_path, checkpoint)
        record = {"epoch": epoch + 1, "loss": totals[0], "bce": totals[1], "dice": totals[2], "auc": auc}
        history.append(record)
        if progress:
            tqdm.write(
                f"epoch {epoch + 1}/{config.num_epochs}: loss {totals[0]:.4f} (bce {totals[1]:.4f}, "
                f"dice {totals[2]:.4f}), valid AUC {auc:.4f}{' (best)' if improved else ''}"
            )
    return history
