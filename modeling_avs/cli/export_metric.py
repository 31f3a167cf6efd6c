"""`avs-robust export-metric`: write the standalone `robust_avs` evaluate metric folder (and optionally push it)."""

from __future__ import annotations

import argparse

from .main import CLIError


def run(args: argparse.Namespace) -> int:
    from ..metrics.evaluate_module import export_metric_module
    from .hub_push import hub_token, push_space

    token = hub_token(args.push_to_hub)
    try:
        script = export_metric_module(args.output)
    except ValueError as error:
        raise CLIError(str(error)) from error
    print(f"wrote the metric folder {script.parent}: evaluate.load({str(script.parent)!r}) loads it")
    if args.push_to_hub:
        push_space(script.parent, args.push_to_hub, token, args.private, "export-metric")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        required=True,
        help="the metric folder to write (replaced); its name names the metric script, e.g. out/robust_avs",
    )
    parser.add_argument(
        "--push-to-hub", metavar="REPO_ID", help="upload the folder to this Space (evaluate loads metrics from Spaces)"
    )
    parser.add_argument("--private", action="store_true", help="create the Space private (with --push-to-hub)")
