"""`avs-robust reproduce`: the paper's experiment (Table 4 rows) and our extensions for both architectures (the main
job)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .main import CLIError
from .output_paths import check_output_folder, reporting_full_disk

ARCHITECTURE_CHOICES = ("avsbench", "avsegformer", "both")


def run(args: argparse.Namespace) -> int:
    from ..reproduction import ARCHITECTURES, reproduce

    if args.unseen_audio is not None and not Path(args.unseen_audio).is_dir():
        raise CLIError(f"--unseen-audio {args.unseen_audio}: not a directory")
    if args.jobs is not None and args.jobs < 1:
        raise CLIError(f"--jobs {args.jobs}: must be at least 1")
    architectures = ARCHITECTURES if args.architecture == "both" else (args.architecture,)
    check_output_folder(args.output_dir, "--output-dir")
    start = time.perf_counter()
    with reporting_full_disk(
        "--output-dir", args.output_dir, "finished models and checkpoints are kept for the rerun"
    ):
        summary = reproduce(
            args.output_dir,
            size=args.size,
            architectures=architectures,
            unseen_audio=args.unseen_audio,
            seed=args.seed,
            jobs=args.jobs,
        )
    output = Path(args.output_dir)
    print((output / "results.md").read_text(encoding="utf-8"))
    print(f"outputs in {output}/ (results.json, results.md, figures, models/); {time.perf_counter() - start:.0f} s")
    if not summary["all_checks_passed"]:
        failed = [
            f"{architecture}.{name}"
            for architecture, checks in summary["checks"].items()
            for name, check in checks.items()
            if not check["passed"]
        ]
        print(f"required checks that did not pass: {', '.join(failed)} (see results.md)")
        return 1 if args.strict else 0
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from ..reproduction import DEFAULT_OUTPUT_DIR, SIZES

    parser.description = (
        "Trains, for AVSBench-TPAVI and AVSegFormer, the paper's Table 4 rows the way the paper trains each "
        "architecture ((a) no negatives, (b) negatives without the similarity loss, (c) negatives + similarity loss) "
        "and our extensions ((c) with a calibrated gate; ours: presence-gated masks), evaluates them on positive, "
        "silence, noise, off-screen and unseen sounds, and writes results.json, results.md (the paper's numbers "
        "beside ours, a verdict per claim), figures and every model with its card. Finished rows are reused on a "
        "rerun. --strict exits with status 1 when a required check fails."
    )
    parser.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR, help=f"default ./{DEFAULT_OUTPUT_DIR}")
    parser.add_argument(
        "--size",
        default="small",
        choices=list(SIZES),
        help="; ".join(f"{name}: {size.description}" for name, size in SIZES.items()),
    )
    parser.add_argument(
        "--architecture", default="both", choices=ARCHITECTURE_CHOICES, help="architectures to train (default both)"
    )
    parser.add_argument(
        "--unseen-audio",
        default=None,
        help="a folder of real clips evaluated as unseen sounds too (the built-in held-out sounds always are)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--jobs",
        type=int,
        default=None,
        help="rows trained at once, one process each (default: one per core on a CPU, 1 with a GPU); the results "
        "do not depend on it",
    )
    parser.add_argument("--strict", action="store_true", help="exit with status 1 when a required check fails")
