"""A SYNTHETIC feature dataset (not real video): Gaussian feature sequences with planted abnormal stretches.

Normal segments: a per-video scene offset plus temporally correlated noise (AR(1)). Abnormal videos get one
contiguous stretch (10-40 % of the video) where a fixed "anomaly direction" of strength `strength` is
added. Files are named `synthetic-normal-NNNN` / `synthetic-abnormal-NNNN`; train labels are per segment,
valid labels per frame (the last segment of a valid video is partial).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from datasets.features import DatasetError, write_split


def synthetic_video(
    rng: np.random.Generator,
    *,
    direction: np.ndarray,
    num_segments: int,
    crops: int,
    abnormal: bool,
    strength: float,
) -> tuple[np.ndarray, np.ndarray]:
    """One video: features (segments, D) or (segments, crops, D) float32 and 0/1 segment labels."""
    feature_dim = direction.size
    noise = rng.standard_normal((num_segments, feature_dim)).astype(np.float32)
    for t in range(1, num_segments):
        noise[t] = 0.7 * noise[t - 1] + 0.714 * noise[t]
    features = 0.5 * rng.standard_normal(feature_dim).astype(np.float32) + noise
    labels = np.zeros(num_segments, dtype=np.uint8)
    if abnormal:
        length = max(1, int(num_segments * rng.uniform(0.1, 0.4)))
        start = int(rng.integers(0, num_segments - length + 1))
        labels[start : start + length] = 1
        features[start : start + length] += strength * direction
    if crops > 1:
        jitter = 0.1 * rng.standard_normal((num_segments, crops, feature_dim)).astype(np.float32)
        features = features[:, None, :] + jitter
    return features.astype(np.float32), labels


def generate_synthetic_dataset(
    root: str | Path,
    *,
    feature_dim: int = 64,
    train_videos: int = 80,
    valid_videos: int = 40,
    min_segments: int = 16,
    max_segments: int = 48,
    crops: int = 1,
    abnormal_fraction: float = 0.5,
    strength: float = 0.6,
    segment_length: int = 16,
    seed: int = 0,
) -> Path:
    """Write a synthetic dataset in the training layout under `root` (train/ and valid/); returns root."""
    if feature_dim < 1 or train_videos < 1 or valid_videos < 2 or crops < 1:
        raise DatasetError(
            "synthetic dataset: feature_dim, crops, train_videos >= 1 and valid_videos >= 2 needed"
        )
    if not 1 <= min_segments <= max_segments:
        raise DatasetError(
            f"synthetic dataset: need 1 <= min_segments <= max_segments, got {min_segments}, {max_segments}"
        )
    if not 0.0 < abnormal_fraction < 1.0:
        raise DatasetError(f"synthetic dataset: abnormal_fraction must be in (0, 1), got {abnormal_fraction}")
    rng = np.random.default_rng(seed)
    direction = rng.standard_normal(feature_dim).astype(np.float32)
    root = Path(root)
    for split, count in (("train", train_videos), ("valid", valid_videos)):
        num_abnormal = min(count - 1, max(1, round(count * abnormal_fraction)))
        videos = []
        for index in range(count):
            abnormal = index < num_abnormal
            segments = int(rng.integers(min_segments, max_segments + 1))
            features, labels = synthetic_video(
                rng,
                direction=direction,
                num_segments=segments,
                crops=crops,
                abnormal=abnormal,
                strength=strength,
            )
            if split == "valid":  # per-frame labels; the last segment keeps 1..L frames
                frames = segments * segment_length - int(rng.integers(0, segment_length))
                labels = np.repeat(labels, segment_length)[:frames]
            kind = "abnormal" if abnormal else "normal"
            videos.append((f"synthetic-{kind}-{index:04d}", features, labels))
        write_split(root / split, videos)
    return root
