"""`avs-robust make-synthetic`: generate the embedded synthetic AVSBench-Robust benchmark."""

from __future__ import annotations

import argparse
import time

from .main import CLIError
from .output_paths import check_output_folder, reporting_full_disk


def run(args: argparse.Namespace) -> int:
    from modeling_avs.data.synthetic import make_synthetic_dataset

    check_output_folder(args.output, "--output")
    start = time.perf_counter()
    try:
        with reporting_full_disk("--output", args.output, "the shards written so far are kept and a rerun resumes"):
            dataset = make_synthetic_dataset(
                args.config,
                args.num_videos,
                args.image_size,
                args.seed,
                args.output,
                args.videos_per_shard,
                args.num_proc,
            )
    except ValueError as error:
        raise CLIError(str(error)) from error
    sizes = ", ".join(f"{split} {len(split_dataset)}" for split, split_dataset in dataset.items())
    print(f"{args.config}: {sizes} videos in {args.output} ({time.perf_counter() - start:.1f} s)")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", default="s4", choices=("s4", "ms3"))
    parser.add_argument(
        "--num-videos",
        type=int,
        help="train videos (validation/test get 15%% each, at least 2); default s4 400, ms3 300",
    )
    parser.add_argument("--image-size", type=int, default=96)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--output", required=True, help="output folder (Parquet shards + README.md)")
    parser.add_argument("--videos-per-shard", type=int, default=500)
    parser.add_argument("--num-proc", type=int, default=1, help="worker processes (the output does not depend on it)")
