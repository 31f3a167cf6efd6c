"""Entry point of the `avs-robust` console script.

The commands are listed here with their one-line summaries; each lives in the module of this package named after
it (`build-dataset` → `build_dataset.py`), which exposes `add_arguments(parser)` and `run(args) -> exit code`. Only the
module of the command being run is imported, so `avs-robust --help` imports neither torch nor transformers and each
command pays only for its own dependencies.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS: dict[str, str] = {
    "env": "print library versions and devices (paste it into bug reports)",
    "convert": "convert an original checkpoint to a transformers model folder (safetensors)",
    "build-dataset": "build AVSBench-Robust (Parquet + dataset card) from a local AVSBench v1 copy",
    "make-synthetic": "generate the synthetic AVSBench-Robust benchmark",
    "evaluate-masks": "score mask PNGs of any AVS model on AVSBench-Robust (mIoU, F, FPR, G-mIoU, G-F, G-FPR)",
    "train": "train an AVS model with a robust recipe (transformers.Trainer; works under torchrun / accelerate)",
    "reproduce": "reproduce the AVSBench-Robust finding on the synthetic S4 benchmark (baseline vs robust recipe)",
    "segment": "segment the sounding object of a video, or of an image with an audio file",
    "export-space": "write a self-contained Gradio Space folder (app, package wheel, model) for a model",
    "export-metric": "write the standalone robust_avs evaluate metric folder (no modeling-avs needed to load it)",
}


class CLIError(Exception):
    """An error caused by the user's input; printed without a traceback and exits with status 2."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command's summary, with the full arguments of `command` (its module is imported)."""
    parser = argparse.ArgumentParser(
        prog="avs-robust",
        description="Robust audio-visual segmentation: models, AVSBench-Robust data, training and evaluation.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, summary in COMMANDS.items():
        subparser = subparsers.add_parser(name, help=summary, description=summary)
        if name == command:
            module = importlib.import_module(f"modeling_avs.cli.{name.replace('-', '_')}")
            module.add_arguments(subparser)
            subparser.set_defaults(func=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((argument for argument in argv if not argument.startswith("-")), None)
    parser = build_parser(command)
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
