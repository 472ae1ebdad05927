"""Train the anomaly detector: `python train.py --config configs/config.toml`."""

from __future__ import annotations

import argparse
import sys

from inferences.errors import exit_status
from models.config import DEFAULT_CONFIG, load_research_config
from models.training import train_detector


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Train the anomaly detector on a feature dataset.")
    parser.add_argument(
        "--config", default=str(DEFAULT_CONFIG), help="research config TOML (default: %(default)s)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars or epoch lines")
    args = parser.parse_args(argv)
    return exit_status(lambda: _train(args.config, quiet=args.quiet))


def _train(path: str, *, quiet: bool) -> int:
    config = load_research_config(path)
    history = train_detector(config, progress=not quiet)
    if history:
        print(
            f"trained to epoch {history[-1]['epoch']}: best checkpoint {config.best_checkpoint_path}, "
            f"last checkpoint {config.last_checkpoint_path}"
        )
    else:
        print(f"nothing to train: the checkpoint already reached num-epochs {config.num_epochs}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
