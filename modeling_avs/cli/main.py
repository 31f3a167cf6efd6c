"""Entry point of the `avs-robust` console script.

Every sub-command lives in its own module of this package and exposes `add_parser(subparsers)`, which
registers an `argparse` sub-parser whose `func` default receives the parsed namespace and returns an exit
code. Modules are imported lazily by `main` so that `avs-robust --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMAND_MODULES: tuple[str, ...] = (
    "env",
    "convert",
    "build_dataset",
    "make_synthetic",
    "evaluate_masks",
    "train",
    "reproduce",
    "segment",
)


class CLIError(Exception):
    """An error caused by the user's input; printed without a traceback and exits with status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="avs-robust",
        description="Robust audio-visual segmentation: models, AVSBench-Robust data, training and evaluation.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"modeling_avs.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 1
    try:
        return int(args.func(args) or 0)
    except CLIError as error:
        print(f"avs-robust {args.command}: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
