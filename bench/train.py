"""Training benchmark of the anomaly detector (run: `python bench/train.py`).

1. Quality: train on a SYNTHETIC dataset (configs/synthetic.toml settings, a fresh dataset in a temporary
   folder) and report the frame-level AUC of the best checkpoint; it must reach >= 0.95 (exit 1 otherwise).
2. Speed: the train epoch time for a ShanghaiTech-sized synthetic set (238 videos x 10 crops, 300 segments,
   D=2304) with configs/config.toml's batch-size / group-size / model settings. The full set would be
   6.6 GB of float32, so the bench times `--batches` real training steps (forward, backward, AdamW) on
   random batches of the full size and EXTRAPOLATES to the epoch's 30 batches; data loading is excluded.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

from datasets.synthetic import generate_synthetic_dataset
from models.config import REPO_ROOT, load_research_config
from models.detector import create_detector, read_checkpoint
from models.losses import detection_loss
from models.training import train_detector

VIDEOS, CROPS, SEGMENTS, FEATURE_DIM = 238, 10, 300, 2304


def synthetic_auc(workdir: Path) -> float:
    """Train with configs/synthetic.toml on a fresh synthetic dataset; the best valid AUC."""
    root = generate_synthetic_dataset(workdir / "data", seed=7)
    config = load_research_config(REPO_ROOT / "configs" / "synthetic.toml").model_copy(
        update={
            "device": "cpu",
            "train_dataset": root / "train",
            "valid_dataset": root / "valid",
            "best_checkpoint_path": workdir / "best.pt",
            "last_checkpoint_path": workdir / "last.pt",
        }
    )
    train_detector(config, progress=False)
    return float(read_checkpoint(config.best_checkpoint_path)["best_auc"])


def epoch_time(batches: int) -> tuple[float, float, int]:
    """(wall seconds per training step, CPU seconds per step, steps per epoch) at ShanghaiTech size."""
    config = load_research_config(REPO_ROOT / "configs" / "config.toml")
    model = create_detector(**{**config.detector_options(), "feature_dim": FEATURE_DIM})
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    rows = config.batch_size * config.group_size
    features = torch.randn(rows, SEGMENTS, FEATURE_DIM)
    mask = torch.ones(rows, SEGMENTS, dtype=torch.bool)
    labels = (torch.rand(rows, SEGMENTS) < 0.1).float()
    model.train()
    times, cpu_times = [], []
    for _ in range(batches + 1):  # the first step warms up
        start, cpu_start = time.perf_counter(), time.process_time()
        loss, _, _ = detection_loss(model.logits(features, mask), labels, mask)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
        cpu_times.append(time.process_time() - cpu_start)
    return sum(times[1:]) / batches, sum(cpu_times[1:]) / batches, math.ceil(VIDEOS / config.batch_size)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default: 2)")
    parser.add_argument("--batches", type=int, default=3, help="timed training steps (default: 3)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} CPU threads")
    with tempfile.TemporaryDirectory() as workdir:
        start = time.perf_counter()
        auc = synthetic_auc(Path(workdir))
        print(
            f"synthetic dataset: best frame AUC {auc:.4f} (required >= 0.95), "
            f"trained in {time.perf_counter() - start:.1f} s"
        )
    step, cpu_step, steps = epoch_time(args.batches)
    print(
        f"ShanghaiTech-sized synthetic set ({VIDEOS} videos x {CROPS} crops x {SEGMENTS} segments x "
        f"D={FEATURE_DIM}): {step:.2f} s wall ({cpu_step:.2f} CPU-s) per training step, {steps} steps -> "
        f"EXTRAPOLATED train epoch {step * steps:.0f} s wall ({step * steps / 60:.1f} min), "
        f"{cpu_step * steps:.0f} CPU-s; from {args.batches} timed steps, data loading excluded"
    )
    print(f"load average during the run: {os.getloadavg()[0]:.1f} (other processes share the cores)")
    return 0 if auc >= 0.95 else 1


if __name__ == "__main__":
    sys.exit(main())
