"""Evaluate the detector checkpoint at `load-checkpoint-path` on the valid set, optionally export ONNX:
`python eval.py --config configs/config.toml --output runs/eval [--export runs/eval/detector.onnx]`."""

from __future__ import annotations

import argparse
import sys

from inferences.configfile import ConfigFileError
from inferences.errors import SurveillanceError, exit_status
from models.config import DEFAULT_CONFIG, load_research_config
from models.detector import load_detector
from models.evaluation import evaluate_detector, format_metrics, model_size, write_evaluation
from models.export import export_detector
from models.training import load_config_split, resolve_device

EXTRACTORS = {1024: "i3d", 2304: "slowfast_r50"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Evaluate the anomaly detector on the valid set.")
    parser.add_argument(
        "--config", default=str(DEFAULT_CONFIG), help="research config TOML (default: %(default)s)"
    )
    parser.add_argument("--output", required=True, help="folder for metrics.json, scores/ and the plots")
    parser.add_argument("--export", metavar="ONNX", help="also export the detector to this ONNX file")
    parser.add_argument(
        "--extractor",
        help="`extractor` metadata of the ONNX export (default: i3d for "
        "feature-dim 1024, slowfast_r50 for 2304)",
    )
    args = parser.parse_args(argv)
    return exit_status(lambda: _evaluate(args))


def _evaluate(args: argparse.Namespace) -> int:
    config = load_research_config(args.config)
    model = load_detector(config.load_checkpoint_path)
    if model.feature_dim != config.feature_dim:
        raise ConfigFileError(
            f"{config.load_checkpoint_path}: checkpoint feature dimension {model.feature_dim} "
            f"disagrees with feature-dim {config.feature_dim}"
        )
    extractor = args.extractor or EXTRACTORS.get(config.feature_dim)
    if args.export and not extractor:
        raise SurveillanceError(
            f"--extractor is needed to export a detector for feature-dim {config.feature_dim}"
        )
    device = resolve_device(config.device)
    evaluation = evaluate_detector(
        model.to(device),
        load_config_split(config, valid=True),
        smoothing_window=config.smoothing_window,
        segment_length=config.segment_length,
        device=device,
        progress=True,
    )
    evaluation.metrics.update(model_size(model))
    output = write_evaluation(evaluation, args.output)
    print(format_metrics(evaluation.metrics))
    print(f"wrote {output / 'metrics.json'}, {output / 'scores'}/, roc.png, pr.png")
    if args.export:
        path = export_detector(
            model,
            args.export,
            metadata={
                "segment_length": str(config.segment_length),
                "smoothing_window": str(config.smoothing_window),
                "extractor": extractor,
            },
        )
        print(f"exported {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
