"""`avs-robust build-dataset`: build AVSBench-Robust from a local AVSBench v1 copy (and optionally publish it)."""

from __future__ import annotations

import argparse

from .main import CLIError
from .output_paths import check_output_folder, reporting_full_disk


def run(args: argparse.Namespace) -> int:
    from ..data.avsbench_layout import AVSBenchLayoutError
    from ..data.avsbench_robust import build_avsbench_robust, published_offscreen_pairs
    from .hub_push import hub_token

    if args.include_avsbench_media and not args.push_to_hub:
        raise CLIError("--include-avsbench-media only applies together with --push-to-hub")
    check_output_folder(args.output, "--output")
    token = hub_token(args.push_to_hub)
    pairs = None
    if args.pairing_from:
        pairs, seeds = published_offscreen_pairs(args.pairing_from, args.config)
        if seeds != {args.seed}:
            raise CLIError(f"{args.pairing_from} was generated with seed(s) {sorted(seeds)}; pass --seed accordingly")
    try:
        with reporting_full_disk("--output", args.output, "the shards written so far are kept and a rerun resumes"):
            result = build_avsbench_robust(
                args.avsbench_root,
                args.config,
                args.output,
                seed=args.seed,
                avss_metadata=args.avss_metadata,
                unseen_audio=args.unseen_audio,
                skip_invalid=args.skip_invalid,
                rows_per_shard=args.videos_per_shard,
                offscreen_pairs=pairs,
            )
    except (AVSBenchLayoutError, ValueError) as error:
        raise CLIError(str(error)) from error
    for split, paths in result.shards.items():
        print(f"{args.config if split != 'unseen' else 'unseen'}/{split}: {len(paths)} shard(s) in {args.output}")
    if result.report_path is not None:
        print(f"skipped {len(result.skipped)} video(s); see {result.report_path}")
    if args.push_to_hub:
        from ..data.hub_upload import push_dataset_to_hub

        url = push_dataset_to_hub(
            args.output, args.push_to_hub, include_media=args.include_avsbench_media, token=token
        )
        print(f"pushed to {url}")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--avsbench-root", required=True, help="AVSBench folder holding Single-source/ and Multi-sources/"
    )
    parser.add_argument("--config", required=True, choices=("s4", "ms3"))
    parser.add_argument("--output", required=True, help="output folder (shards, README.md); reruns resume")
    parser.add_argument("--seed", type=int, default=42, help="generation seed (default 42, as in the paper)")
    parser.add_argument(
        "--avss-metadata", help="AVSBench-semantic metadata.csv for MS3 objects (default <root>/metadata.csv)"
    )
    parser.add_argument("--unseen-audio", help="folder of extra sounds stored as config 'unseen'")
    parser.add_argument(
        "--skip-invalid", action="store_true", help="leave out bad videos and report them instead of failing"
    )
    parser.add_argument("--videos-per-shard", type=int, default=100)
    parser.add_argument(
        "--pairing-from",
        metavar="PATH_OR_REPO_ID",
        help="reuse the off-screen pairs of a built or published (media-free) copy, to join it back to local media",
    )
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the result to this Hub dataset repository")
    parser.add_argument(
        "--include-avsbench-media",
        action="store_true",
        help="also upload AVSBench frames, masks and sounds (check AVSBench's license first)",
    )
