"""Scene calibration from normal footage: `python -m inferences calibrate VIDEO... --output PROFILE.npz`.

Every video is cut by the engine's segmenting path and run through the same cue models as detection; the
profile (`inferences.profile.SceneProfile`) records the robust statistics of the cues and a bank of normal
clip features, with the models and the sampling rate that produced them.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from pathlib import Path

from inferences.config import InferenceConfig
from inferences.pipeline import CueModels
from inferences.profile import SceneProfile, SegmentCues
from inferences.runtime import FeatureExtractor
from inferences.segments import batches, video_segments


def video_cues(path: str | Path, models: CueModels) -> list[SegmentCues]:
    """The cues of every segment of a video file, in order."""
    segments = video_segments(path, models.segmenter(), interval=models.config.prepare_interval)
    return [
        cue
        for batch in batches(segments, models.config.batch_size)
        if not isinstance(batch, int)
        for cue in models.cues(batch)
    ]


def calibrate_videos(
    config: InferenceConfig,
    videos: Sequence[str | Path],
    *,
    source: str = "",
    progress: Callable[[int, int], None] | None = None,
) -> SceneProfile:
    """A profile of normal videos (VideoError for a bad file, ProfileError for too little footage)."""
    models = CueModels(config, FeatureExtractor(config))
    recordings = []
    for number, video in enumerate(videos, start=1):
        recordings.append(video_cues(video, models))
        if progress is not None:
            progress(number, len(videos))
    return SceneProfile.from_videos(
        models.setup, recordings, source=source or ", ".join(Path(v).name for v in videos)
    )


def _calibrate(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from inferences.config import load_inference_config

    config = load_inference_config(args.config)
    with tqdm(total=len(args.videos), desc="calibrate", unit="video") as bar:
        profile = calibrate_videos(
            config, args.videos, source=args.name or "", progress=lambda done, total: bar.update(done - bar.n)
        )
    profile.save(args.output)
    print(
        f"wrote {args.output}: {profile.segments} normal segments "
        f"({profile.segments * config.segment_length * config.prepare_interval:.0f} s sampled)"
    )
    return 0


def add_calibrate_command(subparsers: argparse._SubParsersAction) -> None:
    """`calibrate VIDEO... --output PROFILE.npz`: learn a scene's normal from normal footage."""
    parser = subparsers.add_parser("calibrate", help="build a scene profile from normal videos of one camera")
    parser.add_argument("videos", nargs="+", help="normal footage of the scene (video files)")
    parser.add_argument("--output", required=True, help="profile file to write (.npz)")
    parser.add_argument("--name", help="a name for the profile (default: the video file names)")
    parser.add_argument("--config", help="inference config TOML (default: inferences/configs/config.toml)")
    parser.set_defaults(handler=_calibrate)
