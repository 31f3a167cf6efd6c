"""`avs-robust reproduce`: train and compare the baseline, negatives-only and robust models (the main job)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .main import CLIError
from .output_paths import check_output_folder, reporting_full_disk


def run(args: argparse.Namespace) -> int:
    from ..training.reproduce import REQUIRED_CHECKS, reproduce

    if args.unseen_audio is not None and not Path(args.unseen_audio).is_dir():
        raise CLIError(f"--unseen-audio {args.unseen_audio}: not a directory")
    if args.jobs is not None and args.jobs < 1:
        raise CLIError(f"--jobs {args.jobs}: must be at least 1")
    check_output_folder(args.output_dir, "--output-dir")
    start = time.perf_counter()
    with reporting_full_disk(
        "--output-dir", args.output_dir, "finished models and checkpoints are kept for the rerun"
    ):
        summary = reproduce(
            args.output_dir, size=args.size, unseen_audio=args.unseen_audio, seed=args.seed, jobs=args.jobs
        )
    output = Path(args.output_dir)
    print((output / "results.md").read_text(encoding="utf-8"))
    print(f"outputs in {output}/ (results.json, results.md, figures, models/); {time.perf_counter() - start:.0f} s")
    if not summary["all_checks_passed"]:
        failed = [name for name in REQUIRED_CHECKS if not summary["checks"][name]["passed"]]
        print(f"checks of the paper's finding that did not pass: {', '.join(failed)} (see results.md)")
        return 1 if args.strict else 0
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..training.reproduce import DEFAULT_OUTPUT_DIR, SIZES

    parser.description = (
        "Trains (a) a positive-only baseline, (b) negatives without the similarity loss and (c) the full "
        "robust recipe, evaluates them on positive/silence/noise/off-screen (+ unseen clips) and writes results.json, "
        "results.md, figures and the three models with model cards. Finished models are reused on a rerun. "
        "The checks of the paper's finding are reported in results.md; --strict exits with status 1 when one fails."
    )
    parser.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR, help=f"default ./{DEFAULT_OUTPUT_DIR}")
    parser.add_argument(
        "--size",
        default="small",
        choices=list(SIZES),
        help="; ".join(f"{name}: {size.description}" for name, size in SIZES.items()),
    )
    parser.add_argument("--unseen-audio", default=None, help="folder of unseen clips (default ../shared/audio/unseen)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="variants trained at once, one process each (default: all three for the CPU sizes, 1 with a "
        "GPU); the results do not depend on it",
    )
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a check of the finding fails")
