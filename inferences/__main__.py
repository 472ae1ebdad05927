"""Command line of the inference engine: `python -m inferences <command> ...`.

Each command is a function `add_<name>_command(subparsers)` that adds its subparser and sets
`handler=<callable(args) -> int>` with `set_defaults`; adding a command is one import plus one entry in
`COMMANDS`. Handlers import the heavy modules themselves so `--help` stays fast. A SurveillanceError (bad
video, bad config, bad source) prints `error: ...` and exits with status 2; anything else is a bug and keeps
its traceback. The model files are built by `python -m models prepare` (PyTorch, outside the engine).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

from inferences.calibrate import add_calibrate_command
from inferences.errors import exit_status


def _load_config(path: str | None):
    from inferences.config import load_inference_config

    return load_inference_config(path)


def _detect(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inferences.explain import summary
    from inferences.offline import VideoDetector
    from inferences.video import open_video

    config = _load_config(args.config)
    detector = VideoDetector(config)
    open_video(args.video)  # a bad input fails here, before the progress bar
    output = Path(args.output)
    cover = Path(args.cover) if args.cover else output.with_suffix(".jpg")
    with tqdm(total=1000, desc=Path(args.video).name, unit="‰", bar_format="{l_bar}{bar}| {elapsed}") as bar:

        def progress(fraction: float) -> None:
            bar.update(round(fraction * 1000) - bar.n)

        result = detector.detect(
            args.video, output_path=output, cover_path=cover, progress=progress, profile=args.profile
        )
    if args.scores:
        data = result.to_dict()
        scores = {key: data[key] for key in ("fps", "frames", "scores", "intervals")}
        Path(args.scores).write_text(json.dumps(scores) + "\n")
    print(f"{result.frames} frames at {result.fps:g} fps, peak score {result.peak_score:.3f}")
    for interval in result.intervals:
        print(
            f"abnormal {interval.start_time:.2f}s-{interval.end_time:.2f}s "
            f"(frames {interval.start_frame}-{interval.end_frame}), peak {interval.peak_score:.3f}"
            + (f", {interval.category} ({interval.category_probability:.2f})" if interval.category else "")
            + (f", cause: {summary(interval.causes)}" if interval.causes else "")
        )
    print(f"result video: {output}\ncover: {cover}" + (f"\nscores: {args.scores}" if args.scores else ""))
    return 0


def add_detect_command(subparsers: argparse._SubParsersAction) -> None:
    """`detect VIDEO --output RESULT.mp4 [--scores SCORES.json]`: offline detection of a recorded video."""
    parser = subparsers.add_parser("detect", help="detect abnormal frames in a recorded video")
    parser.add_argument("video", help="input video file (any common container and codec)")
    parser.add_argument("--output", required=True, help="annotated result video (H.264 MP4)")
    parser.add_argument("--scores", help="write fps, frames, per-frame scores and intervals as JSON")
    parser.add_argument("--cover", help="cover image (JPEG); default: the output path with .jpg")
    parser.add_argument(
        "--profile", help="scene profile (.npz) of the camera; default: the config's, else none"
    )
    parser.add_argument("--config", help="inference config TOML (default: inferences/configs/config.toml)")
    parser.set_defaults(handler=_detect)


def _watch(args: argparse.Namespace) -> int:
    from inferences.events import AlertEnd, AlertStart
    from inferences.explain import summary
    from inferences.stream import StreamDetector

    config = _load_config(args.config)

    def on_event(event) -> None:
        stamp = time.strftime("%H:%M:%S", time.localtime(event.time))
        if isinstance(event, AlertStart):
            cause = f", cause: {summary(event.causes)}" if event.causes else ""
            print(f"{stamp} ALERT start, score {event.score:.3f}{cause}", flush=True)
        elif isinstance(event, AlertEnd):
            print(f"{stamp} ALERT end, peak {event.peak_score:.3f}, {event.duration:.1f}s", flush=True)

    def on_state(state: str, message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} {state}: {message}", flush=True)

    detector = StreamDetector(
        config,
        args.source,
        on_event=on_event,
        on_state=on_state,
        record_path=args.record,
        profile=args.profile,
    )
    detector.start()
    deadline = time.monotonic() + args.duration if args.duration else None
    try:
        while detector.state not in ("stopped", "failed"):
            if deadline is not None and time.monotonic() >= deadline:
                break
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        detector.stop()
        detector.join(10)
    if detector.state == "failed":
        print(f"error: {detector.error}", file=sys.stderr)
        return 2
    return 0


def add_watch_command(subparsers: argparse._SubParsersAction) -> None:
    """`watch SOURCE [--record OUT.mp4] [--duration S]`: live detection on a stream, printing alerts."""
    parser = subparsers.add_parser("watch", help="watch a live stream and print alerts")
    parser.add_argument(
        "source", help="rtsp:// or http(s):// URL, a video file, or a camera like /dev/video0"
    )
    parser.add_argument("--record", help="record the annotated stream to this MP4 file")
    parser.add_argument("--duration", type=float, help="stop after this many seconds")
    parser.add_argument(
        "--profile", help="scene profile (.npz) of the camera; default: the config's, else none"
    )
    parser.add_argument("--config", help="inference config TOML (default: inferences/configs/config.toml)")
    parser.set_defaults(handler=_watch)


COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_detect_command,
    add_watch_command,
    add_calibrate_command,
]


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m inferences", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add_command in COMMANDS:
        add_command(subparsers)
    args = parser.parse_args(argv)
    return exit_status(lambda: args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
