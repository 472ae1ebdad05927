"""The project's one base error for user-facing failures.

Every error that reports bad input, a bad configuration or a missing or damaged file derives from
`SurveillanceError`; the command lines (`train.py`, `eval.py`, `python -m inferences|models|datasets`) print
its message and exit with status 2, while any other exception is a bug and keeps its traceback.
`SurveillanceError` derives from `ValueError` so callers that catch `ValueError` keep working.
"""

from __future__ import annotations

import sys
from collections.abc import Callable


class SurveillanceError(ValueError):
    """A failure the user can fix (input, configuration, files); the message names the problem."""


def exit_status(command: Callable[[], int]) -> int:
    """Run a command-line `command`; a SurveillanceError prints `error: <message>` on stderr and gives
    status 2, any other exception propagates with its traceback (it is a bug)."""
    try:
        return command()
    except SurveillanceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
