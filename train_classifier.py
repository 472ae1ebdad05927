"""Train the UCF-Crime anomaly category classifier.

`python train_classifier.py --config configs/classifier.toml`

Writes best/last checkpoints to `output.checkpoint-dir` and the best model as ONNX to `output.onnx-path`.
"""

from __future__ import annotations

import argparse
import logging
import sys

from inferences.errors import exit_status
from models.classifier.config import DEFAULT_CONFIG, load_classifier_config
from models.classifier.training import train_classifier


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", default=str(DEFAULT_CONFIG), help="classifier TOML config (default: %(default)s)"
    )
    parser.add_argument(
        "--no-export", action="store_true", help="skip the ONNX export of the best checkpoint"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return exit_status(lambda: _train(args.config, export=not args.no_export))


def _train(path: str, *, export: bool) -> int:
    config = load_classifier_config(path)
    result = train_classifier(config, export=export)
    print(
        f"best test accuracy {result.best_accuracy:.4f} at epoch {result.best_epoch}; "
        f"checkpoint {config.best_checkpoint}" + (f"; ONNX {result.onnx_path}" if result.onnx_path else "")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
