"""Evaluate the anomaly category classifier on the Test split:
`python eval_classifier.py --config configs/classifier.toml [--checkpoint FILE] [--output DIR]`.

Writes metrics.json, class_distribution.png, roc_curves.png and confusion_matrix.png.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from inferences.errors import exit_status
from models.classifier.config import DEFAULT_CONFIG, load_classifier_config
from models.classifier.evaluation import evaluate_classifier


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config", default=str(DEFAULT_CONFIG), help="classifier TOML config (default: %(default)s)"
    )
    parser.add_argument(
        "--checkpoint", type=Path, help="checkpoint to evaluate (default: the config's best.pt)"
    )
    parser.add_argument("--output", type=Path, help="output folder (default: the config's output.eval-dir)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    return exit_status(lambda: _evaluate(args))


def _evaluate(args: argparse.Namespace) -> int:
    config = load_classifier_config(args.config)
    metrics = evaluate_classifier(config, checkpoint=args.checkpoint, output_dir=args.output)
    auc = metrics["micro_auc"]
    print(
        f"accuracy {metrics['accuracy']:.4f}, micro-average AUC "
        f"{'n/a' if auc is None else f'{auc:.4f}'} on {metrics['num_images']} test images; "
        f"results in {args.output or config.eval_dir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
