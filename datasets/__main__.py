"""Dataset tools: `python -m datasets synthetic ...`, `... import-rtfm ...`, `... from-videos ...` and
`... download ped2 --output DIR` (a public labelled dataset, checked and unpacked)."""

from __future__ import annotations

import argparse
import sys

from datasets.download import DATASETS, download_dataset
from datasets.rtfm import import_rtfm
from datasets.synthetic import generate_synthetic_dataset
from datasets.videos import DEFAULT_EXTRACTOR, SEGMENT_RULES, build_video_dataset, dataset_models
from inferences.errors import exit_status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m datasets", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    synthetic = commands.add_parser("synthetic", help="write a SYNTHETIC feature dataset (train/ and valid/)")
    synthetic.add_argument("--output", required=True, help="dataset root to write")
    synthetic.add_argument("--feature-dim", type=int, default=64)
    synthetic.add_argument("--train-videos", type=int, default=80)
    synthetic.add_argument("--valid-videos", type=int, default=40)
    synthetic.add_argument("--min-segments", type=int, default=16)
    synthetic.add_argument("--max-segments", type=int, default=48)
    synthetic.add_argument("--crops", type=int, default=1)
    synthetic.add_argument("--strength", type=float, default=0.6, help="size of the planted anomaly signal")
    synthetic.add_argument("--seed", type=int, default=0)
    rtfm = commands.add_parser(
        "import-rtfm", help="import RTFM-format features (list + concatenated frame GT)"
    )
    rtfm.add_argument("--features", required=True, help="folder holding the listed .npy feature files")
    rtfm.add_argument("--list", required=True, help="list file: one feature file per line, in GT order")
    rtfm.add_argument("--gt", required=True, help="concatenated frame-level ground truth .npy")
    rtfm.add_argument("--output", required=True, help="dataset root to write (train/ and valid/)")
    rtfm.add_argument("--valid-fraction", type=float, default=0.3, help="share of videos for valid/")
    rtfm.add_argument("--seed", type=int, default=0, help="seed of the train/valid split")
    videos = commands.add_parser("from-videos", help="extract features of annotated videos (train/, valid/)")
    videos.add_argument("--videos", required=True, help="folder holding the annotated videos")
    videos.add_argument(
        "--annotations",
        required=True,
        help="JSON like ucsd-ped2/labels.json: per video frames, 1-based anomaly intervals",
    )
    videos.add_argument("--output", required=True, help="dataset root to write (train/ and valid/)")
    videos.add_argument(
        "--extractor-model",
        default=str(DEFAULT_EXTRACTOR),
        help="extractor ONNX from `python -m models prepare` (default %(default)s)",
    )
    videos.add_argument(
        "--objects-model",
        default=None,
        help="object detector ONNX for the object cue (default: the inference config's; '' = none)",
    )
    videos.add_argument(
        "--prepare-interval",
        type=float,
        default=None,
        help="seconds between sampled frames (default: the inference config's, 0.1 = 10 fps)",
    )
    videos.add_argument("--ten-crop", action="store_true", help="10 crops per segment: (T, 10, D) features")
    videos.add_argument(
        "--segment-label",
        choices=SEGMENT_RULES,
        default="any",
        help="train segment is abnormal if any (default) or a majority of its frames are",
    )
    videos.add_argument(
        "--valid-fraction",
        type=float,
        default=0.3,
        help="share of the videos without a 'split' field that go to valid/",
    )
    videos.add_argument("--seed", type=int, default=0, help="seed of the train/valid split")
    videos.add_argument("--batch-size", type=int, default=4, help="segments per extractor call")
    download = commands.add_parser("download", help="download a public labelled dataset and unpack it")
    download.add_argument("name", choices=sorted(DATASETS), help="dataset")
    download.add_argument(
        "--output", required=True, help="folder to unpack into (e.g. ../shared/data, which the tests read)"
    )
    download.add_argument("--url", help="a mirror of the archive (default: the dataset's public URL)")
    download.add_argument("--sha256", help="expected sha256 of the archive (default: the pinned one)")
    args = parser.parse_args(argv)
    return exit_status(lambda: _run(args))


def _run(args: argparse.Namespace) -> int:
    if args.command == "download":
        for folder in download_dataset(args.name, args.output, url=args.url, sha256=args.sha256):
            print(f"wrote {folder}")
    elif args.command == "synthetic":
        root = generate_synthetic_dataset(
            args.output,
            feature_dim=args.feature_dim,
            train_videos=args.train_videos,
            valid_videos=args.valid_videos,
            min_segments=args.min_segments,
            max_segments=args.max_segments,
            crops=args.crops,
            strength=args.strength,
            seed=args.seed,
        )
        print(f"wrote a synthetic dataset to {root}")
    elif args.command == "from-videos":
        report = build_video_dataset(
            videos_dir=args.videos,
            annotations_path=args.annotations,
            output=args.output,
            models=dataset_models(
                args.extractor_model, objects_model=args.objects_model, prepare_interval=args.prepare_interval
            ),
            ten_crop=args.ten_crop,
            segment_rule=args.segment_label,
            valid_fraction=args.valid_fraction,
            seed=args.seed,
            batch_size=args.batch_size,
        )
        print(
            f"{len(report.built)} videos extracted, {len(report.finished_before)} already done, "
            f"{len(report.failed)} skipped, into {args.output}"
        )
        for video, reason in report.failed:
            print(f"skipped {video}: {reason}")
    else:
        counts = import_rtfm(
            features_dir=args.features,
            list_path=args.list,
            gt_path=args.gt,
            output=args.output,
            valid_fraction=args.valid_fraction,
            seed=args.seed,
        )
        print(f"imported {counts['train']} train and {counts['valid']} valid videos into {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
