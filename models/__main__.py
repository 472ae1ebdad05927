"""Command line of the research side: `python -m models <command> ...`.

`prepare --extractor NAME` builds the feature-extractor ONNX files the engine runs (fp32, fp16, int8) and
`prepare --objects centernet` the object-detector file; both need PyTorch, which the engine does not.
A SurveillanceError (bad weights, bad calibration footage) prints `error: ...` and exits with status 2.
"""

from __future__ import annotations

import argparse
import sys

from inferences.errors import exit_status
from models.prepare import add_prepare_command
from models.prepare_objects import prepare_objects_command


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m models", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_prepare_command(subparsers)
    prepare = subparsers.choices["prepare"]
    build_extractor = prepare.get_default("handler")  # `--objects NAME` builds an object model instead
    prepare.set_defaults(
        handler=lambda args: (prepare_objects_command if args.objects else build_extractor)(args)
    )
    args = parser.parse_args(argv)
    return exit_status(lambda: args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
